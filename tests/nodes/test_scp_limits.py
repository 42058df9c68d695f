"""Idle connections and busy addresses cannot lock everyone out of our SCP."""

import socket
import subprocess
import time

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from tests.base import require_peer
from viewer.nodes.scp import start_server

from .conftest import free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dcmtk]


@pytest.fixture
def start_scp(settings):
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    servers = []

    def start(**limits) -> int:
        for name, value in limits.items():
            setattr(settings, name, value)
        port = free_port()
        servers.append(start_server("127.0.0.1", port))
        return port

    yield start
    for server in servers:
        server.shutdown()


def idle_sockets(port: int, count: int, source: str = "127.0.0.1") -> list[socket.socket]:
    """``count`` connections from ``source`` that never send a PDU."""
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        sockets.append(sock)
    time.sleep(0.2)  # the server's threads take them up
    return sockets


def echoscu(port: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [require_peer("echoscu"), "-aec", "PACSWEB", "127.0.0.1", str(port)],
        capture_output=True,
        text=True,
    )


def echo_from(port: int, source: str):
    """A C-ECHO association from ``source``; returns the association after it ends."""
    ae = AE(ae_title="ECHO")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title="PACSWEB", bind_address=(source, 0))
    if assoc.is_established:
        assoc.send_c_echo()
        assoc.release()
    return assoc


def closed_by_peer(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True  # reset: closed just the same


def test_it_drops_connections_that_send_no_association_request(start_scp):
    port = start_scp(PACSWEB_SCP_ACSE_TIMEOUT=2)
    sockets = idle_sockets(port, 4)
    try:
        assert all(closed_by_peer(sock, 6) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def test_it_serves_callers_while_silent_connections_wait(start_scp):
    # Regression: silent connections counted against the SCP-wide limit, so a few idle
    # sockets locked every modality out until the ACSE timeout dropped them.
    port = start_scp(PACSWEB_SCP_MAX_ASSOCIATIONS=3)
    sockets = idle_sockets(port, 4)
    try:
        served = echoscu(port)
    finally:
        for sock in sockets:
            sock.close()
    assert served.returncode == 0, served.stderr


def test_it_rejects_callers_beyond_the_limit_of_negotiated_associations(start_scp):
    port = start_scp(PACSWEB_SCP_MAX_ASSOCIATIONS=2)
    ae = AE(ae_title="HOLDER")
    ae.add_requested_context(Verification)
    held = [ae.associate("127.0.0.1", port, ae_title="PACSWEB") for _ in range(2)]
    try:
        assert all(assoc.is_established for assoc in held)
        locked_out = echoscu(port)
    finally:
        for assoc in held:
            assoc.release()
    assert locked_out.returncode != 0
    assert "Local Limit Exceeded" in locked_out.stderr + locked_out.stdout
    assert echoscu(port).returncode == 0


def test_it_closes_connections_from_an_address_beyond_twice_its_cap(start_scp):
    # An ACSE timeout well beyond the checks' one second, so a loaded machine (a CI run
    # beside it once took the 4th waiting socket past a 2 s timeout) cannot blur the two.
    port = start_scp(PACSWEB_SCP_MAX_ASSOCIATIONS_PER_ADDRESS=2, PACSWEB_SCP_ACSE_TIMEOUT=4)
    try:
        sockets = idle_sockets(port, 7, source="127.0.0.2")
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 as a source address here")
    try:
        # Closed: answered at once; one second for the three together, not each.
        deadline = time.monotonic() + 1
        extra = [
            closed_by_peer(sock, max(deadline - time.monotonic(), 0.05)) for sock in sockets[4:]
        ]
        waiting = [closed_by_peer(sock, 0.2) for sock in sockets[:4]]  # before ACSE timeout
    finally:
        for sock in sockets:
            sock.close()
    # The first four wait for their request (to be answered politely); the extra ones are
    # closed before a thread is started for them.
    assert (waiting, extra) == ([False] * 4, [True] * 3)
    time.sleep(4.5)  # the four are dropped by the ACSE timeout: the address is served again
    assert echo_from(port, "127.0.0.2").is_released


def test_it_rejects_an_address_over_its_cap_and_serves_others(start_scp):
    port = start_scp(PACSWEB_SCP_MAX_ASSOCIATIONS_PER_ADDRESS=3)
    try:
        busy = idle_sockets(port, 3, source="127.0.0.2")
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 as a source address here")
    try:
        refused = echo_from(port, "127.0.0.2")
        served = echo_from(port, "127.0.0.1")
    finally:
        for sock in busy:
            sock.close()
    assert refused.is_rejected
    rejection = refused.acceptor.primitive
    assert (rejection.result, rejection.result_source, rejection.diagnostic) == (2, 3, 2)
    assert served.is_released


def test_it_serves_an_address_again_below_its_cap(start_scp):
    port = start_scp(PACSWEB_SCP_MAX_ASSOCIATIONS_PER_ADDRESS=3)
    try:
        busy = idle_sockets(port, 2, source="127.0.0.2")
    except OSError:
        pytest.skip("cannot bind 127.0.0.2 as a source address here")
    try:
        assoc = echo_from(port, "127.0.0.2")
    finally:
        for sock in busy:
            sock.close()
    assert assoc.is_released
