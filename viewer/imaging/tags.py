"""A stored instance's elements as a JSON-ready tree, for the tag browser."""

import warnings
from pathlib import Path

import pydicom
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
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
    """Every element with tag, keyword, VR and value text; sequences as lists of items.

    Values the reader deferred (pixel data, large binaries) are summarised by their
    length without being read.
    """
    rows = []
    for tag in dataset.keys():
        raw = dataset.get_item(tag, keep_deferred=True)
        if isinstance(raw, RawDataElement) and raw.value is None and raw.length:
            rows.append(
                {
                    "tag": f"({tag.group:04X},{tag.element:04X})",
                    "keyword": keyword_for_tag(tag),
                    "vr": raw.VR or "",
                    "value": f"<{raw.length} bytes>",
                }
            )
            continue
        element = dataset[tag]
        row = {
            "tag": f"({tag.group:04X},{tag.element:04X})",
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
    """The file meta and data set elements of a stored file, read once; large values
    (pixel data above all) are deferred and shown by size."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(path, defer_size=_MAX_TEXT * 8)
        return element_tree(dataset.file_meta) + element_tree(dataset)
