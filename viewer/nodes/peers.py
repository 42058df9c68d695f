"""Who may use our SCP: calling AE titles configured as nodes, and limits per address.

Decided as an association is negotiated, in its own thread: the Query/Retrieve
presentation contexts of a caller that is not a configured node are refused, and an
address holding too many associations, or any caller once the SCP holds its maximum of
negotiated ones, is rejected as "local limit exceeded".
"""

import ipaddress
import logging
import socket
import threading
import weakref

from django.conf import settings
from django.db import close_old_connections
from pynetdicom import evt
from pynetdicom.acse import ACSE
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from viewer.audit.models import AuditEvent, record

from .models import RemoteNode

logger = logging.getLogger(__name__)

ANY, KNOWN = "any", "known"
# Each Query/Retrieve SOP Class, the DIMSE service it carries and what a refusal audits.
QUERY_RETRIEVE_SERVICES = {
    PatientRootQueryRetrieveInformationModelFind: ("C-FIND", AuditEvent.QUERY),
    StudyRootQueryRetrieveInformationModelFind: ("C-FIND", AuditEvent.QUERY),
    PatientRootQueryRetrieveInformationModelGet: ("C-GET", AuditEvent.RETRIEVED),
    StudyRootQueryRetrieveInformationModelGet: ("C-GET", AuditEvent.RETRIEVED),
    PatientRootQueryRetrieveInformationModelMove: ("C-MOVE", AuditEvent.EXPORTED),
    StudyRootQueryRetrieveInformationModelMove: ("C-MOVE", AuditEvent.EXPORTED),
}
# A-ASSOCIATE-RJ: rejected-transient, service-provider (presentation), local limit exceeded.
LOCAL_LIMIT_EXCEEDED = (0x02, 0x03, 0x02)


def _same_ip(a: str, b: str) -> bool:
    try:
        first, second = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return False
    # An IPv4 peer seen through an IPv6 socket arrives as ::ffff:a.b.c.d.
    first = getattr(first, "ipv4_mapped", None) or first
    second = getattr(second, "ipv4_mapped", None) or second
    return first == second


def _resolves_to(host: str, address: str) -> bool:
    """Whether ``host`` (a name or an IP) resolves to the peer's ``address``."""
    if _same_ip(host, address):
        return True
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return any(_same_ip(info[4][0], address) for info in infos)


def is_configured_node(calling_ae_title: str, address: str) -> bool:
    """Whether an enabled DIMSE node has this AE title and, if it names a host, this address."""
    close_old_connections()
    try:
        hosts = list(
            RemoteNode.objects.filter(
                protocol=RemoteNode.DIMSE, enabled=True, ae_title=calling_ae_title.strip()
            ).values_list("host", flat=True)
        )
    finally:
        close_old_connections()
    # Each host name is resolved once here; the answer holds for the whole association.
    return any(not host.strip() or _resolves_to(host.strip(), address) for host in set(hosts))


class Peers:
    """Whether each association's caller is a configured node, decided once per association."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._refused: weakref.WeakSet = weakref.WeakSet()

    def is_known(self, assoc) -> bool:
        """Whether ``assoc``'s calling AE title and address belong to a configured node."""
        with self._lock:
            known = self._known.get(assoc)
        if known is None:
            known = is_configured_node(assoc.requestor.ae_title, assoc.requestor.address)
            with self._lock:
                self._known[assoc] = known
        return known

    def first_refusal(self, assoc) -> bool:
        """True the first time this is asked for ``assoc``: audit a refused peer once, not
        once per instance it pushes."""
        with self._lock:
            first = assoc not in self._refused
            self._refused.add(assoc)
        return first


def associations_from(ae, address: str) -> int:
    """How many of ``ae``'s accepted connections (negotiated or not) come from ``address``."""
    return sum(
        1
        for assoc in ae.active_associations
        if assoc.is_acceptor and _same_ip(assoc.requestor.address, address)
    )


