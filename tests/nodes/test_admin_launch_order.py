"""The node's launch order in the admin: shown, saved, and defaulted when left out."""

import pytest

from viewer.nodes.models import RemoteNode

pytestmark = pytest.mark.django_db

NODE = {
    "name": "CT-PACS",
    "enabled": "on",
    "protocol": "dimse",
    "ae_title": "REMOTE",
    "host": "127.0.0.1",
    "port": 104,
    "retrieve_method": "c-move",
    "max_transfers": 4,
    "connect_timeout": 2,
    "acse_timeout": 3,
    "dimse_timeout": 5,
    "network_timeout": 10,
}


@pytest.mark.parametrize(
    "given, saved", [({"launch_order": "7"}, 7), ({"launch_order": ""}, 100), ({}, 100)]
)
def test_it_saves_the_launch_order_or_its_default(client, admin_user, given, saved):
    client.force_login(admin_user)
    response = client.post("/admin/viewer/remotenode/add/", {**NODE, **given})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert RemoteNode.objects.get(name="CT-PACS").launch_order == saved


def test_it_shows_the_launch_order_with_its_help(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/admin/viewer/remotenode/add/").content.decode()
    assert 'name="launch_order"' in page
    assert "when a launch URL names a study not in the archive; lower first" in page
