"""How one instance travels from a node to us: HTTP (WADO-RS, WADO-URI, file URL) or DIMSE.

A transport fetches one instance and hands back its checked, parsed form; it never
writes to the archive. Over HTTP that form names the finished file holding the instance
(the part file, or the payload unwrapped from it), which the importer renames into the
archive. Whatever it got must parse as DICOM and carry the UIDs asked for, or it is
thrown away and the attempt fails.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from viewer.archive.parsing import ParsedInstance, RejectedFile, parse_file, parse_instance
from viewer.nodes.dicomweb import instance_url, note_refusal
from viewer.nodes.errors import TransferError
from viewer.nodes.models import RemoteNode
from viewer.nodes.tls import tls_context

from .http_transport import download, single_part_file


@dataclass(frozen=True)
class InstanceRef:
    """The UIDs of the instance to fetch, as the node listed it."""

    study_uid: str
    series_uid: str
    sop_instance_uid: str


@dataclass
class Attempt:
    """One attempt's context: resume validator, and callbacks for bytes and ETag."""

    etag: str = ""
    on_bytes: Callable[[int], None] | None = None
    on_etag: Callable[[str], None] | None = None
    slot: int = 0  # the node slot it runs in: its connection is that slot's


def checked(content: bytes, ref: InstanceRef) -> ParsedInstance:
    """Parse what arrived and insist it is the instance that was asked for."""
    return _asked_for(parse_instance, content, ref)


def checked_file(path: Path, ref: InstanceRef) -> ParsedInstance:
    """Parse the file that arrived, in place, and insist it is the instance asked for."""
    return _asked_for(parse_file, path, ref)


def _asked_for(parse, arrived, ref: InstanceRef) -> ParsedInstance:
    try:
        parsed = parse(arrived)
    except RejectedFile as exc:
        raise TransferError(f"what arrived is not a whole DICOM instance: {exc}") from exc
    got = (parsed.study_uid, parsed.series_uid, parsed.sop_instance_uid)
    if got != (ref.study_uid, ref.series_uid, ref.sop_instance_uid):
        raise TransferError("the node sent a different instance than the one asked for")
    return parsed


class HttpTransport:
    """Fetch instances over HTTP: one keep-alive connection per node slot the job holds,
    closed when the slot is given back, so the node never sees more than its limit."""

    def __init__(self, node: RemoteNode, part_folder: Path, idle_timeout: float | None = None):
        self.node = node
        self.part_folder = part_folder
        part_folder.mkdir(parents=True, exist_ok=True)
        self._idle = idle_timeout or node.network_timeout
        self._clients: dict[int, httpx.Client] = {}
        self._lock = threading.Lock()

    def client(self, slot: int = 0) -> httpx.Client:
        """The connection of node slot ``slot`` (opened when first used)."""
        with self._lock:
            client = self._clients.get(slot)
            if client is None:
                client = httpx.Client(
                    verify=tls_context(),
                    timeout=httpx.Timeout(self._idle, connect=self.node.connect_timeout),
                    limits=httpx.Limits(max_connections=1),
                    follow_redirects=True,
                )
                self._clients[slot] = client
            return client

    def part_path(self, ref: InstanceRef) -> Path:
        """Where the instance's bytes collect until they are whole."""
        return self.part_folder / f"{ref.sop_instance_uid}.download"

    def url(self, ref: InstanceRef) -> tuple[str, str]:
        """The URL and Accept header for ``ref`` by the node's retrieve method."""
        return instance_url(self.node, ref.study_uid, ref.series_uid, ref.sop_instance_uid)

    def payload_path(self, ref: InstanceRef) -> Path:
        """Where the instance unwrapped from a multipart answer waits to be stored."""
        return self.part_folder / f"{ref.sop_instance_uid}.instance"

    def fetch(self, ref: InstanceRef, attempt: Attempt) -> ParsedInstance:
        """Download (resuming), unwrap, check; the result names the file that the
        importer renames into the archive (the part file itself unless multipart)."""
        url, accept = self.url(ref)
        part = self.part_path(ref)
        _keep_one_representation(part, f"{url}\n{accept}")
        got = download(
            self.client(attempt.slot),
            url,
            part,
            accept=accept,
            etag=attempt.etag,
            on_bytes=attempt.on_bytes,
            on_etag=attempt.on_etag,
            on_refused=lambda status: note_refusal(self.node, status),
        )
        try:
            payload = single_part_file(part, got.content_type, self.payload_path(ref))
            parsed = checked_file(payload, ref)
        except TransferError:
            # A whole body that is not the instance will not improve by resuming it.
            part.unlink(missing_ok=True)
            self.payload_path(ref).unlink(missing_ok=True)
            raise
        return parsed

    def done(self, ref: InstanceRef) -> None:
        """The instance is in the archive: what is left of its download goes."""
        part = self.part_path(ref)
        part.unlink(missing_ok=True)
        self.payload_path(ref).unlink(missing_ok=True)
        part.with_suffix(".asked").unlink(missing_ok=True)

    def release(self, slot: int) -> None:
        """Close the connection of a slot the job gives back."""
        with self._lock:
            client = self._clients.pop(slot, None)
        if client is not None:
            client.close()

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


def _keep_one_representation(part: Path, asked: str) -> None:
    """Drop a part file begun with another URL or Accept (the node's transfer syntax
    changed meanwhile): bytes of two encodings must never be joined by a resume. A part
    without a record (an older version's: as stored) is kept."""
    record = part.with_suffix(".asked")
    if part.exists() and record.exists() and record.read_text() != asked:
        part.unlink()
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(asked)


def transport_for(node: RemoteNode, part_folder: Path):
    """The transport for the node's retrieve method."""
    if node.retrieve_method in (RemoteNode.C_GET, RemoteNode.C_MOVE):
        from .dimse_transport import DimseTransport

        return DimseTransport(node, part_folder)
    return HttpTransport(node, part_folder)
