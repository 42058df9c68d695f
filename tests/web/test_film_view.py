"""POST /api/studies/<uid>/film.pdf: stored or viewer-rendered images as a PDF film, or a 400."""

import base64
import io
import json
import logging
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from tests.base import SMALL_CT, require_peer
from viewer.archive.models import Instance
from viewer.audit.models import AuditEvent
from viewer.demo.ct_study import study_uid as demo_study_uid
from viewer.imaging.film import cell_boxes, page_pixels

STUDY = demo_study_uid(SMALL_CT)
URL = f"/api/studies/{STUDY}/film.pdf"


def axial(count: int) -> list[dict]:
    found = Instance.objects.filter(series__description="Axial 5.0 mm").order_by("instance_number")[
        :count
    ]
    return [
        {"sop_instance_uid": i.sop_instance_uid, "window_center": 40, "window_width": 400}
        for i in found
    ]


def post(client, body) -> object:
    return client.post(URL, json.dumps(body), content_type="application/json")


def test_an_anonymous_visitor_is_refused(client, small_ct):
    response = post(client, {"layout": "1x1", "items": axial(1)})
    assert response.status_code == 401


def test_it_returns_a_pdf_with_a_page_per_sheet(alice_client, small_ct):
    response = post(alice_client, {"layout": "2x2", "paper": "Letter", "items": axial(5)})
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 2
    # Letter is 612 x 792 points.
    assert re.search(rb"/MediaBox \[ 0 0 612\.\d* 792\.\d* \]", pdf)


def test_the_file_name_and_the_log_carry_no_patient_data(alice_client, small_ct, caplog):
    with caplog.at_level(logging.DEBUG):
        response = post(alice_client, {"layout": "1x1", "items": axial(1)})
    disposition = response["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="pacsweb-film-\d{8}-\d{6}\.pdf"', disposition)
    for secret in (SMALL_CT.patient_id, "Zhang", "张"):
        assert secret not in caplog.text and secret not in disposition


def test_printing_is_audited_as_an_export(alice_client, alice, small_ct):
    post(alice_client, {"layout": "1x2", "items": axial(2)})
    event = AuditEvent.objects.get(event=AuditEvent.EXPORTED)
    assert (event.user, event.study_uid) == (alice, STUDY)
    assert event.detail == "film PDF: 2 images on 1 pages"


def test_landscape_and_resolution_are_honoured(alice_client, small_ct):
    body = {"layout": "1x2", "orientation": "landscape", "dpi": 150, "items": axial(2)}
    pdf = post(alice_client, body).content
    assert re.search(rb"/MediaBox \[ 0 0 841\.\d* 595\.\d* \]", pdf)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"layout": "7x7"}, "rows and columns"),
        ({"layout": "two by two"}, "layout is 'RxC'"),
        ({"paper": "A3"}, "paper is one of A4, Letter"),
        ({"dpi": 600}, "dpi is one of"),
        ({"orientation": "sideways"}, "orientation"),
        ({"items": []}, "at least one image"),
        ({"items": [{"frame": 1}]}, "image 1 needs a sop_instance_uid"),
        ({"items": [{"sop_instance_uid": "1.2.3"}]}, "image 1 is not an image of this study"),
        ({"window_width": -5}, "positive window_width"),
        ({"window_width": None, "window_center": 40}, "positive window_width"),
        ({"frame": 0}, "frame is a whole number"),
        ({"frame": 2}, "frame 2 does not exist"),
    ],
)
def test_bad_input_is_a_400_that_says_why(alice_client, small_ct, body, detail):
    request = {"layout": "2x2", "items": axial(2)}
    if set(body) & {"window_width", "window_center", "frame"}:
        request["items"][1].update(body)
    else:
        request.update(body)
    response = post(alice_client, request)
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_too_many_images_are_refused(alice_client, small_ct):
    items = axial(1) * 65
    response = post(alice_client, {"layout": "4x4", "items": items})
    assert response.status_code == 400 and "at most 64" in response.json()["detail"]


@pytest.mark.parametrize("body", ["{layout", '{"items": ' + "[" * 100_000 + "]" * 100_000 + "}"])
def test_a_body_that_is_not_json_is_a_400(alice_client, small_ct, body):
    # Nested past Python's stack used to be a 500 (RecursionError).
    response = alice_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]


def test_only_post_is_allowed(alice_client, small_ct):
    assert alice_client.get(URL).status_code == 405


def rendered(image: Image.Image, caption: str = "Coronal · MIP 10 mm") -> dict:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"png": base64.b64encode(buffer.getvalue()).decode(), "caption": caption}


def halves(size=(300, 200)) -> Image.Image:
    """Red on the left, white on the right: which side is which shows on the page."""
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste((220, 30, 30), (0, 0, size[0] // 2, size[1]))
    return image


def raster(pdf: bytes, tmp_path, dpi: int) -> Image.Image:
    pdftoppm = require_peer("pdftoppm")
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "film.pdf").write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-r", str(dpi), "-png", str(tmp_path / "film.pdf"), str(tmp_path / "page")],
        check=True,
    )
    [page] = sorted(tmp_path.glob("page*.png"))
    return Image.open(page).convert("RGB")


