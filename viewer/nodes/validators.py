"""Validation of DICOM application entity titles and transfer syntax UIDs."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from pydicom.uid import UID

_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def validate_ae_title(value: str) -> None:
    """An AE title: 1 to 16 characters of the default repertoire, no backslash or controls.

    Leading and trailing spaces are not significant, so a title of only spaces is empty.
    """
    if not value or not value.strip():
        raise ValidationError(_("An AE title needs at least one character."))
    if len(value) > 16:
        raise ValidationError(_("An AE title has at most 16 characters."))
    if any(ord(char) < 0x20 or ord(char) > 0x7E for char in value):
        raise ValidationError(
            _("An AE title uses only printable ASCII characters (no control characters).")
        )
    if "\\" in value:
        raise ValidationError(_("An AE title cannot contain a backslash."))


# Transfer syntaxes that keep every pixel value (uncompressed and lossless compressed).
KEEPS_EVERY_VALUE = frozenset(
    {
        "1.2.840.10008.1.2",  # Implicit VR Little Endian
        "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
        "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
        "1.2.840.10008.1.2.4.57",  # JPEG Lossless
        "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
        "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless Only
        "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
        "1.2.840.10008.1.2.4.202",  # HTJ2K Lossless RPCL
        "1.2.840.10008.1.2.5",  # RLE Lossless
    }
)


def validate_transfer_syntax_uid(value: str) -> None:
    """A transfer syntax UID pydicom knows (so the imaging pipeline can tell how to decode)."""
    if not value:
        return
    if len(value) > 64 or not _UID.match(value):
        raise ValidationError(
            _("A UID is up to 64 digits and dots, with no component starting with 0.")
        )
    if not UID(value).is_transfer_syntax:
        raise ValidationError(_("%(uid)s is not a known transfer syntax UID.") % {"uid": value})
    if value not in KEEPS_EVERY_VALUE:
        # What a retrieve brings is kept and shown to everyone: never ask a PACS to
        # compress it lossily.
        raise ValidationError(
            _("%(uid)s may lose pixel values: choose an uncompressed or lossless one.")
            % {"uid": value}
        )
