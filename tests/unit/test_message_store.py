"""Storing a message row, on whichever database the run uses (SQLite's ORM steps, or
PostgreSQL's one statement, from sync code and from the event loop): the same facts
from every implementation."""

import asyncio
import threading
from datetime import timedelta

import psycopg
import pytest
from django.db import close_old_connections, transaction
from django.utils import timezone

from chat import loop_clients, message_store, services
from chat.models import Membership, Message, Room

pytestmark = pytest.mark.django_db(transaction=True)


def store_sync(**kwargs):
    with transaction.atomic():
        return message_store.store(**kwargs)


def store_on_a_loop(**kwargs):
    """As the socket stores: on an event loop (PostgreSQL's async pool; other
    databases have no loop implementation, and the socket uses the sync one)."""
    if not loop_clients.postgres_available():
        return store_sync(**kwargs)

    async def run():
        try:
            return await message_store.store_async(**kwargs)
        finally:
            await loop_clients.close_for_running_loop()

    return asyncio.run(run())


@pytest.fixture(params=["sync", "loop"])
def store(request):
    """Both ways in: a sync caller's transaction, and the event loop."""
    return store_sync if request.param == "sync" else store_on_a_loop


def fields(room, author, client_id="c1", body="hi"):
    return {
        "room_id": room.pk,
        "author_id": author.pk,
        "body": body,
        "client_id": client_id,
        "created_at": timezone.now(),
    }


def test_a_new_message_moves_the_rooms_newest_id_and_names_the_one_before(
    store, ana, general
):
    first = store(**fields(general, ana, "c1"))
    second = store(**fields(general, ana, "c2"))
    assert first.created and second.created
    assert first.prev_id == 0
    assert second.prev_id == first.message_id
    assert Room.objects.get(pk=general.pk).last_message_id == second.message_id
    stored = Message.objects.get(pk=second.message_id)
    assert (stored.body, stored.client_id, stored.author_id) == ("hi", "c2", ana.pk)
    assert second.created_at == stored.created_at


def test_a_client_id_stores_once(store, ana, general):
    first = store(**fields(general, ana, "same", body="one"))
    again = store(**fields(general, ana, "same", body="two"))
    assert not again.created and again.message_id == first.message_id
    assert Message.objects.filter(room=general).count() == 1
    assert Room.objects.get(pk=general.pk).last_message_id == first.message_id


def test_a_non_member_stores_nothing(store, carol, general):
    result = store(**fields(general, carol))
    assert (result.room_found, result.is_member, result.message_id) == (
        True,
        False,
        None,
    )
    assert not Message.objects.exists()


def test_a_missing_room_stores_nothing(store, ana, general):
    result = store(**{**fields(general, ana), "room_id": general.pk + 1000})
    assert not result.room_found and result.message_id is None
    assert not Message.objects.exists()


def test_a_muted_member_stores_nothing_until_the_mute_ends(store, ana, bob, general):
    until = timezone.now() + timedelta(minutes=5)
    Membership.objects.filter(room=general, user=bob).update(muted_until=until)
    result = store(**fields(general, bob))
    assert result.message_id is None and result.muted_until == until
    assert not Message.objects.exists()
    Membership.objects.filter(room=general, user=bob).update(
        muted_until=timezone.now() - timedelta(seconds=1)
    )
    assert store(**fields(general, bob)).created


def test_a_resend_of_a_stored_message_is_answered_even_while_muted(store, bob, general):
    first = store(**fields(general, bob, "before-mute"))
    until = timezone.now() + timedelta(minutes=5)
    Membership.objects.filter(room=general, user=bob).update(muted_until=until)
    again = store(**fields(general, bob, "before-mute"))
    assert again.message_id == first.message_id and not again.created


def test_concurrent_sends_of_one_client_id_store_one_row(ana, general):
    """Threads racing with the same client_id: one stores, every other is answered
    with that row (on PostgreSQL the loser's statement runs again)."""
    results, barrier = [], threading.Barrier(6)

    def send():
        try:
            barrier.wait(timeout=10)
            results.append(store_sync(**fields(general, ana, "raced")))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 6
    assert sum(result.created for result in results) == 1
    assert len({result.message_id for result in results}) == 1
    assert Message.objects.filter(room=general, client_id="raced").count() == 1


