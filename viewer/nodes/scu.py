"""Our SCU calls to remote nodes: verification by C-ECHO, C-FIND, C-MOVE and C-GET probes,
and the C-GET and C-MOVE requests of retrieves."""

import errno
import socket
import ssl
import time
from dataclasses import dataclass, replace

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, StoragePresentationContexts, build_role, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)
from pynetdicom.sop_class import (
    Verification as VerificationSOPClass,
)
from pynetdicom.status import Status

from .handlers import handle_connection_open
from .models import RemoteNode
from .outcomes import Step, Verification, rejection_words, status_words
from .scp import log_identifiers_only_when_debugging

# DIMSE statuses pynetdicom's ``Status`` does not name (PS3.4 annexes B and C).
PENDING_WITHOUT_OPTIONAL_KEYS = 0xFF01  # C-FIND: a match, some optional keys unsupported
SUBOPERATIONS_WARNING = 0xB000  # C-MOVE/C-GET: done, some sub-operations failed or warned
STORED_WITH_WARNING = range(0xB000, 0xB008)  # C-STORE: coerced or elements discarded
UNABLE_TO_PROCESS_CODES = range(0xC000, 0xD000)  # Q/R: failed, unable to process
OUT_OF_RESOURCES = 0xA700  # C-STORE: refused, out of resources


def verify(node: RemoteNode) -> Verification:
    """Check a node the way its users will need it: reach it, echo, find, and move or get
    (its configured retrieve method)."""
    result = Verification()
    reach = probe_tcp(node.host, node.port, node.connect_timeout)
    result.steps.append(reach)
    if not reach.ok:
        return result
    contexts = [VerificationSOPClass, StudyRootQueryRetrieveInformationModelFind]
    if node.retrieve_method == RemoteNode.C_MOVE:
        contexts.append(StudyRootQueryRetrieveInformationModelMove)
    assoc, failure = associate(node, contexts)
    if failure is not None:
        result.steps.append(failure)
        return result
    try:
        result.steps.append(_echo(assoc))
        result.steps.append(_find_nothing(assoc))
        if node.retrieve_method == RemoteNode.C_MOVE:
            result.steps.append(_move_unknown(assoc, node.our_ae_title))
    finally:
        if assoc.is_established:
            assoc.release()
    if node.retrieve_method == RemoteNode.C_GET:
        result.steps.append(_get_roles(node))
    return result


def open_association(
    node: RemoteNode, contexts: list, **options
) -> tuple[Association | None, Step | None]:
    """Reach the node, then associate; on failure the step says why (probe first, so a
    refused connection reads as such rather than as an abort). Options go to ``associate``."""
    reach = probe_tcp(node.host, node.port, node.connect_timeout)
    if not reach.ok:
        return None, reach
    return associate(node, contexts, **options)


def probe_tcp(host: str, port: int, timeout: float) -> Step:
    """Open and close a TCP connection, naming exactly what went wrong if it fails."""
    start = time.perf_counter()
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror:
        return Step("connect", False, f"host name {host!r} cannot be resolved")
    except TimeoutError:
        return Step(
            "connect",
            False,
            f"no answer from {host}:{port} within the {timeout:g} s connect timeout",
        )
    except ConnectionRefusedError:
        return Step(
            "connect", False, f"connection refused by {host}:{port} (nothing listens on that port)"
        )
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return Step("connect", False, f"host {host} is unreachable from here")
        return Step("connect", False, f"cannot connect to {host}:{port}: {exc.strerror or exc}")
    return Step("connect", True, f"{host}:{port} accepts connections", _ms(start))


def _read_timeout(event, seconds: float) -> None:
    """Give our end's socket a read timeout: pynetdicom turns it off once connected, so a
    link that goes silent in the middle of a PDU left its reader waiting for ever (and
    the association's abort, which waits for that reader, with it)."""
    sock = getattr(getattr(event.assoc.dul, "socket", None), "socket", None)
    if sock is not None:
        try:
            sock.settimeout(seconds)
        except OSError:
            pass  # already closing


