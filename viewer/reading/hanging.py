"""Hanging protocols as pure functions: which protocol suits a study, and what it shows where.

A protocol matches a study by modality, body part, study description (glob patterns,
case-insensitive) and series count; its viewport rules pick series by description
pattern and plane, may repeat an earlier viewport's series at another window, and may
be optional (left out when nothing matches). No database here: the view passes facts in.
"""

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

LAYOUTS = {1: "1x1", 2: "1x2", 3: "1x3", 4: "2x2", 5: "2x3", 6: "2x3", 7: "3x3", 8: "3x3", 9: "3x3"}


@dataclass(frozen=True)
class SeriesFacts:
    """What a rule may ask of a series."""

    series_uid: str
    modality: str
    description: str
    body_part: str
    plane: str  # axial, coronal, sagittal, oblique or unknown
    images: int


@dataclass(frozen=True)
class Protocol:
    """A protocol's matching conditions and viewport rules (see ``rules`` in the model)."""

    name: str
    modality: str = ""
    body_part: str = ""
    study_description: str = ""
    min_series: int = 1
    layout: str = ""
    rules: Sequence[dict] = field(default_factory=list)
    priority: int = 0


@dataclass(frozen=True)
class Hanging:
    """The chosen arrangement: layout, and per viewport the series and window preset."""

    protocol: str
    layout: str
    viewports: list[dict]


def _like(pattern: str, value: str) -> bool:
    return not pattern or fnmatch.fnmatch(value.casefold(), pattern.casefold())


def plane_of(orientation: Sequence[float] | None) -> str:
    """Axial, coronal or sagittal by the slice normal's dominant axis; oblique if none is."""
    if not orientation or len(orientation) != 6:
        return "unknown"
    r, c = orientation[:3], orientation[3:]
    normal = [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]]
    axis = max(range(3), key=lambda i: abs(normal[i]))
    if abs(normal[axis]) < 0.8:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def matches(protocol: Protocol, study_description: str, series: Sequence[SeriesFacts]) -> bool:
    """Whether the protocol applies to a study with these series."""
    if len(series) < protocol.min_series:
        return False
    if protocol.modality and not any(s.modality == protocol.modality for s in series):
        return False
    if protocol.body_part and not any(_like(protocol.body_part, s.body_part) for s in series):
        return False
    return _like(protocol.study_description, study_description)


def _fits(rule: dict, facts: SeriesFacts) -> bool:
    return (
        _like(rule.get("series", ""), facts.description)
        and rule.get("plane", facts.plane) == facts.plane
        and facts.images >= rule.get("min_images", 1)
        and (not rule.get("modality") or rule["modality"] == facts.modality)
    )


def arrange(protocol: Protocol, series: Sequence[SeriesFacts]) -> Hanging:
    """Apply the protocol's rules to the series (in study order)."""
    used: set[str] = set()
    viewports: list[dict] = []
    for rule in protocol.rules:
        if rule.get("each"):
            # One viewport per remaining series (radiographs: one image each).
            for facts in series:
                if facts.series_uid not in used and _fits(rule, facts):
                    used.add(facts.series_uid)
                    viewports.append(
                        {"series_uid": facts.series_uid, "window": rule.get("window", "")}
                    )
            continue
        if "same_as" in rule:
            index = rule["same_as"]
            if 0 <= index < len(viewports):
                viewports.append(
                    {"series_uid": viewports[index]["series_uid"], "window": rule.get("window", "")}
                )
            continue
        found = next((f for f in series if f.series_uid not in used and _fits(rule, f)), None)
        if found is None:
            if rule.get("optional"):
                continue
            viewports.append({"series_uid": None, "window": rule.get("window", "")})
            continue
        used.add(found.series_uid)
        viewports.append({"series_uid": found.series_uid, "window": rule.get("window", "")})
    if protocol.layout:
        rows, _, columns = protocol.layout.partition("x")
        viewports = viewports[: int(rows) * int(columns)]
    viewports = viewports[:16]
    layout = protocol.layout or LAYOUTS.get(len(viewports), "4x4")
    return Hanging(protocol.name, layout, viewports)


def choose(
    protocols: Sequence[Protocol], study_description: str, series: Sequence[SeriesFacts]
) -> Hanging | None:
    """The highest-priority protocol that matches, applied; None if none does."""
    for protocol in sorted(protocols, key=lambda p: -p.priority):
        if matches(protocol, study_description, series):
            return arrange(protocol, series)
    return None
