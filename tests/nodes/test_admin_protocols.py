"""The node admin shows each node the fields, address and retrieve methods of its protocol."""

import re

import pytest
from django.utils import timezone

from viewer.audit.models import AuditEvent
from viewer.nodes.models import RemoteNode

from .conftest import make_node

pytestmark = pytest.mark.django_db

DIMSE_FIELDS = ("ae_title", "host", "port", "calling_ae_title", "use_tls", "acse_timeout")
DICOMWEB_FIELDS = ("dicomweb_url", "wado_uri_url", "file_url_template")
URL = "http://127.0.0.1:8042/dicomweb"


def web_node(name: str = "Demo PACS", url: str = URL) -> RemoteNode:
    return RemoteNode.objects.create(
        name=name, protocol=RemoteNode.DICOMWEB, dicomweb_url=url, retrieve_method="wado-rs"
    )


def inputs(page: str) -> set[str]:
    """The names of the form's inputs and selects."""
    return set(re.findall(r'<(?:input|select|textarea)[^>]* name="([^"]+)"', page))


def method_options(page: str) -> list[str]:
    select = re.search(r'<select name="retrieve_method".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="([^"]+)"', select)


def form_data(**fields) -> dict:
    """What the add or change form posts: the shared fields, plus ``fields``."""
    return {
        "name": "PACS1",
        "enabled": "on",
        "max_transfers": 4,
        "connect_timeout": 2,
        "network_timeout": 10,
        **fields,
    }


def test_it_names_a_dicomweb_node_by_its_url():
    assert str(web_node()) == "Demo PACS (http://127.0.0.1:8042/dicomweb)"


def test_it_names_a_dimse_node_by_its_ae_title_host_and_port():
    assert str(make_node(11112, name="PACS1", ae_title="AE1")) == "PACS1 (AE1@127.0.0.1:11112)"


def test_it_shows_a_dicomweb_node_its_url_and_no_dimse_fields(client, admin_user):
    client.force_login(admin_user)
    node = web_node()
    page = client.get(f"/admin/viewer/remotenode/{node.pk}/change/").content.decode()
    assert set(DICOMWEB_FIELDS) <= inputs(page)
    assert not set(DIMSE_FIELDS) & inputs(page)
    assert f'value="{URL}"' in page
    assert "Demo PACS (http://127.0.0.1:8042/dicomweb)" in page  # the page's title
    assert method_options(page) == ["wado-rs", "wado-uri", "file-url"]


def test_it_shows_a_dimse_node_no_dicomweb_fields(client, admin_user):
    client.force_login(admin_user)
    node = make_node(11112, name="PACS1")
    page = client.get(f"/admin/viewer/remotenode/{node.pk}/change/").content.decode()
    assert set(DIMSE_FIELDS) <= inputs(page)
    assert not set(DICOMWEB_FIELDS) & inputs(page)
    assert method_options(page) == ["c-get", "c-move"]


def test_it_offers_both_protocols_on_the_add_page(client, admin_user):
    # Without scripts both fieldsets stay visible; the script hides the one not chosen.
    client.force_login(admin_user)
    page = client.get("/admin/viewer/remotenode/add/").content.decode()
    assert set(DIMSE_FIELDS) | set(DICOMWEB_FIELDS) <= inputs(page)
    assert "protocol-dimse" in page and "protocol-dicomweb" in page
    assert '<optgroup label="DIMSE">' in page and '<optgroup label="DICOMweb">' in page
    assert "nodes/remotenode-admin.js" in page


def test_it_adds_a_dicomweb_node_without_dimse_fields(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/viewer/remotenode/add/",
        form_data(protocol="dicomweb", dicomweb_url=URL, retrieve_method="wado-rs"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    node = RemoteNode.objects.get(name="PACS1")
    assert (node.protocol, node.dicomweb_url, node.ae_title) == ("dicomweb", URL, "")
    assert AuditEvent.objects.filter(detail="PACS1 added").exists()


def test_it_refuses_a_retrieve_method_of_the_other_protocol(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/viewer/remotenode/add/",
        form_data(protocol="dicomweb", dicomweb_url=URL, retrieve_method="c-move"),
    )
    assert response.status_code == 200
    assert "retrieve_method" in response.context["adminform"].form.errors
    assert not RemoteNode.objects.exists()


def test_it_asks_for_the_new_protocols_fields_when_the_protocol_changes(client, admin_user):
    client.force_login(admin_user)
    node = make_node(11112, name="PACS1")
    url = f"/admin/viewer/remotenode/{node.pk}/change/"
    # Saved with the old protocol's fields: the form now has the new one's, and says so.
    response = client.post(url, form_data(protocol="dicomweb", ae_title="REMOTE"))
    assert response.status_code == 200
    assert {"dicomweb_url", "retrieve_method"} <= set(response.context["adminform"].form.errors)
    assert "dicomweb_url" in inputs(response.content.decode())
    response = client.post(
        url, form_data(protocol="dicomweb", dicomweb_url=URL, retrieve_method="wado-uri")
    )
    assert response.status_code == 302
    node.refresh_from_db()
    assert (node.protocol, node.dicomweb_url, node.retrieve_method) == (
        "dicomweb",
        URL,
        "wado-uri",
    )


def test_it_lists_each_nodes_address(client, admin_user):
    client.force_login(admin_user)
    web_node()
    make_node(11112, name="PACS1", ae_title="AE1")
    page = client.get("/admin/viewer/remotenode/").content.decode()
    text = page.replace("<wbr>", "")
    assert URL in text and "AE1@127.0.0.1:11112" in text
    assert "column-address" in page
    assert not {"column-ae_title", "column-host", "column-port"} & set(
        re.findall(r"column-\w+", page)
    )
    assert "@104" not in text  # the DICOMweb node has no port of its own


def test_it_finds_a_dicomweb_node_by_its_url(client, admin_user):
    client.force_login(admin_user)
    web_node()
    web_node(name="Other", url="https://elsewhere.example/dicom-web")
    page = client.get("/admin/viewer/remotenode/", {"q": "8042"}).content.decode()
    assert "Demo PACS" in page and "Other" not in page


def test_it_shows_the_last_verification_in_one_column(client, admin_user):
    client.force_login(admin_user)
    make_node(11112, name="PACS1", last_verified_at=timezone.now(), last_verify_ok=False)
    page = client.get("/admin/viewer/remotenode/").content.decode()
    cell = re.search(r'<td class="field-last_verification">(.*?)</td>', page, re.S).group(1)
    assert "icon-no.svg" in cell and 'alt="failed"' in cell
