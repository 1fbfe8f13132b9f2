"""Direct conversations: private two-person rooms with the rules of rooms."""

import pytest

from chat import selectors, services
from chat.errors import InvalidInput, NotFound, PermissionDenied, RoomNotFound
from chat.models import Membership, Room

pytestmark = pytest.mark.django_db


def test_opening_a_conversation_creates_one_private_room_for_exactly_the_two(ana, bob):
    room, created = services.direct_open(user=ana, other=bob)
    assert created
    assert room.kind == Room.Kind.DIRECT and room.is_private
    members = Membership.objects.filter(room=room)
    assert {m.user_id for m in members} == {ana.pk, bob.pk}
    assert {m.role for m in members} == {Membership.Role.MEMBER}  # nobody moderates


def test_opening_it_again_from_either_side_finds_the_same_room(ana, bob):
    room, _ = services.direct_open(user=ana, other=bob)
    again, created = services.direct_open(user=bob, other=ana)
    assert again.pk == room.pk and not created
    assert Room.objects.filter(kind=Room.Kind.DIRECT).count() == 1


def test_nobody_opens_a_conversation_with_themselves(ana):
    with pytest.raises(InvalidInput):
        services.direct_open(user=ana, other=ana)


def test_a_deactivated_account_cannot_be_messaged(ana, make_user):
    gone = make_user("gone", is_active=False)
    with pytest.raises(InvalidInput):
        services.direct_open(user=ana, other=gone)
    with pytest.raises(NotFound):
        services.direct_open_by_username(user=ana, username="gone")
    with pytest.raises(NotFound):
        services.direct_open_by_username(user=ana, username="nobody-at-all")


def test_a_third_person_can_neither_see_join_nor_be_added(ana, bob, carol):
    room, _ = services.direct_open(user=ana, other=bob)
    with pytest.raises(RoomNotFound):
        selectors.room_get_visible(user=carol, slug=room.slug)
    with pytest.raises(RoomNotFound):
        services.room_join(user=carol, room=room)
    with pytest.raises((InvalidInput, PermissionDenied)):
        services.member_add(room=room, actor=ana, user=carol)
    assert not Membership.objects.filter(room=room, user=carol).exists()


def test_a_conversation_cannot_be_left_renamed_or_given_moderators(ana, bob, make_user):
    staff = make_user("staff", is_staff=True)
    room, _ = services.direct_open(user=ana, other=bob)
    with pytest.raises(InvalidInput):
        services.room_leave(user=bob, room=room)
    with pytest.raises(InvalidInput):
        services.room_update(room=room, actor=staff, name="renamed")
    with pytest.raises(InvalidInput):
        services.member_set_role(room=room, actor=staff, user=bob, role="moderator")
    with pytest.raises(PermissionDenied):
        services.member_mute(room=room, actor=ana, user=bob, minutes=5)


def test_staff_moderate_a_conversation_like_any_room(ana, bob, make_user):
    staff = make_user("staff", is_staff=True)
    room, _ = services.direct_open(user=ana, other=bob)
    message, _ = services.message_create(
        room=room, author=bob, body="spam", client_id="s1"
    )
    services.message_delete(message=message, actor=staff, reason="spam")
    services.member_mute(room=room, actor=staff, user=bob, minutes=5)
    message.refresh_from_db()
    assert message.deleted_at is not None


def test_conversations_are_listed_apart_from_rooms_with_the_other_person(
    ana, bob, carol, general
):
    with_bob, _ = services.direct_open(user=ana, other=bob)
    with_carol, _ = services.direct_open(user=carol, other=ana)
    services.message_create(room=with_bob, author=bob, body="hi", client_id="1")
    assert [r.slug for r in selectors.room_list_for_user(user=ana)] == ["general"]
    listed = selectors.direct_list_for_user(user=ana)
    # Most recently active first.
    assert [(r.slug, r.peer.username) for r in listed] == [
        (with_bob.slug, "bob"),
        (with_carol.slug, "carol"),
    ]
    assert [r.unread_count for r in listed] == [1, 0]
    assert [r.peer.username for r in selectors.direct_list_for_user(user=bob)] == [
        "ana"
    ]


def test_no_user_made_room_can_take_a_conversation_slug(ana, bob):
    lookalike = services.room_create(owner=ana, slug="dm.1.2", name="Sneaky")
    assert lookalike.slug != services.direct_slug(1, 2)
