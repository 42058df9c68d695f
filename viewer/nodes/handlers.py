"""Our SCP's event handlers, bound as ``(evt, handler, [args])``; statuses are named."""

import logging
import socket
from pathlib import Path

import pydicom
from django.conf import settings
from django.db import close_old_connections
from pydicom.dataset import Dataset
from pynetdicom import build_context
from pynetdicom.sop_class import Verification
from pynetdicom.status import Status

from viewer.archive.importer import CONFLICT, IMPORTED, PRESENT
from viewer.archive.parsing import RejectedFile, parse_file, parse_instance
from viewer.archive.storage import absolute_path
from viewer.audit.details import patient_id_of
from viewer.audit.models import AuditEvent, record

from . import arrivals
from .dimse import ScpDIMSEProvider
from .ingest import (
    StoreSession,
    StoreSessions,
    close_thread_connections,
    drop_unusable_connection,
)
from .models import RemoteNode
from .peers import ANY, GuardedACSE, Peers
from .qr import QueryError, instances_for, named_study, responses
from .wakeups import prompt_hand_over, stop_waking, wake_on_io

logger = logging.getLogger(__name__)

# Statuses pynetdicom's ``Status`` does not name.
OUT_OF_RESOURCES = 0xA700  # Storage: Refused, out of resources
CANNOT_UNDERSTAND = 0xC000  # Storage: Error, cannot understand
# Storage: Error, cannot understand (PS3.4 B.2.3, Cxxx: a resend cannot succeed, where
# A7xx "out of resources" invites one): the instance contradicts the archive, e.g. its
# study is filed under another patient. The subcode follows dcm4chee-arc's 0xA778
# (conflicting Patient ID); the Error Comment says which conflict.
ARCHIVE_CONFLICT = 0xC778
SOP_CLASS_NOT_SUPPORTED = 0x0122  # Refused: SOP Class not supported
PROCESSING_FAILURE = 0x0110
NOT_AUTHORISED = 0x0124  # PS3.7 C.5: Refused, not authorized


def _status(code: int, comment: str = "") -> Dataset:
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment[:64]  # LO
    return status


def handle_store(event, sessions: StoreSessions, peers: Peers | None = None) -> Dataset:
    """C-STORE: check, write atomically and index before answering success.

    A duplicate is answered with success and not stored twice; a malformed data set, an
    instance over the size cap, one that conflicts with the archive (its study is filed
    under another patient) or, with ``PACSWEB_SCP_STORE_FROM=known``, one from a caller
    that is not a configured node gets a failure status with the reason.
    """
    if peers is not None and settings.PACSWEB_SCP_STORE_FROM != ANY:
        if not peers.is_known(event.assoc):
            if peers.first_refusal(event.assoc):
                detail = "C-STORE refused: not a configured node"
                _audit(event, AuditEvent.IMPORTED, detail, "", AuditEvent.FAILURE)
            return _status(NOT_AUTHORISED, "calling AE title is not a configured node")
    if event.context.abstract_syntax != event.request.AffectedSOPClassUID:
        # pynetdicom picks the service by the message's SOP class, not by the context's:
        # an instance sent on another class's context (Verification, say) would be kept.
        logger.info("C-STORE refused: sent on a presentation context for another class")
        return _status(SOP_CLASS_NOT_SUPPORTED, "sent on a context for another SOP class")
    path = _streamed_path(event)
    size = path.stat().st_size if path else len(event.request.DataSet.getbuffer())
    if size > settings.PACSWEB_SCP_MAX_INSTANCE_MB * 1024 * 1024:
        reason = f"instance larger than {settings.PACSWEB_SCP_MAX_INSTANCE_MB} MB"
        logger.info("C-STORE refused: %s", reason)
        return _status(OUT_OF_RESOURCES, reason)
    caller = event.assoc.requestor.ae_title
    if path and arrivals.take(event.request.AffectedSOPInstanceUID, path, caller):
        # A C-MOVE of this process asked for it: the job checks, files and indexes it.
        return _status(Status.SUCCESS)
    # Parsing holds about twice an instance in memory; the budget waits large instances
    # in turn (they are on disk meanwhile) instead of holding them all at once.
    with sessions.budget.hold(size):
        return _store(event, path, sessions)


def _streamed_path(event) -> Path | None:
    """The file pynetdicom streamed the data set to (see ``scp.stream_to_disk``), if any."""
    path = getattr(event.request, "_dataset_path", None)
    return path if isinstance(path, Path) else None


