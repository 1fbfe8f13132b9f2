"""A lean WebSocket client for the load generator: one asyncio Protocol per socket.

The `websockets` library costs tens of microseconds per received frame (a task, a
queue, a decode); at tens of thousands of deliveries a second that alone would fill a
core and the load generator would measure itself. Here the handshake is written by
hand and frames are parsed in a loop straight out of the read buffer; a text frame
is handed over as bytes, with the time its chunk arrived. Only what a benchmark
client needs: no fragmented messages from the server (the servers under test send
each frame whole), pongs for pings, close replies, and on request (`deflate`) an
offer of permessage-deflate (RFC 7692): compressed frames are inflated before they
are handed over; what the client sends is never compressed (which is allowed).
"""

import asyncio
import base64
import os
import socket
import time
import zlib

OP_TEXT = 0x1
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
# Linux TCP states (include/net/tcp_states.h): after a reset, after the peer's FIN.
TCP_CLOSE = 7
TCP_CLOSE_WAIT = 8
RSV1 = 0x40  # a compressed message (permessage-deflate)
DEFLATE_TRAILER = b"\x00\x00\xff\xff"  # removed by the sender (RFC 7692 7.2.1)


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A final, masked client frame (RFC 6455 section 5.3)."""
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    mask = os.urandom(4)
    # XOR the payload with the repeated mask as one big integer: no Python loop.
    repeated = (mask * (size // 4 + 1))[:size]
    masked = int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")
    return header + mask + masked.to_bytes(size, "little")


class WebSocketClient(asyncio.Protocol):
    """One client socket. `on_text(client, payload, arrived_at)` sees every text
    frame; `on_close(client)` is called once when the connection ends."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        path: str,
        headers: dict,
        on_text,
        on_close=None,
        deflate: bool = False,
    ):
        if deflate:
            headers = {**headers, "Sec-WebSocket-Extensions": "permessage-deflate"}
        self.request = self._request(host, port, path, headers)
        self.on_text = on_text
        self.on_close = on_close
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.open = False
        self.closed = False
        self.close_code: int | None = None
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.user_data: dict = {}
        self.received_bytes = 0  # everything read from the socket, headers included
        # With permessage-deflate from a server that keeps its context between
        # messages, one inflater for the connection; None: a fresh one per message
        # (`server_no_context_takeover`: nothing held between messages).
        self.inflater = None

    @staticmethod
    def _request(host: str, port: int, path: str, headers: dict) -> bytes:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    # ---- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes):
        self.received_bytes += len(data)
        buffer = self.buffer
        buffer += data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[: buffer.find(b"\r\n")])
            if b" 101 " not in status:
                if not self.opened.done():
                    self.opened.set_exception(ConnectionError(status.decode()))
                self.transport.close()
                return
            head = bytes(buffer[:end]).lower()
            if b"permessage-deflate" in head and (
                b"server_no_context_takeover" not in head
            ):
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            del buffer[: end + 4]
            self.open = True
            if not self.opened.done():
                self.opened.set_result(None)
        arrived_at = time.time()
        position, size = 0, len(buffer)
        while size - position >= 2:
            first, length = buffer[position], buffer[position + 1] & 0x7F
            header = 2
            if length == 126:
                if size - position < 4:
                    break
                length = int.from_bytes(buffer[position + 2 : position + 4], "big")
                header = 4
            elif length == 127:
                if size - position < 10:
                    break
                length = int.from_bytes(buffer[position + 2 : position + 10], "big")
                header = 10
            end = position + header + length
            if end > size:
                break
            opcode = first & 0x0F
            payload = bytes(buffer[position + header : end])
            position = end
            if opcode == OP_TEXT:
                if first & RSV1:
                    inflater = self.inflater or zlib.decompressobj(-zlib.MAX_WBITS)
                    payload = inflater.decompress(payload + DEFLATE_TRAILER)
                self.on_text(self, payload, arrived_at)
            elif opcode == OP_PING:
                self.transport.write(client_frame(OP_PONG, payload))
            elif opcode == OP_CLOSE:
                self.close_code = (
                    int.from_bytes(payload[:2], "big") if payload else 1005
                )
                if not self.transport.is_closing():
                    self.transport.write(client_frame(OP_CLOSE, payload[:2]))
                    self.transport.close()
                break
        del buffer[:position]

    def connection_lost(self, exc):
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before opening"))
        if self.on_close is not None:
            self.on_close(self)

    # ---- sending ------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(OP_TEXT, text.encode()))

    def close(self, code: int = 1000) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(OP_CLOSE, code.to_bytes(2, "big")))

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (a lost network)."""
        if self.transport is not None:
            self.transport.abort()

    # ---- a client that stops reading -------------------------------------------------

    def pause_reading(self) -> None:
        """Stop reading the socket for good: the kernel's receive buffer fills, then
        the server's send buffer, and the server has to decide what to do about it."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def peer_gone(self) -> bool:
        """Whether the server ended the connection, seen without reading from the
        socket: the kernel's TCP state (Linux TCP_INFO, first byte) is CLOSE after a
        reset and CLOSE_WAIT after a FIN."""
        if self.closed or self.transport is None:
            return True
        sock = self.transport.get_extra_info("socket")
        try:
            state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
        except (AttributeError, OSError):
            return False
        return state in (TCP_CLOSE, TCP_CLOSE_WAIT)


async def connect(
    host: str,
    port: int,
    path: str,
    headers: dict,
    on_text,
    on_close=None,
    timeout: float = 30,
    deflate: bool = False,
) -> WebSocketClient:
    loop = asyncio.get_running_loop()
    _, client = await asyncio.wait_for(
        loop.create_connection(
            lambda: WebSocketClient(
                host=host,
                port=port,
                path=path,
                headers=headers,
                on_text=on_text,
                on_close=on_close,
                deflate=deflate,
            ),
            host,
            port,
        ),
        timeout,
    )
    await asyncio.wait_for(client.opened, timeout)
    return client
