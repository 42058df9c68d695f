"""POST /api/studies/<uid>/film.pdf: the chosen images as a PDF film, or a clear 400."""

import json
import logging
import re

import pytest

from tests.base import SMALL_CT
from viewer.archive.models import Instance
from viewer.audit.models import AuditEvent
from viewer.demo.ct_study import study_uid as demo_study_uid

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


def test_a_body_that_is_not_json_is_a_400(alice_client, small_ct):
    response = alice_client.post(URL, "{layout", content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]


def test_only_post_is_allowed(alice_client, small_ct):
    assert alice_client.get(URL).status_code == 405
