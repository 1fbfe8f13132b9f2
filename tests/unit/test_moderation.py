"""Moderation services: who may do what, and the audit log every action leaves."""

import pytest

from chat import services
from chat.errors import PermissionDenied
from chat.models import Membership, ModerationAction

pytestmark = pytest.mark.django_db


def kinds() -> list[str]:
    return list(ModerationAction.objects.order_by("id").values_list("kind", flat=True))


def test_every_moderation_action_is_audited_with_actor_target_and_reason(
    ana, bob, general
):
    message, _ = services.message_create(
        room=general, author=bob, body="x", client_id="x"
    )
    services.message_delete(message=message, actor=ana, reason="spam")
    services.message_restore(message=message, actor=ana, reason="oops")
    services.member_mute(room=general, actor=ana, user=bob, minutes=5, reason="calm")
    services.member_unmute(room=general, actor=ana, user=bob)
    services.member_set_role(room=general, actor=ana, user=bob, role="moderator")
    services.member_set_role(room=general, actor=ana, user=bob, role="member")
    services.member_ban(room=general, actor=ana, user=bob, reason="abuse")
    services.member_unban(room=general, actor=ana, user=bob)
    assert kinds() == [
        "message_delete", "message_restore", "member_mute", "member_unmute",
        "member_role", "member_role", "member_ban", "member_unban",
    ]  # fmt: skip
    ban = ModerationAction.objects.get(kind="member_ban")
    assert (ban.actor, ban.target_user, ban.room, ban.reason) == (
        ana,
        bob,
        general,
        "abuse",
    )


def test_authors_deleting_their_own_messages_are_not_moderation(ana, general):
    message, _ = services.message_create(
        room=general, author=ana, body="x", client_id="x"
    )
    services.message_delete(message=message, actor=ana)
    assert kinds() == []


def test_members_cannot_restore_or_moderate(ana, bob, carol, general):
    services.room_join(user=carol, room=general)
    message, _ = services.message_create(
        room=general, author=ana, body="x", client_id="x"
    )
    services.message_delete(message=message, actor=ana)
    with pytest.raises(PermissionDenied):
        services.message_restore(message=message, actor=bob)
    with pytest.raises(PermissionDenied):
        services.member_mute(room=general, actor=bob, user=carol, minutes=5)


def test_moderators_cannot_act_on_moderators_or_the_owner(ana, bob, carol, general):
    services.room_join(user=carol, room=general)
    services.member_set_role(room=general, actor=ana, user=bob, role="moderator")
    services.member_set_role(room=general, actor=ana, user=carol, role="moderator")
    with pytest.raises(PermissionDenied):
        services.member_ban(room=general, actor=bob, user=carol)
    with pytest.raises(PermissionDenied):
        services.member_mute(room=general, actor=bob, user=ana, minutes=5)
    assert Membership.objects.filter(room=general, user=carol).exists()


def test_only_staff_deactivate_and_it_is_audited(ana, bob, make_user):
    with pytest.raises(PermissionDenied):
        services.user_deactivate(actor=ana, user=bob)
    staff = make_user("boss", is_staff=True)
    services.user_deactivate(actor=staff, user=bob, reason="spammer")
    bob.refresh_from_db()
    assert bob.is_active is False
    entry = ModerationAction.objects.get(kind="user_deactivate")
    assert (entry.actor, entry.target_user, entry.reason) == (staff, bob, "spammer")
    with pytest.raises(PermissionDenied):
        services.user_deactivate(actor=staff, user=staff)
