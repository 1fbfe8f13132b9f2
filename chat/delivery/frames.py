"""The WebSocket text frame of an event, built once per process (RFC 6455 5.2)."""


def text_frame(text: str) -> bytes:
    """An unmasked, final WebSocket text frame (server to client)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65536:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


class Wire:
    """An event's text and, on first need, its frame: encoded once for every local
    socket that takes it (most events never need the bytes when no socket writes
    directly, e.g. under the test communicator)."""

    __slots__ = ("text", "_frame")

    def __init__(self, text: str):
        self.text = text
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.text)
        return self._frame
