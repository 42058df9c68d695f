"""A stored instance's elements as a JSON-ready tree, for the tag browser."""

import warnings
from pathlib import Path

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

_MAX_TEXT = 200
_BINARY_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}


def _value_text(element: DataElement) -> str:
    value = element.value
    if element.VR in _BINARY_VRS or isinstance(value, bytes):
        return f"<{len(value) if value is not None else 0} bytes>"
    if isinstance(value, pydicom.multival.MultiValue | list):
        text = "\\".join(str(part) for part in value)
    else:
        text = str(value) if value is not None else ""
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def element_tree(dataset: Dataset) -> list[dict]:
    """Every element with tag, keyword, VR and value text; sequences as lists of items."""
    rows = []
    for element in dataset:
        row = {
            "tag": f"({element.tag.group:04X},{element.tag.element:04X})",
            "keyword": element.keyword,
            "vr": element.VR,
        }
        if element.VR == "SQ":
            row["value"] = ""
            row["items"] = [element_tree(item) for item in element.value]
        else:
            row["value"] = _value_text(element)
        rows.append(row)
    return rows


def read_tags(path: Path) -> list[dict]:
    """The file meta and data set elements of a stored file, pixel data summarised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
        full_size = path.stat().st_size
    rows = element_tree(dataset.file_meta) + element_tree(dataset)
    has_pixels = "PixelData" in pydicom.dcmread(path, specific_tags=["PixelData"], defer_size=64)
    if has_pixels:
        rows.append(
            {
                "tag": "(7FE0,0010)",
                "keyword": "PixelData",
                "vr": "OB/OW",
                "value": f"<pixel data; file is {full_size} bytes>",
            }
        )
    return rows
