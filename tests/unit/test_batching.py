"""chat.batching: calls that arrive while a batch runs go together in the next one."""

import asyncio

import pytest

from chat.batching import Batcher


class Recorder:
    """A batch function that records each batch and, when `gate` is set, waits for
    it before answering (a round trip under way)."""

    def __init__(self, answer=lambda item: item * 10):
        self.batches: list[list] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.answer = answer

    async def __call__(self, items):
        self.batches.append(list(items))
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        return [self.answer(item) for item in items]


async def test_calls_made_while_a_batch_runs_go_together_in_the_next():
    run = Recorder()
    run.gate = asyncio.Event()
    batcher = Batcher(run)
    first = asyncio.ensure_future(batcher.submit(1))
    await run.started.wait()
    later = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)  # let the later calls queue behind the running batch
    assert run.batches == [[1]]
    run.gate.set()
    assert await asyncio.gather(first, *later) == [10, 20, 30, 40]
    assert run.batches == [[1], [2, 3, 4]]


async def test_calls_made_in_one_turn_of_the_loop_go_together():
    run = Recorder()
    batcher = Batcher(run)
    assert await asyncio.gather(*(batcher.submit(n) for n in range(5))) == [
        0,
        10,
        20,
        30,
        40,
    ]
    assert run.batches == [[0, 1, 2, 3, 4]]


async def test_a_batch_holds_at_most_its_limit():
    run = Recorder()
    batcher = Batcher(run, limit=2)
    await asyncio.gather(*(batcher.submit(n) for n in range(5)))
    assert run.batches == [[0, 1], [2, 3], [4]]


async def test_an_items_failure_is_its_callers_alone():
    def answer(item):
        return ValueError(f"bad {item}") if item == 2 else item

    batcher = Batcher(Recorder(answer))
    outcomes = await asyncio.gather(
        *(batcher.submit(n) for n in (1, 2, 3)), return_exceptions=True
    )
    assert outcomes[0] == 1 and outcomes[2] == 3
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "bad 2"


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_runs():
    calls = []

    async def run(items):
        calls.append(list(items))
        if len(calls) == 1:
            raise ConnectionError("down")
        return list(items)

    batcher = Batcher(run)
    outcomes = await asyncio.gather(
        batcher.submit(1), batcher.submit(2), return_exceptions=True
    )
    assert [type(outcome) for outcome in outcomes] == [ConnectionError] * 2
    assert await batcher.submit(3) == 3


async def test_a_cancelled_caller_leaves_its_batch_to_finish_for_the_others():
    run = Recorder()
    run.gate = asyncio.Event()
    batcher = Batcher(run)
    leaving = asyncio.ensure_future(batcher.submit(1))
    staying = asyncio.ensure_future(batcher.submit(2))
    await run.started.wait()
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    run.gate.set()
    assert await staying == 20
    assert run.batches == [[1, 2]]


def test_a_batcher_starts_afresh_on_a_new_event_loop():
    """A server's loop lives as long as its process; tests run one loop each. A
    batch left waiting on a closed loop does not hold up the next loop's calls."""
    run = Recorder()
    batcher = Batcher(run)

    async def stranded():
        run.gate = asyncio.Event()  # never set: the loop closes under the batch
        asyncio.ensure_future(batcher.submit(1))
        await run.started.wait()
        asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0)  # 2 queues behind the batch that never ends
        assert [item for item, _ in batcher.waiting] == [2]

    asyncio.run(stranded())
    run.gate = None
    assert asyncio.run(batcher.submit(3)) == 30
    assert run.batches[-1] == [3]
