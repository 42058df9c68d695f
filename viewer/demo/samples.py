"""pydicom's bundled sample files, the character-set samples given UIDs of their own."""

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
from pydicom.uid import generate_uid

DATA = Path(pydicom.data.__file__).parent
# Images that ship inside the pydicom wheel (others are downloaded on demand, which
# this network does not allow).
IMAGE_SAMPLES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "JPEG2000.dcm",
    "examples_palette.dcm",
    "examples_ybr_color.dcm",
    "SC_rgb_small_odd.dcm",
    "rtdose.dcm",
]


def charset_files() -> list[Path]:
    """pydicom's character-set samples that describe a patient."""
    return sorted(path for path in (DATA / "charset_files").glob("chr*.dcm"))


def write_charset_samples(folder: Path) -> list[Path]:
    """Write the charset samples with UIDs and patient IDs of their own below ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, dataset in charset_sample_datasets():
        target = folder / name
        dataset.save_as(target)
        written.append(target)
    return written


def charset_sample_datasets() -> Iterator[tuple[str, pydicom.Dataset]]:
    """The charset samples with UIDs and patient IDs of their own, with their file names.

    pydicom's samples all share one SOP Instance UID, so as they are they would be
    one instance; the UIDs are rewritten (and stripped pixels replaced by a ramp),
    the encoded names stay byte for byte.
    """
    for source in charset_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(source)
        if "StudyInstanceUID" not in dataset:
            continue
        name = source.stem
        dataset.StudyInstanceUID = generate_uid(entropy_srcs=["charset", name, "study"])
        dataset.SeriesInstanceUID = generate_uid(entropy_srcs=["charset", name, "series"])
        sop_uid = generate_uid(entropy_srcs=["charset", name, "instance"])
        dataset.SOPInstanceUID = sop_uid
        dataset.file_meta.MediaStorageSOPInstanceUID = sop_uid
        if "PixelData" not in dataset:
            # pydicom strips the pixels of some samples; an image needs some to be one.
            _add_gradient(dataset)
        dataset.PatientID = f"CHARSET-{name}"
        dataset.AccessionNumber = name[:16]
        yield source.name, dataset


def _add_gradient(dataset: pydicom.Dataset) -> None:
    rows, columns = int(dataset.get("Rows", 32)), int(dataset.get("Columns", 32))
    ramp = np.add.outer(np.arange(rows), np.arange(columns)) * 4000 // (rows + columns)
    dataset.Rows, dataset.Columns, dataset.SamplesPerPixel = rows, columns, 1
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 12, 11
    dataset.PixelRepresentation = 0
    dataset.PhotometricInterpretation = dataset.get("PhotometricInterpretation", "MONOCHROME2")
    dataset.PixelData = ramp.astype("<u2").tobytes()
    dataset["PixelData"].VR = "OW"


def image_sample_files() -> list[Path]:
    """The bundled sample images imported with the demo."""
    return [DATA / "test_files" / name for name in IMAGE_SAMPLES]
