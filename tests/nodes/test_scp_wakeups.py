"""Our SCP's associations wake on their socket, on a PDU to send and on a whole DIMSE
message, instead of napping between passes; nothing else of the association changes."""

import gc
import os
import queue
import socket
import subprocess
import threading
import time
import tracemalloc
from types import SimpleNamespace

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, Verification
from pynetdicom.transport import AssociationSocket

from viewer.archive.models import Instance
from viewer.nodes import dimse, wakeups
from viewer.nodes.dimse import ScpDIMSEProvider
from viewer.nodes.wakeups import Bell, RingingQueue, WakingSocket

from .conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# Long enough that a wait that ends before it was woken, not timed out.
NEVER = 60.0


def waking_socket(monkeypatch):
    """A WakingSocket over one end of a socket pair; returns it and the peer's end."""
    monkeypatch.setattr(wakeups, "IDLE_WAIT_SECONDS", NEVER)
    ours, peer = socket.socketpair()
    events = queue.Queue()
    transport = AssociationSocket(
        SimpleNamespace(dul=SimpleNamespace(event_queue=events)), client_socket=ours
    )
    transport.__class__ = WakingSocket
    transport.bell = Bell()
    return transport, peer


def answer_in_thread(ask) -> dict:
    """Run ``ask`` in a thread; its answer lands in the returned dict's 'answer'."""
    got: dict = {}
    thread = threading.Thread(target=lambda: got.setdefault("answer", ask()), daemon=True)
    thread.start()
    got["thread"] = thread
    return got


@pytest.mark.parametrize("bell_closed", [False, True], ids=["open", "closed-bell"])
def test_a_waiting_dul_wakes_when_the_peer_sends(monkeypatch, bell_closed):
    # A closed bell: the association ended while the DUL thread still has passes to run.
    transport, peer = waking_socket(monkeypatch)
    if bell_closed:
        transport.bell.close()
    waiting = answer_in_thread(lambda: transport.ready)
    peer.send(b"\x01")
    waiting["thread"].join(10)
    assert waiting.get("answer") is True
    transport.close()
    peer.close()


def test_a_waiting_dul_wakes_when_the_association_queues_a_pdu(monkeypatch):
    transport, peer = waking_socket(monkeypatch)
    to_send = RingingQueue(transport.bell)
    waiting = answer_in_thread(lambda: transport.ready)
    to_send.put("a PDU")
    waiting["thread"].join(10)
    # Woken with nothing to read: the DUL's next pass sends the PDU.
    assert waiting.get("answer") is False
    assert to_send.get_nowait() == "a PDU"
    transport.close()
    peer.close()


def test_a_burst_of_pdus_rings_once_and_an_empty_queue_rings_again():
    # The DUL thread sends everything queued before it waits again: one ring a burst.
    bell = Bell()
    to_send = RingingQueue(bell)
    for pdu in ("response 1", "response 2", "response 3"):
        to_send.put(pdu)
    assert bell.receiver.recv(16) == b"\0"
    while not to_send.empty():
        to_send.get_nowait()
    to_send.put("final response")
    assert bell.receiver.recv(16) == b"\0"
    bell.close()


def test_closing_the_socket_closes_its_bell(monkeypatch):
    transport, peer = waking_socket(monkeypatch)
    bell = transport.bell
    transport.close()
    assert bell.receiver.fileno() == -1
    assert transport.ready is False  # closed: not ready, and no error
    peer.close()


def provider_with_queue() -> ScpDIMSEProvider:
    """Our DIMSE provider with only its message queue (no association)."""
    provider = ScpDIMSEProvider.__new__(ScpDIMSEProvider)
    provider.msg_queue = queue.Queue()
    return provider


def test_a_whole_message_wakes_the_association_waiting_for_it(monkeypatch):
    monkeypatch.setattr(dimse, "MESSAGE_WAIT_SECONDS", NEVER)
    provider = provider_with_queue()
    waiting = answer_in_thread(lambda: provider.get_msg(block=False))
    provider.msg_queue.put((1, "C-STORE-RQ"))
    waiting["thread"].join(10)
    assert waiting.get("answer") == (1, "C-STORE-RQ")


def test_with_nothing_to_serve_the_association_gets_nothing(monkeypatch):
    monkeypatch.setattr(dimse, "MESSAGE_WAIT_SECONDS", 0.001)
    provider = provider_with_queue()
    assert provider.get_msg(block=False) == (None, None)


def our_sockets() -> list[WakingSocket]:
    """Our SCP's association sockets still alive in this process."""
    return [o for o in gc.get_objects() if type(o) is WakingSocket]


def peer_of(transport: WakingSocket):
    try:
        return transport.socket.getpeername()
    except OSError:  # closed meanwhile
        return None


def closed(transport: WakingSocket) -> bool:
    """Whether an ended association's connection and bell are both closed."""
    connection = transport.socket
    return (
        connection is None or connection.fileno() == -1
    ) and transport.bell.receiver.fileno() == -1


def test_the_scp_binds_waking_sockets_and_closes_them(scp_port):
    """Each association our SCP accepts waits on its socket, and its DUL no longer naps;
    when it ends, its socket and bell are closed."""
    ae = AE(ae_title="WAKEUP")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", scp_port, ae_title="PACSWEB")
    assert assoc.is_established
    # Ours: the open one whose peer is this association's end.
    here = assoc.dul.socket.socket.getsockname()
    ours = wait_for(
        lambda: [o for o in our_sockets() if o.socket is not None and peer_of(o) == here]
    )
    assert ours, "our side's socket waits on its data"
    dul = ours[0].assoc.dul
    assert dul._run_loop_delay == 0 and isinstance(dul.to_provider_queue, RingingQueue)
    assert assoc.send_c_echo().Status == 0x0000
    assoc.release()
    assert wait_for(lambda: closed(ours[0]))
    # Ended: pynetdicom's wait for the DUL thread's end naps again instead of spinning.
    assert dul._run_loop_delay == wakeups.PYNETDICOM_NAP_SECONDS


