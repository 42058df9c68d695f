"""Preload links for an ES module's whole import graph, so the browser fetches the
viewer's modules side by side instead of discovering them one import level at a time."""

import re
from functools import lru_cache
from pathlib import PurePosixPath

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.html import format_html_join

register = template.Library()

# Static imports only (``import x from './a.js'``, ``export {y} from './b.js'``,
# ``import './c.js'``); a dynamic import() is fetched when it is needed.
IMPORT = re.compile(r"""^\s*(?:import|export)\b[^'";]*?['"](\.{1,2}/[^'"]+)['"]""", re.MULTILINE)


def import_graph(entry: str, read) -> list[str]:
    """Every module ``entry`` imports, directly or not, as static paths (entry first).

    ``read(path)`` gives a module's source, or None when there is no such file.
    """
    seen: list[str] = []
    pending = [entry]
    while pending:
        path = pending.pop(0)
        if path in seen:
            continue
        source = read(path)
        if source is None:
            continue
        seen.append(path)
        folder = PurePosixPath(path).parent
        for target in IMPORT.findall(source):
            resolved = PurePosixPath(*_normal((folder / target).parts))
            pending.append(str(resolved))
    return seen


def _normal(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            out.pop()
        elif part != ".":
            out.append(part)
    return out


def _read_static(path: str) -> str | None:
    found = finders.find(path)
    return open(found, encoding="utf-8").read() if found else None


@lru_cache(maxsize=8)
def _cached_graph(entry: str) -> tuple[str, ...]:
    return tuple(import_graph(entry, _read_static))


@register.simple_tag
def module_preloads(entry: str, after: str = "", priority: str = "") -> str:
    """``<link rel="modulepreload">`` for each module of ``entry``'s graph.

    ``after``: an entry whose graph the page preloads already (left out); ``priority``:
    the links' ``fetchpriority`` ("low" lets requests the page sends itself go first).
    """
    graph = _graph(entry)
    skipped = set(_graph(after)) if after else set()
    extra = f' fetchpriority="{priority}"' if priority else ""
    return format_html_join(
        "",
        '<link rel="modulepreload" href="{}"' + extra + ">",
        ((static(path),) for path in graph if path not in skipped),
    )


def _graph(entry: str) -> tuple[str, ...]:
    return tuple(import_graph(entry, _read_static)) if settings.DEBUG else _cached_graph(entry)
