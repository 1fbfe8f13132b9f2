"""`mention` frames through the full socket stack: they reach every socket of the
mentioned member, subscribed to the room or not, and nobody else."""

import pytest
from channels.db import database_sync_to_async

from chat import services
from tests.sockets import (
    frames_before_later_mention,
    open_chat,
    receive,
    send,
    subscribe,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_mentioned_member_gets_the_frame_on_a_socket_not_subscribed_to_the_room(
    ana, bob, general
):
    ana_socket = await open_chat(ana)
    await subscribe(ana_socket, "general")
    elsewhere = await open_chat(bob)  # bob's tab on another page: no subscription
    in_room = await open_chat(bob)
    await subscribe(in_room, "general")
    await send(
        ana_socket,
        {
            "type": "message.send",
            "room": "general",
            "body": "@bob, look",
            "client_id": "m1",
        },
    )
    ack = await receive(ana_socket)
    assert ack["message"]["mentions"] == [{"id": bob.pk, "username": "bob"}]
    mention = await receive(elsewhere)
    assert mention == {
        "type": "mention",
        "room": "general",
        "room_name": "General",
        "message": ack["message"],
    }
    # The subscribed socket gets the message and the mention, once each.
    frames = [await receive(in_room), await receive(in_room)]
    assert sorted(frame["type"] for frame in frames) == ["mention", "message.new"]
    # Nothing more: a second mention would come before a later one (one user, one
    # order); nor is the author told about their own message.
    assert await frames_before_later_mention(general, ana, bob, in_room) == [[]]
    assert await frames_before_later_mention(general, bob, ana, ana_socket) == [[]]
    for socket in (ana_socket, elsewhere, in_room):
        await socket.disconnect()


async def test_mentioning_a_non_member_sends_nothing(ana, bob, carol, general):
    carol_socket = await open_chat(carol)
    bob_socket = await open_chat(bob)
    await database_sync_to_async(services.message_create)(
        room=general, author=ana, body="@carol @bob hi", client_id="m2"
    )
    assert (await receive(bob_socket))["type"] == "mention"
    # A later mention of carol where she is a member reaches her through the same
    # path (her user's group) after anything sent to her before: nothing was.
    nook = await database_sync_to_async(services.room_create)(
        owner=carol, slug="nook", name="Nook"
    )
    await database_sync_to_async(services.room_join)(user=ana, room=nook)
    assert await frames_before_later_mention(nook, ana, carol, carol_socket) == [[]]
    await carol_socket.disconnect()
    await bob_socket.disconnect()


async def test_an_edit_that_adds_a_mention_tells_the_new_member_once(
    ana, bob, carol, general
):
    await database_sync_to_async(services.room_join)(user=carol, room=general)
    message, _ = await database_sync_to_async(services.message_create)(
        room=general, author=ana, body="hi @bob", client_id="m3"
    )
    bob_socket = await open_chat(bob)
    carol_socket = await open_chat(carol)
    edit = database_sync_to_async(services.message_edit)
    await edit(message=message, editor=ana, body="hi @bob and @carol")
    await edit(message=message, editor=ana, body="hi @carol (typo fixed)")
    mention = await receive(carol_socket)
    assert mention["type"] == "mention"
    assert mention["message"]["id"] == message.pk
    # Once each: another mention would come before a later one (one user, one order).
    assert await frames_before_later_mention(general, ana, carol, carol_socket) == [[]]
    assert await frames_before_later_mention(general, ana, bob, bob_socket) == [[]]
    await carol_socket.disconnect()
    await bob_socket.disconnect()
