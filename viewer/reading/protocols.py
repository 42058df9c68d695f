"""Hanging protocols for a stored study: the facts of its series, and every arrangement."""

from collections.abc import Mapping
from dataclasses import asdict

from viewer.archive.models import Study
from viewer.archive.storage import absolute_path
from viewer.imaging.geometry import stored_geometry

from .hanging import Protocol, SeriesFacts, arrange, matches, plane_of, with_listed_images
from .models import HangingProtocol


def series_facts(study: Study) -> list[SeriesFacts]:
    """What the rules look at, for each series with images (one header read a series)."""
    facts = []
    # Images only: a report or PDF filed as a series of its own is not hung in a viewport.
    with_images = study.series.filter(instances__rows__isnull=False).distinct()
    for series in with_images.order_by("series_number", "pk"):
        instances = list(
            series.instances.filter(rows__isnull=False).only("file_path", "sop_instance_uid")
        )
        middle = instances[len(instances) // 2]
        try:
            orientation = stored_geometry(
                absolute_path(middle.file_path), middle.sop_instance_uid
            ).orientation
        except Exception:  # an unreadable header only loses the plane
            orientation = None
        facts.append(
            SeriesFacts(
                series_uid=series.series_uid,
                modality=series.modality,
                description=series.description,
                body_part=series.body_part,
                plane=plane_of(orientation),
                images=series.num_instances,
            )
        )
    return facts


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
