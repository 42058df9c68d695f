"""In-process pynetdicom peers on free ports, stopped after each test."""

import socket
import threading
import time

import pytest
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from tests.base import (  # free_port: other tests take it from here
    free_port,
)
from viewer.nodes.models import RemoteNode
from viewer.nodes.scp import start_server


def handle_find_nothing(event):
    """A C-FIND handler with no matches."""
    return iter(())


def handle_move_known(event):
    """A C-MOVE handler that knows every destination and has nothing to send."""
    yield ("127.0.0.1", 11112)
    yield 0


def handle_move_unknown_destination(event):
    """A C-MOVE handler that knows no destination."""
    yield (None, None)


HANDLERS = [(evt.EVT_C_FIND, handle_find_nothing), (evt.EVT_C_MOVE, handle_move_known)]


@pytest.fixture
def remote_scp():
    """Start an SCP: ``remote_scp(contexts, handlers, ae_title=..., **ae_options)``."""
    servers = []

    def start(contexts=None, handlers=None, ae_title="REMOTE", **options):
        ae = AE(ae_title=ae_title)
        for name, value in options.items():
            setattr(ae, name, value)
        for context in contexts or [
            Verification,
            StudyRootQueryRetrieveInformationModelFind,
            StudyRootQueryRetrieveInformationModelMove,
        ]:
            ae.add_supported_context(context)
        port = free_port()
        server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers or [])
        servers.append(server)
        return port

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.fixture
def scp_port(settings):
    """Our SCP, in-process on a free port, as PACSWEB."""
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    port = free_port()
    server = start_server("127.0.0.1", port)
    yield port
    server.shutdown()


def wait_for(probe, seconds: float = 15.0):
    """Poll ``probe`` until it returns something truthy (or give its last answer)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = probe()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def make_node(port: int, **fields) -> RemoteNode:
    values = {
        "name": "remote",
        "ae_title": "REMOTE",
        "host": "127.0.0.1",
        "port": port,
        "retrieve_method": RemoteNode.C_MOVE,
        "connect_timeout": 2,
        "acse_timeout": 3,
        "dimse_timeout": 5,
        "network_timeout": 10,
        **fields,
    }
    return RemoteNode.objects.create(**values)


__all__ = [
    "HANDLERS",
    "CTImageStorage",
    "evt",
    "free_port",
    "handle_find_nothing",
    "handle_move_known",
    "handle_move_unknown_destination",
    "make_node",
]
