"""Hanging protocols for a stored study: the facts of its series, and every arrangement."""

from collections.abc import Mapping
from dataclasses import asdict, replace

from viewer.archive.geometry import instance_geometries
from viewer.archive.models import Series, Study
from viewer.archive.storage import absolute_path
from viewer.imaging.geometry import stored_geometry

from .hanging import Protocol, SeriesFacts, arrange, matches, plane_of, with_listed_images
from .models import HangingProtocol


def series_facts(study: Study) -> list[SeriesFacts]:
    """What the rules look at, for each series with images (one header read a series);
    a mammography series that holds several views, for each view (its first image)."""
    facts = []
    # Images only: a report or PDF filed as a series of its own is not hung in a viewport.
    with_images = study.series.filter(instances__rows__isnull=False).distinct()
    for series in with_images.order_by("series_number", "pk"):
        instances = list(
            series.instances.filter(rows__isnull=False).only("file_path", "sop_instance_uid")
        )
        middle = instances[len(instances) // 2]
        try:
            geometry = stored_geometry(absolute_path(middle.file_path), middle.sop_instance_uid)
        except Exception:  # an unreadable header only loses the plane (and the view)
            geometry = None
        whole = SeriesFacts(
            series_uid=series.series_uid,
            modality=series.modality,
            description=series.description,
            body_part=series.body_part,
            plane=plane_of(geometry.orientation if geometry else None),
            images=series.num_instances,
            laterality=geometry.laterality if geometry else "",
            view=geometry.view if geometry else "",
        )
        facts.extend(
            _views(series, whole) if series.modality == "MG" and len(instances) > 1 else [whole]
        )
    return facts


def _views(series: Series, whole: SeriesFacts) -> list[SeriesFacts]:
    """One facts entry per view of a mammography series (a series of four views, as
    some modalities send), naming the view's first image; the series as a whole when
    all its images show one view. Laterality and view come from the archive's index."""
    instances = list(series.instances.filter(rows__isnull=False).order_by("instance_number", "pk"))
    try:
        geometries = instance_geometries(instances)
    except Exception:  # an unreadable header: the series as one
        return [whole]
    views: dict[tuple[str, str], str] = {}
    for geometry in geometries:
        views.setdefault((geometry.laterality, geometry.view), geometry.sop_instance_uid)
    if len(views) < 2:
        return [whole]
    return [
        replace(whole, laterality=side, view=view, images=1, sop_instance_uid=sop_uid)
        for (side, view), sop_uid in views.items()
    ]


def hangings(study: Study, listed: Mapping[str, int] | None = None) -> list[dict]:
    """Every enabled protocol that fits the study, applied, best first (JSON-ready).

    ``listed`` maps the series UIDs a retrieve job listed to their image counts, so a
    study still arriving hangs as it will when whole (see ``with_listed_images``).
    """
    facts = with_listed_images(series_facts(study), listed or {})
    found = []
    for row in HangingProtocol.objects.filter(enabled=True):
        protocol = Protocol(
            name=row.name,
            modality=row.modality,
            body_part=row.body_part,
            study_description=row.study_description,
            min_series=row.min_series,
            layout=row.layout,
            rules=row.rules if isinstance(row.rules, list) else [],
            priority=row.priority,
            narrow_layout=row.narrow_layout,
            narrow_viewports=row.narrow_viewports if isinstance(row.narrow_viewports, list) else [],
        )
        if matches(protocol, study.description, facts):
            found.append(asdict(arrange(protocol, facts)))
    return found