def _store(event, path: Path | None, sessions: StoreSessions) -> Dataset:
    try:
        # In the DICOM file format either way: pynetdicom wrote the file meta first, then
        # the data set's bytes as received. A streamed file is parsed in place and renamed
        # into the archive (pynetdicom's removal of it afterwards finds nothing).
        parsed = parse_file(path) if path else parse_instance(event.encoded_dataset())
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
        return _status(Status.SUCCESS)
    logger.info("C-STORE refused: %s", reason)
    if outcome == CONFLICT:
        return _status(ARCHIVE_CONFLICT, reason)
    return _status(OUT_OF_RESOURCES if "write" in reason else CANNOT_UNDERSTAND, reason)


def handle_echo(event) -> int:
    """C-ECHO: always success."""
    return Status.SUCCESS


def handle_association_end(event, sessions: StoreSessions) -> None:
    """As an association is released or aborted: make its studies' counts exact, audit
    the studies it delivered, and close its thread's database connection."""
    stop_waking(event.assoc)
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
            ae_title=calling,
            study_uid=study_uid,
            patient_id=patient_id_of(study_uid),
            address=address,
            detail=f"C-STORE from {calling} at {address}",
        )


IDENTIFIER_DOES_NOT_MATCH = 0xA900  # Q/R: Identifier does not match SOP Class
UNABLE_TO_PROCESS = 0xC000


def handle_find(event):
    """C-FIND over the archive at any level of Patient or Study Root, audited.

    Each match is sent as it is read from the database, and a C-CANCEL is honoured
    between matches. pynetdicom pulls this generator in the association's thread, so the
    query's cursor and connection stay in that thread, the connection until the
    association ends.
    """
    level = str(event.identifier.get("QueryRetrieveLevel", "")).strip().upper()
    matched, outcome, ending = 0, AuditEvent.SUCCESS, ""
    try:
        with prompt_hand_over.answering():
            for response in responses(event.identifier):
                if event.is_cancelled:
                    ending = ", cancelled"
                    yield Status.CANCEL, None
                    return
                matched += 1
                yield Status.PENDING, response
    except QueryError as exc:
        outcome, ending = AuditEvent.FAILURE, ", not understood"
        yield _status(IDENTIFIER_DOES_NOT_MATCH, str(exc)), None
    except Exception:
        logger.exception("C-FIND failed")
        outcome, ending = AuditEvent.FAILURE, ", failed"
        yield _status(UNABLE_TO_PROCESS, "the archive could not answer"), None
    finally:
        detail = f"C-FIND {level or '?'} level: {matched} matches{ending}"
        _audit(event, AuditEvent.QUERY, detail, named_study(event.identifier), outcome)
        # The connection stays for the association's next query (closed as it ends):
        # opening one, and on SQLite the checkpoint as the last one closes, took
        # longer than a small query.
        drop_unusable_connection()


def _audit(
    event, kind: str, detail: str, study_uid: str, outcome: str = AuditEvent.SUCCESS
) -> None:
    """One audit row for a DIMSE access, naming the calling AE title and its address."""
    requestor = getattr(getattr(event, "assoc", None), "requestor", None)
    calling = str(getattr(requestor, "ae_title", "") or "").strip()
    address = str(getattr(requestor, "address", "") or "")
    try:
        record(
            kind,
            username=f"AE {calling}",
            ae_title=calling,
            study_uid=study_uid,
            outcome=outcome,
            address=address,
            detail=f"{detail}; from {calling} at {address}",
        )
    except Exception:
        logger.exception("a DIMSE access could not be audited")
        close_old_connections()


def _matched_instances(identifier: Dataset) -> list:
    """The stored instances below whatever level the identifier names."""
    close_old_connections()
    try:
        return list(instances_for(identifier).select_related("series__study"))
    finally:
        close_old_connections()


def _decoded_identifier(event) -> Dataset:
    """The request's identifier with every element decoded now.

    pydicom decodes an element when it is first read: a malformed identifier would
    otherwise raise half way through the query, as an exception in pynetdicom's hands.
    """
    identifier = event.identifier
    for _element in identifier.iterall():
        pass
    return identifier


def _retrieve(event, kind: str, service: str) -> tuple[list, Dataset | None]:
    """The instances a C-GET or C-MOVE names, or the failure status that answers it.

    As ``handle_find``: an identifier we cannot understand is 0xA900, and one we cannot
    decode or the archive cannot answer is 0xC000, each with its reason; audited.
    """
    try:
        identifier = _decoded_identifier(event)
    except Exception:
        logger.info("%s refused: its identifier cannot be decoded", service)
        detail = f"{service} refused: identifier not decoded"
        _audit(event, kind, detail, "", AuditEvent.FAILURE)
        return [], _status(UNABLE_TO_PROCESS, "the identifier cannot be decoded")
    try:
        return _matched_instances(identifier), None
    except QueryError as exc:
        refusal = _status(IDENTIFIER_DOES_NOT_MATCH, str(exc))
        detail = f"{service} refused: identifier not understood"
    except Exception:
        logger.exception("%s failed", service)
        refusal = _status(UNABLE_TO_PROCESS, "the archive could not answer")
        detail = f"{service} failed"
    _audit(event, kind, detail, named_study(identifier), AuditEvent.FAILURE)
    return [], refusal


