"""Posting, editing and deleting over REST: same rules and broadcasts as the socket."""

import pytest
from channels.db import database_sync_to_async

from chat import services
from chat.models import Message
from tests.api.conftest import client_for
from tests.sockets import open_chat, receive, subscribe

URL = "/api/v1/rooms/general/messages/"


@pytest.mark.django_db(transaction=True)
async def test_message_posted_over_rest_reaches_a_socket_as_the_same_object(
    ana, bob, general
):
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    client = await database_sync_to_async(client_for)(ana, "token")
    response = await database_sync_to_async(client.post)(
        URL, {"body": " over REST ", "client_id": "r-1"}, format="json"
    )
    assert response.status_code == 201
    live = await receive(socket)
    assert live == {
        "type": "message.new",
        "room": "general",
        "message": response.json(),
        "replay": False,
    }
    assert response.json()["body"] == "over REST"
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_edit_and_delete_over_rest_are_broadcast(ana, bob, general):
    message, _ = await database_sync_to_async(services.message_create)(
        room=general, author=ana, body="first", client_id="e-1"
    )
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    client = await database_sync_to_async(client_for)(ana, "session")
    response = await database_sync_to_async(client.patch)(
        f"/api/v1/messages/{message.pk}/", {"body": "second"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["edited_at"] is not None
    assert await receive(socket) == {
        "type": "message.edited",
        "room": "general",
        "message": response.json(),
    }
    response = await database_sync_to_async(client.delete)(
        f"/api/v1/messages/{message.pk}/"
    )
    assert response.status_code == 204
    assert await receive(socket) == {
        "type": "message.deleted",
        "room": "general",
        "id": message.pk,
    }
    await socket.disconnect()


@pytest.mark.django_db
def test_resent_client_id_answers_200_with_the_stored_message(ana, general):
    client = client_for(ana, "token")
    first = client.post(URL, {"body": "one", "client_id": "same"}, format="json")
    again = client.post(URL, {"body": "two", "client_id": "same"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Message.objects.filter(client_id="same").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"body": "   ", "client_id": "a"}, "body_empty"),
        ({"body": "x" * 4001, "client_id": "a"}, "body_too_long"),
    ],
)
def test_body_rules_match_the_socket(ana, general, payload, code):
    response = client_for(ana, "token").post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not Message.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"client_id": "a"},
        {"body": "hi"},
        {"body": "hi", "client_id": ""},
        {"body": "hi", "client_id": "k" * 65},
        {"body": 5, "client_id": "a"},
        {"body": ["hi"], "client_id": "a"},
    ],
)
def test_malformed_posts_are_400_with_field_errors(ana, general, payload):
    response = client_for(ana, "token").post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()


@pytest.mark.django_db
def test_deleted_message_disappears_from_history(ana, general):
    client = client_for(ana, "token")
    keep = client.post(URL, {"body": "keep", "client_id": "k"}, format="json").json()
    gone = client.post(URL, {"body": "gone", "client_id": "g"}, format="json").json()
    assert client.delete(f"/api/v1/messages/{gone['id']}/").status_code == 204
    assert [m["id"] for m in client.get(URL).json()["results"]] == [keep["id"]]
    assert (
        client.patch(
            f"/api/v1/messages/{gone['id']}/", {"body": "x"}, format="json"
        ).status_code
        == 404
    )


@pytest.mark.django_db
def test_only_the_author_edits(ana, bob, general):
    message, _ = services.message_create(
        room=general, author=ana, body="a", client_id="a"
    )
    response = client_for(bob, "token").patch(
        f"/api/v1/messages/{message.pk}/", {"body": "hijack"}, format="json"
    )
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.body == "a"


