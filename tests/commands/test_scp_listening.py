"""Where our SCP listens: loopback, or where the web side does, unless configured."""

import pytest

from tests.base import free_port
from viewer.management.commands.run_scp import Command as RunScp
from viewer.nodes.scp import listening_host, start_server

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_listens_where_the_web_side_does_by_default(settings):
    settings.PACSWEB_DICOM_HOST = ""
    assert listening_host("127.0.0.1") == "127.0.0.1"
    assert listening_host("0.0.0.0") == "0.0.0.0"


def test_it_listens_where_configured_whatever_the_web_side(settings):
    settings.PACSWEB_DICOM_HOST = "192.0.2.10"
    assert listening_host("127.0.0.1") == "192.0.2.10"


def test_it_starts_the_scp_on_loopback_when_nothing_says_otherwise(settings):
    settings.PACSWEB_DICOM_HOST = ""
    server = start_server(port=free_port())
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()


def test_run_scp_defaults_to_loopback(settings):
    settings.PACSWEB_DICOM_HOST = ""
    options = RunScp().create_parser("manage.py", "run_scp").parse_args([])
    assert options.host == "127.0.0.1"


def test_run_scp_takes_the_configured_host(settings):
    settings.PACSWEB_DICOM_HOST = "0.0.0.0"
    options = RunScp().create_parser("manage.py", "run_scp").parse_args([])
    assert options.host == "0.0.0.0"
