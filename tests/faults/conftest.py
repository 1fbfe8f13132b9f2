"""Fault-test fixtures: chatters with sessions, throwaway Redis servers, a verdict.

A fault test never breaks the shared Redis or PostgreSQL: what it kills or restarts
is a server it started itself, on a free port.
"""

import pytest
from channels.db import database_sync_to_async

from chat import services
from chat.models import Message
from tests.faults.chat_client import ResilientClient
from tests.sockets import session_cookie


@pytest.fixture
def chat_room(ana):
    return services.room_create(owner=ana, slug="storm", name="Storm")


@pytest.fixture
def make_clients(make_user, chat_room):
    async def make(count: int, urls_for) -> list[ResilientClient]:
        clients = []
        for index in range(count):
            user = await database_sync_to_async(make_user)(f"user{index}")
            await database_sync_to_async(services.room_join)(user=user, room=chat_room)
            cookie = await session_cookie(user)
            clients.append(
                ResilientClient(user.username, urls_for(index), cookie, "storm")
            )
        return clients

    return make


@database_sync_to_async
def stored_messages(room) -> list[tuple[int, str, str]]:
    return list(
        Message.objects.filter(room=room)
        .order_by("id")
        .values_list("id", "author__username", "client_id")
    )


async def assert_exactly_once_in_order(clients, room) -> None:
    """Every stored message reached every client once, in id order; every message a
    client sent was stored once and acknowledged."""
    stored = await stored_messages(room)
    ids = [message_id for message_id, _, _ in stored]
    keys = [(author, client_id) for _, author, client_id in stored]
    assert len(set(keys)) == len(keys), "a client_id was stored twice"
    for client in clients:
        duplicates = [i for i in client.received if client.received.count(i) > 1]
        if duplicates:  # show what the client was told around the first one
            first = next(k for k, t in enumerate(client.trace) if t[2] == duplicates[0])
            print("TRACE", client.name, client.trace[max(0, first - 8) : first + 40])
        assert client.received == ids, (
            f"{client.name} saw {len(client.received)} of {len(ids)}"
        )
        assert client.outbox == {}, f"{client.name} has unacknowledged messages"
        assert len(client.acknowledged) == client.sent
        mine = {client_id for author, client_id in keys if author == client.name}
        assert mine == set(client.acknowledged)


@pytest.fixture
def throwaway_redis(redis_url, throwaway_redis):
    """The shared fixture's, for tests that also use the shared Redis's layer."""
    return throwaway_redis
