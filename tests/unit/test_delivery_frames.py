"""The WebSocket frames the direct fan-out writes (RFC 6455 section 5.2), plain and
compressed (RFC 7692)."""

import json
import random
import string
import zlib

import pytest

from chat.delivery.frames import DEFLATE_MIN_BYTES, Wire, text_frame


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (0, b"\x81\x00"),
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e\x00\x7e"),
        (65535, b"\x81\x7e\xff\xff"),
        (65536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_text_frame_header_carries_the_payload_length(size, header):
    frame = text_frame("a" * size)
    assert frame[: len(header)] == header
    assert frame[len(header) :] == b"a" * size


def test_text_frame_payload_is_utf8():
    assert text_frame("é你") == b"\x81\x05" + "é你".encode()


# ---- permessage-deflate (RFC 7692) ---------------------------------------------------

MESSAGE = json.dumps(
    {
        "type": "message.new",
        "room": "general",
        "message": {
            "id": 48213,
            "room": "general",
            "author": {"id": 5, "username": "ana"},
            "body": "Sounds good, I'll push the fix after lunch and ping you.",
            "created_at": "2026-11-21T10:00:00.123456Z",
            "edited_at": None,
            "client_id": "c-7f3a91e2",
            "attachments": [],
            "reactions": [],
            "mentions": [],
        },
        "replay": False,
    },
    separators=(",", ":"),
)


def random_cjk(count: int, seed: int = 7) -> str:
    """Text that hardly compresses: random CJK characters, 3 bytes each."""
    generator = random.Random(seed)
    return "".join(chr(generator.randrange(0x4E00, 0x9FFF)) for _ in range(count))


def split_frame(frame: bytes) -> tuple[int, bytes]:
    """(first byte, payload) of an unmasked frame, checking its length field."""
    length = frame[1]
    header = 2
    if length == 126:
        length, header = int.from_bytes(frame[2:4], "big"), 4
    elif length == 127:
        length, header = int.from_bytes(frame[2:10], "big"), 10
    assert len(frame) == header + length
    return frame[0], frame[header:]


def inflate(data: bytes, window_bits: int = 15) -> bytes:
    """What a client does (RFC 7692 7.2.2): append the removed trailer, inflate.
    Output comes 256 bytes at a time, so that only the window is there to refer
    back to, as in a client that keeps no more (zlib refers back into the output
    of the same call, whatever its window)."""
    inflater = zlib.decompressobj(-window_bits)
    out = inflater.decompress(data + b"\x00\x00\xff\xff", 256)
    while inflater.unconsumed_tail:
        out += inflater.decompress(inflater.unconsumed_tail, 256)
    return out


def fresh_deflate(payload: bytes, window_bits: int = 15) -> bytes:
    compressor = zlib.compressobj(
        zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -window_bits
    )
    return (compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def test_a_deflated_frame_carries_rsv1_and_inflates_to_the_payload():
    first, data = split_frame(Wire(MESSAGE).deflated_frame(15))
    assert first == 0xC1  # FIN, RSV1, text
    assert inflate(data) == MESSAGE.encode()
    assert len(data) < len(MESSAGE.encode()) * 0.8


@pytest.mark.parametrize("size", [200, 70000])
def test_a_deflated_frame_header_carries_the_compressed_length(size):
    text = random_cjk(size // 3)
    first, data = split_frame(Wire(text).deflated_frame(15))
    assert first == 0xC1
    assert inflate(data) == text.encode()


def test_each_message_is_compressed_on_its_own():
    # The process's one compressor per window size gives, message after message,
    # exactly what a fresh compressor gives: no message refers to an earlier one.
    texts = [MESSAGE, MESSAGE, MESSAGE.replace("ana", "bob") * 3, MESSAGE]
    for text in texts:
        _, data = split_frame(Wire(text).deflated_frame(15))
        assert data == fresh_deflate(text.encode())


def test_a_smaller_server_window_is_kept():
    # Repeats 2,000 bytes apart: with a 15-bit window the compressor refers back
    # that far, which a client with a 1 KiB window cannot follow.
    text = random_cjk(700) * 2
    _, data = split_frame(Wire(text).deflated_frame(10))
    assert inflate(data, window_bits=10) == text.encode()
    with pytest.raises(zlib.error):
        inflate(fresh_deflate(text.encode(), 15), window_bits=10)


def test_small_payloads_go_out_plain_on_a_deflate_connection():
    text = '{"type":"typing","room":"general","user":{"id":5,"username":"ana"}}'
    assert len(text) < DEFLATE_MIN_BYTES
    assert Wire(text).deflated_frame(15) == text_frame(text)


def test_a_payload_that_does_not_shrink_goes_out_plain():
    generator = random.Random(3)
    text = "".join(generator.choice(string.printable[:94]) for _ in range(120))
    assert len(text.encode()) >= DEFLATE_MIN_BYTES
    assert Wire(text).deflated_frame(15) == text_frame(text)


def test_the_deflated_frame_is_built_once_per_window_size():
    wire = Wire(MESSAGE)
    assert wire.deflated_frame(15) is wire.deflated_frame(15)
    assert wire.deflated_frame(12) is wire.deflated_frame(12)
    assert inflate(split_frame(wire.deflated_frame(12))[1], 12) == MESSAGE.encode()
