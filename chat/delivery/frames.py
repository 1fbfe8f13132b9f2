"""The WebSocket text frame of an event, built once per process (RFC 6455 5.2), plain
or compressed with permessage-deflate (RFC 7692) for the connections that
negotiated it. Which connections did is the server adapter's to say."""

import threading
import zlib

FIN_TEXT = 0x81
FIN_RSV1_TEXT = 0xC1  # RSV1: "this message is compressed" (RFC 7692 6)
# A payload shorter than this goes out plain even on a deflate connection (RSV1
# clear is legal for any message). Measured with bench/compression.py: deflate
# makes a pong 2 bytes longer and saves 5 bytes on `hello` (70) and 9 on `typing`
# (73), for a compression of about 10 us that such frames, mostly answers to one
# socket, would pay per socket. Every message.new is well above it: 281 bytes
# with a body of "ok!", and compressed by a third.
DEFLATE_MIN_BYTES = 100
# The trailer of every Z_SYNC_FLUSH / Z_FULL_FLUSH, which RFC 7692 7.2.1 removes.
EMPTY_STORED_BLOCK = b"\x00\x00\xff\xff"


def frame_header(first_byte: int, size: int) -> bytes:
    """An unmasked frame's header (server to client)."""
    if size < 126:
        return bytes((first_byte, size))
    if size < 65536:
        return bytes((first_byte, 126)) + size.to_bytes(2, "big")
    return bytes((first_byte, 127)) + size.to_bytes(8, "big")


def text_frame(text: str) -> bytes:
    """An unmasked, final WebSocket text frame (server to client)."""
    payload = text.encode()
    return frame_header(FIN_TEXT, len(payload)) + payload


class _Compressors(threading.local):
    """One raw-deflate compressor per window size, per thread (the event loop's)."""

    def __init__(self):
        self.by_window_bits: dict = {}  # window bits -> zlib compressor


_compressors = _Compressors()


def deflate_message(payload: bytes, window_bits: int) -> bytes:
    """The permessage-deflate data of one message, compressed on its own (no
    reference to any earlier message: what `server_no_context_takeover` promises,
    so the same bytes serve every connection with this window size).

    Z_FULL_FLUSH ends the message and resets the compressor's history: the output is
    byte for byte what a fresh compressor with Z_SYNC_FLUSH gives (tested), without
    allocating and clearing its ~260 KB of state for every message, which costs
    several times the compression of a chat frame (bench/compression.py)."""
    compressor = _compressors.by_window_bits.get(window_bits)
    if compressor is None:
        compressor = _compressors.by_window_bits[window_bits] = zlib.compressobj(
            zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -window_bits
        )
    data = compressor.compress(payload) + compressor.flush(zlib.Z_FULL_FLUSH)
    return data[: -len(EMPTY_STORED_BLOCK)]


def deflated_text_frame(text: str, window_bits: int) -> bytes | None:
    """A final text frame with RSV1 set and the compressed payload; None when
    compression would not make the frame smaller (plain is sent instead)."""
    payload = text.encode()
    if len(payload) < DEFLATE_MIN_BYTES:
        return None
    data = deflate_message(payload, window_bits)
    if len(data) >= len(payload):
        return None
    return frame_header(FIN_RSV1_TEXT, len(data)) + data


class Wire:
    """An event's text and, on first need, its frames: encoded (and compressed, per
    window size) once for every local socket that takes it. Most events never need
    the bytes when no socket writes directly, e.g. under the test communicator."""

    __slots__ = ("text", "_frame", "_deflated")

    def __init__(self, text: str):
        self.text = text
        self._frame: bytes | None = None
        # By window bits: the compressed frame, or the plain one where compression
        # does not pay.
        self._deflated: dict[int, bytes] | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.text)
        return self._frame

    def deflated_frame(self, window_bits: int) -> bytes:
        """The frame for a connection that negotiated permessage-deflate with this
        server window size (9-15): compressed, or plain where that does not pay."""
        deflated = self._deflated
        if deflated is None:
            deflated = self._deflated = {}
        frame = deflated.get(window_bits)
        if frame is None:
            frame = deflated_text_frame(self.text, window_bits) or self.frame
            deflated[window_bits] = frame
        return frame
