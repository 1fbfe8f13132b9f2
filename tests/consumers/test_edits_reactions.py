"""The socket's message.edit, message.delete, reaction.add and reaction.remove frames:
effects arrive as broadcasts on subscribed sockets, refusals as `error` frames."""

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat import reactions, services
from chat.models import Message, MessageRevision, Reaction
from tests.layer import message_create_without_broadcast
from tests.sockets import (
    frames_before_later_message,
    frames_until_pong,
    open_chat,
    receive,
    send,
    subscribe,
)

pytestmark = pytest.mark.django_db(transaction=True)

post = database_sync_to_async(services.message_create)


@pytest.fixture
async def sockets(ana, bob, general):
    """ana's and bob's sockets, both subscribed to general."""
    ana_socket, bob_socket = await open_chat(ana), await open_chat(bob)
    await subscribe(ana_socket, "general")
    await subscribe(bob_socket, "general")
    yield ana_socket, bob_socket
    await ana_socket.disconnect()
    await bob_socket.disconnect()


async def posted(socket, author, general, body="hello"):
    """A message by author, its live frame already read from socket."""
    message, _ = await post(room=general, author=author, body=body, client_id=body)
    assert (await receive(socket))["message"]["id"] == message.pk
    return message


async def test_message_edit_reaches_every_subscriber_and_keeps_a_revision(
    ana, general, sockets
):
    ana_socket, bob_socket = sockets
    message = await posted(bob_socket, ana, general)
    await receive(ana_socket)
    await send(ana_socket, {"type": "message.edit", "id": message.pk, "body": " hi "})
    for socket in sockets:
        edited = await receive(socket)
        assert edited["type"] == "message.edited"
        assert edited["room"] == "general"
        assert edited["message"]["id"] == message.pk
        assert edited["message"]["body"] == "hi"
        assert edited["message"]["edited_at"] is not None
        assert edited["message"]["reactions"] == []
    revisions = await database_sync_to_async(list)(
        MessageRevision.objects.values_list("body", flat=True)
    )
    assert revisions == ["hello"]


async def test_an_unchanged_edit_sends_nothing(ana, general, sockets):
    ana_socket, bob_socket = sockets
    message = await posted(bob_socket, ana, general)
    await receive(ana_socket)
    await send(ana_socket, {"type": "message.edit", "id": message.pk, "body": "hello"})
    assert await frames_until_pong(ana_socket) == []  # no answer, and handled
    assert await frames_before_later_message(general, ana, *sockets) == [[], []]


async def test_edit_refusals_are_error_frames_with_ref(ana, bob, general, sockets):
    ana_socket, bob_socket = sockets
    message = await posted(bob_socket, ana, general)
    await receive(ana_socket)
    cases = [
        # bob may not edit ana's message.
        (bob_socket, {"type": "message.edit", "id": message.pk, "body": "x"},
         "forbidden"),
        (ana_socket, {"type": "message.edit", "id": 999999, "body": "x"},
         "not_found"),
        (ana_socket, {"type": "message.edit", "id": message.pk, "body": "  "},
         "body_empty"),
        (ana_socket, {"type": "message.edit", "id": "1", "body": "x"}, "bad_frame"),
        (ana_socket, {"type": "message.edit", "id": message.pk}, "bad_frame"),
    ]  # fmt: skip
    for socket, frame, code in cases:
        await send(socket, frame)
        error = await receive(socket)
        assert (error["type"], error["code"], error["ref"]) == (
            "error",
            code,
            "message.edit",
        ), frame
        assert error["detail"]
    assert await frames_before_later_message(general, ana, *sockets) == [[], []]


async def test_an_edit_after_the_window_is_edit_window_closed(
    ana, general, sockets, settings
):
    settings.CHAT_EDIT_WINDOW_SECONDS = 60
    ana_socket, bob_socket = sockets
    message = await posted(bob_socket, ana, general)
    await receive(ana_socket)
    await database_sync_to_async(Message.objects.filter(pk=message.pk).update)(
        created_at=timezone.now() - timezone.timedelta(minutes=2)
    )
    await send(
        ana_socket,
        {"type": "message.edit", "id": message.pk, "body": "late", "client_id": "e1"},
    )
    error = await receive(ana_socket)
    assert (error["code"], error["ref"]) == ("edit_window_closed", "e1")
    assert "1 minute" in error["detail"]
    assert await frames_before_later_message(general, ana, *sockets) == [[], []]


