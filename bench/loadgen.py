"""One load-generator worker process: holds a share of the clients, obeys bench/run.py.

Started by `bench/run.py` with a JSON config (its clients: cookie, room, path, `id`
= the client's index over all workers, and `reads`: false for a client that stops
reading). It connects them (for `ours`: read `hello`, `subscribe`, wait for
`subscribed`), prints `{"event": "connected", ...}` and then obeys one JSON command
per line on stdin:

- `phase`: from the wall-clock moment `start_at`, the listed local senders send at
  their rates for `seconds`; every client counts the benchmark messages of that phase
  it receives and the latency of each (receive time minus the send time written in
  the body; all workers run on one machine, so they share the wall clock). Answers
  with counts and latency histograms once `expected` messages arrived or the
  straggler time after the send phase ran out: `histogram` (every delivery), `ack`
  (a sender receiving its own message: the server's acknowledgement, protocol.md)
  and `readers` (deliveries to clients that sent nothing in the phase).
- `drop`: aborts the TCP connection of every client that is not a sender (a lost
  network: no close frame).
- `reconnect`: reconnects the dropped clients all at once, `ours` with `since` = the
  last message id each one had; answers when every one is subscribed again and has
  received `expected_per_client` messages of the given tag.
- `quit`.

The body of a benchmark message is `BENCH|tag|seq|send time|sender id|E`: the tag
first, so that bench/run.py can count a step's stored messages by prefix.

A client with `reads: false` subscribes like any other, then pauses reading its
socket for good (wsclient `pause_reading`): it never reads another byte. The server
is expected to drop it as a slow consumer; its close is counted apart
(`non_reader_closes`), not as an unexpected one, and every answer says how many of
the worker's non-readers the server has let go (`non_readers_cut`, read from the
kernel's TCP state, not from the socket).

Clients are `bench/wsclient.py` protocols: the worker's own CPU use is reported with
every answer so a run can show the load generator was not the bottleneck, and so
are the bytes its clients read during a phase (`wire_bytes`). With `deflate` in the
config the clients offer permessage-deflate and inflate what comes compressed.
"""

import argparse
import asyncio
import json
import random
import sys
import time

from wsclient import connect

MARK = b"BENCH|"
MESSAGE_ID = b'"message":{"id":'
HISTOGRAM_RESOLUTION = 10_000  # buckets of 0.1 ms


class Phase:
    __slots__ = ("received", "latencies", "acks", "readers", "sending", "per_client")

    def __init__(self, sending: frozenset = frozenset()):
        self.received = 0
        self.latencies: list[float] = []
        self.acks: list[float] = []  # senders receiving their own messages
        self.readers: list[float] = []  # clients that send nothing in the phase
        self.sending = sending  # local indexes of this phase's senders
        self.per_client: dict[int, int] = {}


def histogram_of(latencies: list[float]) -> dict[int, int]:
    """Counts per bucket of 0.1 ms (bench/run.py merges the workers' histograms)."""
    histogram: dict[int, int] = {}
    for latency in latencies:
        bucket = int(latency * HISTOGRAM_RESOLUTION)
        histogram[bucket] = histogram.get(bucket, 0) + 1
    return histogram


