"""Decoding fixes for character sets pydicom gets wrong.

pydicom 3.0 keeps the ISO 2022 escape sequence of GB2312 (``ESC $ ) A``) in the decoded
text ("张" comes out as "$)A张"); many Chinese modalities send names this way.
"""

import re

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

IR_58 = "ISO 2022 IR 58"
# Designations that may appear in IR 58 text: GB2312 into G1, and ASCII back into G0.
_ESCAPES = re.compile(rb"\x1b\$\)A|\x1b\(B")


def needs_ir58_fix(dataset: Dataset) -> bool:
    """Whether the data set declares GB2312 through ISO 2022 (alone, beside ASCII)."""
    charsets = dataset.get("SpecificCharacterSet") or []
    if isinstance(charsets, str):
        charsets = [charsets]
    named = [value for value in charsets if value not in ("", "ISO 2022 IR 6")]
    return named == [IR_58]


def decode_ir58(value: bytes) -> str:
    """Decode ISO 2022 IR 58 text: ASCII in G0, GB2312 in G1, escapes dropped.

    GB2312 in G1 is EUC-CN, which GB18030 contains; files that omit the escape
    sequences (a common vendor deviation) decode the same way.
    """
    return _ESCAPES.sub(b"", value).decode("gb18030", errors="replace")


def raw_text(dataset: Dataset, keyword: str) -> str | None:
    """The element's text decoded by ``decode_ir58`` when the fix applies, else None."""
    # A cheap look at the raw charset first: this runs for every indexed attribute.
    charset = dataset.get_item(0x00080005, keep_deferred=True)
    if charset is None or "IR 58" not in str(charset.value):
        return None
    if not needs_ir58_fix(dataset):
        return None
    element = dataset.get_item(keyword)
    if not isinstance(element, RawDataElement) or not isinstance(element.value, bytes):
        return None
    text = decode_ir58(element.value).strip(" \x00")
    # Like pydicom's PersonName, drop empty trailing component groups ("...=").
    return text.rstrip("=") if element.VR == "PN" else text
