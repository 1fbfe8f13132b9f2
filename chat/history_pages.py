"""Pages of a room's history for sockets (replay after `since`, gap repair), read once
for every socket of this process that asks for the same page at about the same time,
with their frames encoded once.

A reconnect storm brings hundreds of sockets of one room back with the same `since`,
and a lost broadcast leaves every socket of a room with the same gap: each reading
and encoding the same page was most of a storm's cost (docs/benchmarks.md). Here a
distinct page (room, after, up to, limit) has at most one read running; sockets that
ask while it runs share the next read, which starts when it ends.

Why not share the running read: a socket reads history only after joining the room's
group (chat.consumers), so that a change committed after its read reaches it live. A
read that started before the socket joined might miss a change the socket would not
hear of either; a read that starts after every sharer has joined cannot.
"""

import asyncio
from dataclasses import dataclass, field

from chat import protocol, selectors
from chat.delivery.frames import Wire


@dataclass(slots=True)
class Page:
    """Oldest first: the messages' ids and their message objects."""

    ids: list[int]
    message_objects: list[dict]
    room_slug: str
    _wires: dict = field(default_factory=dict)

    def wires(self, *, replay: bool) -> list[Wire]:
        """The `message.new` frames, encoded once per page and flag for every
        socket that shares the page."""
        wires = self._wires.get(replay)
        if wires is None:
            wires = self._wires[replay] = [
                Wire(
                    protocol.encode(
                        {
                            "type": "message.new",
                            "room": self.room_slug,
                            "message": message_object,
                            "replay": replay,
                        }
                    )
                )
                for message_object in self.message_objects
            ]
        return wires


class _Reads:
    """One event loop's reads: running, and the next one of each page, not started."""

    def __init__(self):
        self.running: dict[tuple, asyncio.Task] = {}
        self.next: dict[tuple, asyncio.Task] = {}


_reads_by_loop: dict[asyncio.AbstractEventLoop, _Reads] = {}


def _reads() -> _Reads:
    loop = asyncio.get_running_loop()
    reads = _reads_by_loop.get(loop)
    if reads is None:
        for old in [old for old in _reads_by_loop if old.is_closed()]:
            del _reads_by_loop[old]  # a finished test's loop
        reads = _reads_by_loop[loop] = _Reads()
    return reads


async def page_after(
    *, room_id: int, room_slug: str, after_id: int, up_to_id: int, limit: int
) -> Page:
    """Up to `limit` visible messages with after_id < id <= up_to_id, oldest first,
    from a read that started after this call."""
    key = (room_id, room_slug, after_id, up_to_id, limit)
    reads = _reads()
    task = reads.next.get(key)
    if task is None:
        task = asyncio.get_running_loop().create_task(
            _read(reads, key, after=reads.running.get(key))
        )
        reads.next[key] = task
    # Shielded: a socket that closes while it waits does not cancel the others' read.
    return await asyncio.shield(task)


async def _read(reads: _Reads, key: tuple, *, after: asyncio.Task | None) -> Page:
    room_id, room_slug, after_id, up_to_id, limit = key
    if after is not None:
        await asyncio.wait([after])
    this = asyncio.current_task()
    # Starting now: whoever asks from here on waits for the next read.
    if reads.next.get(key) is this:
        del reads.next[key]
    reads.running[key] = this
    try:
        messages = await selectors.message_page_after_async(
            room_id=room_id, after_id=after_id, up_to_id=up_to_id, limit=limit
        )
        return Page(
            ids=[message.pk for message in messages],
            message_objects=[
                protocol.message_object(message, room_slug=room_slug)
                for message in messages
            ],
            room_slug=room_slug,
        )
    finally:
        if reads.running.get(key) is this:
            del reads.running[key]
