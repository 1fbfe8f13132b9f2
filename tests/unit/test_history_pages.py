"""History pages for sockets (chat.history_pages): one read for many askers, and
never a read that started before the asker asked."""

import asyncio

import orjson
import pytest
from channels.db import database_sync_to_async

from chat import history_pages, selectors, services

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def post(room, author, n):
    return [
        services.message_create(
            room=room, author=author, body=f"m{i}", client_id=f"c{n}-{i}"
        )[0]
        for i in range(3)
    ]


def page_args(room, up_to_id):
    return {
        "room_id": room.pk,
        "room_slug": room.slug,
        "after_id": 0,
        "up_to_id": up_to_id,
        "limit": 100,
    }


async def test_many_sockets_asking_for_one_page_share_few_reads(
    ana, general, monkeypatch
):
    messages = await post(general, ana, 1)
    reads = []
    original = selectors.message_page_after_async

    async def counted(**kwargs):
        reads.append(kwargs)
        return await original(**kwargs)

    monkeypatch.setattr(selectors, "message_page_after_async", counted)
    pages = await asyncio.gather(
        *(
            history_pages.page_after(**page_args(general, messages[-1].pk))
            for _ in range(50)
        )
    )
    # All 50 asked before any read started: one read serves them all.
    assert len(reads) == 1
    assert all(page.ids == [m.pk for m in messages] for page in pages)
    wires = pages[0].wires(replay=True)
    frames = [wire.text for wire in wires]
    assert [orjson.loads(frame)["message"]["body"] for frame in frames] == [
        "m0",
        "m1",
        "m2",
    ]
    assert all(orjson.loads(frame)["replay"] is True for frame in frames)
    assert pages[1].wires(replay=True) is wires  # encoded once


async def test_asking_while_a_read_runs_waits_for_a_read_that_starts_later(
    ana, general, monkeypatch
):
    """The running read may have missed a change made before the second asker
    joined the room's group: the second asker gets a read of its own."""
    messages = await post(general, ana, 1)
    started, release = asyncio.Event(), asyncio.Event()
    reads = []
    original = selectors.message_page_after_async

    async def slow_first(**kwargs):
        reads.append(kwargs)
        page = await original(**kwargs)
        if len(reads) == 1:  # read, then held until the test lets it answer
            started.set()
            await release.wait()
        return page

    monkeypatch.setattr(selectors, "message_page_after_async", slow_first)
    args = page_args(general, messages[-1].pk)
    first = asyncio.ensure_future(history_pages.page_after(**args))
    await started.wait()
    # Committed after the first read read, while it is still running ...
    deleted = messages[0]
    await database_sync_to_async(services.message_delete)(message=deleted, actor=ana)
    second = asyncio.ensure_future(history_pages.page_after(**args))
    release.set()
    assert (await first).ids == [m.pk for m in messages]
    # ... the second asker's read started after it: it has it.
    assert (await second).ids == [m.pk for m in messages[1:]]
    assert len(reads) == 2


async def test_a_socket_that_stops_waiting_does_not_cancel_the_others_read(
    ana, general
):
    messages = await post(general, ana, 1)
    args = page_args(general, messages[-1].pk)
    leaving = asyncio.ensure_future(history_pages.page_after(**args))
    staying = asyncio.ensure_future(history_pages.page_after(**args))
    await asyncio.sleep(0)
    leaving.cancel()
    assert (await staying).ids == [m.pk for m in messages]


async def page_objects(room, up_to_id) -> list[dict]:
    page = await history_pages.page_after(**page_args(room, up_to_id))
    return page.message_objects


@database_sync_to_async
def orm_page_objects(room, up_to_id) -> list[dict]:
    from chat import protocol

    return [
        protocol.message_object(message, room_slug=room.slug)
        for message in selectors.message_page_after(
            room_id=room.pk, after_id=0, up_to_id=up_to_id, limit=100
        )
    ]


@pytest.mark.parametrize("extra", ["nothing", "a reaction", "a mention"])
async def test_a_page_is_the_orm_readers_page_whatever_its_messages_carry(
    ana, bob, general, extra
):
    # Plain pages are built from one statement on PostgreSQL; a page with anything
    # more is read by the ORM reader: either way the same message objects.
    messages = await post(general, ana, 1)
    if extra == "a reaction":
        from chat import reactions

        await database_sync_to_async(reactions.reaction_add)(
            message=messages[1], user=bob, emoji="👍"
        )
    elif extra == "a mention":
        await database_sync_to_async(services.message_create)(
            room=general, author=ana, body="hi @bob", client_id="with-mention"
        )
    up_to_id = (await database_sync_to_async(general.messages.latest)("id")).pk
    objects = await page_objects(general, up_to_id)
    assert objects == await orm_page_objects(general, up_to_id)
    if extra == "a reaction":
        assert objects[1]["reactions"][0]["emoji"] == "👍"
    if extra == "a mention":
        assert objects[-1]["mentions"] == [{"id": bob.pk, "username": "bob"}]