def associate(
    node: RemoteNode, contexts: list, ext_neg: list | None = None, handlers: list | None = None
) -> tuple[Association, Step | None]:
    """Request an association; on failure the step says why in the peer's own terms.

    ``contexts`` holds SOP classes, or (SOP class, transfer syntaxes) pairs; ``ext_neg``
    and ``handlers`` go to pynetdicom as they are (role selection, C-STORE for C-GET).
    """
    # Without our SCP in this process (run_downloader alone) nothing else turns it off:
    # a listing's 400 matches would each be pretty-printed for a logger that drops them.
    log_identifiers_only_when_debugging()
    ae = AE(ae_title=node.our_ae_title)
    _apply_timeouts(ae, node)
    for context in contexts:
        if isinstance(context, tuple):
            ae.add_requested_context(*context)
        else:
            ae.add_requested_context(context)
    tls_args = None
    if node.use_tls:
        tls_args = (ssl.create_default_context(), node.host)
    received: list[bytes] = []
    start = time.perf_counter()
    assoc = ae.associate(
        node.host,
        node.port,
        ae_title=node.ae_title,
        tls_args=tls_args,
        ext_neg=ext_neg,
        evt_handlers=[
            (evt.EVT_DATA_RECV, _keep_first_pdu, [received]),
            (evt.EVT_CONN_OPEN, handle_connection_open),
            (evt.EVT_CONN_OPEN, _read_timeout, [node.network_timeout]),
            *(handlers or []),
        ],
    )
    elapsed = time.perf_counter() - start
    if assoc.is_established:
        return assoc, None
    rejection = _rejection(assoc, received)
    if rejection is not None:
        return assoc, Step("associate", False, rejection_words(*rejection), _ms(start))
    if assoc.rejected_contexts and not assoc.accepted_contexts:
        names = ", ".join(sorted({str(cx.abstract_syntax.name) for cx in assoc.rejected_contexts}))
        return assoc, Step(
            "associate", False, f"the peer accepted none of our presentation contexts ({names})"
        )
    if assoc.acceptor.primitive is None and elapsed >= node.acse_timeout * 0.9:
        return assoc, Step(
            "associate",
            False,
            f"no answer to the association request within the {node.acse_timeout:g} s ACSE timeout",
        )
    return assoc, Step("associate", False, "the peer aborted the association", _ms(start))


def _apply_timeouts(ae: AE, node: RemoteNode) -> None:
    ae.connection_timeout = node.connect_timeout
    ae.acse_timeout = node.acse_timeout
    ae.dimse_timeout = node.dimse_timeout
    ae.network_timeout = node.network_timeout


def _keep_first_pdu(event, received: list[bytes]) -> None:
    if not received:
        received.append(bytes(event.data[:10]))


def _rejection(assoc: Association, received: list[bytes]) -> tuple[int, int, int] | None:
    """Result, source and reason of an A-ASSOCIATE-RJ, if the peer sent one.

    A peer that closes the connection right after rejecting can make pynetdicom report
    an abort instead; the PDU itself (type 0x03) still tells the truth.
    """
    if assoc.is_rejected and assoc.acceptor.primitive is not None:
        primitive = assoc.acceptor.primitive
        return primitive.result, primitive.result_source, primitive.diagnostic
    if received and len(received[0]) >= 10 and received[0][0] == 0x03:
        pdu = received[0]
        return pdu[7], pdu[8], pdu[9]
    return None


def _accepts(assoc: Association, sop_class) -> bool:
    return any(cx.abstract_syntax == sop_class for cx in assoc.accepted_contexts)


def _echo(assoc: Association) -> Step:
    if not _accepts(assoc, VerificationSOPClass):
        return Step("C-ECHO", False, "the peer rejected the Verification presentation context")
    start = time.perf_counter()
    status = assoc.send_c_echo()
    if "Status" not in status:
        return Step("C-ECHO", False, _no_response(assoc, "C-ECHO"))
    if status.Status != Status.SUCCESS:
        return Step("C-ECHO", False, status_words("C-ECHO", status.Status))
    return Step("C-ECHO", True, "the peer answered", _ms(start))


