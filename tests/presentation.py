"""Test data for presentation states: a small generated CT series and a Grayscale Softcopy
Presentation State on it, written with pydicom from fixed values (the same bytes every run).

The GSPS: window center 40 width 80, a POLYLINE and a CIRCLE in PIXEL units on the middle
slice, a text object with a bounding box, a rectangular shutter, rotation 90.
"""

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

GSPS_CLASS = "1.2.840.10008.5.1.4.1.1.11.1"
PATIENT_NAME, PATIENT_ID = "Presentation^Pat", "GSPS-TEST-1"
TAG = "pacsweb-gsps"
SIZE, SLICES = 64, 5
LABEL = "LESION"
WINDOW = (40.0, 80.0)  # center, width
POLYLINE = [[8.0, 8.0], [56.0, 8.0], [56.0, 40.0]]  # (column, row), PIXEL units
CIRCLE = [[32.0, 32.0], [32.0, 44.0]]  # centre, then a point on the circle
TEXT = "Lesion here"
SHUTTER = {"left": 4, "right": 60, "top": 2, "bottom": 62}  # 1-based pixel edges


def uid(*parts: object) -> str:
    """A UID made from fixed parts."""
    return generate_uid(entropy_srcs=[TAG, *map(str, parts)])


STUDY_UID, SERIES_UID, GSPS_UID = uid("study"), uid("series"), uid("gsps")


