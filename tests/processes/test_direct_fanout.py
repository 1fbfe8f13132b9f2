"""The hub's direct writes (chat.delivery) on a real Daphne, through the server
adapter's frame writer: new messages written straight to idle, in-order sockets
arrive once each, in id order, interleaved correctly with what goes through the
sockets' inboxes; the direct path is really used."""

import asyncio
import json
import urllib.request

import pytest
from channels.db import database_sync_to_async

from chat import services
from tests.prometheus import increase, parse
from tests.servers import ChatServer, next_frame, subscribe_over, websocket_for
from tests.sockets import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

MESSAGES = 40


@pytest.fixture
def chat_server(redis_url, transactional_db):
    server = ChatServer().start()
    yield server
    server.stop()


def scrape(server: ChatServer) -> dict[str, float]:
    with urllib.request.urlopen(f"{server.http_url}/metrics", timeout=5) as response:
        return parse(response.read().decode())


async def test_messages_fanned_out_directly_arrive_once_and_in_order(
    chat_server, make_user, general
):
    sockets = []
    for index in range(4):
        user = await database_sync_to_async(make_user)(f"f{index}")
        await database_sync_to_async(services.room_join)(user=user, room=general)
        socket = await websocket_for(chat_server, await session_cookie(user))
        await subscribe_over(socket, "general")
        sockets.append(socket)
    before = await asyncio.to_thread(scrape, chat_server)
    sender, readers = sockets[0], sockets[1:]
    # Sent back to back: the readers are idle (direct writes); the sender's own
    # copies interleave with its acknowledgements and repairs.
    for index in range(MESSAGES):
        frame = {"type": "message.send", "room": "general", "body": f"m{index}"}
        await sender.send(json.dumps({**frame, "client_id": f"c{index}"}))
    for socket in sockets:
        bodies = [
            (await next_frame(socket, "message.new"))["message"]["body"]
            for _ in range(MESSAGES)
        ]
        assert bodies == [f"m{index}" for index in range(MESSAGES)]
    # No duplicates: a last message sent the same way reaches each socket after any
    # duplicate of the earlier ones would (one room, one order), so it must be the
    # next message.new there. (A pong proves nothing: a broadcast can follow it.)
    last = {"type": "message.send", "room": "general", "body": "last"}
    await sender.send(json.dumps({**last, "client_id": "last"}))
    for socket in sockets:
        assert (await next_frame(socket, "message.new"))["message"]["body"] == "last"
    after = await asyncio.to_thread(scrape, chat_server)
    live = increase(before, after, 'chat_messages_delivered_total{kind="live"}')
    direct = increase(before, after, "chat_direct_fanout_total")
    assert live == (MESSAGES + 1) * len(sockets)
    assert direct >= MESSAGES * len(readers) / 2, (direct, live)
    for socket in sockets:
        await socket.close()