def _find_nothing(assoc: Association) -> Step:
    """A study-level C-FIND that matches nothing: does the peer let us query at all?"""
    if not _accepts(assoc, StudyRootQueryRetrieveInformationModelFind):
        return Step("C-FIND", False, "the peer does not accept Study Root C-FIND from us")
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = generate_uid()
    start = time.perf_counter()
    matches = 0
    for status, _identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
        if "Status" not in status:
            return Step("C-FIND", False, _no_response(assoc, "C-FIND"))
        if status.Status in (Status.PENDING, PENDING_WITHOUT_OPTIONAL_KEYS):
            matches += 1
            continue
        if status.Status != Status.SUCCESS:
            return Step("C-FIND", False, status_words("C-FIND", status.Status))
    return Step("C-FIND", True, f"query accepted ({matches} matches, as expected)", _ms(start))


def _move_unknown(assoc: Association, our_ae_title: str) -> Step:
    """Ask the peer to move an unknown study to us: does it know us as a destination?"""
    if not _accepts(assoc, StudyRootQueryRetrieveInformationModelMove):
        return Step("C-MOVE", False, "the peer does not accept Study Root C-MOVE from us")
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = generate_uid()
    start = time.perf_counter()
    final = None
    for status, _identifier in assoc.send_c_move(
        query, our_ae_title, StudyRootQueryRetrieveInformationModelMove
    ):
        if "Status" not in status:
            return Step("C-MOVE", False, _no_response(assoc, "C-MOVE"))
        final = status
    code = final.Status if final is not None else None
    if code == Status.MOVE_DESTINATION_UNKNOWN:
        return Step(
            "C-MOVE",
            False,
            f"the peer does not know {our_ae_title} as a move destination: add our AE title, "
            "host and port to its configuration",
        )
    if code in (Status.SUCCESS, SUBOPERATIONS_WARNING):
        # The peer took us as a destination and found nothing to send: what an unknown
        # study should give.
        return Step(
            "C-MOVE",
            True,
            f"{our_ae_title} was not refused as a move destination ({status_words('C-MOVE', code)}"
            " for an unknown test study; peers that check the destination only when they "
            "have images to send cannot be told apart here)",
            _ms(start),
        )
    if code is None:
        return Step("C-MOVE", False, "the peer sent no final C-MOVE status")
    if code in UNABLE_TO_PROCESS_CODES:
        # Orthanc answers so to any move of a study it does not hold, whatever the
        # destination: the probe learns nothing of whether it knows us.
        return Step(
            "C-MOVE",
            None,
            f"the peer answered {status_words('C-MOVE', code)} to a move of an unknown test "
            f"study, as some PACS do whatever the destination: whether it knows "
            f"{our_ae_title} as a move destination shows at the first retrieve",
            _ms(start),
        )
    return Step("C-MOVE", False, status_words("C-MOVE", code))


_NO_GET = "the peer does not accept Study Root C-GET from us"


def _get_roles(node: RemoteNode) -> Step:
    """Associate as a C-GET retrieve does: does the peer accept C-GET, and let us take
    the storage SCP role (role selection) so that it can send the images back?"""
    start = time.perf_counter()
    # Nothing is asked for, so nothing should come; whatever does is not taken.
    assoc, failure = open_get_association(node, lambda event: OUT_OF_RESOURCES)
    if failure is not None:
        if assoc is not None and assoc.rejected_contexts and not assoc.accepted_contexts:
            # Not the list of every storage class proposed: the one that matters.
            return Step("C-GET", False, _NO_GET + " (nor any of our storage classes)")
        return Step(
            "C-GET", False, f"the association C-GET retrieves use failed: {failure.message}"
        )
    try:
        if not _accepts(assoc, StudyRootQueryRetrieveInformationModelGet):
            return Step("C-GET", False, _NO_GET)
        storage = [
            cx
            for cx in assoc.accepted_contexts
            if cx.abstract_syntax != StudyRootQueryRetrieveInformationModelGet
        ]
        ours = {cx.abstract_syntax for cx in storage if cx.as_scp}
        if not ours:
            refused = "refused us" if storage else "accepted none of our storage classes, nor"
            return Step(
                "C-GET",
                False,
                f"the peer {refused} the storage SCP role (C-GET role selection), so it "
                "cannot send images back over a C-GET association: allow the role for our "
                "AE title on the peer, or retrieve by C-MOVE",
                _ms(start),
            )
        return Step(
            "C-GET",
            True,
            f"C-GET accepted, with our storage SCP role for {len(ours)} storage "
            "class(es) (role selection)",
            _ms(start),
        )
    finally:
        if assoc.is_established:
            assoc.release()


