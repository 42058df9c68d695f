"""Print to film: the images a person chose, laid out on paper pages as a PDF."""

import json
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from viewer.archive.models import Instance
from viewer.archive.storage import absolute_path
from viewer.audit.models import AuditEvent, record
from viewer.imaging.film import FilmError, FilmHeader, Tile, compose_pages, write_pdf
from viewer.imaging.film_order import (
    MAX_BODY_BYTES,
    FilmItem,
    FilmOrder,
    clean_order,
    tile_limit,
)
from viewer.imaging.film_tiles import film_tile, institution_name
from viewer.imaging.frames import UndecodableFrame
from viewer.reading.kinds import KINDS
from viewer.templatetags.dicom import person_name

from .views import _get_study_for_user

logger = logging.getLogger(__name__)

# What a print may draw: every measurement kind, as the shape the film draws it with.
MARK_SHAPES = {k.kind: k.shape for k in KINDS.values()}


@require_POST
def study_film(request: HttpRequest, study_uid: str) -> HttpResponse:
    """POST a print request as JSON; answers the PDF film, or a 400 that says why.

    The body is ``{"layout": "RxC", "paper": "A4" | "Letter", "orientation":
    "portrait" | "landscape", "dpi": 150 | 200 | 300, "items": [...]}``, at most
    40 MB. Each item, printed in order, is one of:

    - a stored image, rendered here: ``{"sop_instance_uid": "...", "frame": 1,
      "window_center": 40, "window_width": 400, "invert": false, "rotation": 90,
      "flip_h": false, "flip_v": false, "marks": [{"kind": "length", "points":
      [[10, 20], [40, 20]], "text": "30.0 mm"}]}`` (all but the UID optional: the
      file's first window, else its full range; unturned; no marks). Marks are the
      measurements as the viewer shows them, in image pixels, with its labels;
    - an image the viewer rendered (an MPR pane): ``{"png": "<base64 of a PNG
      file>", "caption": "Coronal · MIP 10 mm"}``; 8-bit grey or colour, at most
      4096 x 4096 pixels and 8 MB, caption one line of at most 120 characters.
      Transparent pixels print black; the picture keeps its aspect in its cell.

    At most 64 items of either kind. Every item is checked before anything is drawn.
    The header naming the patient and the study comes from the archive's records
    of this study, never from the request.
    """
    study = _get_study_for_user(request, study_uid)
    try:
        order = clean_order(json.loads(_body(request) or b"null"), MARK_SHAPES)
    except RecursionError:  # nested past Python's stack
        return _bad("the body is not valid JSON")
    except ValueError as exc:  # FilmError is one; json's decode error the other
        detail = str(exc) if isinstance(exc, FilmError) else "the body is not valid JSON"
        return _bad(detail)
    wanted = {item.sop_instance_uid for item in order.items if isinstance(item, FilmItem)}
    found = {
        i.sop_instance_uid: i
        for i in Instance.objects.filter(series__study=study, sop_instance_uid__in=wanted)
        .select_related("series")
        .only("sop_instance_uid", "file_path", "number_of_frames", "series__series_number")
    }
    tiles = []
    for number, item in enumerate(order.items, start=1):
        if not isinstance(item, FilmItem):
            tiles.append(Tile(image=item.image, caption=item.caption))
            continue
        instance = found.get(item.sop_instance_uid)
        if instance is None:
            return _bad(f"image {number} is not an image of this study")
        if item.frame > instance.number_of_frames:
            return _bad(f"image {number}: frame {item.frame} does not exist")
        try:
            tiles.append(_stored_tile(order, item, instance))
        except UndecodableFrame as exc:
            return JsonResponse({"detail": f"image {number}: {exc}"}, status=422)
    now = timezone.localtime()
    pages = compose_pages(
        tiles,
        order.layout,
        _header(study, order, found),
        paper=order.paper,
        dpi=order.dpi,
        landscape=order.landscape,
        printed=now,
    )
    pdf = write_pdf(pages, order.dpi)
    detail = f"film PDF: {len(tiles)} images on {len(pages)} pages"
    rendered = len(order.items) - sum(isinstance(item, FilmItem) for item in order.items)
    if rendered:
        detail += f", {rendered} rendered by the viewer"
    record(AuditEvent.EXPORTED, request=request, study_uid=study.study_uid, detail=detail)
    logger.info("printed a %s", detail)
    response = HttpResponse(pdf, content_type="application/pdf")
    # The file name says when, never whom: downloads folders are not private.
    response["Content-Disposition"] = f'attachment; filename="pacsweb-film-{now:%Y%m%d-%H%M%S}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


def _body(request: HttpRequest) -> bytes:
    """The request body, refused past MAX_BODY_BYTES.

    Read from the stream: ``request.body`` stops at Django's general upload limit
    (2.5 MB), which a few rendered images exceed.
    """
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise FilmError(f"the request is larger than {MAX_BODY_BYTES // 2**20} MB")
    return body


def _stored_tile(order: FilmOrder, item: FilmItem, instance: Instance) -> Tile:
    return film_tile(
        absolute_path(instance.file_path),
        instance.sop_instance_uid,
        item.frame,
        instance.series.series_number,
        item.window,
        item.invert,
        tile_limit(order.layout, order.paper, order.dpi, order.landscape),
        item.placement,
        item.marks,
    )


def _header(study, order: FilmOrder, found: dict) -> FilmHeader:
    """Who and what, from the archive: the study's patient, its first printed file's
    institution (or any of the study's files when the viewer rendered every image)."""
    first = next((item for item in order.items if isinstance(item, FilmItem)), None)
    source = (
        found[first.sop_instance_uid]
        if first
        else Instance.objects.filter(series__study=study).only("file_path").first()
    )
    return FilmHeader(
        patient_name=person_name(study.patient.patient_name),
        patient_id=study.patient.patient_id,
        study_date=study.study_date.isoformat() if study.study_date else "",
        study_description=study.description,
        institution=institution_name(absolute_path(source.file_path)) if source else "",
        accession_number=study.accession_number,
        labels={
            "id": _("ID"),
            "accession": _("Accession"),
            "page": _("Page %(page)s of %(pages)s"),
            "printed": _("Printed %(when)s"),
        },
    )


def _bad(detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=400)
