"""Moderation reaches a user's sockets on every server process within a second."""

import asyncio
import time

import pytest
import websockets
from channels.db import database_sync_to_async

from chat import services
from tests.layer import group_subscribers
from tests.servers import next_frame, subscribe_over, websocket_for
from tests.sockets import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


async def subscribed_socket(server, user):
    socket = await websocket_for(server, await session_cookie(user))
    await subscribe_over(socket, "general")
    return socket


async def next_of(socket, frame_type: str) -> dict:
    return await next_frame(socket, frame_type, timeout=1)


async def test_deactivation_closes_sockets_on_every_server_within_a_second(
    two_servers, bob, general, make_user
):
    staff = await database_sync_to_async(make_user)("boss", is_staff=True)
    sockets = [await subscribed_socket(server, bob) for server in two_servers]
    started = time.monotonic()
    await database_sync_to_async(services.user_deactivate)(actor=staff, user=bob)
    for socket in sockets:
        error = await next_of(socket, "error")
        assert error["code"] == "account_disabled"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 1)
        assert closed.value.rcvd.code == 4403
    assert time.monotonic() - started < 1


async def test_ban_removes_the_room_on_every_server_within_a_second(
    two_servers, ana, bob, general
):
    sockets = [await subscribed_socket(server, bob) for server in two_servers]
    started = time.monotonic()
    await database_sync_to_async(services.member_ban)(room=general, actor=ana, user=bob)
    for socket in sockets:
        assert await next_of(socket, "room.removed") == {
            "type": "room.removed", "room": "general", "reason": "banned",
        }  # fmt: skip
    assert time.monotonic() - started < 1
    # The room's events stop for bob on both servers: neither server is subscribed
    # to the room's group any more (bob's sockets were its only members), so no
    # later broadcast can reach them. (A pong would prove nothing: on the pub/sub
    # layer a broadcast can arrive after it.)
    assert await group_subscribers(general.group_name) == 0
    for socket in sockets:
        await socket.close()
