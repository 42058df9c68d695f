"""The viewer's icons: one symbol of our SVG sprite, drawn in the text colour."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def icon(name: str) -> str:
    """An ``<svg>`` of symbol ``i-<name>`` of ``viewer/icons.svg``; decorative: the
    control it sits in names itself."""
    return format_html(
        '<svg class="icon" width="20" height="20" aria-hidden="true" focusable="false">'
        '<use href="{}#i-{}"></use></svg>',
        static("viewer/icons.svg"),
        name,
    )
