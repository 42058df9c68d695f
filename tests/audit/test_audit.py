"""The access audit trail: what is recorded, and that nobody can change it."""

import pytest
from django.contrib.auth import get_user_model

from viewer.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_login_is_recorded_with_its_address(client, alice):
    client.post(
        "/login/", {"username": "alice", "password": "alice-secret-pw"}, REMOTE_ADDR="10.0.0.7"
    )
    event = AuditEvent.objects.get(event=AuditEvent.LOGIN)
    assert (event.user, event.username, event.remote_address, event.outcome) == (
        alice,
        "alice",
        "10.0.0.7",
        "success",
    )


def test_a_failed_login_is_recorded_without_the_password(client, alice):
    client.post("/login/", {"username": "alice", "password": "guess-123"}, REMOTE_ADDR="10.0.0.8")
    event = AuditEvent.objects.get(event=AuditEvent.LOGIN_FAILED)
    assert (event.username, event.outcome, event.remote_address) == ("alice", "failure", "10.0.0.8")
    assert "guess-123" not in event.detail


def test_a_logout_is_recorded(alice_client):
    alice_client.post("/logout/")
    assert AuditEvent.objects.filter(event=AuditEvent.LOGOUT, username="alice").exists()


def test_the_trail_names_the_person_after_the_account_is_gone(client, alice):
    client.post("/login/", {"username": "alice", "password": "alice-secret-pw"})
    get_user_model().objects.filter(username="alice").delete()
    event = AuditEvent.objects.get(event=AuditEvent.LOGIN)
    assert event.user is None and event.username == "alice"


def test_importing_records_each_study(tmp_path, small_ct_folder):
    from django.core.management import call_command

    call_command("import_dicom", str(small_ct_folder), "--no-progress")
    assert AuditEvent.objects.filter(event=AuditEvent.IMPORTED).count() == 1


def test_administrators_read_the_trail_but_cannot_change_it(client, admin_user, alice):
    # Creating the two accounts is in the trail too: hold on to this row.
    event = AuditEvent.objects.create(event=AuditEvent.LOGIN, username="alice")
    client.force_login(admin_user)
    assert client.get("/admin/viewer/auditevent/").status_code == 200
    assert client.get("/admin/viewer/auditevent/add/").status_code == 403
    assert client.get(f"/admin/viewer/auditevent/{event.pk}/delete/").status_code == 403
    client.post(f"/admin/viewer/auditevent/{event.pk}/change/", {"username": "mallory"})
    event.refresh_from_db()
    assert event.username == "alice"


def test_staff_who_are_not_administrators_cannot_read_it(client, db):
    staff = get_user_model().objects.create_user("nurse", password="x-secret-pw", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/viewer/auditevent/").status_code == 403
