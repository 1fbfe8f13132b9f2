"""No side doors: what the admin writes about rooms, memberships and messages goes
through the services, so the affected sockets hear of it and the audit log has it;
what no service does is not offered. Driven over HTTP as a logged-in staff member,
with real sockets on the real layer."""

import pytest
from channels.db import database_sync_to_async

from chat import services
from chat.models import Membership, Message, ModerationAction, Room
from tests.sockets import open_chat, receive, send, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private_with_bob(ana, bob, hideout):
    """ana's private room, with bob added to it."""
    services.member_add(room=hideout, actor=ana, user=bob)
    return hideout


def audit(kind: str) -> list[tuple]:
    return list(
        ModerationAction.objects.filter(kind=kind).values_list(
            "actor__username", "room__slug", "target_user__username", "detail"
        )
    )


async def refused_subscription(socket, room: str) -> dict:
    """What the socket is answered when it subscribes to the room (an error)."""
    await send(socket, {"type": "subscribe", "room": room})
    return await receive(socket)


async def test_deleting_a_membership_in_the_admin_removes_the_member_live(
    admin_client, bob, private_with_bob
):
    socket = await open_chat(bob)
    await subscribe(socket, "hideout")
    membership = await Membership.objects.aget(user=bob, room=private_with_bob)
    response = await database_sync_to_async(admin_client.post)(
        f"/admin/chat/membership/{membership.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert await receive(socket) == {
        "type": "room.removed",
        "room": "hideout",
        "reason": "removed",
    }
    # bob no longer reads the private room: it does not exist for him any more.
    answer = await refused_subscription(socket, "hideout")
    assert (answer["type"], answer["code"]) == ("error", "room_not_found")
    assert await database_sync_to_async(audit)("member_remove") == [
        ("admin", "hideout", "bob", "")
    ]
    await socket.disconnect()


async def test_the_remove_action_removes_members_live_and_bulk_delete_is_gone(
    admin_client, bob, private_with_bob
):
    page = await database_sync_to_async(admin_client.get)("/admin/chat/membership/")
    assert 'value="delete_selected"' not in page.content.decode()
    assert 'value="remove"' in page.content.decode()
    socket = await open_chat(bob)
    await subscribe(socket, "hideout")
    membership = await Membership.objects.aget(user=bob, room=private_with_bob)
    response = await database_sync_to_async(admin_client.post)(
        "/admin/chat/membership/",
        {"action": "remove", "_selected_action": [str(membership.pk)]},
    )
    assert response.status_code == 302
    assert (await receive(socket))["type"] == "room.removed"
    assert await database_sync_to_async(audit)("member_remove") == [
        ("admin", "hideout", "bob", "")
    ]
    await socket.disconnect()


async def test_adding_a_member_in_the_admin_tells_their_sockets_and_is_audited(
    admin_client, carol, hideout
):
    socket = await open_chat(carol)
    response = await database_sync_to_async(admin_client.post)(
        "/admin/chat/membership/add/",
        {"user": carol.pk, "room": hideout.pk, "role": "moderator"},
    )
    assert response.status_code == 302, response.content[:1000]
    added = await receive(socket)
    assert (added["type"], added["room"]["slug"]) == ("room.added", "hideout")
    await subscribe(socket, "hideout")  # carol now reads the private room
    assert await database_sync_to_async(audit)("member_add") == [
        ("admin", "hideout", "carol", "")
    ]
    assert await database_sync_to_async(audit)("member_role") == [
        ("admin", "hideout", "carol", "moderator")
    ]
    await socket.disconnect()


def test_a_role_changed_in_the_admin_is_audited_and_a_refused_one_is_a_form_error(
    admin_client, ana, bob, general
):
    bobs = Membership.objects.get(user=bob, room=general)
    response = admin_client.post(
        f"/admin/chat/membership/{bobs.pk}/change/", {"role": "moderator"}
    )
    assert response.status_code == 302, response.content[:1000]
    assert audit("member_role") == [("admin", "general", "bob", "moderator")]
    anas = Membership.objects.get(user=ana, room=general)
    response = admin_client.post(
        f"/admin/chat/membership/{anas.pk}/change/", {"role": "member"}
    )
    assert response.status_code == 200
    assert "The owner&#x27;s role cannot be changed." in response.content.decode()
    assert Membership.objects.get(pk=anas.pk).role == "owner"
    assert len(audit("member_role")) == 1


