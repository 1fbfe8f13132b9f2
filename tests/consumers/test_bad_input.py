"""Bad frames get the contract's `error` answer and the socket stays open; limits close.

Each case sends one bad frame and expects one error frame with the given code and
ref, then proves the socket still works with a ping.
"""

import json

import pytest
from channels.db import database_sync_to_async

from chat import services
from tests.sockets import frames_until_pong, open_chat, receive, send, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

LONG = "x" * 4001

# (what is sent as a text frame, expected code, expected ref)
BAD_FRAMES = [
    ("not json", "bad_json", None),
    ("{", "bad_json", None),
    ('{"type": "ping", "x": NaN}', "bad_json", None),
    ('{"type": "ping", "x": Infinity}', "bad_json", None),
    ("[" * 5000 + "]" * 5000, "bad_json", None),
    # As deep as a frame within the 64 KiB limit can nest (a deeper one is larger).
    ("[" * 32768 + "]" * 32768, "bad_json", None),
    ('{"type": "subscribe", "room": "\\ud800"}', "bad_json", None),
    ("[]", "bad_frame", None),
    ('"ping"', "bad_frame", None),
    ("42", "bad_frame", None),
    ("null", "bad_frame", None),
    ("{}", "bad_frame", None),
    ('{"type": 7}', "bad_frame", None),
    ('{"type": null}', "bad_frame", None),
    ('{"type": "dance"}', "unknown_type", "dance"),
    ('{"type": "hello"}', "unknown_type", "hello"),
    ('{"type": "subscribe"}', "bad_frame", "subscribe"),
    ('{"type": "subscribe", "room": 5}', "bad_frame", "subscribe"),
    ('{"type": "subscribe", "room": ""}', "bad_frame", "subscribe"),
    ('{"type": "subscribe", "room": "general", "since": -1}', "bad_frame", "subscribe"),
    (
        '{"type": "subscribe", "room": "general", "since": "5"}',
        "bad_frame",
        "subscribe",
    ),
    (
        '{"type": "subscribe", "room": "general", "since": true}',
        "bad_frame",
        "subscribe",
    ),
    (
        '{"type": "subscribe", "room": "general", "since": 1.5}',
        "bad_frame",
        "subscribe",
    ),
    (
        '{"type": "subscribe", "room": "general", "since": 1' + "0" * 40 + "}",
        "bad_frame",
        "subscribe",
    ),
    ('{"type": "subscribe", "room": "nowhere"}', "room_not_found", "subscribe"),
    ('{"type": "subscribe", "room": "hideout"}', "room_not_found", "subscribe"),
    ('{"type": "subscribe", "room": "lobby"}', "not_member", "subscribe"),
    ('{"type": "unsubscribe", "room": "general"}', "not_subscribed", "unsubscribe"),
    ('{"type": "typing", "room": "general"}', "not_subscribed", "typing"),
    ('{"type": "read", "room": "general", "last_id": 1}', "not_subscribed", "read"),
    ('{"type": "read", "room": "general", "last_id": false}', "bad_frame", "read"),
    ('{"type": "read", "room": "general"}', "bad_frame", "read"),
    (
        '{"type": "message.send", "room": "general", "body": "hi", "client_id": "c"}',
        "not_subscribed",
        "c",
    ),
    (
        '{"type": "message.send", "room": "general", "body": "hi"}',
        "bad_frame",
        "message.send",
    ),
    (
        '{"type": "message.send", "room": "general", "body": "hi", "client_id": ""}',
        "bad_frame",
        "",
    ),
    (
        '{"type": "message.send", "room": "general", "body": "hi", "client_id": "'
        + "k" * 65
        + '"}',
        "bad_frame",
        "k" * 65,
    ),
    (
        '{"type": "message.send", "room": "general", "body": 5, "client_id": "c"}',
        "bad_frame",
        "c",
    ),
    (
        '{"type": "message.send", "room": "general", "body": "hi", "client_id": 9}',
        "bad_frame",
        "message.send",
    ),
    # No stored name holds NUL (PostgreSQL cannot): a name with one is malformed, not
    # a lookup that fails on the database as a `server_error`.
    ('{"type": "subscribe", "room": "gen\\u0000eral"}', "bad_frame", "subscribe"),
    ('{"type": "subscribe", "room": "\\u0000"}', "bad_frame", "subscribe"),
    ('{"type": "unsubscribe", "room": "general\\u0000"}', "bad_frame", "unsubscribe"),
    ('{"type": "typing", "room": "general\\u0000"}', "bad_frame", "typing"),
    ('{"type": "read", "room": "\\u0000", "last_id": 1}', "bad_frame", "read"),
    (
        '{"type": "message.send", "room": "g\\u0000", "body": "", "client_id": "c"}',
        "bad_frame",
        "c",
    ),
    (
        '{"type": "message.send", "room": "g", "body": "", "client_id": "c\\u0000"}',
        "bad_frame",
        "c\x00",
    ),
    ('{"type": "direct.open", "username": "ana\\u0000"}', "bad_frame", "direct.open"),
]


