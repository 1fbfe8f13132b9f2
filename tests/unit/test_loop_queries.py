"""The socket's reads on the event loop (chat.loop_queries) answer exactly what the
ORM readers answer: the same querysets, compiled once (on PostgreSQL; elsewhere the
async readers are the ORM readers on the database threads)."""

import pytest
from channels.db import database_sync_to_async
from django.db.models import Q
from django.utils import timezone

from chat import selectors, services
from chat.errors import NotMember, RoomNotFound
from chat.loop_queries import LoopQuery
from chat.models import Membership, Message

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def post(room, author, body, client_id):
    return services.message_create(
        room=room, author=author, body=body, client_id=client_id
    )[0]


async def both_counts(user, room):
    sync = await database_sync_to_async(selectors.room_unread_counts)(
        user=user, room_id=room.pk
    )
    on_loop = await selectors.room_unread_counts_async(user=user, room_id=room.pk)
    found = await selectors.room_for_subscriber_async(
        user=user, room_id=room.pk, slug=room.slug
    )
    if found is not None:  # PostgreSQL: the subscriber's one read counts the same
        assert found[0].pk == room.pk
        assert found[1] == sync
    return sync, on_loop


async def test_unread_counts_on_the_loop_match_the_orm_readers(ana, bob, general):
    sync, on_loop = await both_counts(bob, general)
    assert (
        on_loop
        == sync
        == {
            "unread_count": 0,
            "mention_count": 0,
            "last_read_id": 0,
            "last_id": 0,
        }
    )
    first = await post(general, ana, "one", "c1")
    await post(general, ana, "hi @bob", "c2")
    await post(general, bob, "my own", "c3")
    deleted = await post(general, ana, "gone", "c4")
    await database_sync_to_async(services.message_delete)(message=deleted, actor=ana)
    sync, on_loop = await both_counts(bob, general)
    assert on_loop == sync
    assert (on_loop["unread_count"], on_loop["mention_count"]) == (2, 1)
    await database_sync_to_async(services.membership_mark_read)(
        user=bob, room=general, last_id=first.pk
    )
    sync, on_loop = await both_counts(bob, general)
    assert on_loop == sync
    assert (on_loop["unread_count"], on_loop["last_read_id"]) == (1, first.pk)


async def test_unread_counts_on_the_loop_stop_at_the_cap(
    ana, bob, general, monkeypatch
):
    for index in range(4):
        await post(general, ana, f"m{index}", f"c{index}")
    monkeypatch.setattr(selectors, "UNREAD_COUNT_CAP", 3)
    sync, on_loop = await both_counts(bob, general)
    assert on_loop == sync and on_loop["unread_count"] == 3


async def test_a_member_gets_the_room_and_membership_from_the_loop(ana, bob, general):
    until = timezone.now() + timezone.timedelta(minutes=3)
    await database_sync_to_async(
        lambda: Membership.objects.filter(user=bob).update(muted_until=until)
    )()
    room, membership = await selectors.room_get_for_member_async(
        user=bob, slug="general"
    )
    assert (room.pk, room.slug, room.name, room.kind) == (
        general.pk,
        "general",
        "General",
        "room",
    )
    assert (room.is_private, room.owner_id, room.group_name) == (
        False,
        ana.pk,
        general.group_name,
    )
    assert (membership.role, membership.user_id, membership.muted_until) == (
        "member",
        bob.pk,
        until,
    )


async def test_refusals_from_the_loop_are_the_orm_readers_refusals(
    carol, general, hideout
):
    with pytest.raises(NotMember):
        await selectors.room_get_for_member_async(user=carol, slug="general")
    with pytest.raises(RoomNotFound):
        await selectors.room_get_for_member_async(user=carol, slug="hideout")
    with pytest.raises(RoomNotFound):
        await selectors.room_get_for_member_async(user=carol, slug="nowhere")


async def test_the_subscribers_one_read_refuses_what_it_cannot_vouch_for(
    ana, carol, general, hideout, postgres
):
    # Not a member, the slug of another room, a room that is gone: None, and the
    # caller reads the usual way (which tells the refusal).
    read = selectors.room_for_subscriber_async
    assert await read(user=ana, room_id=general.pk, slug="general") is not None
    assert await read(user=carol, room_id=general.pk, slug="general") is None
    assert await read(user=ana, room_id=general.pk, slug="hideout") is None
    assert await read(user=ana, room_id=hideout.pk, slug="general") is None
    assert await read(user=ana, room_id=-1, slug="general") is None


async def test_a_slug_is_a_value_never_sql(ana, general):
    with pytest.raises(RoomNotFound):
        await selectors.room_get_for_member_async(user=ana, slug="general' OR '1'='1")


def test_a_query_that_ignores_an_argument_is_refused():
    def ignores_room(*, room_id, user_id):
        return Message.objects.filter(Q(author_id=user_id)).values_list("id")

    query = LoopQuery(ignores_room, ints=("room_id", "user_id"))
    with pytest.raises(ValueError, match="room_id"):
        query._compile()
