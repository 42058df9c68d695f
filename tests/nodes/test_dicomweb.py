"""DICOMweb nodes: QIDO-RS search and verification against a local QIDO-RS server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pydicom
import pytest

from tests.base import charset_sample, sample
from viewer.archive.search import StudyQuery
from viewer.nodes.models import RemoteNode
from viewer.nodes.remote_query import RemoteQueryError, find_series, find_studies
from viewer.nodes.verification import verify_and_record

from .conftest import free_port

pytestmark = pytest.mark.django_db


def study_json(path) -> dict:
    dataset = pydicom.dcmread(path, stop_before_pixels=True)
    dataset.ModalitiesInStudy = dataset.Modality
    return dataset.to_json_dict()


class QidoServer:
    """A QIDO-RS server on loopback that records what it was asked."""

    def __init__(self, status: int = 200, body: str | None = None):
        self.requests: list[tuple[str, dict]] = []
        studies = [study_json(sample("CT_small.dcm")), study_json(charset_sample("chrX2.dcm"))]
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                url = urlparse(self.path)
                server.requests.append((url.path, parse_qs(url.query)))
                payload = body if body is not None else json.dumps(studies)
                self.send_response(status)
                self.send_header("Content-Type", "application/dicom+json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/dicom-web"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def qido():
    servers = []

    def start(**options) -> QidoServer:
        servers.append(QidoServer(**options))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def node_for(url: str) -> RemoteNode:
    return RemoteNode.objects.create(
        name="web-pacs",
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url=url,
        retrieve_method=RemoteNode.WADO_RS,
        connect_timeout=2,
        network_timeout=5,
    )


def test_qido_results_decode_chinese_names(qido):
    server = qido()
    studies = find_studies(node_for(server.url), StudyQuery(patient_name="王"))
    assert {s.patient_name for s in studies} >= {"Wang^XiaoDong=王^小东"}
    path, params = server.requests[0]
    assert path == "/dicom-web/studies"
    # The ideographic group is not first: peers matching whole values need a leading "*".
    assert params["PatientName"] == ["*王*"]
    assert "StudyInstanceUID" in params["includefield"]


def test_qido_series_are_asked_under_the_study(qido):
    server = qido(body="[]")
    assert find_series(node_for(server.url), "1.2.3") == []
    assert server.requests[0][0] == "/dicom-web/studies/1.2.3/series"


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (401, "", "refused us (HTTP 401)"),
        (404, "", "no QIDO-RS service at this URL"),
        (500, "", "HTTP 500"),
        (200, "<html>login</html>", "not DICOM JSON"),
    ],
)
def test_qido_failures_are_in_words(qido, status, body, words):
    server = qido(status=status, body=body)
    with pytest.raises(RemoteQueryError, match=words.replace("(", r"\(").replace(")", r"\)")):
        find_studies(node_for(server.url), StudyQuery())


def test_a_dicomweb_node_is_verified_with_qido(qido):
    server = qido(status=204, body="")
    node = node_for(server.url)
    result = verify_and_record(node)
    assert result.ok and result.steps[0].name == "QIDO-RS"
    node.refresh_from_db()
    assert node.last_verify_ok is True


def test_an_unreachable_dicomweb_node_fails_verification_in_words(db):
    result = verify_and_record(node_for(f"http://127.0.0.1:{free_port()}/dicom-web"))
    assert not result.ok and "cannot connect" in result.summary()


def test_the_study_list_searches_a_dicomweb_node(alice_client, qido):
    server = qido()
    node = node_for(server.url)
    page = alice_client.get("/", {"source": node.pk}).content.decode()
    assert "2 studies on web-pacs" in page and "Wang XiaoDong = 王 小东" in page
