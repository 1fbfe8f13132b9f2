"""A bare-bones WebSocket client over a plain socket, for what real clients won't do:
stop reading, send invalid UTF-8, vanish without a close frame."""

import base64
import json
import os
import socket
import struct


def masked_frame(payload: bytes, opcode: int = 0x1, *, rsv1: bool = False) -> bytes:
    """One final client frame (masked, as clients must) with this opcode; opcodes
    3-7 are reserved, and a server must fail the connection on them. RSV1 marks a
    compressed message (permessage-deflate)."""
    mask = os.urandom(4)
    header = bytes([0x80 | (0x40 if rsv1 else 0) | opcode])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    elif len(payload) < 65536:
        header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def handshake(
    sock: socket.socket,
    port: int,
    *,
    path: str,
    cookie: str,
    extensions: str | None = None,
) -> bytes:
    """Send a WebSocket handshake for `path` (offering `extensions`, a
    Sec-WebSocket-Extensions value) and return the server's answer head."""
    key = base64.b64encode(os.urandom(16)).decode()
    offer = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}"
        f"Origin: http://127.0.0.1:{port}\r\nCookie: sessionid={cookie}\r\n\r\n"
    )
    sock.sendall(request.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        byte = sock.recv(1)
        if not byte:
            break  # closed without a complete answer: the caller sees what came
        response += byte
    return response


def handshake_status(port: int, *, path: str, cookie: str = "") -> int:
    """The HTTP status a handshake on `path` gets (101 when accepted)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = handshake(sock, port, path=path, cookie=cookie)
    return int(head.split(b" ", 2)[1])


class RawSocket:
    def __init__(
        self,
        port: int,
        cookie: str,
        *,
        receive_buffer: int | None = None,
        extensions: str | None = None,
    ):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            # Set before connecting, so the kernel does not auto-tune it upwards.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        response = handshake(
            self.sock, port, path="/ws/chat/", cookie=cookie, extensions=extensions
        )
        assert response.startswith(b"HTTP/1.1 101"), response
        self.handshake_response = response.decode("latin-1")

    def send_text_bytes(self, payload: bytes, *, rsv1: bool = False) -> None:
        """A masked text frame with exactly these payload bytes (valid UTF-8 or not;
        with `rsv1`, compressed ones)."""
        self.sock.sendall(masked_frame(payload, rsv1=rsv1))

    def send_bytes_at_once(self, data: bytes) -> None:
        """Several frames in one TCP write (see `masked_frame`)."""
        self.sock.sendall(data)

    def send_json(self, frame: dict) -> None:
        self.send_text_bytes(json.dumps(frame).encode())

    def receive_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame from the server (unmasked)."""
        first, payload = self.receive_frame_with_flags()
        return first & 0x0F, payload

    def receive_frame_with_flags(self) -> tuple[int, bytes]:
        """(first byte: FIN, RSV1-3 and opcode; payload) of the next frame."""
        first, second = self._exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._exactly(8))
        return first, self._exactly(length)

    def receive_close_code(self) -> int:
        return self.receive_close()[0]

    def receive_close(self) -> tuple[int, str]:
        """The code and reason of the server's close frame, skipping other frames."""
        while True:
            opcode, payload = self.receive_frame()
            if opcode == 0x8:
                return struct.unpack("!H", payload[:2])[0], payload[2:].decode()

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("connection closed")
            data += chunk
        return data

    def abort(self) -> None:
        """Vanish: reset the TCP connection, no close frame."""
        self.sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        self.sock.close()
