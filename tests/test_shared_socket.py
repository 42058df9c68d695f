"""A shared listening socket: bound before anything starts, Nagle off on what it accepts."""

import asyncio
import socket
import threading

import pytest

from viewer.shared_socket import ChildProcesses, bound_socket, listen


def test_connections_accepted_on_the_shared_socket_send_without_nagle():
    # asyncio sets TCP_NODELAY only on sockets that name IPPROTO_TCP; without it a small
    # response's body waited for the client's delayed ACK (one client: 56 frames/s).
    sock = bound_socket("127.0.0.1", 0)
    listen(sock)
    port = sock.getsockname()[1]

    async def accepted_nodelay() -> int:
        accepted = asyncio.get_running_loop().create_future()

        class Protocol(asyncio.Protocol):
            def connection_made(self, transport):
                raw = transport.get_extra_info("socket")
                accepted.set_result(raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await asyncio.get_running_loop().create_server(Protocol, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            nodelay = await asyncio.wait_for(accepted, 10)
            writer.close()
            return nodelay

    assert asyncio.run(accepted_nodelay()) != 0


def test_a_bound_socket_refuses_connections_until_it_listens():
    sock = bound_socket("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            refused = False
        except ConnectionRefusedError:
            refused = True
        assert refused
        listen(sock)
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        sock.close()


def test_children_that_fail_to_start_are_said_and_stopping_after_closes_nothing_twice():
    # "check" takes none of the children's options: it exits at once, saying nothing.
    sock = bound_socket("127.0.0.1", 0)
    children = ChildProcesses(sock, 2, ["check"])
    try:
        children.start()
        with pytest.raises(RuntimeError, match="2 of the processes did not start"):
            children.wait_ready(seconds=60)
        children.stop()  # the pipe was closed once, by wait_ready; no EBADF here
        assert all(process.returncode not in (None, 0) for process in children.processes)
    finally:
        sock.close()


def test_each_scp_process_takes_its_share_of_the_association_limit(settings):
    from viewer.nodes.scp import share_association_limit

    settings.PACSWEB_SCP_MAX_ASSOCIATIONS = 16
    share_association_limit(3)
    assert settings.PACSWEB_SCP_MAX_ASSOCIATIONS == 6
    settings.PACSWEB_SCP_MAX_ASSOCIATIONS = 1
    share_association_limit(4)
    assert settings.PACSWEB_SCP_MAX_ASSOCIATIONS == 1


def test_an_ipv6_socket_takes_ipv6_alone():
    try:
        sock = bound_socket("::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert sock.family == socket.AF_INET6
        assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
    finally:
        sock.close()


def test_no_children_start_no_pipe_and_no_watcher():
    # The embedded default runs one process: nothing to start or watch beside it.
    sock = bound_socket("127.0.0.1", 0)
    try:
        before = threading.active_count()
        children = ChildProcesses(sock, 0, ["web_process"])
        children.start()
        children.keep_running()
        assert children.processes == [] and children._ready is None
        assert threading.active_count() == before
        children.stop()
    finally:
        sock.close()
