"""Hanging protocols for a stored study: the default CT protocol opens the demo CT."""

import pytest

from viewer.archive.models import Study
from viewer.reading.models import HangingProtocol
from viewer.reading.protocols import hangings

pytestmark = pytest.mark.django_db


def test_the_demo_ct_opens_in_the_default_ct_protocol(small_ct):
    study = Study.objects.get()
    found = hangings(study)
    assert [h["protocol"] for h in found] == ["CT: soft tissue beside lung, coronal if present"]
    by_uid = {s.series_uid: s.description for s in study.series.all()}
    assert [(by_uid[v["series_uid"]], v["window"]) for v in found[0]["viewports"]] == [
        ("Axial 5.0 mm", "Abdomen"),
        ("Axial 5.0 mm", "Lung"),
        ("Coronal 5.0 mm", "Abdomen"),
    ]


def test_a_disabled_protocol_is_not_offered(small_ct):
    HangingProtocol.objects.update(enabled=False)
    assert hangings(Study.objects.get()) == []


def test_the_viewer_page_carries_the_protocols(alice_client, small_ct):
    study = Study.objects.get()
    page = alice_client.get(f"/studies/{study.study_uid}/view/")
    assert page.context["hangings"][0]["layout"] == "1x3"
    assert 'id="hangings"' in page.content.decode()