def quantiles_ms(values: list[float]) -> dict | None:
    """p50 and p99 of a list of seconds, in ms (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)

    def pick(p: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {"p50": pick(0.50), "p99": pick(0.99)}


class Worker:
    def __init__(self, config: dict):
        self.config = config
        self.ours = config["target"] == "ours"
        self.phases: dict[bytes, Phase] = {}
        self.clients: list = [None] * len(config["clients"])
        self.errors = 0
        self.error_sample = ""
        self.unexpected_closes = 0
        self.non_reader_closes = 0
        self.dropping = False
        # Per client, seconds from TCP connect to `hello` and from `subscribe` to
        # `subscribed` (ours only): where a connect's time goes, seen from outside.
        self.connect_timings: dict[str, list[float]] = {"hello": [], "subscribed": []}

    # ---- receiving: the hot path -----------------------------------------------------

    def on_text(self, client, payload: bytes, arrived_at: float) -> None:
        start = payload.find(MARK)
        if start >= 0:
            fields = payload[start + 6 : payload.find(b"|E", start)].split(b"|")
            tag, _seq, sent, sender = fields
            phase = self.phases.get(tag)
            if phase is not None:
                latency = arrived_at - float(sent)
                phase.received += 1
                phase.latencies.append(latency)
                data = client.user_data
                index = data["index"]
                phase.per_client[index] = phase.per_client.get(index, 0) + 1
                # Compared as bytes: no int() per delivery on the hot path.
                if sender == data["id"]:
                    phase.acks.append(latency)
                elif index not in phase.sending:
                    phase.readers.append(latency)
            if self.ours:
                at = payload.find(MESSAGE_ID)
                if at >= 0:
                    at += len(MESSAGE_ID)
                    message_id = int(payload[at : payload.find(b",", at)])
                    if message_id > client.user_data["last_id"]:
                        client.user_data["last_id"] = message_id
            return
        waiter = client.user_data.get("waiter")
        if waiter is not None and not waiter[1].done():
            if waiter[0] in payload:
                waiter[1].set_result(payload)
                return
            if b'"type":"error"' in payload:
                waiter[1].set_exception(RuntimeError(payload[:300].decode()))
                return
        if b'"type":"error"' in payload:
            self.errors += 1
            self.error_sample = self.error_sample or payload[:200].decode()

    def on_close(self, client) -> None:
        if client.user_data.get("dropped"):
            return
        if client.user_data.get("reads", True):
            self.unexpected_closes += 1
        else:
            # A client that stopped reading, let go by the server: what it should do.
            self.non_reader_closes += 1

    # ---- connecting ------------------------------------------------------------------

    async def wait_for(self, client, marker: bytes, timeout: float = 30) -> bytes:
        future = asyncio.get_running_loop().create_future()
        client.user_data["waiter"] = (marker, future)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            client.user_data["waiter"] = None

    async def open_client(self, index: int, since: int | None = None):
        spec = self.config["clients"][index]
        # The server's own origin (scheme, host and port), as its page would send.
        headers = {"Origin": f"http://{self.config['host']}:{self.config['port']}"}
        if spec.get("cookie"):
            headers["Cookie"] = f"sessionid={spec['cookie']}"
        loop = asyncio.get_running_loop()
        began = time.monotonic()
        waiter_ready = loop.create_future()
        # The hello frame can arrive in the same read as the handshake answer: the
        # waiter is installed before connecting, through a client factory hook.
        client = await connect(
            self.config["host"],
            self.config["port"],
            spec["path"],
            headers,
            self._hello_catcher(waiter_ready),
            self.on_close,
            deflate=self.config.get("deflate", False),
        )
        client.user_data.update(
            index=index,
            id=str(spec.get("id", index)).encode(),
            reads=spec.get("reads", True),
            last_id=since or 0,
            dropped=False,
        )
        if self.ours:
            await asyncio.wait_for(waiter_ready, 30)
            greeted = time.monotonic()
            self.connect_timings["hello"].append(greeted - began)
            client.on_text = self.on_text
            frame = {"type": "subscribe", "room": spec["room"]}
            if since is not None:
                frame["since"] = since
            waiting = asyncio.ensure_future(
                self.wait_for(client, b'"type":"subscribed"')
            )
            await asyncio.sleep(0)  # the waiter is installed before the answer
            client.send_text(json.dumps(frame))
            await waiting
            self.connect_timings["subscribed"].append(time.monotonic() - greeted)
        else:
            client.on_text = self.on_text
        if not client.user_data["reads"]:
            client.pause_reading()
        self.clients[index] = client
        return client

    def _hello_catcher(self, ready: asyncio.Future):
        def first_frame(client, payload, arrived_at):
            if not ready.done():
                if b'"type":"hello"' in payload:
                    ready.set_result(payload)
                else:
                    ready.set_exception(RuntimeError(payload[:300].decode()))

        return first_frame

    async def open_all(self, indexes: list[int], since: dict | None = None) -> int:
        """Open the given clients, at most `connect_concurrency` at a time; returns
        how many failed."""
        limit = asyncio.Semaphore(self.config.get("connect_concurrency", 50))
        failed = 0

        async def one(index):
            nonlocal failed
            async with limit:
                try:
                    await self.open_client(
                        index, None if since is None else since[index]
                    )
                except Exception as error:
                    failed += 1
                    self.error_sample = self.error_sample or repr(error)[:200]

        await asyncio.gather(*(one(i) for i in indexes))
        return failed

    # ---- commands --------------------------------------------------------------------

    async def run_phase(self, command: dict) -> dict:
        tag = command["tag"].encode()
        phase = Phase(frozenset(i for i, _ in command["senders"]))
        self.phases[tag] = phase
        loop = asyncio.get_running_loop()
        cpu_start, wall_start = time.process_time(), time.time()
        bytes_before = self.wire_bytes()
        errors_before = self.errors
        start_at = loop.time() + (command["start_at"] - time.time())
        seconds = command["seconds"]
        senders = [
            asyncio.ensure_future(
                self.send_messages(
                    self.clients[i], command["tag"], rate, seconds, start_at
                )
            )
            for i, rate in command["senders"]
            if self.clients[i] is not None
        ]
        sent, behind = 0, False
        if senders:
            for count, took in await asyncio.gather(*senders):
                sent += count
                behind = behind or took > seconds * 1.1
        deadline = max(loop.time(), start_at + seconds) + command["straggler"]
        while phase.received < command["expected"] and loop.time() < deadline:
            await asyncio.sleep(0.02)
        del self.phases[tag]  # late arrivals no longer count
        non_readers = [
            c for c in self.clients if c is not None and not c.user_data["reads"]
        ]
        return {
            "event": "phase",
            "tag": command["tag"],
            "received": phase.received,
            "histogram": histogram_of(phase.latencies),
            "ack": histogram_of(phase.acks),
            "readers": histogram_of(phase.readers),
            "sent": sent,
            "sender_behind": behind,
            "errors": self.errors - errors_before,
            "error_sample": self.error_sample,
            "unexpected_closes": self.unexpected_closes,
            "non_readers": len(non_readers),
            "non_readers_cut": sum(1 for c in non_readers if c.peer_gone()),
            "non_reader_closes": self.non_reader_closes,
            "cpu_seconds": time.process_time() - cpu_start,
            "wall_seconds": time.time() - wall_start,
            "wire_bytes": self.wire_bytes() - bytes_before,
        }

    def wire_bytes(self) -> int:
        return sum(c.received_bytes for c in self.clients if c is not None)

    async def send_messages(
        self, client, tag: str, rate: float, seconds: float, start_at: float
    ) -> tuple[int, float]:
        loop = asyncio.get_running_loop()
        count = max(1, int(rate * seconds))
        room = self.config["clients"][client.user_data["index"]]["room"]
        sender = client.user_data["id"].decode()
        prefix = f"{sender}-{tag}"
        # Senders of different rooms start at random points of their first interval:
        # in step, every room's message would leave at the same instant, and the
        # benchmark would measure bursts instead of a rate.
        start_at += random.random() / rate if self.config.get("stagger", True) else 0
        for seq in range(count):
            delay = start_at + seq / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            body = f"BENCH|{tag}|{seq}|{time.time():.6f}|{sender}|E"
            if self.ours:
                frame = {
                    "type": "message.send",
                    "room": room,
                    "body": body,
                    "client_id": f"{prefix}-{seq}",
                }
            else:
                frame = {"message": body}
            client.send_text(json.dumps(frame))
        return count, loop.time() - start_at

    def drop(self, keep: set[int]) -> list[int]:
        dropped = []
        for index, client in enumerate(self.clients):
            if client is not None and index not in keep:
                client.user_data["dropped"] = True
                client.abort()
                dropped.append(index)
        return dropped

    async def reconnect(self, command: dict, dropped: list[int]) -> dict:
        tag = command["tag"].encode()
        phase = Phase()
        self.phases[tag] = phase
        since = {i: self.clients[i].user_data["last_id"] for i in dropped}
        cpu_start, started = time.process_time(), time.monotonic()
        failed = await self.open_all(dropped, since if self.ours else None)
        subscribed = time.monotonic() - started
        wanted = command["expected_per_client"]
        deadline = started + command["timeout"]
        while time.monotonic() < deadline:
            if all(phase.per_client.get(i, 0) >= wanted for i in dropped):
                break
            await asyncio.sleep(0.01)
        complete = time.monotonic() - started
        del self.phases[tag]
        return {
            "event": "reconnected",
            "clients": len(dropped),
            "failed": failed,
            "seconds_subscribed": subscribed,
            "seconds_complete": complete,
            "complete_clients": sum(
                1 for i in dropped if phase.per_client.get(i, 0) >= wanted
            ),
            "received": phase.received,
            "max_per_client": max(phase.per_client.values(), default=0),
            "cpu_seconds": time.process_time() - cpu_start,
            "error_sample": self.error_sample,
        }

    async def keep_alive(self) -> None:
        """`ours` closes sockets silent for three heartbeats: ping every 20 s."""
        while self.ours:
            await asyncio.sleep(20)
            for client in self.clients:
                if client is not None and not client.closed:
                    client.send_text('{"type":"ping"}')

    async def main(self) -> None:
        started = time.monotonic()
        failed = await asyncio.wait_for(
            self.open_all(list(range(len(self.clients)))),
            self.config.get("connect_timeout", 300),
        )
        emit(
            {
                "event": "connected",
                "clients": len(self.clients) - failed,
                "failed": failed,
                "seconds": time.monotonic() - started,
                "cpu_seconds": time.process_time(),
                "error_sample": self.error_sample,
                "timings_ms": {
                    stage: quantiles_ms(values)
                    for stage, values in self.connect_timings.items()
                },
            }
        )
        pinger = asyncio.ensure_future(self.keep_alive())
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
        )
        dropped: list[int] = []
        while True:
            line = await reader.readline()
            if not line:
                break
            command = json.loads(line)
            if command["cmd"] == "phase":
                emit(await self.run_phase(command))
            elif command["cmd"] == "drop":
                dropped = self.drop(set(command.get("keep", [])))
                emit({"event": "dropped", "clients": len(dropped)})
            elif command["cmd"] == "reconnect":
                emit(await self.reconnect(command, dropped))
            elif command["cmd"] == "quit":
                break
        pinger.cancel()
        for client in self.clients:
            if client is not None:
                client.close()
        await asyncio.sleep(0.2)
        for client in self.clients:
            if client is not None:
                client.abort()


def emit(event: dict) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="JSON file written by bench/run.py")
    options = parser.parse_args()
    with open(options.config) as handle:
        config = json.load(handle)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(Worker(config).main())


if __name__ == "__main__":
    main()
