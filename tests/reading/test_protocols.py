"""Hanging protocols for a stored study: the default CT protocol opens the demo CT."""

import json
import re

import pytest
from django.core.exceptions import ValidationError

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


def test_the_demo_ct_opens_on_soft_tissue_on_a_phone_with_the_rest_a_tap_away(small_ct):
    shipped = HangingProtocol.objects.get(modality="CT")
    assert (shipped.narrow_layout, shipped.narrow_viewports) == ("1x1", [0])
    found = hangings(Study.objects.get())[0]
    assert found["protocol"] == shipped.name
    assert found["narrow"] == {"layout": "1x1", "viewports": found["viewports"]}
    assert found["narrow"]["viewports"][0]["window"] == "Abdomen"


def test_the_protocols_narrow_order_reaches_the_page(alice_client, small_ct):
    HangingProtocol.objects.update(narrow_layout="2x1", narrow_viewports=[1, 2])
    study = Study.objects.get()
    page = alice_client.get(f"/studies/{study.study_uid}/view/")
    found = json.loads(re.search(r'id="hangings"[^>]*>(.*?)</script>', page.content.decode())[1])
    wide = found[0]["viewports"]
    assert found[0]["layout"] == "1x3"
    assert found[0]["narrow"] == {"layout": "2x1", "viewports": [wide[1], wide[2], wide[0]]}


def protocol(**fields) -> HangingProtocol:
    rules = [{"plane": "axial"}, {"same_as": 0, "window": "Lung"}]
    return HangingProtocol(name="x", rules=rules, **fields)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"narrow_layout": "phone"}, {"narrow_layout"}),
        ({"narrow_layout": "2x2"}, {"narrow_layout"}),
        ({"narrow_viewports": [2]}, {"narrow_viewports"}),
        ({"narrow_viewports": [-1]}, {"narrow_viewports"}),
        ({"narrow_viewports": [1, 1]}, {"narrow_viewports"}),
        ({"narrow_viewports": ["1"]}, {"narrow_viewports"}),
        ({"narrow_viewports": [True]}, {"narrow_viewports"}),
        ({"narrow_viewports": {"0": 1}}, {"narrow_viewports"}),
    ],
)
def test_it_refuses_a_narrow_screen_it_cannot_show(fields, errors):
    with pytest.raises(ValidationError) as error:
        protocol(**fields).full_clean()
    assert set(error.value.message_dict) == errors


def test_it_refuses_narrow_indexes_without_rules():
    with pytest.raises(ValidationError) as error:
        HangingProtocol(name="x", narrow_viewports=[0]).full_clean()
    assert "narrow_viewports" in error.value.message_dict


def test_it_accepts_a_narrow_screen_of_up_to_two_rules_and_tidies_the_layout():
    row = protocol(narrow_layout=" 1 × 2 ", narrow_viewports=[1, 0])
    row.full_clean()
    assert row.narrow_layout == "1x2"
    empty = protocol(narrow_viewports=None)
    empty.full_clean()
    assert empty.narrow_viewports == []


def test_an_administrator_sets_the_narrow_screen_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/viewer/hangingprotocol/add/",
        {
            "name": "Chest CT",
            "enabled": "on",
            "priority": 0,
            "modality": "CT",
            "body_part": "",
            "study_description": "",
            "min_series": 1,
            "layout": "",
            "rules": '[{"plane": "axial"}, {"plane": "coronal"}]',
            "narrow_layout": "1x1",
            "narrow_viewports": "[1]",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = HangingProtocol.objects.get(name="Chest CT")
    assert (row.narrow_layout, row.narrow_viewports) == ("1x1", [1])
    page = client.get(f"/admin/viewer/hangingprotocol/{row.pk}/change/").content.decode()
    assert "Narrow screen (phone)" in page and "a tap away" in page
