"""History pages for sockets (chat.history_pages): one read for many askers, and
never a read that started before the asker asked."""

import asyncio
import threading

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
    original = selectors.message_page_after

    def counted(**kwargs):
        reads.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(selectors, "message_page_after", counted)
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
    started, release = threading.Event(), threading.Event()
    reads = []
    original = selectors.message_page_after

    def slow_first(**kwargs):
        reads.append(kwargs)
        page = original(**kwargs)
        if len(reads) == 1:  # read, then held until the test lets it answer
            started.set()
            release.wait(timeout=10)
        return page

    monkeypatch.setattr(selectors, "message_page_after", slow_first)
    args = page_args(general, messages[-1].pk)
    first = asyncio.ensure_future(history_pages.page_after(**args))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
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
