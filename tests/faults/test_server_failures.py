"""Faults with real processes on loopback; the verdict is always the same: every
acknowledged message reaches every client exactly once, in id order."""

import asyncio
import random

import pytest

from tests.faults.chat_client import wait_until
from tests.faults.conftest import assert_exactly_once_in_order
from tests.servers import ChatServer

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

CLIENTS = 6
MESSAGES_EACH = 40


async def chat_until_done(clients, messages_each, during=None, pace=(0.002, 0.02)):
    """Every client sends its messages at a human-ish pace; `during` runs midway."""

    async def talk(client):
        for index in range(messages_each):
            await client.send(f"{client.name} says {index}")
            await asyncio.sleep(random.uniform(*pace))  # pacing, not syncing

    talking = asyncio.gather(*(talk(client) for client in clients))
    if during is not None:
        await asyncio.sleep(0.3)
        await during()
    await talking


async def settle(clients, room):
    """Wait until every message is acknowledged, then until everyone has the newest."""
    from tests.faults.conftest import stored_messages

    def describe():
        return "; ".join(
            f"{c.name}: outbox={len(c.outbox)} received={len(c.received)}"
            f" last={c.last_id} connections={c.connections} errors={c.errors[-2:]}"
            for c in clients
        )

    try:
        # An acknowledgement means the message is stored: once no outbox holds
        # anything, the database has every message there will be.
        await wait_until(clients, lambda: all(not c.outbox for c in clients), 60)
        newest = (await stored_messages(room))[-1][0]
        await wait_until(clients, lambda: all(c.last_id == newest for c in clients), 60)
    except AssertionError as error:
        raise AssertionError(f"{error}: {describe()}") from None


@pytest.fixture
def servers(redis_url, transactional_db):
    started = []

    def start(count=2, **env):
        for _ in range(count):
            started.append(ChatServer(extra_env=env).start())
        return started

    yield start
    for server in started:
        server.stop(kill=True)


async def test_killing_one_of_two_servers_loses_and_duplicates_nothing(
    servers, make_clients, chat_room
):
    first, second = servers()
    clients = await make_clients(
        CLIENTS,
        lambda i: (
            [first.ws_url, second.ws_url] if i % 2 else [second.ws_url, first.ws_url]
        ),
    )
    for client in clients:
        client.start()
    await asyncio.gather(*(client.subscribed.wait() for client in clients))

    async def kill_first():
        first.stop(kill=True)  # SIGKILL: no close frames, no cleanup

    await chat_until_done(clients, MESSAGES_EACH, during=kill_first)
    await settle(clients, chat_room)
    await assert_exactly_once_in_order(clients, chat_room)
    assert sum(client.connections for client in clients) > CLIENTS  # some did reconnect
    for client in clients:
        await client.stop()


async def test_redis_restart_while_chatting_loses_and_duplicates_nothing(
    servers, throwaway_redis, make_clients, chat_room
):
    first, second = servers(REDIS_URL=throwaway_redis.url)
    clients = await make_clients(CLIENTS, lambda i: [[first, second][i % 2].ws_url])
    for client in clients:
        client.start()
    await asyncio.gather(*(client.subscribed.wait() for client in clients))

    async def restart_redis():
        throwaway_redis.kill()
        await asyncio.sleep(0.5)  # Redis stays down for a while: the fault itself
        throwaway_redis.start()

    await chat_until_done(clients, MESSAGES_EACH, during=restart_redis)
    await settle(clients, chat_room)
    await assert_exactly_once_in_order(clients, chat_room)
    for client in clients:
        await client.stop()


async def test_a_broadcast_lost_while_redis_was_down_arrives_with_no_later_message(
    servers, throwaway_redis, make_clients, chat_room
):
    """The last message before a quiet spell is published while Redis is down: no
    later event reveals the gap, yet every client gets it (the catch-up check)."""
    first, second = servers(REDIS_URL=throwaway_redis.url, CHAT_CATCH_UP_SECONDS="1")
    sender, reader = await make_clients(2, lambda i: [[first, second][i].ws_url])
    for client in (sender, reader):
        client.start()
    await asyncio.gather(sender.subscribed.wait(), reader.subscribed.wait())
    await sender.send("before the outage")
    await settle([sender, reader], chat_room)

    throwaway_redis.kill()
    await sender.send("while Redis is down")  # stored, acknowledged directly
    await wait_until([sender], lambda: not sender.outbox, 30)
    throwaway_redis.start()
    # Nothing else is sent: the reader must still get it, once, in order.
    await settle([sender, reader], chat_room)
    await assert_exactly_once_in_order([sender, reader], chat_room)
    for client in (sender, reader):
        await client.stop()


STORM_CLIENTS = 300


async def test_reconnect_storm_of_hundreds_of_clients_loses_and_duplicates_nothing(
    servers, make_clients, chat_room
):
    """Hundreds of clients on one server; it restarts (SIGTERM: 1012) while a few of
    them talk, and all of them reconnect to the other server at once."""
    first, second = servers()
    clients = await make_clients(STORM_CLIENTS, lambda i: [first.ws_url, second.ws_url])
    for client in clients:
        client.start()
    await asyncio.wait_for(
        asyncio.gather(*(client.subscribed.wait() for client in clients)), 60
    )
    talkers = clients[:5]
    storm = []

    async def restart_first():
        storm.extend(c for c in clients if c.current_url == first.ws_url)
        first.stop()  # SIGTERM: every socket gets 1012 and comes back at once

    await chat_until_done(talkers, 20, during=restart_first)
    await settle(clients, chat_room)
    await assert_exactly_once_in_order(clients, chat_room)
    failures = [failure for client in clients for failure in client.failures]
    print("connect failures:", len(failures), failures[:3])
    assert len(storm) >= 200, f"only {len(storm)} clients were on the restarted server"
    assert all(client.current_url == second.ws_url for client in storm)
    for client in clients:
        await client.stop()
