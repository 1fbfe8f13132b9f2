"""Two Daphne processes sharing Redis: a message sent on one reaches a socket on
the other."""

import asyncio
import json

import pytest
import redis.asyncio
import websockets
from channels.db import database_sync_to_async
from django.conf import settings

from tests.servers import ChatServer, next_frame, subscribe_over, websocket_for
from tests.sockets import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


async def connect(server: ChatServer, user):
    return await websocket_for(server, await session_cookie(user))


async def test_message_sent_on_one_server_reaches_a_subscriber_on_the_other(
    two_servers, ana, bob, general
):
    first, second = two_servers
    ana_socket, bob_socket = await connect(first, ana), await connect(second, bob)
    for socket in (ana_socket, bob_socket):
        await subscribe_over(socket, "general")
    await ana_socket.send(
        json.dumps(
            {
                "type": "message.send",
                "room": "general",
                "body": "across",
                "client_id": "x1",
            }
        )
    )
    ack = await next_frame(ana_socket, "message.new")
    received = await next_frame(bob_socket, "message.new")
    assert received == ack
    assert received["message"]["body"] == "across"
    await ana_socket.close()
    await bob_socket.close()


async def test_notify_from_the_test_process_reaches_sockets_on_both_servers(
    two_servers, bob
):
    from chat import events

    sockets = [await connect(server, bob) for server in two_servers]
    await database_sync_to_async(events.user_notified)(
        user_id=bob.pk, data={"hi": True}
    )
    for socket in sockets:
        assert await next_frame(socket, "notify") == {
            "type": "notify",
            "data": {"hi": True},
        }
        await socket.close()


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:9999"])
async def test_real_daphne_refuses_a_foreign_origin_with_403(two_servers, ana, origin):
    cookie = await session_cookie(ana)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            two_servers[0].ws_url,
            origin=origin,
            additional_headers={"Cookie": f"sessionid={cookie}"},
        )
    assert refused.value.response.status_code == 403


async def test_rest_notify_on_one_server_reaches_the_users_sockets_on_both(
    two_servers, bob, make_user
):
    import urllib.request

    from rest_framework.authtoken.models import Token

    staff = await database_sync_to_async(make_user)("boss", is_staff=True)
    token = await database_sync_to_async(lambda: Token.objects.create(user=staff).key)()
    sockets = [await connect(server, bob) for server in two_servers]
    request = urllib.request.Request(
        f"{two_servers[0].http_url}/api/v1/users/{bob.pk}/notify/",
        data=json.dumps({"data": {"text": "maintenance at noon"}}).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    response = await asyncio.to_thread(urllib.request.urlopen, request, timeout=5)
    assert response.status == 202
    for socket in sockets:
        assert await next_frame(socket, "notify") == {
            "type": "notify",
            "data": {"text": "maintenance at noon"},
        }
        await socket.close()


@pytest.fixture
def two_core_layer_servers(redis_url, transactional_db):
    """Two servers on channels-redis's core layer (CHAT_CHANNEL_LAYER=core), the
    alternative to the default pub/sub layer."""
    env = {"CHAT_CHANNEL_LAYER": "core"}
    servers = [ChatServer(extra_env=env).start(), ChatServer(extra_env=env).start()]
    yield servers
    for server in servers:
        server.stop()


async def test_the_core_layer_carries_messages_between_servers_in_order(
    two_core_layer_servers, ana, bob, general
):
    first, second = two_core_layer_servers
    ana_socket, bob_socket = await connect(first, ana), await connect(second, bob)
    for socket in (ana_socket, bob_socket):
        await subscribe_over(socket, "general")
    # The core layer keeps each group's member channels in Redis: both sockets.
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    try:
        key = f"{settings.CHANNEL_LAYER_PREFIX}:group:{general.group_name}"
        assert await client.zcard(key) == 2
    finally:
        await client.aclose()
    for index in range(10):
        frame = {"type": "message.send", "room": "general", "body": f"c{index}"}
        await ana_socket.send(json.dumps({**frame, "client_id": f"core{index}"}))
    for socket in (ana_socket, bob_socket):
        bodies = [
            (await next_frame(socket, "message.new"))["message"]["body"]
            for _ in range(10)
        ]
        assert bodies == [f"c{index}" for index in range(10)]
    await ana_socket.close()
    await bob_socket.close()
