"""A bare-bones WebSocket client over a plain socket, for what real clients won't do:
stop reading, send invalid UTF-8, vanish without a close frame."""

import base64
import json
import os
import socket
import struct


def masked_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One final client frame (masked, as clients must) with this opcode; opcodes
    3-7 are reserved, and a server must fail the connection on them."""
    mask = os.urandom(4)
    header = bytes([0x80 | opcode])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    elif len(payload) < 65536:
        header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def handshake(sock: socket.socket, port: int, *, path: str, cookie: str) -> bytes:
    """Send a WebSocket handshake for `path` and return the server's answer head."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
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
    def __init__(self, port: int, cookie: str, *, receive_buffer: int | None = None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            # Set before connecting, so the kernel does not auto-tune it upwards.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        response = handshake(self.sock, port, path="/ws/chat/", cookie=cookie)
        assert response.startswith(b"HTTP/1.1 101"), response

    def send_text_bytes(self, payload: bytes) -> None:
        """A masked text frame with exactly these payload bytes (valid UTF-8 or not)."""
        self.sock.sendall(masked_frame(payload))

    def send_bytes_at_once(self, data: bytes) -> None:
        """Several frames in one TCP write (see `masked_frame`)."""
        self.sock.sendall(data)

    def send_json(self, frame: dict) -> None:
        self.send_text_bytes(json.dumps(frame).encode())

    def receive_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame from the server (unmasked)."""
        first, second = self._exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._exactly(8))
        return first & 0x0F, self._exactly(length)

    def receive_close_code(self) -> int:
        while True:
            opcode, payload = self.receive_frame()
            if opcode == 0x8:
                return struct.unpack("!H", payload[:2])[0]

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