def test_an_image_the_viewer_rendered_prints_in_its_cell(alice_client, small_ct, tmp_path):
    response = post(alice_client, {"layout": "1x1", "dpi": 150, "items": [rendered(halves())]})
    assert response.status_code == 200, response.content[:200]
    page = raster(response.content, tmp_path, 150)
    assert page.size == page_pixels("A4", 150)
    left, top, right, bottom = cell_boxes(page.size, (1, 1), 150)[0]
    middle = (top + bottom) // 2
    # A portrait cell: the picture spans its width at 3:2, centred, on black.
    red, white = (
        page.getpixel((left + (right - left) // 4, middle)),
        page.getpixel((left + 3 * (right - left) // 4, middle)),
    )
    assert red[0] > 180 and red[1] < 80 and min(white) > 220
    assert max(page.getpixel(((left + right) // 2, top + 10))) < 30
    image_rows = np.nonzero(np.asarray(page.crop((left, top, right, bottom)))[:, 5, 0] > 150)[0]
    assert np.ptp(image_rows) + 1 == pytest.approx((right - left) * 2 / 3, abs=3)


def test_the_header_is_the_studys_own_whatever_the_request_says(alice_client, small_ct, tmp_path):
    stored = post(alice_client, {"layout": "1x1", "dpi": 150, "items": axial(1)})
    forged = {
        "layout": "1x1",
        "dpi": 150,
        "patient_name": "Mallory",
        "patient_id": "X-1",
        "items": [{**rendered(halves()), "caption": "Coronal"}],
    }
    mine = post(alice_client, forged)
    assert mine.status_code == 200, mine.content[:200]
    pages = [raster(r.content, tmp_path / name, 150) for r, name in ((stored, "a"), (mine, "b"))]
    band = (0, 0, pages[0].width, cell_boxes(pages[0].size, (1, 1), 150)[0][1] - 16)
    a, b = (np.asarray(p.crop(band).convert("L"), float) for p in pages)
    assert a.min() < 100  # the header is printed
    assert np.abs(a - b).max() < 16  # and it is the same header, JPEG aside


def test_stored_and_rendered_images_print_together_and_are_audited(
    alice_client, alice, small_ct, caplog
):
    items = [axial(1)[0], rendered(halves()), rendered(Image.new("L", (64, 64), 90))]
    with caplog.at_level(logging.DEBUG):
        response = post(alice_client, {"layout": "2x2", "items": items})
    assert response.status_code == 200, response.content[:200]
    assert len(re.findall(rb"/Type /Page\b", response.content)) == 1
    event = AuditEvent.objects.get(event=AuditEvent.EXPORTED)
    assert (event.user, event.study_uid) == (alice, STUDY)
    assert event.detail == "film PDF: 3 images on 1 pages, 2 rendered by the viewer"
    for secret in (SMALL_CT.patient_id, "Zhang", "张", "Coronal"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("item", "detail"),
    [
        ({"png": "%%%"}, "image 2: png is not valid base64"),
        ({"png": base64.b64encode(b"<html>").decode()}, "image 2: png is not a PNG file"),
        (rendered(Image.new("L", (5000, 10))), "5000 x 10 pixels, at most 4096 x 4096"),
        ({**rendered(halves()), "sop_instance_uid": "1.2"}, "only png and caption"),
    ],
)
def test_a_bad_rendered_image_is_a_400_and_nothing_is_printed(alice_client, small_ct, item, detail):
    response = post(alice_client, {"layout": "2x2", "items": [axial(1)[0], item]})
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert not AuditEvent.objects.filter(event=AuditEvent.EXPORTED).exists()


def test_a_request_over_the_size_limit_is_a_400_naming_it(alice_client, small_ct, monkeypatch):
    # Above Django's own 2.5 MB upload limit, below ours: printed.
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 255, (1200, 1200, 3), np.uint8))
    big = rendered(noise)
    assert len(big["png"]) > 2.5 * 2**20
    assert post(alice_client, {"layout": "1x1", "items": [big]}).status_code == 200
    monkeypatch.setattr("viewer.web.film_views.MAX_BODY_BYTES", 2**20)
    response = post(alice_client, {"layout": "1x1", "items": [big]})
    assert response.status_code == 400
    assert response.json()["detail"] == "the request is larger than 1 MB"


def test_too_many_images_of_both_kinds_are_refused(alice_client, small_ct):
    items = [axial(1)[0], rendered(Image.new("L", (8, 8)))] * 32 + axial(1)
    response = post(alice_client, {"layout": "4x4", "items": items})
    assert response.status_code == 400 and "at most 64" in response.json()["detail"]


def test_a_stored_image_prints_turned_with_its_measurement_as_on_screen(
    alice_client, small_ct, tmp_path
):
    """A length drawn across the image, then turned a quarter clockwise: on the film it
    runs top to bottom, in the measurement colour, with its label; the markers turn."""
    [item] = axial(1)
    length = {"kind": "length", "points": [[8, 32], [56, 32]], "text": "99.9 mm"}
    pages = {}
    for name, extra in (("flat", {}), ("turned", {"rotation": 90, "marks": [length]})):
        response = post(alice_client, {"layout": "1x1", "dpi": 150, "items": [{**item, **extra}]})
        assert response.status_code == 200, response.content[:200]
        pages[name] = np.asarray(raster(response.content, tmp_path / name, 150), dtype=int)
    left, top, right, bottom = cell_boxes(page_pixels("A4", 150), (1, 1), 150)[0]
    cell = pages["turned"][top:bottom, left:right]
    # The measurement colour is the only blue on a grey film (JPEG blurs it a little).
    blue = (cell[..., 2] - cell[..., 0] > 60) & (cell[..., 2] > 150)
    assert not (
        pages["flat"][top:bottom, left:right][..., 2]
        - pages["flat"][top:bottom, left:right][..., 0]
        > 60
    ).any()
    rows, columns = np.nonzero(blue)
    assert rows.size > 100, "the length is drawn"
    # The 64-pixel image fills the cell's width: 48 pixels of length, turned upright.
    assert np.ptp(rows) > 0.6 * (right - left) and np.ptp(columns) < 0.15 * (right - left)
