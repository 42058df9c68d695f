"""A synthetic ultrasound cine with a 2-D region in cm and a Doppler strip in s and cm/s."""

import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, UltrasoundMultiFrameImageStorage, generate_uid

# Units of PS3.3 C.8.5.5.1.15 and spatial formats of C.8.5.5.1.1.
CM, SECONDS, CM_PER_S = 3, 4, 7
FORMAT_2D, FORMAT_SPECTRAL = 1, 3


@dataclass(frozen=True)
class DemoUSSpec:
    """The cine's sizes and calibration; tests read the regions from here."""

    seed: int = 20261213
    rows: int = 480
    columns: int = 640
    frames: int = 12
    frame_time_ms: float = 33.3
    # (x0, y0, x1, y1) inclusive pixel bounds, as in the file.
    tissue: tuple[int, int, int, int] = (40, 20, 599, 299)
    tissue_delta_cm: float = 0.01
    doppler: tuple[int, int, int, int] = (40, 320, 599, 469)
    doppler_delta_s: float = 0.004
    doppler_delta_cm_s: float = -0.5  # velocity grows upwards: negative per row down
    doppler_baseline_row: int = 440
    patient_name: str = "Chen^Jing=陈^静"
    patient_id: str = "PW-US-0001"


DEFAULT_US = DemoUSSpec()


def _uid(spec: DemoUSSpec, *parts: object) -> str:
    return generate_uid(entropy_srcs=[str(spec.seed), "us", *map(str, parts)])


def us_study_uid(spec: DemoUSSpec = DEFAULT_US) -> str:
    """The cine's Study Instance UID (fixed by the seed)."""
    return _uid(spec, "study")


def _region(bounds, spatial_format, data_type, units, deltas, reference_y=None) -> Dataset:
    item = Dataset()
    item.RegionSpatialFormat, item.RegionDataType, item.RegionFlags = spatial_format, data_type, 0
    (item.RegionLocationMinX0, item.RegionLocationMinY0,
     item.RegionLocationMaxX1, item.RegionLocationMaxY1) = bounds  # fmt: skip
    item.PhysicalUnitsXDirection, item.PhysicalUnitsYDirection = units
    item.PhysicalDeltaX, item.PhysicalDeltaY = deltas
    if reference_y is not None:
        item.ReferencePixelX0, item.ReferencePixelY0 = 0, reference_y - bounds[1]
        item.ReferencePixelPhysicalValueX, item.ReferencePixelPhysicalValueY = 0.0, 0.0
    return item


def _pixels(spec: DemoUSSpec, rng: np.random.Generator) -> np.ndarray:
    """Speckle with a dark cyst that moves frame by frame, and a Doppler trace below."""
    frames = np.zeros((spec.frames, spec.rows, spec.columns), dtype=np.uint8)
    x0, y0, x1, y1 = spec.tissue
    rows, columns = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
    dx0, dy0, dx1, dy1 = spec.doppler
    times = np.arange(dx0, dx1 + 1)
    for index in range(spec.frames):
        speckle = rng.gamma(1.5, 40.0, rows.shape)  # Rayleigh-like, mid-grey
        cx = 320 + 60 * np.sin(2 * np.pi * index / spec.frames)
        cyst = (columns - cx) ** 2 + (rows - 160) ** 2 <= 50**2
        frames[index, y0 : y1 + 1, x0 : x1 + 1] = np.clip(
            np.where(cyst, speckle / 6, speckle), 0, 255
        )
        # A pulsed-wave trace: peaks every 0.8 s up from the baseline.
        beat = np.clip(np.sin(2 * np.pi * (times - dx0) * spec.doppler_delta_s / 0.8), 0, None)
        peak_rows = spec.doppler_baseline_row - (beat * 100).astype(int)
        for column, top in zip(times, peak_rows, strict=True):
            frames[index, top : spec.doppler_baseline_row, column] = 200
        frames[index, spec.doppler_baseline_row, dx0 : dx1 + 1] = 255
        frames[index, dy0, dx0 : dx1 + 1] = frames[index, dy1, dx0 : dx1 + 1] = 120
    return frames


def write_demo_us(folder: Path, spec: DemoUSSpec = DEFAULT_US) -> Path:
    """Write the cine as one US Multi-frame file below ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    sop_uid = _uid(spec, "instance")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0011"]
    ds.SOPClassUID, ds.SOPInstanceUID = UltrasoundMultiFrameImageStorage, sop_uid
    day = datetime.date(2026, 12, 13)
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = day.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = "101500"
    ds.AccessionNumber = "ACC-US-0001"
    ds.Modality, ds.Manufacturer = "US", "PACSweb synthetic phantom"
    ds.StudyDescription = "US abdomen (synthetic)"
    ds.SeriesDescription = "Liver cine with PW Doppler"
    ds.PatientName, ds.PatientID = spec.patient_name, spec.patient_id
    ds.PatientBirthDate, ds.PatientSex = "19790621", "F"
    ds.StudyInstanceUID = us_study_uid(spec)
    ds.SeriesInstanceUID = _uid(spec, "series")
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", 1, 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = spec.rows, spec.columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames = spec.frames
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.FrameTime = spec.frame_time_ms
    ds.CineRate = round(1000 / spec.frame_time_ms)
    ds.SequenceOfUltrasoundRegions = [
        _region(spec.tissue, FORMAT_2D, 1, (CM, CM), (spec.tissue_delta_cm,) * 2),
        _region(
            spec.doppler,
            FORMAT_SPECTRAL,
            3,
            (SECONDS, CM_PER_S),
            (spec.doppler_delta_s, spec.doppler_delta_cm_s),
            spec.doppler_baseline_row,
        ),
    ]
    ds.PixelData = _pixels(spec, np.random.default_rng(spec.seed)).tobytes()
    path = folder / "us_cine.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path