def ct_slices() -> list[Dataset]:
    """The CT series: 64 x 64 slices, a grey body (HU ~40) with a bright disc."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    slices = []
    for index in range(SLICES):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = uid("sop", index)
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        ds.PatientName, ds.PatientID = PATIENT_NAME, PATIENT_ID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY_UID, SERIES_UID
        ds.StudyDate, ds.StudyTime, ds.StudyDescription = "20260102", "100000", "CT GSPS"
        ds.AccessionNumber = "ACC-GSPS-1"
        ds.Modality, ds.SeriesNumber, ds.SeriesDescription = "CT", 1, "Axial GSPS"
        ds.InstanceNumber = index + 1
        ds.FrameOfReferenceUID = uid("frame")
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-80.0, -80.0, 5.0 * index]
        ds.PixelSpacing, ds.SliceThickness = [2.5, 2.5], 5
        ds.Rows = ds.Columns = SIZE
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.WindowCenter, ds.WindowWidth = 300, 1500
        disc = (x - 32) ** 2 + (y - 32) ** 2 < 64
        # A smooth ramp from HU 0 to 80 (left to right), no noise: fixed values.
        pixels = 1024 + (x * 80 // SIZE) + 400 * disc
        ds.PixelData = pixels.astype(np.int16).tobytes()
        slices.append(ds)
    return slices


def _code_free_item(**values) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def gsps(images: list[Dataset], **overrides) -> Dataset:
    """A GSPS on ``images`` (one series); ``overrides`` set or replace attributes."""
    shown = images[len(images) // 2]
    ds = Dataset()
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate", "StudyTime"):
        setattr(ds, keyword, shown.get(keyword))
    ds.AccessionNumber, ds.StudyID, ds.ReferringPhysicianName = "ACC-GSPS-1", "1", ""
    ds.SOPClassUID, ds.SOPInstanceUID = GSPS_CLASS, GSPS_UID
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.Modality = uid("gsps series"), 90, "PR"
    ds.SeriesDescription, ds.InstanceNumber = "Presentation states", 1
    ds.ContentLabel, ds.ContentDescription = LABEL, "Lesion window and marks"
    ds.ContentCreatorName = "Reader^Rita"
    ds.PresentationCreationDate, ds.PresentationCreationTime = "20260103", "091500"
    refs = [
        _code_free_item(
            ReferencedSOPClassUID=i.SOPClassUID, ReferencedSOPInstanceUID=i.SOPInstanceUID
        )
        for i in images
    ]
    ds.ReferencedSeriesSequence = [
        _code_free_item(SeriesInstanceUID=shown.SeriesInstanceUID, ReferencedImageSequence=refs)
    ]
    ds.SoftcopyVOILUTSequence = [
        _code_free_item(WindowCenter=WINDOW[0], WindowWidth=WINDOW[1], VOILUTFunction="LINEAR")
    ]
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 1, -1024, "HU"
    ds.PresentationLUTShape = "IDENTITY"
    ds.ImageRotation, ds.ImageHorizontalFlip = 90, "N"
    ds.DisplayedAreaSelectionSequence = [
        _code_free_item(
            DisplayedAreaTopLeftHandCorner=[1, 1],
            DisplayedAreaBottomRightHandCorner=[SIZE, SIZE],
            PresentationSizeMode="SCALE TO FIT",
            PresentationPixelSpacing=[2.5, 2.5],
        )
    ]
    ds.GraphicLayerSequence = [
        _code_free_item(
            GraphicLayer="MARKS",
            GraphicLayerOrder=1,
            # Yellow: L* 97, a* -22, b* 94 (scaled to 0..65535).
            GraphicLayerRecommendedDisplayCIELabValue=[63569, 27756, 57087],
        )
    ]
    middle = _code_free_item(
        ReferencedSOPClassUID=shown.SOPClassUID, ReferencedSOPInstanceUID=shown.SOPInstanceUID
    )
    ds.GraphicAnnotationSequence = [
        _code_free_item(
            GraphicLayer="MARKS",
            ReferencedImageSequence=[middle],
            GraphicObjectSequence=[
                _code_free_item(
                    GraphicAnnotationUnits="PIXEL",
                    GraphicDimensions=2,
                    NumberOfGraphicPoints=len(POLYLINE),
                    GraphicData=[v for p in POLYLINE for v in p],
                    GraphicType="POLYLINE",
                    GraphicFilled="N",
                ),
                _code_free_item(
                    GraphicAnnotationUnits="PIXEL",
                    GraphicDimensions=2,
                    NumberOfGraphicPoints=2,
                    GraphicData=[v for p in CIRCLE for v in p],
                    GraphicType="CIRCLE",
                    GraphicFilled="N",
                ),
            ],
            TextObjectSequence=[
                _code_free_item(
                    BoundingBoxAnnotationUnits="PIXEL",
                    UnformattedTextValue=TEXT,
                    BoundingBoxTopLeftHandCorner=[10.0, 44.0],
                    BoundingBoxBottomRightHandCorner=[40.0, 52.0],
                    BoundingBoxTextHorizontalJustification="LEFT",
                )
            ],
        )
    ]
    ds.ShutterShape = "RECTANGULAR"
    ds.ShutterLeftVerticalEdge, ds.ShutterRightVerticalEdge = SHUTTER["left"], SHUTTER["right"]
    ds.ShutterUpperHorizontalEdge = SHUTTER["top"]
    ds.ShutterLowerHorizontalEdge = SHUTTER["bottom"]
    ds.ShutterPresentationValue = 0
    for keyword, value in overrides.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = GSPS_CLASS
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def write_study(folder: Path, **overrides) -> list[Path]:
    """The CT slices and the GSPS as files in ``folder`` (GSPS last)."""
    folder.mkdir(parents=True, exist_ok=True)
    images = ct_slices()
    paths = []
    for index, ds in enumerate(images):
        paths.append(folder / f"ct-{index}.dcm")
        ds.save_as(paths[-1], enforce_file_format=True)
    paths.append(folder / "gsps.dcm")
    gsps(images, **overrides).save_as(paths[-1], enforce_file_format=True)
    return paths


def middle_sop() -> str:
    """The SOP Instance UID of the slice the annotations are on."""
    return uid("sop", SLICES // 2)


def item(**values) -> Dataset:
    """A sequence item with ``values`` (for tests that add their own parts)."""
    return _code_free_item(**values)


def read(path: Path) -> Dataset:
    return pydicom.dcmread(path)
