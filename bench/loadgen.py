"""Load generator for scenario S1 (fan-out): one process, asyncio, `websockets`.

Started by `bench/run.py` with a JSON config file; prints one JSON object per line:
`connected` once, then one `phase` per rate. All clients sit in one room; one sender
(client 0) sends at a fixed rate for a fixed time; every client, the sender included,
records the latency of each message it receives (receive time minus the send time
written in the body; sender and receivers share this process and its clock).
A target stops at its first unclean rate (loss > 0, p99 >= 250 ms, or the sender
could not keep the rate).
"""

import argparse
import asyncio
import json
import math
import time

from websockets.asyncio.client import connect

MARK = "BENCH|"
CLEAN_P99_MS = 250.0
STRAGGLER_SECONDS = 3.0
PAUSE_SECONDS = 1.0


class Phase:
    """What all clients received for one rate."""

    def __init__(self, tag: str):
        self.tag = tag
        self.received = 0
        self.latencies: list[float] = []
        self.last_receive = 0.0


class State:
    def __init__(self):
        self.phases: dict[str, Phase] = {}
        self.errors = 0
        self.error_sample = ""
        self.closed = 0


def emit(event: dict) -> None:
    print(json.dumps(event), flush=True)


def percentile(ordered: list[float], p: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


async def reader(socket, state: State) -> None:
    """Count benchmark messages; parse only the marker, never the whole JSON."""
    phases = state.phases
    try:
        async for text in socket:
            now = time.time()
            i = text.find(MARK)
            if i < 0:
                if '"error"' in text:
                    state.errors += 1
                    state.error_sample = state.error_sample or text[:200]
                continue
            tag, _seq, sent = text[i + 6 : text.find("|E", i)].split("|")
            phase = phases.get(tag)
            if phase is not None:
                phase.received += 1
                phase.latencies.append(now - float(sent))
                phase.last_receive = now
    except Exception:
        pass
    state.closed += 1


async def open_client(config: dict, index: int, limit: asyncio.Semaphore):
    """Connect one client; for `ours` read hello, subscribe, wait for subscribed."""
    async with limit:
        headers = {}
        if config["target"] == "ours":
            headers["Cookie"] = f"sessionid={config['cookies'][index]}"
        socket = await connect(
            config["url"],
            origin="http://127.0.0.1",
            additional_headers=headers,
            compression=None,
            ping_interval=None,
            max_size=2**20,
            open_timeout=15,
            close_timeout=2,
        )
        if config["target"] == "ours":
            hello = json.loads(await asyncio.wait_for(socket.recv(), 15))
            if hello.get("type") != "hello":
                raise RuntimeError(f"expected hello, got {hello}")
            frame = {"type": "subscribe", "room": config["room"]}
            await socket.send(json.dumps(frame))
            deadline = time.monotonic() + 15
            while True:
                left = deadline - time.monotonic()
                frame = json.loads(await asyncio.wait_for(socket.recv(), left))
                if frame.get("type") == "subscribed":
                    break
                if frame.get("type") == "error":
                    raise RuntimeError(f"subscribe refused: {frame}")
        return socket


async def heartbeat(config: dict, sockets: list, stop: asyncio.Event) -> None:
    """`ours` closes sockets silent for three heartbeats: send a ping every 20 s."""
    if config["target"] != "ours":
        return
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 20)
        except TimeoutError:
            for socket in sockets:
                try:
                    await socket.send('{"type":"ping"}')
                except Exception:
                    pass


async def send_phase(config: dict, socket, tag: str, rate: float, seconds: float):
    """Send rate*seconds messages on a fixed schedule; returns (sent, duration)."""
    loop = asyncio.get_running_loop()
    count = int(rate * seconds)
    ours = config["target"] == "ours"
    room = config["room"]
    start = loop.time()
    for seq in range(count):
        delay = start + seq / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        body = f"{MARK}{tag}|{seq}|{time.time():.6f}|E"
        if ours:
            frame = {
                "type": "message.send",
                "room": room,
                "body": body,
                "client_id": f"{tag}-{seq}",
            }
        else:
            frame = {"message": body}
        await socket.send(json.dumps(frame))
    return count, loop.time() - start


async def run_phase(config: dict, sender, state: State, rate: float) -> dict:
    seconds = config["seconds"]
    clients = config["clients"]
    tag = f"{config['run_id']}r{rate:g}"
    phase = Phase(tag)
    state.phases[tag] = phase
    errors_before = state.errors
    cpu_start = time.process_time()
    wall_start = time.time()
    sent, send_seconds = await asyncio.wait_for(
        send_phase(config, sender, tag, rate, seconds), seconds * 3 + 10
    )
    expected = sent * clients
    deadline = time.monotonic() + STRAGGLER_SECONDS
    while phase.received < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    wall = time.time() - wall_start
    cpu = time.process_time() - cpu_start
    del state.phases[tag]  # late arrivals are no longer counted
    ordered = sorted(phase.latencies)
    p50 = percentile(ordered, 0.50)
    p99 = percentile(ordered, 0.99)
    span = (phase.last_receive - wall_start) if phase.received else 0.0
    loss = 1 - phase.received / expected if expected else 1.0
    sender_behind = send_seconds > seconds * 1.1
    clean = (
        phase.received == expected
        and p99 is not None
        and p99 * 1000 < CLEAN_P99_MS
        and not sender_behind
        and state.closed == 0
    )
    return {
        "event": "phase",
        "rate": rate,
        "sent": sent,
        "send_seconds": round(send_seconds, 3),
        "expected": expected,
        "received": phase.received,
        "loss_pct": round(100 * loss, 3),
        "p50_ms": None if p50 is None else round(p50 * 1000, 1),
        "p99_ms": None if p99 is None else round(p99 * 1000, 1),
        "max_ms": None if not ordered else round(ordered[-1] * 1000, 1),
        "deliveries_per_s": round(phase.received / span, 1) if span > 0 else 0.0,
        "loadgen_cpu_pct": round(100 * cpu / wall, 1),
        "errors": state.errors - errors_before,
        "error_sample": state.error_sample,
        "closed_sockets": state.closed,
        "sender_behind": sender_behind,
        "clean": clean,
    }


async def main_async(config: dict) -> None:
    state = State()
    limit = asyncio.Semaphore(config.get("connect_concurrency", 20))
    started = time.monotonic()
    sockets = await asyncio.wait_for(
        asyncio.gather(
            *(open_client(config, i, limit) for i in range(config["clients"]))
        ),
        config.get("connect_timeout", 120),
    )
    emit(
        {
            "event": "connected",
            "clients": len(sockets),
            "seconds": round(time.monotonic() - started, 2),
        }
    )
    readers = [asyncio.create_task(reader(s, state)) for s in sockets]
    stop = asyncio.Event()
    pinger = asyncio.create_task(heartbeat(config, sockets, stop))
    try:
        await asyncio.sleep(PAUSE_SECONDS)  # let presence frames and the like settle
        for rate in config["rates"]:
            result = await run_phase(config, sockets[0], state, rate)
            emit(result)
            if not result["clean"]:
                break
            await asyncio.sleep(PAUSE_SECONDS)
    finally:
        stop.set()
        await pinger
        await asyncio.wait_for(
            asyncio.gather(*(s.close() for s in sockets), return_exceptions=True), 15
        )
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="JSON file written by bench/run.py")
    options = parser.parse_args()
    with open(options.config) as handle:
        config = json.load(handle)
    asyncio.run(main_async(config))


if __name__ == "__main__":
    main()
