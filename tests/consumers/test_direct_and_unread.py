"""Direct conversations and unread badges over the socket."""

import pytest
from channels.db import database_sync_to_async

from chat import services
from tests.sockets import (
    open_chat,
    receive,
    send,
    subscribe,
)

pytestmark = pytest.mark.django_db(transaction=True)

post = database_sync_to_async(services.message_create)


async def test_direct_open_answers_the_conversation_and_tells_both_people(
    ana, bob, carol
):
    ana_socket, bob_socket = await open_chat(ana), await open_chat(bob)
    await send(ana_socket, {"type": "direct.open", "username": "bob"})
    frames = [await receive(ana_socket), await receive(ana_socket)]
    opened = next(f for f in frames if f["type"] == "direct.opened")
    added_for_ana = next(f for f in frames if f["type"] == "room.added")
    assert opened["created"] is True
    room = opened["room"]
    assert room["kind"] == "direct" and room["is_private"] is True
    assert room["peer"] == {"id": bob.pk, "username": "bob"}
    assert added_for_ana["room"]["slug"] == room["slug"]
    added_for_bob = await receive(bob_socket)
    assert added_for_bob["type"] == "room.added"
    assert added_for_bob["room"]["slug"] == room["slug"]
    assert added_for_bob["room"]["peer"] == {"id": ana.pk, "username": "ana"}

    # Opening it again finds it and tells nobody anything new: what bob hears next
    # is a later conversation being opened with him (one user, one order).
    await send(ana_socket, {"type": "direct.open", "username": "bob"})
    again = await receive(ana_socket)
    assert again["type"] == "direct.opened" and again["created"] is False
    later, _ = await database_sync_to_async(services.direct_open)(user=carol, other=bob)
    added_later = await receive(bob_socket)
    assert added_later["type"] == "room.added"
    assert added_later["room"]["slug"] == later.slug

    # It is a room: subscribe, send, receive.
    await subscribe(ana_socket, room["slug"])
    await subscribe(bob_socket, room["slug"])
    await send(
        ana_socket,
        {"type": "message.send", "room": room["slug"], "body": "hi", "client_id": "1"},
    )
    assert (await receive(bob_socket))["message"]["body"] == "hi"
    await ana_socket.disconnect()
    await bob_socket.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "direct.open", "username": "nobody"}, "not_found"),
        ({"type": "direct.open", "username": "ana"}, "invalid"),
        ({"type": "direct.open", "username": ""}, "bad_frame"),
        ({"type": "direct.open", "username": 7}, "bad_frame"),
        ({"type": "direct.open"}, "bad_frame"),
    ],
)
async def test_bad_direct_open_frames_get_an_error(ana, frame, code):
    socket = await open_chat(ana)
    await send(socket, frame)
    error = await receive(socket)
    assert error["type"] == "error" and error["code"] == code, error
    assert error["ref"] == "direct.open"
    await socket.disconnect()


async def test_a_third_person_cannot_subscribe_to_a_conversation(ana, bob, carol):
    room, _ = await database_sync_to_async(services.direct_open)(user=ana, other=bob)
    socket = await open_chat(carol)
    await send(socket, {"type": "subscribe", "room": room.slug})
    error = await receive(socket)
    assert error["code"] == "room_not_found"
    await socket.disconnect()


async def test_subscribed_carries_the_unread_badge(ana, bob, general):
    for i in range(3):
        await post(room=general, author=ana, body=f"m{i}", client_id=f"m{i}")
    socket = await open_chat(bob)
    _, subscribed = await subscribe(socket, "general")
    assert subscribed["unread_count"] == 3
    assert subscribed["last_read_id"] == 0
    await socket.disconnect()


async def test_reading_in_one_tab_updates_the_badge_in_every_tab(ana, bob, general):
    messages = [
        (await post(room=general, author=ana, body=f"m{i}", client_id=f"m{i}"))[0]
        for i in range(3)
    ]
    reading_tab, other_tab = await open_chat(bob), await open_chat(bob)
    await subscribe(reading_tab, "general")
    await send(
        reading_tab, {"type": "read", "room": "general", "last_id": messages[1].pk}
    )
    expected = {
        "type": "unread",
        "room": "general",
        "unread_count": 1,
        "mention_count": 0,
        "last_read_id": messages[1].pk,
        "last_id": messages[2].pk,
    }
    # The other tab is not even subscribed to the room: the badge is the user's.
    assert await receive(other_tab) == expected
    assert await receive(reading_tab) == expected
    # Reading the same again moves nothing and sends nothing: the next badge update
    # the other tab gets is that of a later read that moves (one user, one order).
    for read in messages[0], messages[2]:
        await send(reading_tab, {"type": "read", "room": "general", "last_id": read.pk})
    assert (await receive(other_tab))["last_read_id"] == messages[2].pk
    await reading_tab.disconnect()
    await other_tab.disconnect()


async def test_joining_a_room_elsewhere_tells_the_users_sockets(bob, ana):
    room = await database_sync_to_async(services.room_create)(
        owner=ana, slug="新闻", name="新闻频道"
    )
    socket = await open_chat(bob)
    await database_sync_to_async(services.room_join)(user=bob, room=room)
    added = await receive(socket)
    assert added["type"] == "room.added"
    assert added["room"]["slug"] == "新闻" and added["room"]["name"] == "新闻频道"
    assert added["room"]["kind"] == "room" and "peer" not in added["room"]
    await socket.disconnect()


async def test_a_conversation_resumes_after_a_dropped_socket_like_a_room(ana, bob):
    room, _ = await database_sync_to_async(services.direct_open)(user=ana, other=bob)
    seen, _ = await post(room=room, author=ana, body="before", client_id="b")
    missed = [
        (await post(room=room, author=ana, body=f"missed {n}", client_id=f"m{n}"))[0]
        for n in range(3)
    ]
    socket = await open_chat(bob)
    replayed, subscribed = await subscribe(socket, room.slug, since=seen.pk)
    assert [frame["message"]["id"] for frame in replayed] == [m.pk for m in missed]
    assert all(frame["replay"] is True for frame in replayed)
    assert subscribed["last_id"] == missed[-1].pk
    # No live copy of a replayed message follows: a later message in the same room
    # is delivered after any such copy (one room, one order), so the next
    # message.new must be that later one.
    later, _ = await post(room=room, author=ana, body="later", client_id="l")
    assert (await receive(socket))["message"]["id"] == later.pk
    await socket.disconnect()
