"""The socket speaks its opener's language: `error` details follow the handshake's
language cookie or Accept-Language; codes, frame types and keys never change. And
room names and messages in any script go through unchanged.
"""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import translation

from chat import services
from chat.errors import NotMember
from chatsite.asgi import application
from tests.sockets import SITE_HEADERS, receive, send, session_cookie, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

ZH = "zh-Hans"
TOO_LONG = "长" * 4001
# Scripts, combining marks, emoji with skin tones and joiners, right-to-left text.
BODIES = [
    "你好，世界！这是一条中文消息。",
    "مرحبا بالعالم — رسالة عربية",
    "emoji 👋🏽 👨‍👩‍👧 🇨🇳 🎉",
    "Ελληνικά, русский, עברית, हिन्दी, 日本語, 한국어",
    "e\u0301 combining, and a\u200dzero-width joiner",
]


async def open_socket_in(
    user=None, *, accept_language: str | None = None, language_cookie: str | None = None
) -> WebsocketCommunicator:
    """Connect through the full stack with the language headers a browser sends."""
    cookies = {}
    if user is not None:
        cookies["sessionid"] = await session_cookie(user)
    if language_cookie is not None:
        cookies["django_language"] = language_cookie
    headers = [*SITE_HEADERS]
    if cookies:
        jar = "; ".join(f"{name}={value}" for name, value in cookies.items())
        headers.append((b"cookie", jar.encode()))
    if accept_language is not None:
        headers.append((b"accept-language", accept_language.encode()))
    socket = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await socket.connect()
    assert connected
    return socket


async def open_chat_in(user, **language) -> WebsocketCommunicator:
    socket = await open_socket_in(user, **language)
    assert (await receive(socket))["type"] == "hello"
    return socket


async def error_for(socket, frame: dict) -> dict:
    await send(socket, frame)
    answer = await receive(socket)
    assert answer["type"] == "error", answer
    return answer


async def details(socket) -> dict:
    """An error raised while parsing (on the event loop), one raised by a selector
    and one built by a service (both in database_sync_to_async's thread)."""
    bad = await error_for(socket, {"type": "subscribe", "room": ""})
    not_member = await error_for(socket, {"type": "subscribe", "room": "general"})
    await subscribe(socket, "hideout")
    too_long = await error_for(
        socket,
        {"type": "message.send", "room": "hideout", "body": TOO_LONG, "client_id": "1"},
    )
    return {
        answer["code"]: (answer["detail"], answer["ref"])
        for answer in (bad, not_member, too_long)
    }


async def test_database_sync_to_async_carries_the_active_language_into_its_thread():
    """What the consumer relies on: it activates the language once, on the loop."""

    async def in_a_task_of_its_own():  # as each consumer runs: no leak to the test
        translation.activate("zh-hans")
        detail = await database_sync_to_async(lambda: NotMember().detail)()
        language = await database_sync_to_async(translation.get_language)()
        return language, detail

    assert await asyncio.create_task(in_a_task_of_its_own()) == (
        "zh-hans",
        "你不是这个房间的成员；请先加入。",
    )
    assert translation.get_language() == "en"


async def test_a_chinese_socket_gets_chinese_error_details_and_english_codes(
    ana, carol, general, hideout
):
    # carol is in no room: make her a member of hideout, not of general.
    await database_sync_to_async(services.member_add)(
        room=hideout, actor=ana, user=carol
    )
    socket = await open_chat_in(carol, accept_language="zh-CN,zh;q=0.9,en;q=0.5")
    assert await details(socket) == {
        "bad_frame": ("'room' 必须是非空字符串。", "subscribe"),
        "not_member": ("你不是这个房间的成员；请先加入。", "subscribe"),
        "body_too_long": ("消息长度为 4001 个字符，上限为 4000 个字符。", "1"),
    }
    await socket.disconnect()


async def test_an_english_socket_gets_the_english_details(ana, carol, general, hideout):
    await database_sync_to_async(services.member_add)(
        room=hideout, actor=ana, user=carol
    )
    socket = await open_chat_in(carol, accept_language="en-GB,en;q=0.9")
    assert await details(socket) == {
        "bad_frame": ("'room' must be a non-empty string.", "subscribe"),
        "not_member": (
            "You are not a member of this room; join it first.",
            "subscribe",
        ),
        "body_too_long": (
            "The message is 4001 characters long; the limit is 4000.",
            "1",
        ),
    }
    await socket.disconnect()