def test_adding_a_banned_user_in_the_admin_is_a_form_error(
    admin_client, ana, bob, general
):
    services.member_ban(room=general, actor=ana, user=bob)
    response = admin_client.post(
        "/admin/chat/membership/add/",
        {"user": bob.pk, "room": general.pk, "role": "member"},
    )
    assert response.status_code == 200
    assert "bob is banned from this room" in response.content.decode()
    assert not Membership.objects.filter(user=bob, room=general).exists()
    assert audit("member_add") == []


def test_a_membership_delete_the_service_refuses_is_reported_not_a_500(
    admin_client, admin_user, general
):
    services.room_join(user=admin_user, room=general)
    own = Membership.objects.get(user=admin_user, room=general)
    response = admin_client.post(
        f"/admin/chat/membership/{own.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert "You cannot do that to yourself." in response.content.decode()
    assert Membership.objects.filter(pk=own.pk).exists()
    assert audit("member_remove") == []


def test_the_rooms_membership_inline_is_read_only(admin_client, bob, general):
    page = admin_client.get(f"/admin/chat/room/{general.pk}/change/").content.decode()
    assert "bob" in page
    assert 'name="memberships-0-role"' not in page
    assert 'name="memberships-0-DELETE"' not in page
    bobs = Membership.objects.get(user=bob, room=general)
    # A forged inline deletion and role change alongside a rename change nothing.
    response = admin_client.post(
        f"/admin/chat/room/{general.pk}/change/",
        {"name": "General chat", "topic": "", "memberships-TOTAL_FORMS": "1",
         "memberships-INITIAL_FORMS": "1", "memberships-MIN_NUM_FORMS": "0",
         "memberships-MAX_NUM_FORMS": "1000", "memberships-0-id": str(bobs.pk),
         "memberships-0-room": str(general.pk), "memberships-0-role": "moderator",
         "memberships-0-DELETE": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content[:1000]
    assert Membership.objects.get(pk=bobs.pk).role == "member"
    assert Room.objects.get(pk=general.pk).name == "General chat"
    assert audit("room_update") == [("admin", "general", None, "name,topic")]


def test_rooms_are_neither_added_nor_deleted_in_the_admin(admin_client, general):
    assert admin_client.get("/admin/chat/room/add/").status_code == 403
    assert (
        admin_client.post(
            f"/admin/chat/room/{general.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    page = admin_client.get("/admin/chat/room/").content.decode()
    assert 'value="delete_selected"' not in page
    response = admin_client.post(
        "/admin/chat/room/",
        {
            "action": "delete_selected",
            "_selected_action": [str(general.pk)],
            "post": "yes",
        },
    )
    assert Room.objects.filter(pk=general.pk).exists()
    assert Membership.objects.filter(room=general).count() == 2
    assert response.status_code in (200, 302)


def test_the_room_form_fixes_what_no_service_changes(admin_client, general):
    page = admin_client.get(f"/admin/chat/room/{general.pk}/change/").content.decode()
    for field in ("slug", "is_private", "owner", "kind"):
        assert f'name="{field}"' not in page
    assert 'name="name"' in page and 'name="topic"' in page


async def test_an_admin_edit_reaches_sockets_as_the_staff_members(
    admin_client, admin_user, ana, bob, general
):
    message, _ = await database_sync_to_async(services.message_create)(
        room=general, author=ana, body="a phone number", client_id="p"
    )
    socket = await open_chat(bob)
    await subscribe(socket, "general")
    response = await database_sync_to_async(admin_client.post)(
        f"/admin/chat/message/{message.pk}/change/",
        {"body": "[removed by staff]", "revisions-TOTAL_FORMS": "0",
         "revisions-INITIAL_FORMS": "0", "revisions-MIN_NUM_FORMS": "0",
         "revisions-MAX_NUM_FORMS": "1000"},
    )  # fmt: skip
    assert response.status_code == 302, response.content[:1000]
    edited = await receive(socket)
    assert edited["type"] == "message.edited"
    assert edited["message"]["body"] == "[removed by staff]"
    assert edited["message"]["author"]["username"] == "ana"
    revision = await (await Message.objects.aget(pk=message.pk)).revisions.aget()
    assert (revision.body, revision.editor_id) == ("a phone number", admin_user.pk)
    assert await database_sync_to_async(audit)("message_edit") == [
        ("admin", "general", "ana", "")
    ]
    await socket.disconnect()