@pytest.fixture
def rooms(ana, bob, general, hideout):
    services.room_create(owner=ana, slug="lobby", name="Lobby")


@pytest.mark.parametrize(("text", "code", "ref"), BAD_FRAMES)
async def test_bad_frame_gets_error_and_socket_stays_open(rooms, bob, text, code, ref):
    socket = await open_chat(bob)
    await socket.send_to(text_data=text)
    error = await receive(socket)
    assert error["type"] == "error"
    assert error["code"] == code
    assert error["ref"] == ref
    assert isinstance(error["detail"], str) and error["detail"]
    assert await frames_until_pong(socket) == []
    await socket.disconnect()


async def test_binary_frame_is_bad_frame(bob):
    socket = await open_chat(bob)
    await socket.send_to(bytes_data=b"\x00\x01")
    error = await receive(socket)
    assert (error["code"], error["ref"]) == ("bad_frame", None)
    assert await frames_until_pong(socket) == []
    await socket.disconnect()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", "body_empty"),
        ("  \n\t ", "body_empty"),
        ("\x00\x07", "body_empty"),
        (LONG, "body_too_long"),
    ],
)
async def test_body_rules_are_enforced_and_nothing_is_stored(rooms, bob, body, code):
    from chat.models import Message

    socket = await open_chat(bob)
    await subscribe(socket, "general")
    await send(
        socket,
        {"type": "message.send", "room": "general", "body": body, "client_id": "b"},
    )
    error = await receive(socket)
    assert (error["code"], error["ref"]) == (code, "b")
    assert await database_sync_to_async(Message.objects.count)() == 0
    await socket.disconnect()


async def test_body_of_exactly_4000_code_points_after_trimming_is_accepted(rooms, bob):
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    body = "  " + "é" * 3999 + "😀" + "  "
    await send(
        socket,
        {"type": "message.send", "room": "general", "body": body, "client_id": "m"},
    )
    frame = await receive(socket)
    assert frame["type"] == "message.new"
    assert frame["message"]["body"] == body.strip()
    await socket.disconnect()


async def test_control_characters_are_stripped_from_bodies(rooms, bob):
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    body = "a\x1b[31mb\x00c\r\nd\te\x7f"
    await send(
        socket,
        {"type": "message.send", "room": "general", "body": body, "client_id": "m"},
    )
    frame = await receive(socket)
    assert frame["message"]["body"] == "a[31mbc\nd\te"
    await socket.disconnect()


async def test_frame_over_64_kib_closes_with_1009(bob):
    socket = await open_chat(bob)
    await socket.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * 65536}))
    assert await socket.receive_output(timeout=2) == {
        "type": "websocket.close",
        "code": 1009,
    }
    await socket.disconnect()  # the server's close, answered: the consumer ends


async def test_frame_of_64_kib_is_still_answered(bob):
    socket = await open_chat(bob)
    text = json.dumps({"type": "ping", "pad": ""})
    text = text.replace('""', '"' + "x" * (65536 - len(text)) + '"')
    assert len(text.encode()) == 65536
    await socket.send_to(text_data=text)
    assert await receive(socket) == {"type": "pong"}
    await socket.disconnect()


async def test_more_than_the_flood_limit_of_errors_closes_with_4429(bob, settings):
    settings.CHAT_FLOOD_MAX_ERRORS = 5
    socket = await open_chat(bob)
    for _ in range(5):
        await socket.send_to(text_data="junk")
        assert (await receive(socket))["code"] == "bad_json"
    await socket.send_to(text_data="junk")
    assert (await receive(socket))["code"] == "bad_json"
    assert await socket.receive_output(timeout=2) == {
        "type": "websocket.close",
        "code": 4429,
    }
    await socket.disconnect()


async def test_frames_naming_nul_count_towards_the_flood_limit(rooms, bob, settings):
    settings.CHAT_FLOOD_MAX_ERRORS = 5
    socket = await open_chat(bob)
    for _ in range(6):
        await send(socket, {"type": "subscribe", "room": "general\x00"})
        assert (await receive(socket))["code"] == "bad_frame"
    assert await socket.receive_output(timeout=2) == {
        "type": "websocket.close",
        "code": 4429,
    }
    await socket.disconnect()


async def test_silent_client_is_closed_with_4408_after_three_heartbeats(bob, settings):
    settings.CHAT_HEARTBEAT_SECONDS = 0.1
    socket = await open_chat(bob)
    # Event-driven: the close itself is what we wait for (three heartbeats = 0.3 s).
    assert await socket.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": 4408,
    }
    await socket.disconnect()


async def test_a_frame_resets_the_silence_clock(bob, settings):
    settings.CHAT_HEARTBEAT_SECONDS = 0.2
    socket = await open_chat(bob)
    for _ in range(5):  # 5 pings ~0.15 s apart span well over three heartbeats
        assert await socket.receive_nothing(timeout=0.15)
        await send(socket, {"type": "ping"})
        assert await receive(socket) == {"type": "pong"}
    await socket.disconnect()