async def test_a_public_room_refusal_in_chinese(carol, general):
    socket = await open_chat_in(carol, accept_language=ZH)
    await send(
        socket,
        {"type": "message.send", "room": "general", "body": "x", "client_id": "c"},
    )
    answer = await receive(socket)
    assert answer["code"] == "not_subscribed"
    assert answer["detail"] == "请先订阅 'general'。"
    await socket.disconnect()


async def test_the_switch_cookie_beats_accept_language(ana):
    chinese = await open_chat_in(ana, accept_language="en", language_cookie="zh-hans")
    english = await open_chat_in(ana, accept_language=ZH, language_cookie="en")
    assert (await error_for(chinese, {"type": "nope"}))["detail"] == (
        "未知的帧类型 'nope'。"
    )
    assert (await error_for(english, {"type": "nope"}))["detail"] == (
        "Unknown frame type 'nope'."
    )
    await chinese.disconnect()
    await english.disconnect()


async def test_sockets_in_different_languages_do_not_leak_into_each_other(ana, bob):
    """Both run on the same event loop and the same thread pool, interleaved."""
    chinese = await open_chat_in(ana, accept_language=ZH)
    english = await open_chat_in(bob)
    for _ in range(3):
        for socket in (chinese, english):
            await send(
                socket,
                {"type": "message.send", "room": "x", "body": "b", "client_id": "c"},
            )
        assert (await receive(chinese))["detail"] == "请先订阅 'x'。"
        assert (await receive(english))["detail"] == "Subscribe to 'x' first."
    # Nor into the test's own context (the consumer runs in a task of its own).
    assert translation.get_language() == "en"
    await chinese.disconnect()
    await english.disconnect()


async def test_refusal_at_connect_is_in_the_handshake_language():
    socket = await open_socket_in(None, accept_language=ZH)
    answer = await receive(socket)
    assert (answer["code"], answer["detail"]) == ("unauthenticated", "请先登录。")
    await socket.disconnect()


async def test_a_later_layer_event_keeps_the_socket_language(ana, make_user):
    """A deactivation reaches the socket long after connect, through the layer."""
    staff = await database_sync_to_async(make_user)("root", is_staff=True)
    socket = await open_chat_in(ana, accept_language=ZH)
    await database_sync_to_async(services.user_deactivate)(actor=staff, user=ana)
    answer = await receive(socket)
    assert (answer["code"], answer["detail"]) == (
        "account_disabled",
        "此账号已被停用。",
    )
    await socket.disconnect()


async def test_a_room_named_and_talked_in_any_script_round_trips(ana, bob):
    """Over the socket and REST, byte for byte, slug included."""
    room = await database_sync_to_async(services.room_create)(
        owner=ana, slug="中文-聊天", name="中文聊天室 💬 غرفة"
    )
    await database_sync_to_async(services.room_join)(user=bob, room=room)
    assert room.slug == "中文-聊天"
    ana_socket = await open_chat_in(ana, accept_language=ZH)
    bob_socket = await open_chat_in(bob)
    await subscribe(ana_socket, "中文-聊天")
    await subscribe(bob_socket, "中文-聊天")
    for index, body in enumerate(BODIES):
        await send(
            ana_socket,
            {
                "type": "message.send",
                "room": "中文-聊天",
                "body": body,
                "client_id": f"客户端-{index}",
            },
        )
    live = [(await receive(bob_socket))["message"] for _ in BODIES]
    assert [message["body"] for message in live] == BODIES
    assert {message["room"] for message in live} == {"中文-聊天"}
    assert [message["client_id"] for message in live] == [
        f"客户端-{index}" for index in range(len(BODIES))
    ]

    def rest_view():
        client = Client()
        client.force_login(bob)
        room_json = client.get("/api/v1/rooms/中文-聊天/").json()
        page = client.get("/api/v1/rooms/中文-聊天/messages/").json()
        return room_json, page

    room_json, page = await database_sync_to_async(rest_view)()
    assert room_json["name"] == "中文聊天室 💬 غرفة"
    assert list(reversed(page["results"])) == live
    await ana_socket.disconnect()
    await bob_socket.disconnect()
