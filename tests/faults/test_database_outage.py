"""PostgreSQL briefly unavailable: sends fail with a clear error, nothing is half
written, and once it is back every acknowledged message is there exactly once."""

import asyncio

import pytest

from tests.faults.chat_client import ResilientClient
from tests.faults.test_server_failures import chat_until_done, wait_until
from tests.faults.throwaway_postgres import ThrowawayPostgres
from tests.servers import ChatServer

pytestmark = [pytest.mark.processes, pytest.mark.timeout(300)]

SETUP = """
from django.contrib.auth import get_user_model
from django.test import Client
from chat import services
User = get_user_model()
users = [User.objects.create_user(f"user{i}", password="x") for i in range(4)]
room = services.room_create(owner=users[0], slug="storm", name="Storm")
for user in users[1:]:
    services.room_join(user=user, room=room)
cookies = []
for user in users:
    client = Client()
    client.force_login(user)
    cookies.append([user.username, client.cookies["sessionid"].value])
print(json.dumps(cookies))
"""

VERDICT = """
from chat.models import Message, Room
room = Room.objects.get(slug="storm")
rows = list(Message.objects.filter(room=room).order_by("id")
            .values_list("id", "author__username", "client_id"))
print(json.dumps({"rows": rows, "last_message_id": room.last_message_id}))
"""


@pytest.fixture
def postgres_of_our_own(redis_url):
    database = ThrowawayPostgres().create()
    yield database
    database.destroy()


async def test_database_outage_loses_and_duplicates_nothing(postgres_of_our_own):
    database = postgres_of_our_own
    cookies = database.run_django(SETUP)
    server = ChatServer(extra_env={"DATABASE_URL": database.url}).start()
    try:
        clients = [
            ResilientClient(name, [server.ws_url], cookie, "storm")
            for name, cookie in cookies
        ]
        for client in clients:
            client.start()
        await asyncio.wait_for(
            asyncio.gather(*(client.subscribed.wait() for client in clients)), 20
        )

        async def outage():
            database.stop()
            await asyncio.sleep(4)  # longer than the pool's 3 s wait: sends must fail
            database.start()

        # Paced so that the talk spans the outage.
        await chat_until_done(clients, 30, during=outage, pace=(0.1, 0.25))
        try:
            await wait_until(clients, lambda: all(not c.outbox for c in clients), 60)
        except AssertionError:
            for c in clients:
                print(
                    c.name, len(c.outbox), c.connections, c.errors[-3:], c.failures[-3:]
                )
            raise
        verdict = database.run_django(VERDICT)
        rows = verdict["rows"]
        newest = rows[-1][0]
        await wait_until(clients, lambda: all(c.last_id == newest for c in clients), 60)
    finally:
        server.stop()

    ids = [row[0] for row in rows]
    keys = [(row[1], row[2]) for row in rows]
    assert len(set(keys)) == len(keys), "a message was stored twice"
    assert len(rows) == sum(client.sent for client in clients) == 4 * 30
    assert (
        verdict["last_message_id"] == newest
    )  # the room row agrees: nothing half-done
    for client in clients:
        assert client.received == ids
        assert len(client.acknowledged) == client.sent
    codes = {error["code"] for client in clients for error in client.errors}
    assert codes <= {"server_error"}
    reported = sum(len(client.errors) for client in clients)
    reconnected = sum(client.connections for client in clients) > len(clients)
    assert reported, "no send failed with server_error: was the outage real?"
    print(f"outage: {reported} server_error frames, reconnects: {reconnected}")
    for client in clients:
        await client.stop()
