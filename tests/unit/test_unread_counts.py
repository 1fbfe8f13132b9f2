"""Unread counts: visible messages by others after the member's read marker."""

import pytest

from chat import selectors, services

pytestmark = pytest.mark.django_db


def post(room, author, n, prefix="m"):
    return [
        services.message_create(
            room=room, author=author, body=f"{prefix}{i}", client_id=f"{prefix}{i}"
        )[0]
        for i in range(n)
    ]


def test_counts_follow_the_read_marker(ana, bob, general):
    messages = post(general, ana, 5)
    counts = selectors.room_unread_counts(user=bob, room_id=general.pk)
    assert counts == {
        "unread_count": 5,
        "mention_count": 0,
        "last_read_id": 0,
        "last_id": messages[-1].pk,
    }
    services.membership_mark_read(user=bob, room=general, last_id=messages[2].pk)
    counts = selectors.room_unread_counts(user=bob, room_id=general.pk)
    assert counts["unread_count"] == 2 and counts["last_read_id"] == messages[2].pk


def test_the_count_stops_at_the_cap(ana, bob, general, monkeypatch, settings):
    settings.CHAT_SEND_BURST = "100/5"
    settings.CHAT_SEND_SUSTAINED = "100/60"
    monkeypatch.setattr(selectors, "UNREAD_COUNT_CAP", 3)
    post(general, ana, 5)
    assert (
        selectors.room_unread_counts(user=bob, room_id=general.pk)["unread_count"] == 3
    )
    assert {r.slug: r.unread_count for r in selectors.room_list_for_user(user=bob)} == {
        "general": 3
    }


def test_a_read_that_moves_nothing_tells_nobody(
    ana, bob, general, django_capture_on_commit_callbacks
):
    messages = post(general, ana, 2)
    with django_capture_on_commit_callbacks() as moved:
        services.membership_mark_read(user=bob, room=general, last_id=messages[1].pk)
    with django_capture_on_commit_callbacks() as unmoved:
        services.membership_mark_read(user=bob, room=general, last_id=messages[0].pk)
    assert len(moved) == 1 and unmoved == []


def brute_force_unread(user, room) -> int:
    """The definition: visible messages by others after the read marker, capped."""
    from chat.models import Membership, Message

    marker = Membership.objects.get(user=user, room=room).last_read_id
    return min(
        selectors.UNREAD_COUNT_CAP,
        Message.objects.filter(room=room, deleted_at__isnull=True, id__gt=marker)
        .exclude(author=user)
        .count(),
    )


def test_counts_from_positions_agree_with_the_definition_through_any_history(
    ana, bob, carol, general
):
    """Sends by everyone, deletions, reads up to any id (seen, bogus, older), a
    member leaving and coming back: the badge counted from positions is always the
    count of visible messages by others after the marker."""
    import random

    from chat.models import Message, Room

    services.room_join(user=carol, room=general)
    people = [ana, bob, carol]
    chance = random.Random(1207)
    for step in range(120):
        actor = chance.choice(people)
        action = chance.random()
        if action < 0.55:
            services.message_create(
                room=general, author=actor, body=f"s{step}", client_id=f"s{step}"
            )
        elif action < 0.65:
            visible = list(Message.objects.filter(room=general, deleted_at=None))
            if visible:
                message = chance.choice(visible)
                services.message_delete(message=message, actor=message.author)
        elif action < 0.9:
            ids = list(
                Message.objects.filter(room=general).values_list("id", flat=True)
            )
            target = chance.choice([*ids, 0, 10**9]) if ids else 0
            services.membership_mark_read(user=actor, room=general, last_id=target)
        elif actor != ana:  # ana owns the room and cannot leave it
            services.room_leave(user=actor, room=general)
            services.room_join(user=actor, room=Room.objects.get(pk=general.pk))
        for person in people:
            counts = selectors.room_unread_counts(user=person, room_id=general.pk)
            assert counts["unread_count"] == brute_force_unread(person, general), (
                step,
                person.username,
            )
            listed = {
                room.slug: room.unread_count
                for room in selectors.room_list_for_user(user=person)
            }
            assert listed["general"] == counts["unread_count"], step


def test_counting_unread_reads_only_deleted_messages_never_the_history(
    ana, bob, general
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    post(general, ana, 30)
    with CaptureQueriesContext(connection) as queries:
        counts = selectors.room_unread_counts(user=bob, room_id=general.pk)
    assert counts["unread_count"] == 30
    # Messages are read only through the deleted ones (a small partial index) and
    # the user's own mentions (their index), never by counting visible history.
    on_messages = [q["sql"] for q in queries if '"chat_message"' in q["sql"]]
    assert on_messages, "the deleted messages are looked at"
    for sql in on_messages:
        assert '"deleted_at" IS NOT NULL' in sql or 'FROM "chat_mention"' in sql, sql
