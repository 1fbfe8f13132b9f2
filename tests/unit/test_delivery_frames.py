"""The WebSocket frame the direct fan-out writes (RFC 6455 section 5.2)."""

import pytest

from chat.delivery.frames import text_frame


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
