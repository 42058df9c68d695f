"""Our SCP's event handlers, bound as ``(evt, handler, [args])``; statuses are named."""

import logging
import socket

import pydicom
from django.db import close_old_connections
from pydicom.dataset import Dataset
from pynetdicom import build_context

from viewer.archive.importer import IMPORTED, PRESENT
from viewer.archive.parsing import RejectedFile, parse_instance
from viewer.archive.storage import absolute_path
from viewer.audit.models import AuditEvent, record

from .ingest import StoreSession, StoreSessions, close_thread_connections
from .models import RemoteNode
from .qr import QueryError, instances_for, responses

logger = logging.getLogger(__name__)

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700  # Storage: Refused, out of resources
CANNOT_UNDERSTAND = 0xC000  # Storage: Error, cannot understand
PROCESSING_FAILURE = 0x0110


def _status(code: int, comment: str = "") -> Dataset:
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment[:64]  # LO
    return status


def handle_store(event, sessions: StoreSessions) -> Dataset:
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
    try:
        outcome, reason = sessions.session_for(event.assoc).store(parsed)
    except Exception:
        logger.exception("C-STORE could not be stored")
        return _status(OUT_OF_RESOURCES, "the archive could not store the instance")
    if outcome in (IMPORTED, PRESENT):
        return _status(SUCCESS)
    logger.info("C-STORE refused: %s", reason)
    return _status(OUT_OF_RESOURCES if "write" in reason else CANNOT_UNDERSTAND, reason)


def handle_echo(event) -> int:
    """C-ECHO: always success."""
    return SUCCESS


def handle_association_end(event, sessions: StoreSessions) -> None:
    """As an association is released or aborted: make its studies' counts exact, audit
    the studies it delivered, and close its thread's database connection."""
    session = sessions.end(event.assoc)
    try:
        if session is not None:
            _finish(session, event.assoc.requestor.address)
    finally:
        close_thread_connections(event.assoc, used=session is not None)


def _finish(session: StoreSession, address: str) -> None:
    try:
        session.end()
    except Exception:
        logger.exception("C-STORE could not refresh study counts")
        close_old_connections()
    calling = session.calling_ae_title
    for study_uid in sorted(session.study_uids):
        record(
            AuditEvent.IMPORTED,
            username=f"AE {calling}",
            study_uid=study_uid,
            detail=f"C-STORE from {calling} at {address}",
        )


IDENTIFIER_DOES_NOT_MATCH = 0xA900  # Q/R: Identifier does not match SOP Class
UNABLE_TO_PROCESS = 0xC000
CANCEL = 0xFE00
PENDING = 0xFF00


def handle_find(event):
    """C-FIND over the archive at any level of Patient or Study Root.

    Each match is sent as it is read from the database, and a C-CANCEL is honoured
    between matches. pynetdicom pulls this generator in the association's thread, so the
    query's cursor and connection stay in that thread until the last match.
    """
    try:
        for response in responses(event.identifier):
            if event.is_cancelled:
                yield CANCEL, None
                return
            yield PENDING, response
    except QueryError as exc:
        yield _status(IDENTIFIER_DOES_NOT_MATCH, str(exc)), None
    except Exception:
        logger.exception("C-FIND failed")
        yield _status(UNABLE_TO_PROCESS, "the archive could not answer"), None
    finally:
        close_old_connections()


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