def _no_response(assoc: Association, service: str) -> str:
    if assoc.is_aborted:
        return f"the peer aborted the association during {service}"
    return f"no {service} response within the DIMSE timeout"


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


@dataclass(frozen=True)
class RetrieveOutcome:
    """Sub-operation counts of a C-GET or C-MOVE, and the final status in words."""

    completed: int
    failed: int
    warning: int
    status: str
    ok: bool
    code: int | None = None
    # The peer answered the request with an A-ABORT (it refused it), rather than the
    # link breaking or a status coming back.
    aborted_by_peer: bool = False


def _outcome(service: str, final: Dataset | None) -> RetrieveOutcome:
    if final is None or "Status" not in final:
        return RetrieveOutcome(0, 0, 0, f"no final {service} status", False)
    counts = [
        int(final.get(keyword, 0) or 0)
        for keyword in (
            "NumberOfCompletedSuboperations",
            "NumberOfFailedSuboperations",
            "NumberOfWarningSuboperations",
        )
    ]
    ok = final.Status in (Status.SUCCESS, SUBOPERATIONS_WARNING) and counts[1] == 0
    return RetrieveOutcome(*counts, status_words(service, final.Status), ok, final.Status)


def _retrieve_identifier(
    study_uid: str, series_uid: str = "", sop_instance_uid: str | list[str] = ""
) -> Dataset:
    # A list of SOP Instance UIDs is the standard's list-of-UID matching (PS3.4 C.2.2.2.2):
    # one request, one store association on the node's side, for all of them.
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "IMAGE" if sop_instance_uid else "STUDY"
    identifier.StudyInstanceUID = study_uid
    if sop_instance_uid:
        identifier.SeriesInstanceUID = series_uid
        identifier.SOPInstanceUID = sop_instance_uid
    return identifier


# Classes whose pixels a compressed transfer syntax shrinks: each gets a context per
# syntax asked for. The rest (reports, presentation states, RT plans, waveforms...) get
# one context, as do these when the node is asked for images as stored.
PIXEL_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.2",  # CT
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT
    "1.2.840.10008.5.1.4.1.1.4",  # MR
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR
    "1.2.840.10008.5.1.4.1.1.1",  # CR
    "1.2.840.10008.5.1.4.1.1.1.1",  # DX for presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",  # DX for processing
    "1.2.840.10008.5.1.4.1.1.1.2",  # MG for presentation
    "1.2.840.10008.5.1.4.1.1.1.2.1",  # MG for processing
    "1.2.840.10008.5.1.4.1.1.13.1.3",  # breast tomosynthesis
    "1.2.840.10008.5.1.4.1.1.6.1",  # US
    "1.2.840.10008.5.1.4.1.1.3.1",  # US multi-frame
    "1.2.840.10008.5.1.4.1.1.20",  # NM
    "1.2.840.10008.5.1.4.1.1.128",  # PET
    "1.2.840.10008.5.1.4.1.1.12.1",  # XA
    "1.2.840.10008.5.1.4.1.1.12.2",  # XRF
    "1.2.840.10008.5.1.4.1.1.481.1",  # RT image
    "1.2.840.10008.5.1.4.1.1.7",  # secondary capture
    "1.2.840.10008.5.1.4.1.1.7.2",  # multi-frame grayscale byte SC
    "1.2.840.10008.5.1.4.1.1.7.3",  # multi-frame grayscale word SC
    "1.2.840.10008.5.1.4.1.1.7.4",  # multi-frame true colour SC
    "1.2.840.10008.5.1.4.1.1.77.1.4",  # VL photographic
)
# Classes without (much) pixel data a study commonly holds: these keep their context
# before the rarer classes when the 128-context limit is reached.
COMMON_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.88.59",  # key object selection
    "1.2.840.10008.5.1.4.1.1.88.11",  # basic text SR
    "1.2.840.10008.5.1.4.1.1.88.22",  # enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.33",  # comprehensive SR
    "1.2.840.10008.5.1.4.1.1.88.34",  # comprehensive 3D SR
    "1.2.840.10008.5.1.4.1.1.88.67",  # X-ray radiation dose SR
    "1.2.840.10008.5.1.4.1.1.11.1",  # grayscale softcopy presentation state
    "1.2.840.10008.5.1.4.1.1.104.1",  # encapsulated PDF
    "1.2.840.10008.5.1.4.1.1.66.4",  # segmentation
    "1.2.840.10008.5.1.4.1.1.481.2",  # RT dose
    "1.2.840.10008.5.1.4.1.1.481.3",  # RT structure set
    "1.2.840.10008.5.1.4.1.1.481.5",  # RT plan
    "1.2.840.10008.5.1.4.1.1.66",  # raw data
    "1.2.840.10008.5.1.4.1.1.66.1",  # spatial registration
)
UNCOMPRESSED = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
MAX_CONTEXTS = 128  # pynetdicom's limit for one association (PS3.8: 128 odd IDs)


