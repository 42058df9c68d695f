"""Accounts and groups created, changed and deleted, in the admin or by code: who did it,
to which account, and never a password."""

import getpass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from viewer.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

User = get_user_model()


def changes() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=AuditEvent.USER_CHANGED).order_by("pk"))


def details() -> list[str]:
    return [row.detail for row in changes()]


@pytest.fixture
def root_client(client, admin_user):
    """The administrator signed in; the trail holds nothing about accounts yet."""
    client.force_login(admin_user)
    AuditEvent.objects.all().delete()
    return client


def test_an_account_added_in_the_admin_names_who_added_it(root_client, admin_user):
    root_client.post(
        "/admin/auth/user/add/",
        {"username": "bob", "password1": "Bob-secret-pw-42", "password2": "Bob-secret-pw-42"},
        REMOTE_ADDR="10.0.0.9",
    )
    [created] = changes()
    assert (created.user, created.username, created.remote_address) == (
        admin_user,
        "root",
        "10.0.0.9",
    )
    assert created.detail == "account bob created"
    assert "Bob-secret-pw-42" not in created.detail


def test_flags_groups_and_permissions_changed_in_the_admin_are_each_recorded(alice, root_client):
    ward = Group.objects.create(name="ward")
    permission = Permission.objects.get(codename="view_auditevent")
    AuditEvent.objects.all().delete()
    root_client.post(
        f"/admin/auth/user/{alice.pk}/change/",
        {
            "username": "alice",
            "is_active": "on",
            "is_staff": "on",
            "groups": [ward.pk],
            "user_permissions": [permission.pk],
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert {row.username for row in changes()} == {"root"}
    assert sorted(details()) == [
        "account alice: groups added: ward",
        "account alice: is_staff on",
        "account alice: permissions added: viewer.view_auditevent",
    ]


def test_a_password_change_is_recorded_without_the_password(alice, root_client):
    root_client.post(
        f"/admin/auth/user/{alice.pk}/password/",
        {"password1": "New-secret-pw-77", "password2": "New-secret-pw-77"},
    )
    [changed] = changes()
    assert changed.detail == "account alice: password changed"
    assert not AuditEvent.objects.filter(detail__contains="New-secret-pw-77").exists()
    assert not AuditEvent.objects.filter(detail__contains="pbkdf2").exists()


def test_an_account_deleted_in_the_admin_is_recorded(alice, root_client):
    root_client.post(f"/admin/auth/user/{alice.pk}/delete/", {"post": "yes"})
    assert details() == ["account alice deleted"]
    assert changes()[0].username == "root"


def test_groups_created_renamed_and_deleted_are_recorded(root_client):
    root_client.post("/admin/auth/group/add/", {"name": "radiology"})
    group = Group.objects.get(name="radiology")
    root_client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "radiologists"})
    root_client.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})
    assert details() == [
        "group radiology created",
        "group radiologists: renamed from radiology",
        "group radiologists deleted",
    ]


def test_changes_by_code_name_the_os_account_and_both_sides_of_a_membership(db):
    bob = User.objects.create_user("bob", password="bob-secret-pw")
    ward = Group.objects.create(name="ward")
    ward.user_set.add(bob)
    bob.groups.clear()
    bob.is_active = False
    bob.save()
    assert details() == [
        "account bob created",
        "group ward created",
        "group ward: accounts added: bob",
        "account bob: groups removed: ward",
        "account bob: is_active off",
    ]
    assert {row.username for row in changes()} == {f"os:{getpass.getuser()}"}


def test_signing_in_is_no_account_change(client, alice):
    AuditEvent.objects.all().delete()
    client.post("/login/", {"username": "alice", "password": "alice-secret-pw"})
    assert AuditEvent.objects.filter(event=AuditEvent.LOGIN).exists()
    assert changes() == []


def test_saving_an_account_unchanged_records_nothing(alice):
    AuditEvent.objects.all().delete()
    alice.save()
    alice.groups.add(*[])
    assert changes() == []
