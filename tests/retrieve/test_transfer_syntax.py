"""Fewer bytes, no loss: a node that refuses a compressed request is asked as stored,
one that gzips is decoded on the way to disk, and the job ends done either way."""

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.base import sample
from viewer.demo.webnode import DemoWebNode
from viewer.nodes.dicomweb import WADO_RS_ACCEPT, wado_rs_accept
from viewer.nodes.http_transport import TransferError, download
from viewer.nodes.models import LOSSLESS_COMPRESSED, RemoteNode
from viewer.retrieve.engine import Engine
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.models import RetrieveJob

from .support import assert_byte_identical

BODY = sample("CT_small.dcm").read_bytes()
COMPRESSED = wado_rs_accept(LOSSLESS_COMPRESSED)


class SyntaxServer:
    """Answers ``refusal`` to any Accept naming a transfer syntax, else BODY (gzipped
    when asked and ``gzips``); records each request's Accept and Accept-Encoding."""

    def __init__(self, refusal: int = 406, gzips: bool = False) -> None:
        self.refusal, self.gzips = refusal, gzips
        self.requests: list[tuple[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                accept = self.headers.get("Accept", "")
                encoding = self.headers.get("Accept-Encoding", "")
                owner.requests.append((accept, encoding))
                if accept != WADO_RS_ACCEPT and "transfer-syntax=1" in accept:
                    self.send_response(owner.refusal)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = BODY
                self.send_response(200)
                if owner.gzips and "gzip" in encoding:
                    body = gzip.compress(BODY)
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Type", "application/dicom")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/instance"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def syntax_server(request):
    running = SyntaxServer(**getattr(request, "param", {}))
    yield running
    running.close()


def fetch(server: SyntaxServer, part, **kwargs):
    with httpx.Client(timeout=5) as http:
        return download(http, server.url, part, accept=COMPRESSED, **kwargs)


def test_it_asks_as_stored_when_the_node_refuses_the_syntax(syntax_server, tmp_path):
    heard: list[int] = []
    part = tmp_path / "a.download"
    fetch(syntax_server, part, on_refused=heard.append)
    assert part.read_bytes() == BODY
    assert [accept for accept, _ in syntax_server.requests] == [COMPRESSED, WADO_RS_ACCEPT]
    assert heard == [406]


@pytest.mark.parametrize("syntax_server", [{"refusal": 500}], indirect=True)
def test_it_asks_as_stored_when_the_node_cannot_transcode(syntax_server, tmp_path):
    part = tmp_path / "a.download"
    fetch(syntax_server, part)
    assert part.read_bytes() == BODY and len(syntax_server.requests) == 2


@pytest.mark.parametrize("syntax_server", [{"refusal": 404}], indirect=True)
def test_it_does_not_ask_again_for_a_missing_instance(syntax_server, tmp_path):
    with pytest.raises(TransferError, match="404"):
        fetch(syntax_server, tmp_path / "a.download")
    assert len(syntax_server.requests) == 1


@pytest.mark.parametrize("syntax_server", [{"gzips": True}], indirect=True)
def test_it_writes_a_gzipped_answer_decoded(syntax_server, tmp_path):
    part = tmp_path / "a.download"
    with httpx.Client(timeout=5) as http:
        got = download(http, syntax_server.url, part, accept=WADO_RS_ACCEPT)
    assert part.read_bytes() == BODY and got.size == len(BODY)
    assert syntax_server.requests == [(WADO_RS_ACCEPT, "gzip")]


@pytest.mark.parametrize("syntax_server", [{"gzips": True}], indirect=True)
def test_it_resumes_without_gzip(syntax_server, tmp_path):
    # A Range request asks for the plain bytes: what is on disk is decoded, so they fit.
    part = tmp_path / "a.download"
    part.write_bytes(BODY[:100])
    with httpx.Client(timeout=5) as http:
        download(http, syntax_server.url, part, accept=WADO_RS_ACCEPT)
    assert syntax_server.requests == [(WADO_RS_ACCEPT, "identity")]
    assert part.read_bytes() == BODY  # this server ignores Range: started again from zero


@pytest.mark.django_db(transaction=True)
def test_a_node_that_refuses_the_syntax_still_gives_the_whole_study(small_ct_folder, sources):
    # The demo node does not convert: WADO-URI with transferSyntax=JPEG-LS gets 406.
    with DemoWebNode(small_ct_folder, latency=0.002) as web:
        node = RemoteNode.objects.create(
            name="no-transcoding",
            protocol=RemoteNode.DICOMWEB,
            dicomweb_url=web.base_url,
            wado_uri_url=web.wado_uri_url,
            retrieve_method=RemoteNode.WADO_URI,
            max_transfers=2,
        )
        assert node.ask_for == RemoteNode.LOSSLESS
        study_uid = next(iter(sources.values()))[1].study_uid
        job, _ = request_retrieve(study_uid, node)
        assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE, job.error
    assert_byte_identical(sources, list(sources))


def test_it_never_resumes_a_part_file_in_another_representation(tmp_path):
    # Regression: JPEG-LS bytes, then (compression refused meanwhile) an as-stored resume
    # by Range would have joined two encodings into one file.
    from viewer.nodes.transports import _keep_one_representation

    part = tmp_path / "1.2.3.download"
    _keep_one_representation(part, "url\njls")
    part.write_bytes(b"jpeg-ls prefix")
    _keep_one_representation(part, "url\njls")
    assert part.read_bytes() == b"jpeg-ls prefix"  # the same request: resumed
    _keep_one_representation(part, "url\nas stored")
    assert not part.exists()
    legacy = tmp_path / "4.5.6.download"
    legacy.write_bytes(b"an older version's part")
    _keep_one_representation(legacy, "url\nas stored")
    assert legacy.exists()