def negotiating_associations(ae) -> int:
    """How many of ``ae``'s accepted connections have sent their association request.

    The SCP-wide cap counts these only: a connection that is still silent holds no slot,
    so idle sockets from one address cannot lock everyone else out while they wait for
    the ACSE timeout (they are capped per address instead)."""
    return sum(
        1
        for assoc in ae.active_associations
        if assoc.is_acceptor and getattr(assoc, "pacsweb_asked", False)
    )


class ConnectionGate:
    """Whether to take up a new TCP connection at all (the server's ``verify_request``).

    Up to twice the per-address cap, a connection is kept until its request comes, to be
    answered "local limit exceeded" as a peer expects; beyond that it is closed before a
    thread is started for it, so one address cannot tie up threads by the thousand.
    Counted by open sockets: pynetdicom starts an association's thread later, in another
    thread, so its list of associations lags behind a burst of connections."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, list[socket.socket]] = {}

    def admit(self, request: socket.socket, client_address: tuple) -> bool:
        address = str(client_address[0])
        with self._lock:
            self._open = {
                peer: alive
                for peer, sockets in self._open.items()
                if (alive := [sock for sock in sockets if sock.fileno() != -1])
            }
            held = self._open.setdefault(address, [])
            if len(held) >= 2 * settings.PACSWEB_SCP_MAX_ASSOCIATIONS_PER_ADDRESS:
                logger.info("Connection from %s closed: too many at once", address)
                return False
            held.append(request)
            return True


class GuardedACSE(ACSE):
    """ACSE for an association we accept: the per-address cap and the Q/R allow-list."""

    def __init__(self, assoc, peers: Peers) -> None:
        super().__init__(assoc)
        self._peers = peers

    def _negotiate_as_acceptor(self) -> None:
        request = self.requestor.primitive
        address = self.requestor.address
        calling = str(request.calling_ae_title).strip()
        cap = settings.PACSWEB_SCP_MAX_ASSOCIATIONS_PER_ADDRESS
        self.assoc.pacsweb_asked = True
        over_address = associations_from(self.assoc.ae, address) > cap
        over_all = negotiating_associations(self.assoc.ae) > settings.PACSWEB_SCP_MAX_ASSOCIATIONS
        if over_address or over_all:
            if over_address:
                logger.info("Association from %s rejected: more than %d at once", address, cap)
            else:
                logger.info("Association rejected: the SCP is at its association limit")
            self.requestor.ae_title = request.calling_ae_title
            self.send_reject(*LOCAL_LIMIT_EXCEEDED)
            evt.trigger(self.assoc, evt.EVT_REJECTED, {})
            self.assoc.kill()
            return
        if settings.PACSWEB_SCP_QUERY_FROM != ANY:
            self._refuse_query_retrieve_unless_known(request, calling, address)
        super()._negotiate_as_acceptor()

    def _refuse_query_retrieve_unless_known(self, request, calling: str, address: str) -> None:
        """Leave the Q/R contexts out of what we support for a caller that is not a node."""
        asked = {str(cx.abstract_syntax) for cx in request.presentation_context_definition_list}
        asked_qr = asked & set(QUERY_RETRIEVE_SERVICES)
        if not asked_qr or self._known(calling, address):
            return
        self.acceptor.supported_contexts = [
            cx
            for cx in self.acceptor.supported_contexts
            if cx.abstract_syntax not in QUERY_RETRIEVE_SERVICES
        ]
        refused = {QUERY_RETRIEVE_SERVICES[uid] for uid in asked_qr}
        for service, event in sorted(refused):
            logger.info("%s refused: calling AE is not a configured node", service)
            _audit_refusal(event, calling, address, service)

    def _known(self, calling: str, address: str) -> bool:
        self.requestor.ae_title = calling
        return self._peers.is_known(self.assoc)


def _audit_refusal(event: str, calling: str, address: str, service: str) -> None:
    try:
        record(
            event,
            username=f"AE {calling}",
            ae_title=calling,
            outcome=AuditEvent.FAILURE,
            address=address,
            detail=f"{service} refused: calling AE {calling} at {address} is not a configured node",
        )
    except Exception:
        logger.exception("%s refusal could not be audited", service)
    finally:
        close_old_connections()