async def test_message_delete_by_the_author_or_a_moderator(ana, bob, general, sockets):
    ana_socket, bob_socket = sockets
    by_bob = await posted(ana_socket, bob, general, "bob's")
    await receive(bob_socket)
    by_ana = await posted(ana_socket, ana, general, "ana's")
    await receive(bob_socket)
    # bob is a plain member: ana's message is not his to delete.
    await send(bob_socket, {"type": "message.delete", "id": by_ana.pk})
    assert (await receive(bob_socket))["code"] == "forbidden"
    await send(bob_socket, {"type": "message.delete", "id": by_bob.pk})
    for socket in sockets:
        assert await receive(socket) == {
            "type": "message.deleted",
            "room": "general",
            "id": by_bob.pk,
        }
    # ana owns the room: she deletes anyone's.
    await send(ana_socket, {"type": "message.delete", "id": by_ana.pk})
    for socket in sockets:
        assert await receive(socket) == {
            "type": "message.deleted",
            "room": "general",
            "id": by_ana.pk,
        }
    await send(ana_socket, {"type": "message.delete", "id": by_ana.pk})
    assert (await receive(ana_socket))["code"] == "not_found"


async def test_reactions_are_broadcast_and_idempotent(ana, bob, general, sockets):
    ana_socket, bob_socket = sockets
    message = await posted(bob_socket, ana, general)
    await receive(ana_socket)
    ana_user = {"id": ana.pk, "username": "ana"}
    bob_user = {"id": bob.pk, "username": "bob"}
    add = {"type": "reaction.add", "message_id": message.pk, "emoji": "👍"}
    base = {
        "type": "reaction.updated",
        "room": "general",
        "message_id": message.pk,
        "emoji": "👍",
    }
    expected = [
        {**base, "count": 1, "users": [ana_user], "user": ana_user, "added": True},
        {**base, "count": 2, "users": [ana_user, bob_user], "user": bob_user,
         "added": True},
    ]  # fmt: skip
    for sender, frame in zip(sockets, expected, strict=True):
        await send(sender, add)
        for socket in sockets:
            assert await receive(socket) == frame
    # Adding again, or removing what is not there, changes and sends nothing.
    await send(ana_socket, add)
    await send(ana_socket, {**add, "type": "reaction.remove", "emoji": "🎉"})
    # A real removal next: its broadcast is the next frame on both sockets, so the
    # two frames above were answered and broadcast nothing (one room, one order).
    await send(ana_socket, {**add, "type": "reaction.remove"})
    removed = {**base, "count": 1, "users": [bob_user], "user": ana_user}
    for socket in sockets:
        assert await receive(socket) == {**removed, "added": False}
    assert await database_sync_to_async(Reaction.objects.count)() == 1


async def test_reaction_refusals_are_error_frames_with_ref(
    ana, bob, carol, general, hideout, sockets
):
    ana_socket, bob_socket = sockets
    message = await posted(bob_socket, ana, general)
    await receive(ana_socket)
    secret, _ = await post(room=hideout, author=ana, body="s", client_id="s")
    await database_sync_to_async(services.member_mute)(
        room=general, actor=ana, user=bob, minutes=5
    )
    assert (await receive(bob_socket))["type"] == "member.muted"
    carol_socket = await open_chat(carol)
    react = {"type": "reaction.add", "message_id": message.pk, "emoji": "👍"}
    cases = [
        (ana_socket, {**react, "emoji": "nope"}, "invalid_emoji"),
        (ana_socket, {**react, "emoji": "👍👍"}, "invalid_emoji"),
        (ana_socket, {**react, "emoji": None}, "bad_frame"),
        (ana_socket, {**react, "message_id": 999999}, "not_found"),
        (bob_socket, react, "muted"),
        (bob_socket, {**react, "message_id": secret.pk}, "not_found"),
        (carol_socket, react, "not_found"),  # not a member of general
    ]
    for socket, frame, code in cases:
        await send(socket, frame)
        error = await receive(socket)
        assert (error["type"], error["code"], error["ref"]) == (
            "error",
            code,
            "reaction.add",
        ), frame
    assert await database_sync_to_async(Reaction.objects.count)() == 0
    await carol_socket.disconnect()


async def test_replay_carries_the_reactions(ana, bob, general):
    message, _ = await post(room=general, author=ana, body="old", client_id="o")
    await database_sync_to_async(reactions.reaction_add)(
        message=message, user=bob, emoji="🎉"
    )
    socket = await open_chat(bob)
    replayed, _ = await subscribe(socket, "general", since=0)
    assert replayed[0]["message"]["reactions"] == [
        {"emoji": "🎉", "count": 1, "users": [{"id": bob.pk, "username": "bob"}]}
    ]
    await socket.disconnect()


async def test_gap_repair_carries_the_reactions(ana, bob, general, sockets):
    ana_socket, bob_socket = sockets
    lost = await database_sync_to_async(message_create_without_broadcast)(general, ana)
    await database_sync_to_async(reactions.reaction_add)(
        message=lost, user=bob, emoji="👀"
    )
    assert (await receive(bob_socket))["type"] == "reaction.updated"
    await post(room=general, author=ana, body="next", client_id="next")
    repaired, live = await receive(bob_socket), await receive(bob_socket)
    assert repaired["message"]["id"] == lost.pk
    assert [r["emoji"] for r in repaired["message"]["reactions"]] == ["👀"]
    assert live["message"]["body"] == "next"
