"""Template filters that format DICOM values for people."""

from django import template

register = template.Library()


@register.filter
def person_name(value: str) -> str:
    """``Wang^XiaoDong=王^小东`` as ``Wang XiaoDong = 王 小东``."""
    groups = [" ".join(part for part in group.split("^") if part) for group in value.split("=")]
    return " = ".join(group for group in groups if group)


@register.filter
def modality_list(value: str) -> str:
    """``CT\\SR`` as ``CT, SR``."""
    return ", ".join(part for part in value.split("\\") if part)


@register.filter
def get_item(mapping: dict, key: str):
    """``mapping[key]`` in a template, or None."""
    return mapping.get(key) if mapping else None
