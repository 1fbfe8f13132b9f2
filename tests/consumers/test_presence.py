"""Presence: who is online in a room, sent after `subscribed` and on every change."""

import pytest
from channels.db import database_sync_to_async

from chat.presence import registry
from tests.api.conftest import client_for
from tests.sockets import open_chat, receive, send, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


async def next_presence(socket) -> list[str]:
    frame = await receive(socket, skip=())
    while frame["type"] != "presence":
        frame = await receive(socket, skip=())
    return [user["username"] for user in frame["online"]]


async def presence_until(socket, expected: list[str]) -> None:
    """Await presence frames until one lists exactly `expected`."""
    while (online := await next_presence(socket)) != expected:
        assert set(online) <= {"ana", "bob", "carol"}, online


async def test_presence_follows_subscribed_and_lists_the_subscriber(ana, general):
    socket = await open_chat(ana)
    await send(socket, {"type": "subscribe", "room": "general"})
    subscribed = await receive(socket, skip=())
    assert subscribed["type"] == "subscribed"
    presence = await receive(socket, skip=())
    assert presence == {
        "type": "presence",
        "room": "general",
        "online": [{"id": ana.pk, "username": "ana"}],
    }
    await socket.disconnect()


async def test_presence_changes_are_broadcast_on_join_and_leave(ana, bob, general):
    ana_socket = await open_chat(ana)
    await subscribe(ana_socket, "general")
    await presence_until(ana_socket, ["ana"])
    bob_socket = await open_chat(bob)
    await subscribe(bob_socket, "general")
    await presence_until(ana_socket, ["ana", "bob"])
    await bob_socket.disconnect()
    await presence_until(ana_socket, ["ana"])
    await ana_socket.disconnect()


async def test_a_user_with_two_sockets_stays_online_until_both_leave(ana, bob, general):
    watcher = await open_chat(ana)
    await subscribe(watcher, "general")
    first, second = await open_chat(bob), await open_chat(bob)
    await subscribe(first, "general")
    await subscribe(second, "general")
    await presence_until(watcher, ["ana", "bob"])
    await first.disconnect()
    online = await registry.online(general.pk)
    assert [user["username"] for user in online] == ["ana", "bob"]
    await send(second, {"type": "unsubscribe", "room": "general"})
    await presence_until(watcher, ["ana"])
    await second.disconnect()
    await watcher.disconnect()


async def test_rest_presence_lists_online_members(ana, bob, general):
    socket = await open_chat(ana)
    await subscribe(socket, "general")
    await presence_until(socket, ["ana"])
    client = await database_sync_to_async(client_for)(bob, "token")
    response = await database_sync_to_async(client.get)(
        "/api/v1/rooms/general/presence/"
    )
    assert response.status_code == 200
    assert response.json() == {"online": [{"id": ana.pk, "username": "ana"}]}
    await socket.disconnect()


async def test_a_rooms_presence_key_expires_unless_refreshed(redis_url, ana, general):
    """A room's presence set in Redis carries an expiry, so the set of a room whose
    processes all died does not stay behind for ever."""
    import redis.asyncio
    from django.conf import settings

    socket = await open_chat(ana)
    await subscribe(socket, "general")
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    try:
        key = f"{settings.CHANNEL_LAYER_PREFIX}:presence:{general.pk}"
        ttl = await client.ttl(key)
        assert 0 < ttl <= 3 * settings.CHAT_HEARTBEAT_SECONDS + 6
    finally:
        await client.aclose()
    await socket.disconnect()


async def test_sockets_entering_together_are_written_in_one_pipeline(redis_url):
    # A reconnect storm's subscribers enter at once: their entries go to Redis
    # together, and each subscriber's `enter` returns once its own is written.
    import asyncio

    from chat import loop_clients

    client = loop_clients.redis()
    room_id = 987_654_321  # no room of the database: presence alone is exercised

    async def zadd_calls() -> int:
        return (await client.info("commandstats"))["cmdstat_zadd"]["calls"]

    before = await zadd_calls()
    await asyncio.gather(
        *(
            registry.enter(room_id=room_id, room_slug="x", user_id=n, socket=f"s{n}")
            for n in range(50)
        )
    )
    assert await zadd_calls() - before <= 2  # one, unless another test's refresh
    assert await client.zcard(registry._key(room_id)) == 50
    for n in range(50):
        await registry.leave(room_id=room_id, user_id=n, socket=f"s{n}")
    registry.pending_broadcasts.pop(room_id).cancel()
