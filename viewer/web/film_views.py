"""Print to film: the images a person chose, laid out on paper pages as a PDF."""

import json
import logging
import math
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from viewer.archive.models import Instance
from viewer.archive.storage import absolute_path
from viewer.audit.models import AuditEvent, record
from viewer.imaging.film import (
    PAPER_MM,
    FilmError,
    FilmHeader,
    compose_pages,
    page_pixels,
    parse_layout,
    write_pdf,
)
from viewer.imaging.film_tiles import film_tile, institution_name
from viewer.imaging.frames import UndecodableFrame
from viewer.templatetags.dicom import person_name

from .views import _get_study_for_user

logger = logging.getLogger(__name__)

MAX_IMAGES = 64
RESOLUTIONS = (150, 200, 300)


@dataclass(frozen=True)
class FilmItem:
    """One image asked for: which frame, at which window, inverted or not."""

    sop_instance_uid: str
    frame: int
    window: tuple[float, float] | None
    invert: bool


@dataclass(frozen=True)
class FilmOrder:
    """A cleaned print request."""

    layout: tuple[int, int]
    paper: str
    landscape: bool
    dpi: int
    items: list[FilmItem]


def _clean(body: object) -> FilmOrder:
    """The request body as a FilmOrder; raises FilmError saying what is wrong."""
    if not isinstance(body, dict):
        raise FilmError("the body is a JSON object")
    paper = body.get("paper", "A4")
    if paper not in PAPER_MM:
        raise FilmError(f"paper is one of {', '.join(PAPER_MM)}")
    orientation = body.get("orientation", "portrait")
    if orientation not in ("portrait", "landscape"):
        raise FilmError("orientation is 'portrait' or 'landscape'")
    dpi = body.get("dpi", 200)
    if dpi not in RESOLUTIONS:
        raise FilmError(f"dpi is one of {', '.join(map(str, RESOLUTIONS))}")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise FilmError("items is a list of at least one image")
    if len(items) > MAX_IMAGES:
        raise FilmError(f"at most {MAX_IMAGES} images can be printed at once")
    return FilmOrder(
        layout=parse_layout(body.get("layout", "")),
        paper=paper,
        landscape=orientation == "landscape",
        dpi=dpi,
        items=[_item(item, number) for number, item in enumerate(items, start=1)],
    )


def _item(item: object, number: int) -> FilmItem:
    if not isinstance(item, dict) or not isinstance(item.get("sop_instance_uid"), str):
        raise FilmError(f"image {number} needs a sop_instance_uid")
    frame = item.get("frame", 1)
    if not isinstance(frame, int) or isinstance(frame, bool) or frame < 1:
        raise FilmError(f"image {number}: frame is a whole number from 1")
    center, width = item.get("window_center"), item.get("window_width")
    window = None
    if center is not None or width is not None:
        numbers = [
            v for v in (center, width) if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if len(numbers) != 2 or not all(map(math.isfinite, numbers)) or width <= 0:
            raise FilmError(f"image {number}: window_center and a positive window_width")
        window = (float(center), float(width))
    return FilmItem(item["sop_instance_uid"], frame, window, item.get("invert") is True)


@require_POST
def study_film(request: HttpRequest, study_uid: str) -> HttpResponse:
    """POST {layout, paper, orientation, dpi, items}: the images as a PDF film."""
    study = _get_study_for_user(request, study_uid)
    try:
        order = _clean(json.loads(request.body or b"null"))
    except ValueError as exc:  # FilmError is one; json's decode error the other
        detail = str(exc) if isinstance(exc, FilmError) else "the body is not valid JSON"
        return JsonResponse({"detail": detail}, status=400)
    wanted = {item.sop_instance_uid for item in order.items}
    found = {
        i.sop_instance_uid: i
        for i in Instance.objects.filter(series__study=study, sop_instance_uid__in=wanted)
        .select_related("series")
        .only("sop_instance_uid", "file_path", "number_of_frames", "series__series_number")
    }
    width, height = page_pixels(order.paper, order.dpi, order.landscape)
    largest = max(width // order.layout[1], height // order.layout[0])
    tiles = []
    for number, item in enumerate(order.items, start=1):
        instance = found.get(item.sop_instance_uid)
        if instance is None:
            return _bad(f"image {number} is not an image of this study")
        if item.frame > instance.number_of_frames:
            return _bad(f"image {number}: frame {item.frame} does not exist")
        path = absolute_path(instance.file_path)
        try:
            tiles.append(
                film_tile(
                    path,
                    instance.sop_instance_uid,
                    item.frame,
                    instance.series.series_number,
                    item.window,
                    item.invert,
                    largest,
                )
            )
        except UndecodableFrame as exc:
            return JsonResponse({"detail": f"image {number}: {exc}"}, status=422)
    first = found[order.items[0].sop_instance_uid]
    header = FilmHeader(
        patient_name=person_name(study.patient.patient_name),
        patient_id=study.patient.patient_id,
        study_date=study.study_date.isoformat() if study.study_date else "",
        study_description=study.description,
        institution=institution_name(absolute_path(first.file_path)),
        accession_number=study.accession_number,
        labels={
            "id": _("ID"),
            "accession": _("Accession"),
            "page": _("Page %(page)s of %(pages)s"),
            "printed": _("Printed %(when)s"),
        },
    )
    now = timezone.localtime()
    pages = compose_pages(
        tiles,
        order.layout,
        header,
        paper=order.paper,
        dpi=order.dpi,
        landscape=order.landscape,
        printed=now,
    )
    pdf = write_pdf(pages, order.dpi)
    detail = f"film PDF: {len(tiles)} images on {len(pages)} pages"
    record(AuditEvent.EXPORTED, request=request, study_uid=study.study_uid, detail=detail)
    logger.info("printed a %s", detail)
    response = HttpResponse(pdf, content_type="application/pdf")
    # The file name says when, never whom: downloads folders are not private.
    response["Content-Disposition"] = f'attachment; filename="pacsweb-film-{now:%Y%m%d-%H%M%S}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


def _bad(detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=400)
