"""A shared listening socket: bound before anything starts, Nagle off on what it accepts."""

import asyncio
import socket

from viewer.shared_socket import bound_socket, listen


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
