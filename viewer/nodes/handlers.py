"""Our SCP's event handlers, bound as ``(evt, handler, [args])``; statuses are named."""

import logging
import socket
import threading

import pydicom
from django.db import close_old_connections
from pydicom.dataset import Dataset
from pynetdicom import build_context

from viewer.archive.importer import IMPORTED, PRESENT, Importer
from viewer.archive.parsing import RejectedFile, parse_instance
from viewer.archive.storage import absolute_path
from viewer.audit.models import AuditEvent, record

from .models import RemoteNode
from .qr import QueryError, instances_for, responses

logger = logging.getLogger(__name__)

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700  # Storage: Refused, out of resources
CANNOT_UNDERSTAND = 0xC000  # Storage: Error, cannot understand
PROCESSING_FAILURE = 0x0110


class ReceivedStudies:
    """Study UIDs received per association, for one audit event each at its end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_association: dict[int, tuple[str, set[str]]] = {}

    def add(self, assoc, study_uid: str) -> None:
        """Note that ``assoc`` delivered an instance of ``study_uid``."""
        calling = assoc.requestor.ae_title
        with self._lock:
            self._by_association.setdefault(id(assoc), (calling, set()))[1].add(study_uid)

    def pop(self, assoc) -> tuple[str, set[str]]:
        """Forget and return what ``assoc`` delivered."""
        with self._lock:
            return self._by_association.pop(id(assoc), ("", set()))


def _status(code: int, comment: str = "") -> Dataset:
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment[:64]  # LO
    return status


def handle_store(event, received: ReceivedStudies) -> Dataset:
    """C-STORE: check, write atomically and index before answering success.

    A duplicate is answered with success and not stored twice; a malformed data set
    gets a failure status with the reason and nothing is stored.
    """
    try:
        content = event.encoded_dataset()
        parsed = parse_instance(content)
    except RejectedFile as exc:
        logger.info("C-STORE refused: %s", exc)
        return _status(CANNOT_UNDERSTAND, str(exc))
    except Exception as exc:  # a data set pynetdicom cannot even re-encode
        logger.info("C-STORE refused: %s", type(exc).__name__)
        return _status(CANNOT_UNDERSTAND, "malformed data set")
    close_old_connections()
    try:
        outcome, reason = Importer(source_label="c-store").store(parsed)
    except Exception:
        logger.exception("C-STORE could not be stored")
        return _status(OUT_OF_RESOURCES, "the archive could not store the instance")
    finally:
        close_old_connections()
    if outcome in (IMPORTED, PRESENT):
        received.add(event.assoc, parsed.study_uid)
        return _status(SUCCESS)
    logger.info("C-STORE refused: %s", reason)
    return _status(OUT_OF_RESOURCES if "write" in reason else CANNOT_UNDERSTAND, reason)


def handle_echo(event) -> int:
    """C-ECHO: always success."""
    return SUCCESS


def handle_association_end(event, received: ReceivedStudies) -> None:
    """Audit the studies an association delivered, once it is released or aborted."""
    calling, studies = received.pop(event.assoc)
    if not studies:
        return
    close_old_connections()
    try:
        for study_uid in sorted(studies):
            record(
                AuditEvent.IMPORTED,
                username=f"AE {calling}",
                study_uid=study_uid,
                detail=f"C-STORE from {calling} at {event.assoc.requestor.address}",
            )
    finally:
        close_old_connections()


IDENTIFIER_DOES_NOT_MATCH = 0xA900  # Q/R: Identifier does not match SOP Class
UNABLE_TO_PROCESS = 0xC000
CANCEL = 0xFE00
PENDING = 0xFF00


def handle_find(event):
    """C-FIND over the archive at any level of Patient or Study Root."""
    close_old_connections()
    try:
        try:
            found = list(responses(event.identifier))
        except QueryError as exc:
            yield _status(IDENTIFIER_DOES_NOT_MATCH, str(exc)), None
            return
        except Exception:
            logger.exception("C-FIND failed")
            yield _status(UNABLE_TO_PROCESS, "the archive could not answer"), None
            return
    finally:
        close_old_connections()
    for response in found:
        if event.is_cancelled:
            yield CANCEL, None
            return
        yield PENDING, response


def _matched_instances(identifier: Dataset) -> list:
    """The stored instances below whatever level the identifier names."""
    close_old_connections()
    try:
        return list(instances_for(identifier))
    finally:
        close_old_connections()


def _send_instances(event, instances: list):
    for instance in instances:
        if event.is_cancelled:
            yield CANCEL, None
            return
        try:
            dataset = pydicom.dcmread(absolute_path(instance.file_path))
        except Exception:
            logger.info("C-GET/C-MOVE could not read a stored instance")
            yield _status(UNABLE_TO_PROCESS, "a stored instance cannot be read"), None
            continue
        yield PENDING, dataset


def handle_get(event):
    """C-GET: send every matched instance back over the same association."""
    try:
        instances = _matched_instances(event.identifier)
    except QueryError as exc:
        yield 0
        yield _status(IDENTIFIER_DOES_NOT_MATCH, str(exc)), None
        return
    yield len(instances)
    yield from _send_instances(event, instances)


def handle_move(event):
    """C-MOVE: send every matched instance to a configured node, by its AE title."""
    close_old_connections()
    try:
        node = RemoteNode.objects.filter(
            ae_title=event.move_destination.strip(), enabled=True, protocol=RemoteNode.DIMSE
        ).first()
    finally:
        close_old_connections()
    if node is None:
        yield None, None  # pynetdicom answers 0xA801 Move destination unknown
        return
    try:
        instances = _matched_instances(event.identifier)
    except QueryError as exc:
        yield node.host, node.port
        yield 0
        yield _status(IDENTIFIER_DOES_NOT_MATCH, str(exc)), None
        return
    contexts = sorted({(i.sop_class_uid, i.transfer_syntax_uid) for i in instances})
    yield (
        node.host,
        node.port,
        {"contexts": [build_context(sop_class, [syntax]) for sop_class, syntax in contexts[:128]]},
    )
    yield len(instances)
    yield from _send_instances(event, instances)


def handle_connection_open(event) -> None:
    """Turn off Nagle's algorithm on every DICOM connection.

    DIMSE sends a command and its data set as separate small writes; with Nagle and the
    peer's delayed ACK each reply would wait about 40 ms on an idle link.
    """
    transport = getattr(event.assoc.dul, "socket", None)
    sock = getattr(transport, "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a test double), or already closing
