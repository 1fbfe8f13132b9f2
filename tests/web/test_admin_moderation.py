"""The admin as a moderation console: search, filters, and actions that go through
the services (broadcast live, audited)."""

import pytest

from chat import services
from chat.models import Membership, Message, ModerationAction, RoomBan
from tests.layer import listen, next_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def spam(ana, bob, general):
    return [
        services.message_create(
            room=general, author=bob, body=f"BUY NOW {i}", client_id=str(i)
        )[0]
        for i in range(3)
    ]


def act(admin_client, model: str, action: str, ids) -> None:
    app = "auth" if model == "user" else "chat"
    response = admin_client.post(
        f"/admin/{app}/{model}/",
        {"action": action, "_selected_action": [str(i) for i in ids]},
    )
    assert response.status_code == 302, response.content[:500]


def test_message_search_and_filters(admin_client, ana, spam):
    services.message_create(room=spam[0].room, author=ana, body="hello", client_id="h")
    services.message_delete(message=spam[0], actor=ana)
    page = admin_client.get("/admin/chat/message/", {"q": "BUY"})
    assert page.status_code == 200
    assert "BUY NOW 1" in page.content.decode() and "hello" not in page.content.decode()
    assert admin_client.get("/admin/chat/message/", {"q": "bob"}).status_code == 200
    deleted = admin_client.get(
        "/admin/chat/message/", {"deleted": "yes"}
    ).content.decode()
    assert "BUY NOW 0" in deleted and "BUY NOW 1" not in deleted
    for query in ({"room__id__exact": spam[0].room_id}, {"author__id__exact": ana.pk},
                  {"created_at__year": spam[0].created_at.year}):  # fmt: skip
        assert admin_client.get("/admin/chat/message/", query).status_code == 200


def test_delete_action_is_a_live_audited_soft_delete(admin_client, spam):
    channel = listen(spam[0].room.group_name)
    act(admin_client, "message", "delete_messages", [m.pk for m in spam])
    assert Message.objects.filter(deleted_at__isnull=True).count() == 0
    events = [next_event(channel) for _ in spam]
    assert all(event["type"] == "chat.message.changed" for event in events)
    assert ModerationAction.objects.filter(kind="message_delete").count() == 3


def test_bulk_delete_that_would_bypass_the_services_is_not_offered(admin_client, spam):
    page = admin_client.get("/admin/chat/message/").content.decode()
    assert 'value="delete_selected"' not in page
    assert 'value="delete_messages"' in page


def test_restore_action_brings_messages_back_live(admin_client, ana, spam):
    services.message_delete(message=spam[0], actor=ana)
    channel = listen(spam[0].room.group_name)
    act(admin_client, "message", "restore_messages", [spam[0].pk])
    spam[0].refresh_from_db()
    assert spam[0].deleted_at is None
    event = next_event(channel)
    assert '"type":"message.restored"' in event["frame"]


def test_ban_authors_action_cleans_up_a_spam_wave(admin_client, bob, spam):
    channel = listen(f"user.{bob.pk}")
    act(admin_client, "message", "ban_authors", [spam[0].pk])
    assert RoomBan.objects.filter(user=bob, room=spam[0].room).exists()
    assert not Membership.objects.filter(user=bob, room=spam[0].room).exists()
    assert Message.objects.filter(author=bob, deleted_at__isnull=True).count() == 0
    assert next_event(channel)["type"] == "chat.room.removed"


def test_mute_action_on_memberships(admin_client, bob, general):
    membership = Membership.objects.get(user=bob, room=general)
    act(admin_client, "membership", "mute_60", [membership.pk])
    membership.refresh_from_db()
    assert membership.muted_until is not None
    act(admin_client, "membership", "unmute", [membership.pk])
    membership.refresh_from_db()
    assert membership.muted_until is None


def test_ban_and_unban_actions(admin_client, bob, general):
    act(
        admin_client,
        "membership",
        "ban",
        [Membership.objects.get(user=bob, room=general).pk],
    )
    ban = RoomBan.objects.get(user=bob, room=general)
    act(admin_client, "roomban", "unban", [ban.pk])
    assert not RoomBan.objects.exists()


def test_deactivate_user_action_sends_the_deactivation_live(admin_client, bob):
    channel = listen(f"user.{bob.pk}")
    act(admin_client, "user", "deactivate", [bob.pk])
    bob.refresh_from_db()
    assert bob.is_active is False
    assert next_event(channel)["type"] == "chat.user.deactivated"


def test_unticking_active_in_the_user_form_deactivates_live(admin_client, bob):
    from django.contrib.auth import get_user_model

    channel = listen(f"user.{bob.pk}")
    admin_client.get(f"/admin/auth/user/{bob.pk}/change/")
    data = {
        "username": "bob", "password": bob.password, "is_active": "",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
    }  # fmt: skip
    response = admin_client.post(f"/admin/auth/user/{bob.pk}/change/", data)
    assert response.status_code == 302, response.content[:800]
    assert get_user_model().objects.get(pk=bob.pk).is_active is False
    assert next_event(channel)["type"] == "chat.user.deactivated"
    assert ModerationAction.objects.filter(kind="user_deactivate").exists()


def test_audit_log_is_read_only(admin_client, ana, bob, general):
    services.member_mute(room=general, actor=ana, user=bob, minutes=5)
    entry = ModerationAction.objects.get()
    assert admin_client.get("/admin/chat/moderationaction/").status_code == 200
    assert admin_client.get("/admin/chat/moderationaction/add/").status_code == 403
    page = admin_client.get(f"/admin/chat/moderationaction/{entry.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = admin_client.post(f"/admin/chat/moderationaction/{entry.pk}/delete/")
    assert response.status_code == 403
    assert ModerationAction.objects.count() == 1
