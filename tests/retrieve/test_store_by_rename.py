"""A retrieved instance enters the archive by rename of the file it arrived in: never
read whole into memory, never written a second time."""

import io
import os
import tracemalloc

import httpx
import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian

from tests.base import sample
from viewer.archive import storage
from viewer.archive.importer import IMPORTED, Importer
from viewer.archive.models import Instance
from viewer.archive.parsing import parse_instance
from viewer.nodes.http_transport import TransferError, single_part_file
from viewer.nodes.models import RemoteNode
from viewer.nodes.transports import Attempt, HttpTransport, InstanceRef, transport_for
from viewer.retrieve.engine import Engine
from viewer.retrieve.models import RetrieveJob

from .support import assert_byte_identical, make_job

BODY = sample("CT_small.dcm").read_bytes()
PARSED = parse_instance(BODY)
REF = InstanceRef(PARSED.study_uid, PARSED.series_uid, PARSED.sop_instance_uid)
BOUNDARY = "dicom-part-boundary"
MULTIPART = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


def multipart(body: bytes) -> bytes:
    head = f"preamble\r\n--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n"
    return head.encode() + body + f"\r\n--{BOUNDARY}--\r\n".encode()


def transport_serving(archive_root, method: str, body: bytes, content_type: str):
    """An HTTP transport whose node answers every request with ``body``."""
    node = RemoteNode.objects.create(
        name="pacs",
        protocol=RemoteNode.DICOMWEB,
        dicomweb_url="http://pacs.test/dicom-web",
        wado_uri_url="http://pacs.test/wado",
        retrieve_method=method,
    )
    transport = transport_for(node, archive_root / ".incoming" / "1")
    assert isinstance(transport, HttpTransport)
    mock = httpx.MockTransport(
        lambda request: httpx.Response(200, content=body, headers={"Content-Type": content_type})
    )
    client = httpx.Client(transport=mock)
    transport.client = lambda slot=0: client
    return transport


def fetch_and_store(transport, ref=REF):
    """Fetch ``ref``, note the inode of the file it arrived in, store it; the inode and
    the archive file."""
    parsed = transport.fetch(ref, Attempt())
    arrived = os.stat(parsed.file).st_ino
    assert Importer().store(parsed) == (IMPORTED, "")
    transport.done(ref)
    stored = storage.absolute_path(
        Instance.objects.get(sop_instance_uid=ref.sop_instance_uid).file_path
    )
    return arrived, stored


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, content_type, body",
    [
        (RemoteNode.WADO_URI, "application/dicom", BODY),
        (RemoteNode.WADO_RS, "application/dicom", BODY),
        (RemoteNode.WADO_RS, MULTIPART, multipart(BODY)),
    ],
    ids=["wado-uri", "wado-rs-single-part", "wado-rs-multipart"],
)
def test_the_archive_file_is_the_file_the_instance_arrived_in(
    archive_root, method, content_type, body
):
    transport = transport_serving(archive_root, method, body, content_type)
    arrived, stored = fetch_and_store(transport)
    assert os.stat(stored).st_ino == arrived  # renamed, not written again
    assert stored.read_bytes() == BODY
    row = Instance.objects.get(sop_instance_uid=REF.sop_instance_uid)
    assert row.file_size == stored.stat().st_size == len(BODY)
    assert list(transport.part_folder.iterdir()) == []  # nothing of the download is left


@pytest.mark.django_db
def test_a_single_part_answer_is_the_part_file_renamed(archive_root, monkeypatch):
    transport = transport_serving(archive_root, RemoteNode.WADO_URI, BODY, "application/dicom")
    moved: list[tuple[object, int]] = []
    original = storage.move_atomic

    def move(source, *args, **kwargs):
        moved.append((source, os.stat(source).st_ino))
        return original(source, *args, **kwargs)

    monkeypatch.setattr(storage, "move_atomic", move)
    _, stored = fetch_and_store(transport)
    assert moved == [(transport.part_path(REF), os.stat(stored).st_ino)]


