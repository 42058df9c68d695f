"""Administrators add, verify and change nodes in the admin; every change is audited."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from viewer.audit.models import AuditEvent
from viewer.nodes.models import RemoteNode
from viewer.nodes.validators import validate_ae_title

from .conftest import HANDLERS, free_port, make_node

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("title", ["", "   ", "A" * 17, "BAD\\AE", "TAB\tAE", "ÄRZTE"])
def test_it_refuses_bad_ae_titles(title):
    with pytest.raises(ValidationError):
        validate_ae_title(title)


@pytest.mark.parametrize("title", ["PACS", "STORESCP", "A B-1_2", "X" * 16])
def test_it_accepts_good_ae_titles(title):
    validate_ae_title(title)


def test_a_dimse_node_needs_its_ae_title_and_host():
    with pytest.raises(ValidationError) as error:
        RemoteNode(name="x", protocol=RemoteNode.DIMSE).full_clean()
    assert {"ae_title", "host"} <= set(error.value.message_dict)


def add_node(client, port: int) -> RemoteNode:
    response = client.post(
        "/admin/viewer/remotenode/add/",
        {
            "name": "CT-PACS",
            "enabled": "on",
            "protocol": "dimse",
            "ae_title": "REMOTE",
            "host": "127.0.0.1",
            "port": port,
            "calling_ae_title": "",
            "dicomweb_url": "",
            "retrieve_method": "c-move",
            "max_transfers": 4,
            "connect_timeout": 2,
            "acse_timeout": 3,
            "dimse_timeout": 5,
            "network_timeout": 10,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return RemoteNode.objects.get(name="CT-PACS")


def test_an_administrator_adds_and_verifies_a_node(client, admin_user, remote_scp):
    client.force_login(admin_user)
    node = add_node(client, remote_scp(handlers=HANDLERS))
    assert client.get(f"/admin/viewer/remotenode/{node.pk}/verify/").status_code == 405
    response = client.post(f"/admin/viewer/remotenode/{node.pk}/verify/", follow=True)
    page = response.content.decode()
    assert "CT-PACS: passed" in page and "CT-PACS · C-ECHO: OK" in page
    node.refresh_from_db()
    assert node.last_verify_ok is True and "C-MOVE: OK" in node.last_verify_summary
    listing = client.get("/admin/viewer/remotenode/").content.decode()
    assert f'formaction="/admin/viewer/remotenode/{node.pk}/verify/"' in listing


def test_the_verify_action_reports_each_failure(client, admin_user):
    client.force_login(admin_user)
    node = make_node(free_port())
    response = client.post(
        "/admin/viewer/remotenode/",
        {"action": "verify_nodes", "_selected_action": [node.pk]},
        follow=True,
    )
    assert "Remote: failed" in response.content.decode()
    assert "connection refused" in response.content.decode()
    node.refresh_from_db()
    assert node.last_verify_ok is False


def test_node_changes_are_audited(client, admin_user, remote_scp):
    client.force_login(admin_user)
    node = add_node(client, remote_scp(handlers=HANDLERS))
    client.post(f"/admin/viewer/remotenode/{node.pk}/delete/", {"post": "yes"})
    details = list(
        AuditEvent.objects.filter(event=AuditEvent.NODE_CHANGED).values_list("detail", flat=True)
    )
    assert sorted(details) == ["CT-PACS added", "CT-PACS deleted"]


def test_an_ordinary_user_cannot_verify(client, alice, remote_scp):
    node = make_node(free_port())
    client.force_login(alice)
    response = client.post(f"/admin/viewer/remotenode/{node.pk}/verify/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    node.refresh_from_db()
    assert node.last_verified_at is None


def test_the_echo_command_passes_and_fails_with_its_exit_status(remote_scp, capsys):
    make_node(remote_scp(handlers=HANDLERS), name="good")
    call_command("echo", "good")
    assert "good: verification passed" in capsys.readouterr().out
    make_node(free_port(), name="bad")
    with pytest.raises(CommandError, match="verification failed"):
        call_command("echo", "bad")
    assert "connection refused" in capsys.readouterr().out


def test_the_echo_command_names_the_configured_nodes(remote_scp):
    make_node(free_port(), name="ct-pacs")
    with pytest.raises(CommandError, match="configured: ct-pacs"):
        call_command("echo", "nonesuch")


def test_verify_goes_back_only_to_our_own_pages(client, admin_user, remote_scp):
    client.force_login(admin_user)
    node = make_node(free_port())
    response = client.post(
        f"/admin/viewer/remotenode/{node.pk}/verify/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/admin/viewer/remotenode/"