def storage_contexts(wanted: tuple[str, ...], room: int = MAX_CONTEXTS - 1) -> list[tuple]:
    """(SOP class, transfer syntaxes) contexts to take instances back by C-GET, at most ``room``.

    For a class in ``PIXEL_CLASSES``: one context per syntax in ``wanted`` (best first),
    then one offering every syntax we decode, so the peer can send each instance in any
    it holds; every other class gets that last one alone, ``COMMON_CLASSES`` first. When
    ``room`` runs out, the rarest classes (the end of pynetdicom's storage list) go without.
    """
    from .scp import STORAGE_TRANSFER_SYNTAXES

    # The catch-all context lists uncompressed first: an acceptor that takes the first
    # it supports then sends as stored or decompressed, never recompressed lossily.
    any_syntax = [
        *UNCOMPRESSED,
        *(ts for ts in STORAGE_TRANSFER_SYNTAXES if ts not in UNCOMPRESSED),
    ]
    compressed = [(uid, [ts]) for uid in PIXEL_CLASSES for ts in wanted]
    plain = [(uid, any_syntax) for uid in PIXEL_CLASSES]
    rest = [
        context.abstract_syntax
        for context in StoragePresentationContexts
        if context.abstract_syntax not in (*PIXEL_CLASSES, *COMMON_CLASSES)
    ]
    others = [(uid, any_syntax) for uid in (*COMMON_CLASSES, *rest)]
    return (compressed + plain + others)[:room]


def open_get_association(node: RemoteNode, store_handler) -> tuple[Association | None, Step | None]:
    """An association for C-GET; ``store_handler`` receives each C-STORE sent back."""
    # Contexts for the storage classes we take back, with our SCP role proposed once per
    # class, beside the C-GET context. Going through ``open_association`` gives C-GET the
    # node's TLS and the same failure words as every other call.
    storage = storage_contexts(node.wanted_transfer_syntaxes())
    classes = dict.fromkeys(sop_class for sop_class, _ in storage)
    return open_association(
        node,
        [StudyRootQueryRetrieveInformationModelGet, *storage],
        ext_neg=[build_role(sop_class, scp_role=True) for sop_class in classes],
        handlers=[(evt.EVT_C_STORE, store_handler)],
    )


def send_get(
    assoc: Association, study_uid: str, series_uid: str = "", sop_instance_uid: str = ""
) -> RetrieveOutcome:
    """C-GET a study, or one instance, over an open association."""
    final = None
    for status, _identifier in assoc.send_c_get(
        _retrieve_identifier(study_uid, series_uid, sop_instance_uid),
        StudyRootQueryRetrieveInformationModelGet,
    ):
        final = status
    if final is None or "Status" not in final:
        return _outcome("C-GET", None if assoc.is_established else final)
    return _outcome("C-GET", final)


def get_study(node: RemoteNode, study_uid: str, store_handler) -> RetrieveOutcome:
    """C-GET a study over one association; ``store_handler`` receives each C-STORE."""
    assoc, failure = open_get_association(node, store_handler)
    if failure is not None:
        return RetrieveOutcome(0, 0, 0, failure.message, False)
    try:
        return send_get(assoc, study_uid)
    finally:
        if assoc.is_established:
            assoc.release()


def open_move_association(node: RemoteNode) -> tuple[Association | None, Step | None]:
    """An association for C-MOVE requests, kept for as many moves as the caller sends."""
    return open_association(node, [StudyRootQueryRetrieveInformationModelMove])


