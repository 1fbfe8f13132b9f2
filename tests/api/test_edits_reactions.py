"""Edits with history and reactions over REST: the same rules and broadcasts as the
socket's frames."""

from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat import reactions, services
from chat.models import Message, MessageRevision, Reaction
from tests.api.conftest import client_for
from tests.sockets import open_chat, receive, subscribe


def message_url(message, suffix: str = "") -> str:
    return f"/api/v1/messages/{message.pk}/{suffix}"


def reaction_url(message, emoji: str) -> str:
    # '#' of a keycap, for one, must be escaped in a path.
    return message_url(message, f"reactions/{quote(emoji)}/")


@pytest.fixture
def message(bob, general):
    message, _ = services.message_create(
        room=general, author=bob, body="v1", client_id="b1"
    )
    return message


# ---- edits --------------------------------------------------------------------------


@pytest.mark.django_db
def test_revisions_list_every_version_oldest_first_current_last(ana, bob, message):
    client = client_for(bob, "token")
    assert client.patch(message_url(message), {"body": "v2"}, format="json").json()
    edited = client.patch(message_url(message), {"body": "v3"}, format="json").json()
    revisions = MessageRevision.objects.order_by("id")
    response = client_for(ana, "token").get(message_url(message, "revisions/"))
    assert response.status_code == 200
    bob_object = {"id": bob.pk, "username": "bob"}
    assert response.json() == [
        {"body": "v1", "author": bob_object, "created_at": edited["created_at"],
         "replaced_at": response.json()[1]["created_at"]},
        {"body": "v2", "author": bob_object,
         "created_at": response.json()[0]["replaced_at"],
         "replaced_at": edited["edited_at"]},
        {"body": "v3", "author": bob_object, "created_at": edited["edited_at"],
         "replaced_at": None},
    ]  # fmt: skip
    assert [r.body for r in revisions] == ["v1", "v2"]


@pytest.mark.django_db
def test_an_unedited_message_has_one_version(ana, message):
    versions = client_for(ana, "token").get(message_url(message, "revisions/")).json()
    assert [v["body"] for v in versions] == ["v1"]
    assert versions[0]["replaced_at"] is None


@pytest.mark.django_db
def test_revisions_are_for_moderators_only(ana, bob, carol, general, message):
    services.room_join(user=carol, room=general)
    for user in (bob, carol):  # the author and another plain member
        response = client_for(user, "token").get(message_url(message, "revisions/"))
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"


@pytest.mark.django_db
def test_revisions_of_a_message_one_cannot_read_are_404(carol, hideout, ana):
    secret, _ = services.message_create(
        room=hideout, author=ana, body="s", client_id="s"
    )
    response = client_for(carol, "token").get(message_url(secret, "revisions/"))
    assert response.status_code == 404


@pytest.mark.django_db
def test_an_edit_after_the_window_is_403_edit_window_closed(bob, message, settings):
    settings.CHAT_EDIT_WINDOW_SECONDS = 600
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timezone.timedelta(minutes=11)
    )
    response = client_for(bob, "token").patch(
        message_url(message), {"body": "late"}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "code": "edit_window_closed",
        "detail": "Messages can only be edited within 10 minutes of posting.",
    }
    message.refresh_from_db()
    assert message.body == "v1"