def _send_instances(event, instances: list, kind: str, service: str):
    """Yield each instance for a C-GET or C-MOVE, auditing each study as it ends."""
    sent: dict[str, int] = {}
    try:
        for instance in instances:
            if event.is_cancelled:
                yield Status.CANCEL, None
                return
            try:
                dataset = pydicom.dcmread(absolute_path(instance.file_path))
            except Exception:
                logger.info("C-GET/C-MOVE could not read a stored instance")
                yield _status(UNABLE_TO_PROCESS, "a stored instance cannot be read"), None
                continue
            study_uid = instance.series.study.study_uid
            sent[study_uid] = sent.get(study_uid, 0) + 1
            yield Status.PENDING, dataset
    finally:
        for study_uid, count in sorted(sent.items()):
            _audit(event, kind, f"{service}: {count} instances offered", study_uid)
        close_old_connections()


def handle_get(event):
    """C-GET: send every matched instance back over the same association.

    An identifier we cannot understand gets a failure status, not a success with
    nothing sent.
    """
    instances, refusal = _retrieve(event, AuditEvent.RETRIEVED, "C-GET")
    if refusal is not None:
        # pynetdicom answers zero sub-operations with Success without asking us for a
        # status: one announced sub-operation lets the failure be the answer.
        yield 1
        yield refusal, None
        return
    yield len(instances)
    yield from _send_instances(event, instances, AuditEvent.RETRIEVED, "C-GET")


def handle_move(event):
    """C-MOVE: send every matched instance to a configured node, by its AE title.

    An unknown destination gets 0xA801, and an identifier we cannot understand a
    failure status, not a success with nothing sent.
    """
    destination = str(event.move_destination).strip()
    close_old_connections()
    try:
        node = RemoteNode.objects.filter(
            ae_title=destination, enabled=True, protocol=RemoteNode.DIMSE
        ).first()
    finally:
        close_old_connections()
    if node is None:
        try:
            study_uid = named_study(_decoded_identifier(event))
        except Exception:
            study_uid = ""
        detail = f"C-MOVE refused: destination {destination} unknown"
        _audit(event, AuditEvent.EXPORTED, detail, study_uid, AuditEvent.FAILURE)
        yield None, None  # pynetdicom answers 0xA801 Move destination unknown
        return
    service = f"C-MOVE to {destination}"
    instances, refusal = _retrieve(event, AuditEvent.EXPORTED, service)
    if refusal is not None:
        # As for C-GET, the failure needs one announced sub-operation; pynetdicom then
        # opens (and releases) an association with the destination before asking for
        # it (unreachable, that answers 0xA801), offering Verification. Nothing is sent.
        yield node.host, node.port, {"contexts": [build_context(Verification)]}
        yield 1
        yield refusal, None
        return
    contexts = sorted({(i.sop_class_uid, i.transfer_syntax_uid) for i in instances})
    yield (
        node.host,
        node.port,
        {"contexts": [build_context(sop_class, [syntax]) for sop_class, syntax in contexts[:128]]},
    )
    yield len(instances)
    yield from _send_instances(event, instances, AuditEvent.EXPORTED, service)


def handle_connection_open(event, peers: Peers | None = None) -> None:
    """As a peer connects: guard its negotiation, stream its C-STOREs to disk, share
    each C-FIND's response command set, wake on its data instead of polling, and turn
    off Nagle's algorithm.

    DIMSE sends a command and its data set as separate small writes; with Nagle and the
    peer's delayed ACK each reply would wait about 40 ms on an idle link.
    """
    if peers is not None and event.assoc.is_acceptor:
        event.assoc.acse = GuardedACSE(event.assoc, peers)
        event.assoc.dimse = ScpDIMSEProvider(event.assoc)
        event.assoc.stream_store_to_disk = True
        wake_on_io(event.assoc)
    transport = getattr(event.assoc.dul, "socket", None)
    sock = getattr(transport, "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a test double), or already closing


def handle_rejected(event) -> None:
    """As we reject an association: close the database connection its checks opened."""
    stop_waking(event.assoc)
    close_thread_connections(event.assoc, used=True)
