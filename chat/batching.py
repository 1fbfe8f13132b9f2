"""Natural batching on the event loop: calls that arrive while a batch is under way
go together in the next one.

Used where each call would otherwise be a round trip of its own to PostgreSQL or
Redis (a system call that wakes another process, the largest part of a busy
worker's cost per message): the first call after a quiet spell runs at once, alone;
under load, everything that queued meanwhile goes in one round trip. Nothing waits
for a timer, so a batch never adds latency to a call that would have run alone.

One `Batcher` serves one event loop at a time (a server's loop lives as long as the
process; each test runs its own, and the batcher starts afresh on a new loop).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# What `run` returns for each item: its result, or the exception its caller raises.
Outcome = Result | BaseException


class Batcher(Generic[Item, Result]):
    """`await batcher.submit(item)` -> that item's result from
    `run(items) -> [outcome per item, in order]`, which sees at most `limit` items.

    A caller that is cancelled does not take its item out of a batch already under
    way: what was sent is finished (and its outcome dropped).
    """

    def __init__(
        self,
        run: Callable[[Sequence[Item]], Awaitable[Sequence[Outcome]]],
        *,
        limit: int = 64,
    ):
        self.run, self.limit = run, limit
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: list[tuple[Item, asyncio.Future]] = []
        self.runner: asyncio.Task | None = None

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            self.loop, self.waiting, self.runner = loop, [], None
        future = loop.create_future()
        # Retrieved even if its caller has gone (a socket that closed meanwhile).
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        self.waiting.append((item, future))
        if self.runner is None or self.runner.done():
            self.runner = loop.create_task(self._run_batches())
        return await future

    async def _run_batches(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting[: self.limit], self.waiting[self.limit :]
            try:
                outcomes = await self.run([item for item, _ in batch])
            except Exception as error:  # the whole batch failed: each caller says so
                outcomes = [error] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
