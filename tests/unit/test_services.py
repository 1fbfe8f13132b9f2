"""The write path: validation, storage, idempotency and broadcast after commit."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import protocol, selectors, services
from chat.errors import BodyEmpty, BodyTooLong, InvalidInput, NotMember, RoomNotFound
from chat.models import Membership, Message, Room

pytestmark = pytest.mark.django_db


def test_room_create_makes_the_creator_owner(ana):
    room = services.room_create(owner=ana, slug="Team Talk", name=" Team ")
    assert room.slug == "team-talk"
    assert room.name == "Team"
    assert Membership.objects.get(room=room, user=ana).role == "owner"


def test_room_slug_must_be_unique(ana, general):
    with pytest.raises(InvalidInput, match="is not available"):
        services.room_create(owner=ana, slug="general", name="Again")
    assert Room.objects.filter(slug="general").count() == 1


def test_room_slug_and_name_may_be_in_any_script(ana):
    room = services.room_create(owner=ana, slug="聊天室", name="聊天室")
    assert room.slug == "聊天室"
    assert room.group_name == f"room.{room.pk}"


def test_private_room_cannot_be_joined_by_outsiders(carol, hideout):
    with pytest.raises(RoomNotFound):
        services.room_join(user=carol, room=hideout)
    assert not Membership.objects.filter(user=carol, room=hideout).exists()


def test_room_list_shows_public_rooms_and_own_private_ones(
    ana, carol, general, hideout
):
    assert [r.slug for r in selectors.room_list_for_user(user=carol)] == ["general"]
    assert {r.slug for r in selectors.room_list_for_user(user=ana)} == {
        "general",
        "hideout",
    }


def test_private_room_is_not_found_for_outsiders(carol, hideout):
    with pytest.raises(RoomNotFound):
        selectors.room_get_visible(user=carol, slug="hideout")


def test_message_create_stores_trimmed_body_and_tracks_last_id(
    ana, general, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message, created = services.message_create(
            room=general, author=ana, body="  hi  ", client_id="c1"
        )
    assert created is True
    assert message.body == "hi"
    assert Room.objects.get(pk=general.pk).last_message_id == message.pk
    assert len(callbacks) == 1  # exactly one broadcast, queued for after commit


def test_message_create_is_idempotent_per_author_room_and_client_id(
    ana, bob, general, django_capture_on_commit_callbacks
):
    first, _ = services.message_create(
        room=general, author=ana, body="a", client_id="same"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again, created = services.message_create(
            room=general, author=ana, body="b", client_id="same"
        )
    assert (again.pk, created, again.body) == (first.pk, False, "a")
    assert callbacks == []  # a resend broadcasts nothing
    # Another author may use the same client_id.
    other, created = services.message_create(
        room=general, author=bob, body="c", client_id="same"
    )
    assert created and other.pk != first.pk


def test_non_member_cannot_post(carol, general):
    with pytest.raises(NotMember):
        services.message_create(room=general, author=carol, body="hi", client_id="c")
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [("   ", BodyEmpty), ("\x00", BodyEmpty), ("x" * 4001, BodyTooLong)],
)
def test_bad_bodies_are_refused_before_any_write(ana, general, body, error):
    with pytest.raises(error):
        services.message_create(room=general, author=ana, body=body, client_id="c")
    assert Message.objects.count() == 0


def test_message_body_clean_normalises_line_breaks_and_keeps_emoji_sequences():
    family = "👩\u200d👩\u200d👧"
    assert services.message_body_clean(f"a\r\nb\rc {family}") == f"a\nb\nc {family}"


def test_history_pages_use_a_bounded_number_of_queries(ana, general):
    for i in range(30):
        services.message_create(room=general, author=ana, body=str(i), client_id=str(i))
    with CaptureQueriesContext(connection) as queries:
        page = selectors.message_page_before(
            room_id=general.pk, before_id=None, limit=20
        )
        [
            (m.author.username, protocol.reactions_object(m), list(m.attachments.all()))
            for m in page
        ]
    assert len(page) == 20
    # The messages with their authors, then all their reactions, then all their
    # attachments: one query each, however many messages.
    assert len(queries) == 3


def test_deleted_messages_leave_history(ana, general):
    message, _ = services.message_create(
        room=general, author=ana, body="x", client_id="x"
    )
    services.message_delete(message=message, actor=ana)
    assert (
        selectors.message_page_before(room_id=general.pk, before_id=None, limit=10)
        == []
    )


def test_unread_counts_come_from_the_read_marker_and_skip_own_and_deleted(
    ana, bob, general, hideout
):
    sent = [
        services.message_create(
            room=general, author=ana, body=str(i), client_id=str(i)
        )[0]
        for i in range(5)
    ]
    services.message_create(room=general, author=bob, body="mine", client_id="b")
    services.message_delete(message=sent[4], actor=ana)

    def unread(user):
        return {r.slug: r.unread_count for r in selectors.room_list_for_user(user=user)}

    assert unread(bob) == {"general": 4}  # 5 by ana, one deleted; bob's own not counted
    services.membership_mark_read(user=bob, room=general, last_id=sent[1].pk)
    assert unread(bob) == {"general": 2}
    assert unread(ana)["hideout"] == 0