@pytest.mark.django_db
def test_muted_member_gets_muted_until_unmuted(ana, bob, general):
    services.member_mute(room=general, actor=ana, user=bob, minutes=10, reason="calm")
    client = client_for(bob, "token")
    response = client.post(URL, {"body": "hi", "client_id": "m"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "muted")
    services.member_unmute(room=general, actor=ana, user=bob)
    assert (
        client.post(URL, {"body": "hi", "client_id": "m"}, format="json").status_code
        == 201
    )


@pytest.mark.django_db
def test_mute_expires(ana, bob, general):
    from django.utils import timezone

    membership = services.member_mute(room=general, actor=ana, user=bob, minutes=10)
    membership.muted_until = timezone.now() - timezone.timedelta(seconds=1)
    membership.save()
    response = client_for(bob, "token").post(
        URL, {"body": "free again", "client_id": "m"}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.django_db
def test_banned_member_cannot_rejoin_until_unbanned(ana, bob, general):
    client = client_for(ana, "token")
    assert (
        client.post(f"/api/v1/rooms/general/members/{bob.pk}/ban/").status_code == 204
    )
    bob_client = client_for(bob, "token")
    response = bob_client.post("/api/v1/rooms/general/join/")
    assert (response.status_code, response.json()["code"]) == (403, "banned")
    assert bob_client.get(URL).status_code == 403
    assert (
        client.post(f"/api/v1/rooms/general/members/{bob.pk}/unban/").status_code == 204
    )
    assert bob_client.post("/api/v1/rooms/general/join/").status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_ban_sends_room_removed_to_the_members_sockets(ana, bob, general):
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    client = await database_sync_to_async(client_for)(ana, "token")
    response = await database_sync_to_async(client.post)(
        f"/api/v1/rooms/general/members/{bob.pk}/ban/",
        {"reason": "spam"},
        format="json",
    )
    assert response.status_code == 204
    assert await receive(socket) == {
        "type": "room.removed",
        "room": "general",
        "reason": "banned",
    }
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_staff_notify_reaches_every_socket_of_the_user(bob, make_user):
    staff = await database_sync_to_async(make_user)("boss", is_staff=True)
    sockets = [await open_chat(bob), await open_chat(bob)]
    client = await database_sync_to_async(client_for)(staff, "token")
    response = await database_sync_to_async(client.post)(
        f"/api/v1/users/{bob.pk}/notify/", {"data": {"text": "hi"}}, format="json"
    )
    assert response.status_code == 202
    for socket in sockets:
        assert await receive(socket) == {"type": "notify", "data": {"text": "hi"}}
        await socket.disconnect()


@pytest.mark.django_db
def test_notify_to_unknown_user_is_404(make_user):
    staff = make_user("boss", is_staff=True)
    response = client_for(staff, "token").post(
        "/api/v1/users/999999/notify/", {"data": {}}, format="json"
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_room_detail_counts_members(ana, bob, general):
    room = client_for(ana, "token").get("/api/v1/rooms/general/").json()
    assert room["member_count"] == 2
    assert room["owner"] == {"id": ana.pk, "username": "ana"}
    assert room["is_member"] is True


@pytest.mark.django_db
def test_room_list_only_shows_what_the_caller_may_see(carol, general, hideout):
    rooms = client_for(carol, "token").get("/api/v1/rooms/").json()
    assert [room["slug"] for room in rooms] == ["general"]


@pytest.mark.django_db
def test_create_room_with_a_taken_slug_is_400(ana, general):
    response = client_for(ana, "token").post(
        "/api/v1/rooms/", {"slug": "general", "name": "Again"}, format="json"
    )
    assert response.status_code == 400
    assert "is not available" in response.json()["detail"]


@pytest.mark.django_db
def test_a_private_rooms_slug_is_refused_as_any_taken_slug_is(bob, general, hideout):
    client = client_for(bob, "token")

    def create(slug):
        response = client.post(
            "/api/v1/rooms/", {"slug": slug, "name": "Mine"}, format="json"
        )
        return response.status_code, response.json()

    private_status, private_body = create("hideout")
    public_status, public_body = create("general")
    # The answer for the private room bob cannot see is the public room's, word for
    # word but for the slug, and it does not say that a room exists.
    assert private_status == public_status == 400
    assert private_body == {
        **public_body,
        "detail": public_body["detail"].replace("general", "hideout"),
    }
    assert "exist" not in private_body["detail"]
