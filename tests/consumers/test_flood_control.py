"""Flood control, socket and REST: send rates, typing, connections, deactivation."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat import protocol, services
from chat.models import Message
from tests.api.conftest import client_for
from tests.sockets import (
    frames_before_later_message,
    frames_until_pong,
    open_chat,
    open_socket,
    receive,
    send,
    subscribe,
)

pytestmark = pytest.mark.django_db(transaction=True)


def message(n: int) -> dict:
    return {
        "type": "message.send",
        "room": "general",
        "body": f"m{n}",
        "client_id": f"c{n}",
    }


async def test_sends_over_the_burst_are_rate_limited_and_not_stored(
    bob, general, settings
):
    settings.CHAT_SEND_BURST = "3/60"
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    for n in range(3):
        await send(socket, message(n))
        frame = await receive(socket)
        assert frame["type"] == "message.new", frame
    await send(socket, message(3))
    error = await receive(socket)
    assert (error["type"], error["code"], error["ref"]) == (
        "error",
        "rate_limited",
        "c3",
    )
    assert await database_sync_to_async(Message.objects.count)() == 3
    await socket.disconnect()


async def test_the_sustained_rate_applies_too(bob, general, settings):
    settings.CHAT_SEND_SUSTAINED = "2/3600"
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    for n in range(2):
        await send(socket, message(n))
        await receive(socket)
    await send(socket, message(2))
    assert (await receive(socket))["code"] == "rate_limited"
    await socket.disconnect()


async def test_socket_and_rest_share_the_users_budget(bob, general, settings):
    settings.CHAT_SEND_BURST = "2/60"
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    await send(socket, message(0))
    await receive(socket)
    await send(socket, message(1))
    await receive(socket)
    client = await database_sync_to_async(client_for)(bob, "token")
    post = database_sync_to_async(client.post)
    response = await post(
        "/api/v1/rooms/general/messages/",
        {"body": "x", "client_id": "r"},
        format="json",
    )
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1
    await socket.disconnect()


async def test_repeated_flooding_closes_with_4429(bob, general, settings):
    settings.CHAT_SEND_BURST = "1/60"
    settings.CHAT_FLOOD_MAX_ERRORS = 3
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    for n in range(5):
        await send(socket, message(n))
    codes = []
    while True:
        output = await socket.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            break
        frame = __import__("json").loads(output["text"])
        if frame["type"] == "error":
            codes.append(frame["code"])
    assert output["code"] == 4429
    assert codes == ["rate_limited"] * 4
    await socket.disconnect()


async def test_staff_are_not_rate_limited(make_user, general, settings):
    settings.CHAT_SEND_BURST = "1/60"
    staff = await database_sync_to_async(make_user)("boss", is_staff=True)
    await database_sync_to_async(services.room_join)(user=staff, room=general)
    socket = await open_chat(staff)
    await subscribe(socket, "general")
    for n in range(3):
        await send(socket, message(n))
        assert (await receive(socket))["type"] == "message.new"
    await socket.disconnect()


async def test_typing_is_relayed_at_most_once_per_interval(ana, bob, general, settings):
    settings.CHAT_TYPING_INTERVAL_SECONDS = 60
    ana_socket, bob_socket = await open_chat(ana), await open_chat(bob)
    await subscribe(ana_socket, "general")
    await subscribe(bob_socket, "general")
    for _ in range(5):
        await send(ana_socket, {"type": "typing", "room": "general"})
    assert await frames_until_pong(ana_socket) == []  # dropped silently, no errors
    assert (await receive(bob_socket))["type"] == "typing"
    # The other four were dropped: they would come before a later room event.
    assert await frames_before_later_message(general, ana, bob_socket) == [[]]
    await ana_socket.disconnect()
    await bob_socket.disconnect()


async def test_connections_per_user_are_limited(bob, settings):
    settings.CHAT_MAX_SOCKETS_PER_USER = 2
    first, second = await open_chat(bob), await open_chat(bob)
    third = await open_socket(bob)
    error = await receive(third)
    assert (error["type"], error["code"]) == ("error", "too_many_connections")
    assert (await third.receive_output(timeout=2))["code"] == 4429
    await third.disconnect()
    await first.disconnect()
    fourth = await open_socket(bob)
    assert (await receive(fourth))["type"] == "hello"
    await second.disconnect()
    await fourth.disconnect()


async def test_sockets_opened_at_once_are_admitted_up_to_the_limit(bob, settings):
    """Handshakes that arrive together are admitted together (with Redis, their
    admission scripts in one pipeline): each still counts the ones before it."""
    settings.CHAT_MAX_SOCKETS_PER_USER = 2
    sockets = await asyncio.gather(*(open_socket(bob) for _ in range(5)))
    first_frames = [await receive(socket) for socket in sockets]
    kinds = sorted(frame.get("code", frame["type"]) for frame in first_frames)
    assert kinds == ["hello"] * 2 + ["too_many_connections"] * 3
    for socket in sockets:
        await socket.disconnect()


async def test_deactivation_closes_the_users_sockets_with_4403(bob, make_user):
    staff = await database_sync_to_async(make_user)("boss", is_staff=True)
    sockets = [await open_chat(bob), await open_chat(bob)]
    await database_sync_to_async(services.user_deactivate)(actor=staff, user=bob)
    for socket in sockets:
        error = await receive(socket)
        assert (error["code"], error["ref"]) == ("account_disabled", None)
        assert (await socket.receive_output(timeout=2))["code"] == 4403
        await socket.disconnect()
    # And the session no longer opens a socket.
    again = await open_socket(bob)
    assert (await receive(again))["code"] == "unauthenticated"
    await again.receive_output(timeout=1)
    await again.disconnect()


async def test_muted_member_gets_muted_on_the_socket_until_unmuted(ana, bob, general):
    """The refusal says until when; the member's sockets hear of the mute and of its
    end as they happen (the page turns its composer off and on)."""
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    membership = await database_sync_to_async(services.member_mute)(
        room=general, actor=ana, user=bob, minutes=10, reason="cool down"
    )
    until = protocol.timestamp(membership.muted_until)
    assert await receive(socket) == {
        "type": "member.muted",
        "room": "general",
        "muted_until": until,
        "reason": "cool down",
    }
    await send(socket, message(0))
    error = await receive(socket)
    assert (error["code"], error["ref"], error["muted_until"]) == ("muted", "c0", until)
    await database_sync_to_async(services.member_unmute)(
        room=general, actor=ana, user=bob
    )
    assert await receive(socket) == {
        "type": "member.muted",
        "room": "general",
        "muted_until": None,
        "reason": "",
    }
    await send(socket, message(1))
    assert (await receive(socket))["type"] == "message.new"
    await socket.disconnect()
