"""Test data for mammography: a four-view screening study (R CC, L CC, R MLO, L MLO) and
the same patient's study a year earlier, written with pydicom from a fixed seed.

Each view is its own series, as many modalities send them (or, asked, one series of all
four). The images are 64 x 80, MONOCHROME2, the breast tissue bright against the chest
wall and fading toward the nipple, so a test can tell from the pixels which side the
chest wall is on.

PatientOrientation (0020,0020) gives the patient direction of the rows and of the
columns (PS3.3 C.7.6.1.1.1). For a mammogram the rows run toward the nipple (A) or the
chest wall (P), the columns toward the patient's side, and for an oblique view also
toward the feet: a right CC as it is read (chest wall at the right edge, the lateral
side up) is "P\\L", a left CC "A\\R", a right MLO "P\\FL", a left MLO "A\\FR".
The current study is stored as its detector saw it, every chest wall at the left edge
(row direction A: "A\\L", "A\\R", "A\\FL", "A\\FR"), so the right breast's images must be
mirrored to face the middle; the prior is stored as it is read, so nothing is.
"""

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

PATIENT_ID = "MG-0001"
PATIENT_NAME = "Mammo^Maria"
ROWS, COLUMNS = 80, 64
MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
# View Code Sequence (CID 4014), SNOMED CT.
VIEW_CODES = {"CC": ("399162004", "cranio-caudal"), "MLO": ("399368009", "medio-lateral oblique")}
VIEWS = [("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO")]
# Patient Orientation by (side, view): as the detector stored it (chest wall left), and
# as it is read (chest wall toward the middle of the pair).
AS_ACQUIRED = {
    ("R", "CC"): ["A", "L"],
    ("L", "CC"): ["A", "R"],
    ("R", "MLO"): ["A", "FL"],
    ("L", "MLO"): ["A", "FR"],
}
AS_READ = {
    ("R", "CC"): ["P", "L"],
    ("L", "CC"): ["A", "R"],
    ("R", "MLO"): ["P", "FL"],
    ("L", "MLO"): ["A", "FR"],
}
CURRENT = {"date": "20250610", "orientations": AS_ACQUIRED, "description": "MG screening"}
PRIOR = {"date": "20240605", "orientations": AS_READ, "description": "MG screening"}


def uid(*parts: object) -> str:
    """A UID derived from ``parts`` (the same every run)."""
    return generate_uid(entropy_srcs=["pacsweb-mammo", *map(str, parts)])


def study_uid_of(spec: dict) -> str:
    """The Study Instance UID ``write_study`` gives ``spec``."""
    return uid(spec["date"], "study")


def breast(chest_wall: str, rng: np.random.Generator) -> np.ndarray:
    """A breast's pixels: a half ellipse on the chest-wall edge, bright there, darker
    toward the nipple; the air around it dark; a little noise."""
    y, x = np.mgrid[0:ROWS, 0:COLUMNS]
    depth = x if chest_wall == "left" else COLUMNS - 1 - x  # distance from the chest wall
    inside = (depth / (COLUMNS * 0.85)) ** 2 + ((y - ROWS / 2) / (ROWS * 0.45)) ** 2 < 1
    tissue = 3000 - 1800 * depth / COLUMNS
    pixels = np.where(inside, tissue, 80) + rng.normal(0, 30, (ROWS, COLUMNS))
    return np.clip(pixels, 0, 4095).astype(np.uint16)


def write_study(
    folder: Path,
    spec: dict,
    rng: np.random.Generator,
    *,
    one_series: bool = False,
    orientation: bool = True,
) -> str:
    """The four views of ``spec`` as MG files in ``folder``; its Study Instance UID.

    ``one_series`` puts all four in one series; without ``orientation`` the files leave
    PatientOrientation empty (then nothing may be mirrored). ``spec`` may name fewer
    ``views`` and another ``patient_id`` / ``patient_name``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid_of(spec)
    for number, (side, view) in enumerate(VIEWS, start=1):
        if (side, view) not in spec.get("views", VIEWS):
            continue  # a view this study lacks
        series_number = 1 if one_series else number
        stored = spec["orientations"][(side, view)]
        chest_wall = "left" if stored[0] == "A" else "right"
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = MG_FOR_PRESENTATION
        ds.file_meta.MediaStorageSOPInstanceUID = uid(spec["date"], side, view, one_series)
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = MG_FOR_PRESENTATION
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        ds.PatientName = spec.get("patient_name", PATIENT_NAME)
        ds.PatientID = spec.get("patient_id", PATIENT_ID)
        ds.PatientSex = "F"
        ds.StudyInstanceUID = study_uid
        ds.StudyDate, ds.StudyTime = spec["date"], "093000"
        ds.StudyDescription = spec["description"]
        ds.AccessionNumber = f"MG{spec['date']}"
        ds.SeriesInstanceUID = uid(spec["date"], "series", series_number, one_series)
        ds.SeriesNumber = series_number
        ds.SeriesDescription = "Screening" if one_series else f"{side} {view}"
        ds.Modality = "MG"
        ds.BodyPartExamined = "BREAST"
        ds.InstanceNumber = number
        ds.ImageType = ["ORIGINAL", "PRIMARY", ""]
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.ImageLaterality = side
        ds.ViewPosition = view
        code = Dataset()
        code.CodeValue, code.CodeMeaning = VIEW_CODES[view]
        code.CodingSchemeDesignator = "SCT"
        ds.ViewCodeSequence = [code]
        ds.PatientOrientation = stored if orientation else ""
        ds.ImagerPixelSpacing = [0.5, 0.5]
        ds.Rows, ds.Columns = ROWS, COLUMNS
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.PixelRepresentation = 0
        ds.WindowCenter, ds.WindowWidth = 1600, 3200
        ds.PixelData = breast(chest_wall, rng).tobytes()
        name = f"{spec['date']}-{side}{view}.dcm"
        ds.save_as(folder / name, enforce_file_format=True)
    return study_uid


# Another patient whose current study lacks its right CC (the prior has all four).
MISSING_RCC = {
    **CURRENT,
    "date": "20250611",
    "views": VIEWS[1:],
    "patient_id": "MG-0002",
    "patient_name": "Mammo^Nina",
}
MISSING_RCC_PRIOR = {
    **PRIOR,
    "date": "20240606",
    "patient_id": "MG-0002",
    "patient_name": "Mammo^Nina",
}

# A third patient, all four views now, whose prior lacks its right CC.
NO_RCC_IN_PRIOR = {
    **CURRENT,
    "date": "20250612",
    "patient_id": "MG-0003",
    "patient_name": "Mammo^Olga",
}
NO_RCC_IN_PRIOR_PRIOR = {**NO_RCC_IN_PRIOR, **PRIOR, "date": "20240607", "views": VIEWS[1:]}
NO_RCC_IN_PRIOR_PRIOR["patient_id"], NO_RCC_IN_PRIOR_PRIOR["patient_name"] = "MG-0003", "Mammo^Olga"


def write_both(folder: Path, seed: int = 6) -> dict:
    """The current study and its prior, in ``folder``; their Study Instance UIDs."""
    rng = np.random.default_rng(seed)
    return {
        "current": write_study(folder / "current", CURRENT, rng),
        "prior": write_study(folder / "prior", PRIOR, rng),
    }