@pytest.mark.django_db
def test_a_stored_file_is_as_private_as_a_written_one(archive_root):
    transport = transport_serving(archive_root, RemoteNode.WADO_RS, BODY, "application/dicom")
    _, stored = fetch_and_store(transport)
    written = storage.write_atomic("written.dcm", b"x", archive_root)
    assert stored.stat().st_mode & 0o777 == written.stat().st_mode & 0o777 == 0o600


@pytest.mark.django_db
def test_a_multipart_answer_of_another_instance_is_thrown_away(archive_root):
    other = InstanceRef(REF.study_uid, REF.series_uid, "1.2.3.4")
    transport = transport_serving(archive_root, RemoteNode.WADO_RS, multipart(BODY), MULTIPART)
    with pytest.raises(TransferError, match="different instance"):
        transport.fetch(other, Attempt())
    assert list(transport.part_folder.glob("1.2.3.4.*")) == [
        transport.part_path(other).with_suffix(".asked")
    ]
    assert not Instance.objects.exists()


def test_a_multipart_body_is_unwrapped_without_holding_it_in_memory(tmp_path):
    payload = os.urandom(24 * 1024**2)
    body = tmp_path / "a.download"
    body.write_bytes(multipart(payload))
    tracemalloc.start()
    try:
        unwrapped = single_part_file(body, MULTIPART, tmp_path / "a.instance")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert unwrapped.read_bytes() == payload
    assert peak < len(payload) // 4


@pytest.mark.parametrize("chunk", [7, 64, 1024 * 1024])
def test_a_delimiter_split_across_reads_still_ends_the_part(tmp_path, monkeypatch, chunk):
    from viewer.nodes import http_transport

    monkeypatch.setattr(http_transport, "CHUNK_BYTES", chunk)
    body = tmp_path / "a.download"
    body.write_bytes(multipart(BODY))
    assert single_part_file(body, MULTIPART, tmp_path / "a.instance").read_bytes() == BODY


def test_a_multipart_body_cut_short_is_an_error(tmp_path):
    body = tmp_path / "a.download"
    body.write_bytes(multipart(BODY)[: len(BODY) // 2])
    with pytest.raises(TransferError, match="cut short"):
        single_part_file(body, MULTIPART, tmp_path / "a.instance")
    body.write_bytes(b"no boundary here" * 10)
    with pytest.raises(TransferError, match="first boundary"):
        single_part_file(body, MULTIPART, tmp_path / "a.instance")


def large_instance(megabytes: int) -> bytes:
    """The small CT with a native pixel matrix of about ``megabytes``."""
    dataset = pydicom.dcmread(io.BytesIO(BODY))
    side = int((megabytes * 1024**2 / 2) ** 0.5)
    dataset.Rows = dataset.Columns = side
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 16, 15
    dataset.PixelData = np.zeros((side, side), dtype=np.uint16).tobytes()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    dataset.save_as(buffer, implicit_vr=False, little_endian=True)
    return buffer.getvalue()


@pytest.mark.django_db
def test_a_large_multipart_instance_is_fetched_and_stored_without_a_whole_copy(archive_root):
    body = large_instance(16)
    transport = transport_serving(archive_root, RemoteNode.WADO_RS, multipart(body), MULTIPART)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        parsed = transport.fetch(REF, Attempt())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The parse's check reads the pixel data once; reading the body whole, or copying
    # its part out of it, would each hold another copy.
    assert peak < 1.5 * len(body)
    assert Importer().store(parsed) == (IMPORTED, "")
    stored = Instance.objects.get(sop_instance_uid=REF.sop_instance_uid)
    assert storage.absolute_path(stored.file_path).read_bytes() == body


@pytest.mark.django_db(transaction=True)
def test_a_retrieve_job_writes_no_instance_a_second_time(server, sources, monkeypatch):
    def no_second_write(*args, **kwargs):
        raise AssertionError("an instance that arrived as a file was written again")

    monkeypatch.setattr(storage, "write_atomic", no_second_write)
    job = make_job(server, sources)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE
    assert_byte_identical(sources, sources)
    for sop_uid, (path, _) in sources.items():
        row = Instance.objects.get(sop_instance_uid=sop_uid)
        assert row.file_size == path.stat().st_size
