"""Fault-test fixtures: chatters with sessions, throwaway Redis servers, a verdict.

A fault test never breaks the shared Redis or PostgreSQL: what it kills or restarts
is a server it started itself, on a free port.
"""

import shutil
import subprocess
import tempfile

import pytest
from channels.db import database_sync_to_async

from chat import services
from chat.models import Message
from tests.faults.chat_client import ResilientClient
from tests.servers import free_port
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


class ThrowawayRedis:
    """A redis-server of our own on a free port, which a test may kill and restart."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="chat-redis-")
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "ThrowawayRedis":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                import time

                time.sleep(0.05)  # the server is starting: nothing to await but a port
        raise RuntimeError("throwaway redis did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def throwaway_redis(redis_url):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is needed for the Redis fault test")
    redis = ThrowawayRedis().start()
    yield redis
    redis.stop()
