"""Mentions over REST: message objects list them, the room list counts the unread
ones, and a read marker moved by the socket clears the count."""

import pytest
from channels.db import database_sync_to_async

from chat import services
from tests.api.conftest import client_for
from tests.sockets import frames_until_pong, open_chat, send, subscribe


@pytest.mark.django_db
def test_posted_message_lists_the_members_it_mentions(ana, bob, carol, general):
    response = client_for(ana, "token").post(
        "/api/v1/rooms/general/messages/",
        {"body": "@bob and @carol: lunch?", "client_id": "r-1"},
        format="json",
    )
    assert response.status_code == 201
    # carol is not a member of general: only bob counts.
    assert response.json()["mentions"] == [{"id": bob.pk, "username": "bob"}]
    history = client_for(bob, "token").get("/api/v1/rooms/general/messages/").json()
    assert history["results"][0]["mentions"] == response.json()["mentions"]


@pytest.mark.django_db(transaction=True)
async def test_mention_count_falls_once_the_member_has_read_the_room(ana, bob, general):
    post = database_sync_to_async(services.message_create)
    await post(room=general, author=ana, body="@bob one", client_id="1")
    await post(room=general, author=ana, body="no mention", client_id="2")
    newest, _ = await post(room=general, author=ana, body="@bob two", client_id="3")
    client = await database_sync_to_async(client_for)(bob, "token")
    get = database_sync_to_async(client.get)

    [room] = (await get("/api/v1/rooms/")).json()
    assert (room["unread_count"], room["mention_count"]) == (3, 2)
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    await send(socket, {"type": "read", "room": "general", "last_id": newest.pk})
    await frames_until_pong(socket)  # the read is stored before the pong
    [room] = (await get("/api/v1/rooms/")).json()
    assert (room["unread_count"], room["mention_count"]) == (0, 0)
    await socket.disconnect()
