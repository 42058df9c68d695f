"""Write a synthetic CT study with consistent geometry: localizer, 5 mm, 1 mm and coronal."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from .phantom import BOTTOM_Z, TOP_Z, hounsfield

FIELD_OF_VIEW = 350.0  # mm, square
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
INTERCEPT = -1024.0


@dataclass(frozen=True)
class DemoCTSpec:
    """Sizes of the demo study; tests shrink them, the demo uses the defaults."""

    seed: int = 20261125
    matrix: int = 512
    thick_slices: int = 60  # at 5 mm
    thin_slices: int = 300  # at 1 mm
    coronal_slices: int = 40  # at 5 mm
    noise_hu: float = 8.0
    patient_name: str = "Zhang^Wei=张^伟"
    patient_id: str = "PW-DEMO-0001"
    study_date: str = "20261102"
    accession: str = "ACC-DEMO-0001"
    visit: str = ""  # another visit of the same patient (its own UIDs), e.g. "prior"


DEFAULT_SPEC = DemoCTSpec()


def prior_spec(spec: DemoCTSpec = DEFAULT_SPEC) -> DemoCTSpec:
    """The demo patient's earlier CT (a year before, its own accession): a few 5 mm
    slices at a coarser matrix, so the priors can be seen in the demo at little cost."""
    return replace(
        spec,
        matrix=min(spec.matrix, 256),
        thick_slices=min(spec.thick_slices, 12),
        thin_slices=0,
        coronal_slices=0,
        study_date="20251104",
        accession="ACC-DEMO-0000",
        visit="prior",
    )


def _uid(spec: DemoCTSpec, *parts: object) -> str:
    visit = [spec.visit] if spec.visit else []  # the first visit keeps its UIDs
    return generate_uid(entropy_srcs=[str(spec.seed), *visit, *map(str, parts)])


def study_uid(spec: DemoCTSpec = DEFAULT_SPEC) -> str:
    """The demo study's Study Instance UID (fixed by the seed)."""
    return _uid(spec, "study")


def demo_ct_size(spec: DemoCTSpec = DEFAULT_SPEC) -> int:
    """How many instances the demo study has (the localizer and up to three series)."""
    return 1 + spec.thick_slices + spec.thin_slices + spec.coronal_slices


def write_demo_ct(
    folder: Path, spec: DemoCTSpec = DEFAULT_SPEC, stop: threading.Event | None = None
) -> list[Path]:
    """Write every file of the demo study below ``folder`` (until ``stop`` is set);
    returns their paths."""
    written: list[Path] = []
    for name, dataset in demo_ct_datasets(spec):
        if stop is not None and stop.is_set():
            break
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        dataset.save_as(path, enforce_file_format=True)
        written.append(path)
    return written


def demo_ct_datasets(spec: DemoCTSpec = DEFAULT_SPEC) -> Iterator[tuple[str, Dataset]]:
    """Every instance of the demo study, made one at a time, with its file name."""
    # Another visit's own noise; the first keeps the stream its images were made with.
    rng = np.random.default_rng([spec.seed, 1] if spec.visit else spec.seed)
    spacing = FIELD_OF_VIEW / spec.matrix
    axis = -FIELD_OF_VIEW / 2 + spacing / 2 + spacing * np.arange(spec.matrix)

    def name(series_no: int, index: int) -> str:
        return f"s{series_no:02d}/i{index:04d}.dcm"

    # Localizer: a coronal projection through the whole body, like a scout view.
    z_rows = TOP_Z + 10 - spacing * np.arange(int((TOP_Z - BOTTOM_Z + 20) / spacing))
    depth = np.arange(-110.0, 110.0, 4.0)
    mu = np.zeros((len(z_rows), spec.matrix))
    for y in depth:
        hu = hounsfield(axis[None, :], y, z_rows[:, None])
        mu += np.clip(hu + 1000.0, 0, None) / 1000.0 * 4.0
    scout = (mu / mu.max() * 4000.0).astype(np.uint16)
    ds = _image(spec, 1, "Localizer", 1, scout, (axis[0], 0.0, z_rows[0]), CORONAL, spacing)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.BitsStored, ds.HighBit, ds.RescaleIntercept = 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2000, 4000
    yield name(1, 1), ds

    for series_no, description, count, step in (
        (2, "Axial 5.0 mm", spec.thick_slices, 5.0),
        (3, "Axial 1.0 mm", spec.thin_slices, 1.0),
    ):
        for index in range(count):
            z = TOP_Z - step * index
            hu = hounsfield(axis[None, :], axis[:, None], z)
            pixels = _stored(hu, rng, spec.noise_hu / np.sqrt(step))
            ds = _image(
                spec,
                series_no,
                description,
                index + 1,
                pixels,
                (axis[0], axis[0], z),
                AXIAL,
                spacing,
            )
            ds.SliceThickness, ds.SliceLocation = step, z
            yield name(series_no, index + 1), ds

    z_axis = TOP_Z - spacing / 2 - spacing * np.arange(int((TOP_Z - BOTTOM_Z) / spacing))
    for index in range(spec.coronal_slices):
        y = -95.0 + 190.0 * index / max(spec.coronal_slices - 1, 1)
        hu = hounsfield(axis[None, :], y, z_axis[:, None])
        pixels = _stored(hu, rng, spec.noise_hu)
        ds = _image(
            spec, 4, "Coronal 5.0 mm", index + 1, pixels, (axis[0], y, z_axis[0]), CORONAL, spacing
        )
        ds.SliceThickness, ds.SliceLocation = 5.0, y
        yield name(4, index + 1), ds


def _stored(hu: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    noisy = hu + rng.normal(0.0, noise, hu.shape) * (hu > -900)
    return np.clip(np.rint(noisy - INTERCEPT), 0, 4095).astype(np.uint16)


def _image(
    spec: DemoCTSpec,
    series_no: int,
    description: str,
    number: int,
    pixels: np.ndarray,
    position: tuple[float, float, float],
    orientation: tuple[float, ...],
    spacing: float,
) -> Dataset:
    sop_uid = _uid(spec, "instance", series_no, number)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop_uid
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = spec.study_date
    ds.StudyTime = ds.SeriesTime = "093000"
    ds.AccessionNumber = spec.accession
    ds.Modality, ds.Manufacturer = "CT", "PACSweb synthetic phantom"
    ds.ReferringPhysicianName = "Li^Na=李^娜"
    ds.StudyDescription = "CT chest abdomen pelvis (synthetic)"
    ds.SeriesDescription = description
    ds.PatientName, ds.PatientID = spec.patient_name, spec.patient_id
    ds.PatientBirthDate, ds.PatientSex = "19650314", "M"
    ds.BodyPartExamined = "CHEST"
    ds.KVP = 120
    ds.StudyInstanceUID = study_uid(spec)
    ds.SeriesInstanceUID = _uid(spec, "series", series_no)
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", series_no, number
    ds.FrameOfReferenceUID = _uid(spec, "frame")
    ds.PositionReferenceIndicator = ""
    ds.ImagePositionPatient = [round(float(v), 4) for v in position]
    ds.ImageOrientationPatient = list(orientation)
    ds.PixelSpacing = [spacing, spacing]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = INTERCEPT, 1, "HU"
    ds.WindowCenter, ds.WindowWidth = [40, -600], [400, 1500]
    ds.WindowCenterWidthExplanation = ["SOFT TISSUE", "LUNG"]
    ds.PixelData = pixels.astype("<u2").tobytes()
    return ds


def read_demo(path: Path) -> Dataset:
    """Read one written demo file (a helper for checks and tests)."""
    return pydicom.dcmread(path)
