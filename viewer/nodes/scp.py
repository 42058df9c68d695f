"""Our SCP: Verification, Storage and Query/Retrieve over the archive, from settings."""

import logging
import socket
import threading
import time

from django.conf import settings
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import AE, AllStoragePresentationContexts, _config, evt
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)
from pynetdicom.transport import ThreadedAssociationServer
from pynetdicom.utils import make_target

from .contexts import copied_cheaply
from .handlers import (
    handle_association_end,
    handle_connection_open,
    handle_echo,
    handle_find,
    handle_get,
    handle_move,
    handle_rejected,
    handle_store,
)
from .ingest import StoreSessions
from .peers import ConnectionGate, Peers

QUERY_RETRIEVE = [
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
]

# Every syntax the imaging pipeline decodes. The acceptor's order decides when a peer
# offers several in one context: lossless compressed first (the sender's own bytes, and
# smaller), then uncompressed, and lossy only when a peer offers nothing better.
STORAGE_TRANSFER_SYNTAXES = [
    RLELossless,
    JPEGLosslessSV1,
    JPEGLossless,
    JPEGLSLossless,
    JPEG2000Lossless,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    ExplicitVRBigEndian,
    DeflatedExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSNearLossless,
    JPEG2000,
]


# How long a process sharing the listening socket waits, per association it serves,
# before it takes a new connection: the least busy process takes it.
ACCEPT_DELAY_SECONDS = 0.002

# The largest PDU we receive: each is held whole in memory, once per association.
MAXIMUM_PDU_BYTES = 128 * 1024


def build_ae(ae_title: str | None = None) -> tuple[AE, list]:
    """Our application entity and its handlers, limits and allow-list from settings."""
    ae = AE(ae_title=ae_title or settings.PACSWEB_AE_TITLE)
    ae.require_called_aet = True
    if settings.PACSWEB_SCP_ALLOWED_AETS:
        ae.require_calling_aet = settings.PACSWEB_SCP_ALLOWED_AETS
    # The SCP-wide cap is ours (GuardedACSE): pynetdicom's would count silent connections.
    ae.maximum_associations = 1_000_000
    # Peers send PDUs up to the size we announce; pynetdicom handles each in Python, and
    # at its default (16 KB) a 512 KB CT slice took 32 of them, a fifth of our C-STORE CPU.
    ae.maximum_pdu_size = MAXIMUM_PDU_BYTES
    # Each association has its own thread; the network timeout drops a stalled peer so
    # it cannot hold a slot for ever, and the ACSE timeout (pynetdicom's ARTIM timer)
    # drops a connection that never sends its A-ASSOCIATE-RQ much sooner.
    ae.network_timeout = settings.PACSWEB_SCP_NETWORK_TIMEOUT
    ae.acse_timeout = settings.PACSWEB_SCP_ACSE_TIMEOUT
    ae.dimse_timeout = 60
    ae.add_supported_context(Verification)
    for sop_class in QUERY_RETRIEVE:
        ae.add_supported_context(sop_class)
    for context in AllStoragePresentationContexts:
        # scp_role: a C-GET requestor may act as Storage SCP, so we can send back to it.
        ae.add_supported_context(
            context.abstract_syntax, STORAGE_TRANSFER_SYNTAXES, scu_role=False, scp_role=True
        )
    log_identifiers_only_when_debugging()
    stream_to_disk()
    sessions, peers = StoreSessions(), Peers()
    handlers = [
        (evt.EVT_CONN_OPEN, handle_connection_open, [peers]),
        (evt.EVT_C_ECHO, handle_echo),
        (evt.EVT_C_STORE, handle_store, [sessions, peers]),
        (evt.EVT_C_FIND, handle_find),
        (evt.EVT_C_GET, handle_get),
        (evt.EVT_C_MOVE, handle_move),
        (evt.EVT_RELEASED, handle_association_end, [sessions]),
        (evt.EVT_ABORTED, handle_association_end, [sessions]),
        (evt.EVT_REJECTED, handle_rejected),
    ]
    return ae, handlers


