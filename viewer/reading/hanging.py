"""Hanging protocols as pure functions: which protocol suits a study, and what it shows where.

A protocol matches a study by modality, body part, study description (glob patterns,
case-insensitive) and series count; its viewport rules pick series by description
pattern and plane, may repeat an earlier viewport's series at another window, and may
be optional (left out when nothing matches). Projection images (mammography) are picked
by laterality and view, per image when one series holds several views, and a rule may
ask for the image to be hung with its chest wall toward the middle (``chest_wall``: the
viewer mirrors it where its own orientation says so). A protocol also says how it degrades on a
narrow screen (a phone): a layout of at most two viewports, and which of its viewport rules
come first there; the rest follow in order, a tap away. No database here: the view passes
facts in.
"""

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

LAYOUTS = {1: "1x1", 2: "1x2", 3: "1x3", 4: "2x2", 5: "2x3", 6: "2x3", 7: "3x3", 8: "3x3", 9: "3x3"}
NARROW_LAYOUT = "1x1"
NARROW_MAX_VIEWPORTS = 2
_LAYOUT = re.compile(r"^\s*([1-4])\s*[x×*]\s*([1-4])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SeriesFacts:
    """What a rule may ask of a series."""

    series_uid: str
    modality: str
    description: str
    body_part: str
    plane: str  # axial, coronal, sagittal, oblique or unknown
    images: int
    laterality: str = ""  # R, L, B, U or '' (ImageLaterality / Laterality)
    view: str = ""  # CC, MLO, ... or '' (ViewPosition / ViewCodeSequence)
    # One image of a series that holds several views; '' for the whole series.
    sop_instance_uid: str = ""


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
    narrow_layout: str = ""
    narrow_viewports: Sequence[int] = ()


@dataclass(frozen=True)
class Hanging:
    """The chosen arrangement: layout, and per viewport the series and window preset.

    ``narrow`` is the same on a narrow screen: ``{"layout": "1x1", "viewports": [...]}``
    with every viewport, in the order a phone shows them.
    """

    protocol: str
    layout: str
    viewports: list[dict]
    narrow: dict


def parse_layout(text: str) -> tuple[int, int] | None:
    """Rows and columns of "RxC" (1 to 4 each), or None; as ``parseLayout`` in the viewer."""
    match = _LAYOUT.match(text or "")
    return (int(match[1]), int(match[2])) if match else None


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
        and _same(rule.get("laterality"), facts.laterality)
        and _same(rule.get("view"), facts.view)
    )


def _same(wanted: object, value: str) -> bool:
    return not wanted or str(wanted).strip().upper() == value


def _viewport(rule: dict, facts: SeriesFacts | None, window: str) -> dict:
    """A viewport's entry: the series (and image) it shows, its window, and how it hangs."""
    entry: dict = {"series_uid": facts.series_uid if facts else None, "window": window}
    if facts and facts.sop_instance_uid:
        entry["sop_instance_uid"] = facts.sop_instance_uid
    if rule.get("chest_wall"):
        entry["chest_wall"] = str(rule["chest_wall"])
    if facts is None and rule.get("laterality") and rule.get("view"):
        # An empty slot names the view it was for: the viewer says that view is missing.
        entry["missing"] = {
            "laterality": str(rule["laterality"]).strip().upper(),
            "view": str(rule["view"]).strip().upper(),
        }
    return entry


def _key(facts: SeriesFacts) -> tuple[str, str]:
    return (facts.series_uid, facts.sop_instance_uid)


def _apply(
    rule: dict, series: Sequence[SeriesFacts], used: set[tuple[str, str]], viewports: list[dict]
) -> list[dict]:
    """The viewports one rule adds after ``viewports``; marks the series it takes as used."""
    window = rule.get("window", "")
    if rule.get("each"):
        # One viewport per remaining series (radiographs: one image each).
        added = []
        for facts in series:
            if _key(facts) not in used and _fits(rule, facts):
                used.add(_key(facts))
                added.append(_viewport(rule, facts, window))
        return added
    if "same_as" in rule:
        index = rule["same_as"]
        if 0 <= index < len(viewports):
            return [{**viewports[index], "window": window}]
        return []
    found = next((f for f in series if _key(f) not in used and _fits(rule, f)), None)
    if found is None:
        return [] if rule.get("optional") else [_viewport(rule, None, window)]
    used.add(_key(found))
    return [_viewport(rule, found, window)]