@pytest.mark.django_db
def test_an_unchanged_edit_answers_the_message_and_stores_nothing(bob, message):
    response = client_for(bob, "token").patch(
        message_url(message), {"body": " v1 "}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["edited_at"] is None
    assert not MessageRevision.objects.exists()


@pytest.mark.django_db
def test_a_muted_author_cannot_edit(ana, bob, general, message):
    services.member_mute(room=general, actor=ana, user=bob, minutes=5)
    response = client_for(bob, "token").patch(
        message_url(message), {"body": "v2"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (403, "muted")


@pytest.mark.django_db
def test_edits_are_rate_limited_like_sends(bob, message, settings):
    settings.CHAT_SEND_BURST = "1/60"
    client = client_for(bob, "token")
    assert (
        client.patch(message_url(message), {"body": "v2"}, format="json").status_code
        == 200
    )
    response = client.patch(message_url(message), {"body": "v3"}, format="json")
    assert (response.status_code, response.json()["code"]) == (429, "rate_limited")
    assert response["Retry-After"]


@pytest.mark.django_db
def test_an_author_who_left_cannot_edit(bob, general, message):
    services.room_leave(user=bob, room=general)
    response = client_for(bob, "token").patch(
        message_url(message), {"body": "v2"}, format="json"
    )
    assert response.status_code == 404  # no longer readable for bob


# ---- reactions ----------------------------------------------------------------------


@pytest.mark.django_db
def test_post_reaction_is_201_then_200_and_answers_the_message(ana, bob, message):
    client = client_for(ana, "session")
    first = client.post(message_url(message, "reactions/"), {"emoji": "👍"}, "json")
    again = client.post(message_url(message, "reactions/"), {"emoji": "👍"}, "json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["id"] == message.pk
    assert first.json()["reactions"] == [
        {"emoji": "👍", "count": 1, "users": [{"id": ana.pk, "username": "ana"}]}
    ]
    assert Reaction.objects.count() == 1


@pytest.mark.django_db
def test_delete_reaction_is_204_whether_or_not_it_was_there(ana, message):
    client = client_for(ana, "token")
    client.post(message_url(message, "reactions/"), {"emoji": "#️⃣"}, format="json")
    assert client.delete(reaction_url(message, "#️⃣")).status_code == 204
    assert not Reaction.objects.exists()
    assert client.delete(reaction_url(message, "#️⃣")).status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize("emoji", ["", "ok", "👍👍", 5, None, ["👍"]])
def test_anything_but_one_emoji_is_a_400(ana, message, emoji):
    response = client_for(ana, "token").post(
        message_url(message, "reactions/"), {"emoji": emoji}, format="json"
    )
    assert response.status_code == 400
    if isinstance(emoji, str):
        assert response.json()["code"] == "invalid_emoji"
    assert not Reaction.objects.exists()


@pytest.mark.django_db
def test_deleting_a_non_emoji_is_a_400(ana, message):
    response = client_for(ana, "token").delete(reaction_url(message, "ok"))
    assert (response.status_code, response.json()["code"]) == (400, "invalid_emoji")


@pytest.mark.django_db
def test_non_members_cannot_react(carol, general, message, make_user):
    response = client_for(carol, "token").post(
        message_url(message, "reactions/"), {"emoji": "👍"}, format="json"
    )
    assert response.status_code == 404  # a non-member cannot read the message
    staff = make_user("boss", is_staff=True)
    response = client_for(staff, "token").post(
        message_url(message, "reactions/"), {"emoji": "👍"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (403, "not_member")
    assert not Reaction.objects.exists()


@pytest.mark.django_db
def test_reactions_on_a_deleted_message_are_404(ana, message):
    services.message_delete(message=message, actor=ana)
    response = client_for(ana, "token").post(
        message_url(message, "reactions/"), {"emoji": "👍"}, format="json"
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_too_many_different_reactions_is_a_400(ana, message, settings):
    settings.CHAT_REACTION_EMOJI_MAX = 1
    client = client_for(ana, "token")
    client.post(message_url(message, "reactions/"), {"emoji": "👍"}, format="json")
    response = client.post(
        message_url(message, "reactions/"), {"emoji": "🎉"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (
        400,
        "too_many_reactions",
    )


@pytest.mark.django_db
def test_history_pages_carry_reactions_in_a_fixed_number_of_queries(
    ana, bob, general, django_assert_num_queries
):
    for i in range(60):
        message, _ = services.message_create(
            room=general, author=ana, body=str(i), client_id=str(i)
        )
        reactions.reaction_add(message=message, user=bob, emoji="👍")
    client = client_for(bob, "token")
    for limit in (5, 50):
        # token + room with membership + messages + their reactions + their
        # attachments: not one per message
        with django_assert_num_queries(5):
            page = client.get(f"/api/v1/rooms/general/messages/?limit={limit}").json()
        assert len(page["results"]) == limit
        assert all(m["reactions"][0]["count"] == 1 for m in page["results"])


# ---- REST, then the socket ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_rest_reaction_reaches_a_socket_as_the_state_rest_answers(
    ana, bob, general
):
    message, _ = await database_sync_to_async(services.message_create)(
        room=general, author=ana, body="react", client_id="r"
    )
    socket = await open_chat(ana)
    await subscribe(socket, "general")
    client = await database_sync_to_async(client_for)(bob, "token")
    response = await database_sync_to_async(client.post)(
        message_url(message, "reactions/"), {"emoji": "🎉"}, format="json"
    )
    assert response.status_code == 201
    (group,) = response.json()["reactions"]
    frame = await receive(socket)
    assert frame == {
        "type": "reaction.updated",
        "room": "general",
        "message_id": message.pk,
        "emoji": group["emoji"],
        "count": group["count"],
        "users": group["users"],
        "user": {"id": bob.pk, "username": "bob"},
        "added": True,
    }
    # Already there: 200, and nothing is broadcast.
    again = await database_sync_to_async(client.post)(
        message_url(message, "reactions/"), {"emoji": "🎉"}, format="json"
    )
    assert again.status_code == 200
    response = await database_sync_to_async(client.delete)(reaction_url(message, "🎉"))
    assert response.status_code == 204
    # The removal's broadcast is the next frame: had the repeated add broadcast
    # anything, it would have come first (one room, one order).
    removed = await receive(socket)
    assert (removed["count"], removed["users"], removed["added"]) == (0, [], False)
    # A history page afterwards agrees with what the socket was told.
    page = await database_sync_to_async(client.get)("/api/v1/rooms/general/messages/")
    assert page.json()["results"][0]["reactions"] == []
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_rest_edit_reaches_a_socket_as_the_message_rest_answers(
    ana, bob, general
):
    message, _ = await database_sync_to_async(services.message_create)(
        room=general, author=ana, body="typo", client_id="t"
    )
    await database_sync_to_async(reactions.reaction_add)(
        message=message, user=bob, emoji="👀"
    )
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    client = await database_sync_to_async(client_for)(ana, "token")
    response = await database_sync_to_async(client.patch)(
        message_url(message), {"body": "fixed"}, format="json"
    )
    assert await receive(socket) == {
        "type": "message.edited",
        "room": "general",
        "message": response.json(),
    }
    assert response.json()["reactions"][0]["emoji"] == "👀"
    await socket.disconnect()
