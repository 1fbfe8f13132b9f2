"""Frame decoding, validation and encoding, without any I/O."""

from datetime import UTC, datetime

import pytest

from chat import protocol
from chat.errors import BadFrame, BadJson, UnknownType


def test_decode_refuses_nan_and_non_objects():
    with pytest.raises(BadJson):
        protocol.decode_frame('{"a": NaN}')
    with pytest.raises(BadFrame):
        protocol.decode_frame("[1]")


def test_parse_subscribe_with_and_without_since():
    assert protocol.parse_command(
        {"type": "subscribe", "room": "r"}
    ) == protocol.Subscribe("r", None)
    assert protocol.parse_command(
        {"type": "subscribe", "room": "r", "since": None}
    ) == protocol.Subscribe("r", None)
    assert protocol.parse_command(
        {"type": "subscribe", "room": "r", "since": 0}
    ) == protocol.Subscribe("r", 0)


def test_true_is_not_an_integer():
    with pytest.raises(BadFrame):
        protocol.parse_command({"type": "read", "room": "r", "last_id": True})


def test_unknown_type_names_the_type():
    with pytest.raises(UnknownType, match="dance"):
        protocol.parse_command({"type": "dance"})


@pytest.mark.parametrize(
    ("frame", "ref"),
    [
        ({"type": "message.send", "client_id": "c1"}, "c1"),
        ({"type": "message.send", "client_id": 5}, "message.send"),
        ({"type": 5}, None),
        ([], None),
        (None, None),
    ],
)
def test_error_ref_is_client_id_then_type_then_null(frame, ref):
    assert protocol.frame_ref(frame) == ref


def test_timestamps_are_utc_with_microseconds_and_z():
    moment = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
    assert protocol.timestamp(moment) == "2026-11-21T10:00:00.000000Z"
    assert protocol.timestamp(None) is None


def test_encode_keeps_non_ascii_text_readable():
    assert protocol.encode({"body": "你好 😀"}) == '{"body":"你好 😀"}'