def test_concurrent_sends_to_one_room_get_ids_in_commit_order(ana, bob, general):
    """Each message's prev_id is the message stored just before it: the chain of
    prev_ids walks every id of the room, with no id skipped or repeated."""
    results, barrier = [], threading.Barrier(4)

    def send(author, n):
        try:
            barrier.wait(timeout=10)
            for i in range(10):
                results.append(store_sync(**fields(general, author, f"{n}-{i}")))
        finally:
            close_old_connections()

    authors = [ana, bob, ana, bob]
    threads = [
        threading.Thread(target=send, args=(author, n))
        for n, author in enumerate(authors)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    previous = {result.message_id: result.prev_id for result in results}
    ids = sorted(previous)
    assert len(ids) == 40
    assert [previous[i] for i in ids] == [0, *ids[:-1]]


def test_the_service_answers_a_resent_client_id_with_the_stored_message(ana, general):
    message, created = services.message_create(
        room=general, author=ana, body="hello", client_id="again"
    )
    same, created_again = services.message_create(
        room=general, author=ana, body="other text", client_id="again"
    )
    assert created and not created_again
    assert (same.pk, same.body) == (message.pk, "hello")


async def test_the_loops_pool_serves_a_burst_of_first_uses(postgres):
    """A reconnect storm reaches a fresh worker: every handshake that arrives while
    its loop's pool is opening waits for that one pool, none uses it unopened."""

    async def select_one():
        pool = await loop_clients.postgres_pool()
        async with pool.connection() as conn:
            return pool, await (await conn.execute("SELECT 1")).fetchone()

    results = await asyncio.gather(*(select_one() for _ in range(20)))
    assert {id(pool) for pool, _ in results} == {id(results[0][0])}
    assert all(row == (1,) for _, row in results)


async def test_messages_stored_together_commit_together_in_room_order(
    postgres, ana, bob, general, hideout
):
    """Stores asked together go in one round trip: one transaction (the rows share
    PostgreSQL's xmin), each room's ids in the order of its stores, each prev_id the
    message stored just before it in its room."""
    rooms = [hideout, general] * 3  # interleaved: the batch sorts them by room
    authors = {hideout.pk: ana, general.pk: bob}
    results = await asyncio.gather(
        *(
            message_store.store_async(**fields(room, authors[room.pk], f"{n}"))
            for n, room in enumerate(rooms)
        )
    )
    assert all(result.created for result in results)
    xmins = await _xmins([result.message_id for result in results])
    assert len(set(xmins.values())) == 1
    previous = {general.pk: 0, hideout.pk: 0}
    for room, result in zip(rooms, results, strict=True):
        assert result.prev_id == previous[room.pk]
        assert result.message_id > result.prev_id
        previous[room.pk] = result.message_id


async def _xmins(message_ids) -> dict[int, str]:
    pool = await loop_clients.postgres_pool()
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, xmin::text FROM chat_message WHERE id = ANY(%s)",
            [list(message_ids)],
        )
        return dict(await cursor.fetchall())


async def test_a_store_that_fails_in_a_batch_fails_alone(postgres, ana, general):
    """One statement's error aborts its batch's transaction: the others are stored
    all the same (each again alone), and only the faulty one's caller sees it."""
    good = message_store.store_async(**fields(general, ana, "good"))
    bad = message_store.store_async(**fields(general, ana, "bad", body="nul\x00"))
    also_good = message_store.store_async(**fields(general, ana, "also-good"))
    outcomes = await asyncio.gather(good, bad, also_good, return_exceptions=True)
    assert isinstance(outcomes[1], psycopg.DataError)
    assert outcomes[0].created and outcomes[2].created
    pool = await loop_clients.postgres_pool()
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT client_id FROM chat_message WHERE room_id = %s", [general.pk]
        )
        stored = {client_id for (client_id,) in await cursor.fetchall()}
    assert stored == {"good", "also-good"}
