"""Resumable downloads against a server that misbehaves in every way DESIGN.md lists."""

from pathlib import Path

import httpx
import pytest

from tests.base import sample
from viewer.nodes.http_transport import TransferError, download, single_part_file

from . import faulty_server as faults

BODY = sample("CT_small.dcm").read_bytes()


def client(idle: float = 5.0) -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(idle, connect=2.0))


def get(url: str, part: Path, idle: float = 5.0, etag: str = "", **kwargs):
    with client(idle) as http:
        return download(http, url, part, accept="application/dicom", etag=etag, **kwargs)


def test_it_downloads_a_whole_file(server, tmp_path):
    part = tmp_path / "a.download"
    got = get(server.serve("/a", BODY), part)
    assert part.read_bytes() == BODY
    assert got.size == len(BODY)
    assert got.etag == server.etag("/a")


def test_it_resumes_with_range_from_what_is_on_disk(server, tmp_path):
    part = tmp_path / "a.download"
    part.write_bytes(BODY[:1000])
    url = server.serve("/a", BODY)
    get(url, part, etag=server.etag("/a"))
    assert part.read_bytes() == BODY
    assert server.requests[-1] == ("/a", "bytes=1000-", server.etag("/a"))


def test_it_restarts_from_zero_when_the_server_ignores_range(server, tmp_path):
    part = tmp_path / "a.download"
    part.write_bytes(b"X" * 1000)  # never appended to: the 200 body replaces it
    get(server.serve("/a", BODY, faults.IGNORE_RANGE), part)
    assert part.read_bytes() == BODY


def test_it_restarts_when_if_range_no_longer_matches(server, tmp_path):
    part = tmp_path / "a.download"
    part.write_bytes(b"old version of the file")
    get(server.serve("/a", BODY), part, etag='"an-older-etag"')
    assert part.read_bytes() == BODY


def test_it_refuses_a_range_it_did_not_ask_for(server, tmp_path):
    part = tmp_path / "a.download"
    part.write_bytes(BODY[:1000])
    url = server.serve("/a", BODY, faults.WRONG_RANGE)
    with pytest.raises(TransferError, match="different range") as caught:
        get(url, part)
    assert caught.value.retryable
    assert not part.exists()  # nothing spliced: the next attempt starts from zero
    get(url, part)
    assert part.read_bytes() == BODY


def test_it_starts_again_after_416(server, tmp_path):
    part = tmp_path / "a.download"
    part.write_bytes(BODY[:1000])
    url = server.serve("/a", BODY, faults.RANGE_416)
    with pytest.raises(TransferError, match="416"):
        get(url, part)
    assert not part.exists()
    get(url, part)
    assert part.read_bytes() == BODY


def test_it_keeps_the_part_when_the_connection_drops_and_resumes(server, tmp_path):
    part = tmp_path / "a.download"
    url = server.serve("/a", BODY, faults.DROP_ONCE)
    with pytest.raises(TransferError, match="connection broke") as caught:
        get(url, part)
    assert caught.value.retryable
    kept = part.stat().st_size
    assert 0 < kept < len(BODY)
    get(url, part, etag=server.etag("/a"))
    assert part.read_bytes() == BODY
    assert server.requests[-1][1] == f"bytes={kept}-"


def test_a_refused_connection_says_so_not_that_a_transfer_broke(tmp_path):
    from tests.base import free_port

    with pytest.raises(TransferError, match="cannot connect to the node") as caught:
        get(f"http://127.0.0.1:{free_port()}/a", tmp_path / "a.download")
    assert caught.value.retryable and "mid-transfer" not in str(caught.value)
    assert not (tmp_path / "a.download").exists()


def test_a_stalled_server_times_out_on_idleness_and_resumes(server, tmp_path):
    part = tmp_path / "a.download"
    url = server.serve("/a", BODY, faults.STALL_ONCE)
    with pytest.raises(TransferError, match="stalled"):
        get(url, part, idle=0.3)
    assert 0 < part.stat().st_size < len(BODY)
    get(url, part, idle=0.3, etag=server.etag("/a"))
    assert part.read_bytes() == BODY


def test_a_slow_steady_transfer_is_not_cut_by_the_idle_timeout(server, tmp_path):
    # 20 pieces 50 ms apart: a second in all, never idle for the 0.5 s timeout.
    part = tmp_path / "a.download"
    get(server.serve("/a", BODY, faults.TRICKLE), part, idle=0.5)
    assert part.read_bytes() == BODY


def test_a_content_length_that_lies_short_gives_a_short_file(server, tmp_path):
    # The transport cannot know; the DICOM check after it catches the cut (transports).
    part = tmp_path / "a.download"
    got = get(server.serve("/a", BODY, faults.SHORT_LENGTH), part)
    assert got.size < len(BODY)


def test_a_missing_instance_is_not_retried(server, tmp_path):
    with pytest.raises(TransferError, match="404") as caught:
        get(server.serve("/a", BODY, faults.MISSING), tmp_path / "a.download")
    assert not caught.value.retryable


def test_a_busy_server_is_retried(server, tmp_path):
    with pytest.raises(TransferError, match="503") as caught:
        get(server.serve("/a", BODY, faults.FAIL_TWICE), tmp_path / "a.download")
    assert caught.value.retryable


def test_bytes_are_counted_as_they_arrive(server, tmp_path):
    counted: list[int] = []
    get(server.serve("/a", BODY), tmp_path / "a.download", on_bytes=counted.append)
    assert sum(counted) == len(BODY)


def test_it_takes_the_dicom_part_out_of_a_multipart_answer(tmp_path):
    body = tmp_path / "a.download"
    body.write_bytes(
        b"--abc\r\nContent-Type: application/dicom\r\n\r\n" + BODY + b"\r\n--abc--\r\n"
    )
    media = 'multipart/related; type="application/dicom"; boundary=abc'
    assert single_part_file(body, media, tmp_path / "a.dcm").read_bytes() == BODY
    body.write_bytes(BODY)
    assert single_part_file(body, "application/dicom", tmp_path / "b.dcm") == body


def test_a_multipart_answer_cut_short_is_an_error(tmp_path):
    body = tmp_path / "a.download"
    body.write_bytes(b"--abc\r\nContent-Type: application/dicom\r\n\r\n" + BODY[:100])
    with pytest.raises(TransferError, match="cut short"):
        single_part_file(body, "multipart/related; boundary=abc", tmp_path / "a.dcm")