def log_identifiers_only_when_debugging() -> None:
    """Let pynetdicom pretty-print query and response identifiers only at DEBUG.

    It formats every one before its logger drops the lines (about 6 % of a C-FIND's
    time), and the lines hold patient data; they are process-wide switches.
    """
    debugging = logging.getLogger("pynetdicom").isEnabledFor(logging.DEBUG)
    _config.LOG_REQUEST_IDENTIFIERS = debugging
    _config.LOG_RESPONSE_IDENTIFIERS = debugging


class _StreamedForOurAssociations:
    """``_config.STORE_RECV_CHUNKED_DATASET``, true only for associations our SCP accepted.

    pynetdicom reads the switch as it decodes a C-STORE command, in the association's
    DUL thread. Our SCP's C-STOREs then go to a temporary file as they arrive; the
    C-GET requestor in the same process keeps receiving in memory, as it expects.
    """

    def __bool__(self) -> bool:
        assoc = getattr(threading.current_thread(), "assoc", None)
        return bool(getattr(assoc, "stream_store_to_disk", False))


def stream_to_disk() -> None:
    """Stream the C-STOREs our SCP receives to temporary files (in ``TMPDIR``)."""
    if not isinstance(_config.STORE_RECV_CHUNKED_DATASET, _StreamedForOurAssociations):
        _config.STORE_RECV_CHUNKED_DATASET = _StreamedForOurAssociations()


def share_association_limit(processes: int) -> None:
    """In each of ``processes`` SCP processes on one port, its share of
    ``PACSWEB_SCP_MAX_ASSOCIATIONS``: together they hold no more than it (the cap per
    address stays each process's own)."""
    total = settings.PACSWEB_SCP_MAX_ASSOCIATIONS
    settings.PACSWEB_SCP_MAX_ASSOCIATIONS = max(1, -(-total // processes))


def listening_host(web_host: str = "127.0.0.1") -> str:
    """Where our SCP listens: ``PACSWEB_DICOM_HOST`` if set, else where the web side does."""
    return settings.PACSWEB_DICOM_HOST or web_host


def start_server(
    host: str = "",
    port: int | None = None,
    ae_title: str | None = None,
    shared: socket.socket | None = None,
):
    """Start our SCP in background threads; returns the server (call ``shutdown()``).

    ``host`` defaults to ``PACSWEB_DICOM_HOST``, else loopback; ``shared``: a listening
    socket other processes accept on too (``run_scp --processes``), used instead."""
    ae, handlers = build_ae(ae_title)
    if shared is None:
        address = (host or listening_host(), port or settings.PACSWEB_DICOM_PORT)
        server = ae.start_server(address, block=False, evt_handlers=handlers)
    else:
        server = ae.make_server(
            shared.getsockname()[:2],
            evt_handlers=handlers,
            server_class=type("SharedSocketServer", (SharedSocketServer,), {"shared": shared}),
        )
        # As ``start_server(block=False)`` runs it (``shutdown`` expects it in the list).
        ae._servers.append(server)
        acceptor = threading.Thread(target=make_target(server.serve_forever), name="AcceptorServer")
        acceptor.daemon = True
        acceptor.start()
    server.verify_request = ConnectionGate().admit
    copied_cheaply(server)
    return server


class SharedSocketServer(ThreadedAssociationServer):
    """pynetdicom's server on a listening socket it shares with other processes."""

    shared: socket.socket

    def server_bind(self) -> None:
        self.socket.close()
        # Non-blocking: each process wakes for a connection another may accept first,
        # and a blocking accept would then hold this one's acceptor until the next.
        self.shared.setblocking(False)
        self.socket = self.shared
        self.server_address = self.shared.getsockname()

    def server_activate(self) -> None:
        self._stopping = threading.Event()

    def get_request(self):
        # Every process wakes for a new connection and the first to accept takes it: a
        # busier one waits a little first, so that associations spread over the processes.
        time.sleep(ACCEPT_DELAY_SECONDS * len(self.active_associations))
        return super().get_request()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        # The first process makes the socket listen once every process can accept, so
        # that the first associations are not all its own; a socket that does not listen
        # yet would wake select at once, and accept fail, in a busy loop.
        listening = (socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        while not self.socket.getsockopt(*listening) and not self._stopping.wait(0.01):
            pass
        super().serve_forever(poll_interval)

    def shutdown(self) -> None:
        self._stopping.set()
        super().shutdown()

    def server_close(self) -> None:
        # Not shut down: that would stop the socket listening for the other processes.
        self.socket.close()
