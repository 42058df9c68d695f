"""Sign-in throttling (django-axes): a user name is locked out at one address after
repeated wrong passwords, on the site and in the admin, audited and liftable."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings

from viewer.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

WARD_PC = "10.1.2.3"
RIGHT, WRONG = "alice-secret-pw", "not-her-password"


def sign_in(client, password: str, username: str = "alice", address: str = WARD_PC, url="/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail_to_the_limit(client, **where) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, WRONG, **where).status_code == 200  # the form again
    assert sign_in(client, WRONG, **where).status_code == 429  # the last one locks


def test_it_refuses_even_the_right_password_once_locked_out(client, alice):
    fail_to_the_limit(client)
    response = sign_in(client, RIGHT)
    assert response.status_code == 429 and not signed_in(client)
    page = response.content.decode()
    assert "Sign-in locked" in page and 'role="alert"' in page and "15 minutes" in page


def test_a_lockout_is_audited_as_a_security_alert(client, alice):
    fail_to_the_limit(client)
    alert = AuditEvent.objects.get(event=AuditEvent.SECURITY_ALERT)
    assert (alert.username, alert.remote_address, alert.outcome) == ("alice", WARD_PC, "failure")
    assert AuditEvent.objects.filter(event=AuditEvent.LOGIN_FAILED).count() >= 5


def test_another_user_at_the_same_ward_pc_still_signs_in(client, alice, admin_user):
    fail_to_the_limit(client)
    sign_in(client, "root-secret-pw", username="root")
    assert signed_in(client)


def test_the_same_user_at_another_computer_still_signs_in(client, alice):
    fail_to_the_limit(client)
    sign_in(client, RIGHT, address="10.9.9.9")
    assert signed_in(client)


def test_a_right_password_before_the_limit_starts_the_count_again(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, WRONG)
    sign_in(client, RIGHT)
    assert signed_in(client)
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, WRONG)
    sign_in(client, RIGHT)
    assert signed_in(client)


def test_the_admins_sign_in_is_throttled_too(client, admin_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, WRONG, username="root", url="/admin/login/")
    response = sign_in(client, "root-secret-pw", username="root", url="/admin/login/")
    assert response.status_code == 429 and not signed_in(client)


def test_an_administrator_sees_the_lockout_and_lifts_it(client, alice, admin_user):
    fail_to_the_limit(client)
    staff = client.__class__()
    staff.force_login(admin_user)
    listing = staff.get("/admin/axes/accessattempt/").content.decode()
    assert "alice" in listing and WARD_PC in listing
    attempt = AccessAttempt.objects.get(username="alice")
    staff.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert not AccessAttempt.objects.exists()
    sign_in(client, RIGHT)
    assert signed_in(client)