def test_dcmtk_peers_echo_store_and_abort_over_waking_associations(
    scp_port, tmp_path, archive_root
):
    """echoscu, storescu of a file and a broken data set, and an aborted association:
    each is answered, the file is stored, and none of their sockets stays open."""
    # Held, so none of them is collected and its id taken by one of this test's.
    earlier = our_sockets()
    before = {id(o) for o in earlier}
    echo = subprocess.run(
        ["echoscu", "-aec", "PACSWEB", "127.0.0.1", str(scp_port)],
        capture_output=True,
        timeout=60,
    )
    assert echo.returncode == 0, echo.stderr
    path = get_testdata_file("CT_small.dcm")
    store = subprocess.run(
        ["storescu", "-aec", "PACSWEB", "127.0.0.1", str(scp_port), path],
        capture_output=True,
        timeout=60,
    )
    assert store.returncode == 0, store.stderr
    assert Instance.objects.filter(sop_instance_uid=dcmread(path).SOPInstanceUID).exists()

    ae = AE(ae_title="WAKEUP")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", scp_port, ae_title="PACSWEB")
    broken = Dataset()
    broken.SOPClassUID, broken.SOPInstanceUID = CTImageStorage, "1.2.3.4"
    broken.file_meta = FileMetaDataset()
    broken.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    assert assoc.send_c_store(broken).Status != 0x0000  # refused with a reason, no hang
    assoc.abort()
    assert wait_for(lambda: all(closed(o) for o in our_sockets() if id(o) not in before))


def switch_intervals(monkeypatch, current: float) -> list[float]:
    """The process's switch interval, starting at ``current``; returns each one set."""
    intervals = [current]
    monkeypatch.setattr(wakeups.sys, "getswitchinterval", lambda: intervals[-1])
    monkeypatch.setattr(wakeups.sys, "setswitchinterval", intervals.append)
    return intervals


def test_a_c_find_shortens_the_switch_interval_while_it_answers(monkeypatch):
    # Python's 5 ms let the thread building a C-FIND's responses keep the interpreter
    # while the DUL thread, woken to send the first, waited (first response ~20 ms).
    intervals = switch_intervals(monkeypatch, 0.005)
    hand_over = wakeups.PromptHandOver()
    with hand_over.answering():
        assert intervals[-1] == wakeups.SWITCH_INTERVAL_SECONDS <= 0.0005
    assert intervals == [0.005, wakeups.SWITCH_INTERVAL_SECONDS, 0.005]


def test_the_interval_comes_back_only_when_the_last_of_several_queries_ends(monkeypatch):
    intervals = switch_intervals(monkeypatch, 0.005)
    hand_over = wakeups.PromptHandOver()
    first, second = hand_over.answering(), hand_over.answering()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert intervals[-1] == wakeups.SWITCH_INTERVAL_SECONDS
    second.__exit__(None, None, None)
    assert intervals[-1] == 0.005


def test_a_shorter_switch_interval_is_left_as_it_is(monkeypatch):
    intervals = switch_intervals(monkeypatch, 0.0001)
    with wakeups.PromptHandOver().answering():
        pass
    assert intervals == [0.0001]


def test_our_scp_answers_a_c_find_with_the_short_interval_and_then_restores_it(monkeypatch):
    from viewer.nodes import handlers

    seen = []
    monkeypatch.setattr(
        handlers,
        "responses",
        lambda identifier: iter(seen.append(wakeups.sys.getswitchinterval()) or []),
    )
    intervals = switch_intervals(monkeypatch, 0.005)
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    event = SimpleNamespace(identifier=identifier, is_cancelled=False, assoc=None)
    list(handlers.handle_find(event))
    assert seen == [wakeups.SWITCH_INTERVAL_SECONDS]
    assert intervals[-1] == 0.005


class CountingSocket:
    """A socket whose reads are counted."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.reads = sock, 0

    def recv(self, nbytes: int) -> bytes:
        self.reads += 1
        return self.sock.recv(nbytes)


def test_it_reads_a_whole_pdu_in_far_fewer_reads_than_4_kb_each(monkeypatch):
    transport, peer = waking_socket(monkeypatch)
    counting = CountingSocket(transport.socket)
    transport.socket = counting
    payload = os.urandom(300_000)

    def send_in_two() -> None:
        peer.sendall(payload[:200_000])
        time.sleep(0.05)
        peer.sendall(payload[200_000:])

    sender = threading.Thread(target=send_in_two, daemon=True)
    sender.start()
    assert transport.recv(len(payload)) == payload
    sender.join(10)
    assert counting.reads < len(payload) // 4096  # pynetdicom's own: 74 reads


def test_it_hands_back_what_came_when_the_peer_closes_mid_pdu(monkeypatch):
    transport, peer = waking_socket(monkeypatch)
    peer.sendall(b"part of a PDU")
    peer.close()
    received = transport.recv(100)
    assert received == bytearray(b"part of a PDU")
    assert isinstance(received, bytearray)


def test_a_pdu_that_claims_4_gb_costs_only_what_comes(monkeypatch):
    # The length is the peer's word: a buffer made for it up front took 4 GB for six
    # bytes sent, before any association or AE title check.
    transport, peer = waking_socket(monkeypatch)
    peer.sendall(b"x" * 1000)
    peer.close()
    tracemalloc.start()
    try:
        received = transport.recv(0xFFFFFFFF)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == bytearray(b"x" * 1000)
    assert peak < 4 * wakeups.READ_BYTES
