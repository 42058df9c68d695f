"""Validation of DICOM application entity titles."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


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
