"""Personal API tokens: issued once and stored hashed, refused when revoked, expired or
their user is inactive; made and revoked in the admin, every change audited."""

import datetime
import hashlib
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from viewer.accounts.models import ApiToken
from viewer.accounts.tokens import issue_token, revoke_token, user_for_token
from viewer.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"pwt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def staff(db):
    """A staff member who is not a superuser (a PACS administrator's deputy)."""
    return get_user_model().objects.create_user("bob", password="bob-secret-pw", is_staff=True)


def test_it_issues_a_token_stored_only_as_its_hash(alice):
    token, text = issue_token(alice, "OHIF on ward 3")
    assert TOKEN.fullmatch(text)
    token.refresh_from_db()
    assert token.key_hash == hashlib.sha256(text.encode()).hexdigest()
    assert text.startswith(token.key_prefix) and len(token.key_prefix) == 12
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not any(text in str(value) for value in stored.values())
    assert "pwt_" not in str(token).replace(token.key_prefix, "")


def test_it_issues_a_different_token_each_time(alice):
    assert issue_token(alice, "a")[1] != issue_token(alice, "a")[1]


def test_it_finds_the_user_of_a_token(alice):
    _, text = issue_token(alice, "scripts")
    assert user_for_token(text) == alice


def test_it_notes_the_last_use_at_most_once_a_minute(alice):
    token, text = issue_token(alice, "scripts")
    user_for_token(text)
    token.refresh_from_db()
    first = token.last_used
    assert first is not None
    user_for_token(text)
    token.refresh_from_db()
    assert token.last_used == first
    ApiToken.objects.filter(pk=token.pk).update(last_used=first - datetime.timedelta(minutes=2))
    user_for_token(text)
    token.refresh_from_db()
    assert token.last_used > first - datetime.timedelta(minutes=1)


def test_it_refuses_a_revoked_token(alice):
    token, text = issue_token(alice, "scripts")
    assert revoke_token(token)
    assert user_for_token(text) is None
    assert not revoke_token(token)  # once is enough


def test_it_refuses_an_expired_token(alice):
    _, text = issue_token(alice, "scripts", expires=timezone.now() - datetime.timedelta(seconds=1))
    assert user_for_token(text) is None
    _, later = issue_token(alice, "scripts", expires=timezone.now() + datetime.timedelta(days=1))
    assert user_for_token(later) == alice


def test_it_refuses_the_token_of_an_inactive_user(alice):
    _, text = issue_token(alice, "scripts")
    alice.is_active = False
    alice.save()
    assert user_for_token(text) is None


@pytest.mark.parametrize("text", ["", "pwt_", "pwt_00000000_nope", "password", "pwt_" + "x" * 500])
def test_it_refuses_unknown_and_malformed_tokens(alice, text):
    issue_token(alice, "scripts")
    assert user_for_token(text) is None


def test_it_refuses_a_token_changed_by_one_character(alice):
    _, text = issue_token(alice, "scripts")
    altered = text[:-1] + ("A" if text[-1] != "A" else "B")
    assert user_for_token(altered) is None


def test_it_audits_issuing_and_revoking(alice):
    token, text = issue_token(alice, "OHIF on ward 3")
    revoke_token(token)
    rows = list(AuditEvent.objects.filter(event=AuditEvent.USER_CHANGED).order_by("id"))
    details = [row.detail for row in rows if "API token" in row.detail]
    assert details == [
        f"account alice: API token {token.key_prefix} issued (OHIF on ward 3)",
        f"account alice: API token {token.key_prefix} revoked (OHIF on ward 3)",
    ]
    assert not any(text in row.detail for row in rows)


# The admin.


def _add(client, **fields):
    return client.post(reverse("admin:viewer_apitoken_add"), fields, follow=True)


def test_it_shows_a_new_token_once_in_the_admin_and_stores_its_hash(client, admin_user, alice):
    client.force_login(admin_user)
    response = _add(client, user=alice.pk, name="OHIF on ward 3", expires="")
    assert response.status_code == 200
    shown = TOKEN.findall(response.content.decode())
    assert len(shown) == 1
    token = ApiToken.objects.get()
    assert token.user == alice and token.name == "OHIF on ward 3"
    assert token.key_hash == hashlib.sha256(shown[0].encode()).hexdigest()
    assert user_for_token(shown[0]) == alice
    # Never again: not on the list, not on the token's own page.
    for url in (
        reverse("admin:viewer_apitoken_changelist"),
        reverse("admin:viewer_apitoken_change", args=[token.pk]),
    ):
        page = client.get(url).content.decode()
        assert shown[0] not in page and token.key_prefix in page
    assert AuditEvent.objects.filter(
        event=AuditEvent.USER_CHANGED, username="root", detail__contains="issued"
    ).exists()


def test_it_lets_staff_make_tokens_only_for_themselves(client, staff, alice):
    client.force_login(staff)
    response = _add(client, user=alice.pk, name="my scripts")
    assert response.status_code == 200
    assert len(TOKEN.findall(response.content.decode())) == 1
    assert ApiToken.objects.get().user == staff


def test_it_shows_staff_only_their_own_tokens(client, staff, alice):
    theirs, _ = issue_token(alice, "alice's scripts")
    mine, _ = issue_token(staff, "bob's scripts")
    client.force_login(staff)
    page = client.get(reverse("admin:viewer_apitoken_changelist")).content.decode()
    assert "bob&#x27;s scripts" in page and "alice" not in page
    other = client.get(reverse("admin:viewer_apitoken_change", args=[theirs.pk]))
    assert other.status_code in (302, 403, 404)


def test_it_keeps_the_admin_closed_to_users_who_are_not_staff(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:viewer_apitoken_changelist"))
    assert response.status_code == 302
    assert _add(client, name="x").redirect_chain[0][0].startswith("/admin/login/")
    assert not ApiToken.objects.exists()


def test_it_revokes_selected_tokens_in_the_admin(client, admin_user, alice):
    first, first_text = issue_token(alice, "one")
    second, second_text = issue_token(alice, "two")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:viewer_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [first.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 token(s) revoked" in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.revoked is not None and second.revoked is None
    assert user_for_token(first_text) is None and user_for_token(second_text) == alice


def test_it_never_puts_the_token_in_a_cookie(client, admin_user, alice):
    # Found in review: the message showing it went into the messages cookie (signed, so
    # readable), on the way from the add form to the list.
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:viewer_apitoken_add"), {"user": alice.pk, "name": "PACS", "expires": ""}
    )
    assert response.status_code == 302
    (token,) = ApiToken.objects.all()
    # Cookie values may be compressed: no messages cookie at all, the message is kept in
    # the session (server side) until the page shows it.
    assert "messages" not in response.cookies, response.cookies
    page = client.get(response["Location"]).content.decode()
    assert token.key_prefix in page and TOKEN.search(page)


def test_it_does_not_delete_tokens_in_the_admin(client, admin_user, alice):
    token, _ = issue_token(alice, "one")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:viewer_apitoken_delete", args=[token.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_it_does_not_change_a_saved_token_in_the_admin(client, admin_user, alice):
    token, text = issue_token(alice, "one")
    client.force_login(admin_user)
    client.post(
        reverse("admin:viewer_apitoken_change", args=[token.pk]),
        {"user": admin_user.pk, "name": "renamed", "expires": "2000-01-01 00:00:00"},
    )
    token.refresh_from_db()
    assert (token.user, token.name, token.expires) == (alice, "one", None)
    assert user_for_token(text) == alice