def send_move(
    assoc: Association,
    destination_ae: str,
    study_uid: str,
    series_uid: str = "",
    sop_instance_uid: str | list[str] = "",
) -> RetrieveOutcome:
    """Ask the node to C-MOVE a study, or instances of one series (one UID or a list), to
    ``destination_ae`` over an open association; raises RuntimeError if the association
    went while idle."""
    received: list[int] = []  # the type of each PDU the peer sends while we wait
    assoc.bind(evt.EVT_DATA_RECV, _note_pdu_type, [received])
    final = None
    try:
        for status, _identifier in assoc.send_c_move(
            _retrieve_identifier(study_uid, series_uid, sop_instance_uid),
            destination_ae,
            StudyRootQueryRetrieveInformationModelMove,
        ):
            final = status
    finally:
        assoc.unbind(evt.EVT_DATA_RECV, _note_pdu_type)
    if final is None or "Status" not in final:
        outcome = _outcome("C-MOVE", None)
        return replace(outcome, aborted_by_peer=_A_ABORT in received)
    return _outcome("C-MOVE", final)


_A_ABORT = 0x07  # PDU type of an A-ABORT


def _note_pdu_type(event, received: list[int]) -> None:
    if event.data:
        received.append(event.data[0])


def move(
    node: RemoteNode,
    destination_ae: str,
    study_uid: str,
    series_uid: str = "",
    sop_instance_uid: str = "",
) -> RetrieveOutcome:
    """Ask the node to C-MOVE a study, or one instance, to ``destination_ae`` over an
    association of its own."""
    assoc, failure = open_move_association(node)
    if failure is not None:
        return RetrieveOutcome(0, 0, 0, failure.message, False)
    try:
        return send_move(assoc, destination_ae, study_uid, series_uid, sop_instance_uid)
    finally:
        if assoc.is_established:
            assoc.release()


def move_study(node: RemoteNode, study_uid: str, destination_ae: str) -> RetrieveOutcome:
    """Ask the node to C-MOVE a study to ``destination_ae`` (normally our own SCP)."""
    return move(node, destination_ae, study_uid)


@dataclass(frozen=True)
class StoreOutcome:
    """How a C-STORE of some files went: how many the node took, and why not the rest."""

    sent: int
    failed: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.error


def store_instances(node: RemoteNode, paths: list) -> StoreOutcome:
    """Send stored files to the node by C-STORE over one association, as they are
    encoded (each file's own transfer syntax, or uncompressed as a fallback).

    A file that cannot be read, or that the node accepted no presentation context for,
    counts as failed with the reason; the others are still sent."""
    datasets, failed, error = [], 0, ""
    for path in paths:
        try:
            datasets.append(dcmread(path))
        except (OSError, InvalidDicomError, ValueError) as exc:
            failed += 1
            error = f"a file to send cannot be read ({type(exc).__name__})"
    if not datasets:
        return StoreOutcome(0, failed, error)
    contexts = []
    for dataset in datasets:
        syntaxes = [str(dataset.file_meta.TransferSyntaxUID), *UNCOMPRESSED]
        context = (str(dataset.SOPClassUID), list(dict.fromkeys(syntaxes)))
        if context not in contexts:
            contexts.append(context)
    assoc, failure = open_association(node, contexts)
    if failure is not None:
        return StoreOutcome(0, failed + len(datasets), failure.message)
    sent = 0
    try:
        for dataset in datasets:
            try:
                status = assoc.send_c_store(dataset)
            except ValueError:  # pynetdicom: no accepted context for its class and syntax
                failed += 1
                error = (
                    f"the node does not accept {_sop_class_name(dataset)} "
                    "in any offered transfer syntax"
                )
                continue
            except (RuntimeError, OSError) as exc:  # the association is gone
                failed += 1
                error = f"the association failed while sending ({type(exc).__name__})"
                continue
            code = int(status.get("Status", -1)) if status else -1
            if code == Status.SUCCESS or code in STORED_WITH_WARNING:
                sent += 1
            else:
                failed += 1
                error = (
                    status_words("C-STORE", code) if code >= 0 else _no_response(assoc, "C-STORE")
                )
    finally:
        if assoc.is_established:
            assoc.release()
    return StoreOutcome(sent, failed, error)


def _sop_class_name(dataset: Dataset) -> str:
    uid = dataset.SOPClassUID
    return f"{uid.name} ({uid})" if uid.is_valid and uid.name != str(uid) else str(uid)