def arrange(protocol: Protocol, series: Sequence[SeriesFacts]) -> Hanging:
    """Apply the protocol's rules to the series (in study order)."""
    used: set[tuple[str, str]] = set()
    viewports: list[dict] = []
    from_rule: list[int] = []  # which rule filled each viewport, for the narrow order
    for number, rule in enumerate(protocol.rules):
        added = _apply(rule, series, used, viewports)
        viewports.extend(added)
        from_rule.extend([number] * len(added))
    if protocol.layout:
        rows, _, columns = protocol.layout.partition("x")
        viewports = viewports[: int(rows) * int(columns)]
    viewports = viewports[:16]
    layout = protocol.layout or LAYOUTS.get(len(viewports), "4x4")
    narrow = _narrow(protocol, viewports, from_rule[: len(viewports)])
    return Hanging(protocol.name, layout, viewports, narrow)


def _narrow(protocol: Protocol, viewports: list[dict], from_rule: list[int]) -> dict:
    """The viewports a narrow screen shows, the protocol's chosen rules first, and its layout.

    Every viewport stays, so a phone can page to the rest. A layout with more viewports
    than there are falls back to one viewport.
    """
    first = list(dict.fromkeys(n for n in protocol.narrow_viewports if isinstance(n, int)))
    rank = {number: place for place, number in enumerate(first)}
    order = sorted(range(len(viewports)), key=lambda i: rank.get(from_rule[i], len(first)))
    shape = parse_layout(protocol.narrow_layout)
    if shape is None or shape[0] * shape[1] > min(len(viewports), NARROW_MAX_VIEWPORTS):
        layout = NARROW_LAYOUT
    else:
        layout = f"{shape[0]}x{shape[1]}"
    return {"layout": layout, "viewports": [viewports[i] for i in order]}


def with_listed_images(
    series: Sequence[SeriesFacts], listed: Mapping[str, int]
) -> list[SeriesFacts]:
    """The series as they will be once retrieved: each counts the images its node
    listed when more than have arrived.

    A series being retrieved has only its first images here; counted as it is, it fails
    a rule's ``min_images`` and the study would hang on another series (or on none)
    until the retrieve ends. Counted as listed, the study hangs the same while it
    arrives as after.
    """
    return [
        replace(facts, images=listed[facts.series_uid])
        if listed.get(facts.series_uid, 0) > facts.images
        else facts
        for facts in series
    ]


def choose(
    protocols: Sequence[Protocol], study_description: str, series: Sequence[SeriesFacts]
) -> Hanging | None:
    """The highest-priority protocol that matches, applied; None if none does."""
    for protocol in sorted(protocols, key=lambda p: -p.priority):
        if matches(protocol, study_description, series):
            return arrange(protocol, series)
    return None


def opening_series(initial: str, applied: Sequence[dict], strip: Sequence[str]) -> list[str]:
    """The series the viewer shows first, on a wide screen and on a narrow one: the one
    asked for, else the first viewport of the best protocol (either form), else the
    strip's first; the page asks for their listings while its scripts load."""
    if initial:
        return [initial]
    if applied:
        best = applied[0]
        firsts = [
            form["viewports"][0]
            for form in (best, best.get("narrow") or {})
            if form.get("viewports")
        ]
        uids = [viewport.get("series_uid") for viewport in firsts]
        return list(dict.fromkeys(uid for uid in uids if uid))
    return list(strip[:1])


def opening_views(initial: str, applied: Sequence[dict], strip: Sequence[str]) -> dict[str, dict]:
    """The first viewport's series and named image (``sop_instance_uid``, or "" for the
    middle one), ``wide`` and ``narrow``, as the viewer opens; io/early.js asks for it."""
    if initial:
        view = {"series_uid": initial, "sop_instance_uid": ""}
        return {"wide": view, "narrow": view}
    if not applied:
        view = {"series_uid": strip[0] if strip else "", "sop_instance_uid": ""}
        return {"wide": view, "narrow": view}
    best = applied[0]
    # As the page's forScreen (math/layout.js) picks a form's viewports.
    narrow = (best.get("narrow") or {}).get("viewports") or best.get("viewports") or []
    forms = {"wide": best.get("viewports") or [], "narrow": narrow}
    return {
        name: {
            "series_uid": (viewports[0].get("series_uid") or "") if viewports else "",
            "sop_instance_uid": (viewports[0].get("sop_instance_uid") or "") if viewports else "",
        }
        for name, viewports in forms.items()
    }
