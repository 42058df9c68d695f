"""Malformed UIDs in paths are 404s: never matched, never sent on to a node."""

import pytest

from tests.nodes.conftest import make_node

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("uid", ["1..2", "1.", "1.2..", "1" * 65])
def test_a_malformed_study_uid_is_not_found(alice_client, uid):
    assert alice_client.get(f"/studies/{uid}/").status_code == 404
    answer = alice_client.get(f"/api/studies/{uid}/measurements/")
    assert answer.status_code == 404 and answer["Content-Type"] == "application/json"


@pytest.mark.parametrize("uid", ["1..2", "1.2.3"])
def test_a_malformed_uid_is_not_asked_of_a_remote_node(alice_client, monkeypatch, uid):
    node = make_node(104)
    asked = []

    def find_study(node, study_uid, session=None):
        asked.append(study_uid)
        return None

    monkeypatch.setattr("viewer.web.views.find_study", find_study)
    monkeypatch.setattr("viewer.web.views.find_series", lambda *a, **k: [])
    alice_client.get(f"/remote/{node.pk}/studies/{uid}/")
    # The well-formed one is asked (the double is live); the malformed one never.
    assert asked == ([] if ".." in uid else [uid])
