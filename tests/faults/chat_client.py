"""A resilient chat client for fault tests, doing what the protocol asks of clients.

It remembers the newest id it has seen in its room, reconnects after any failure
(to the next server in its list, with a short jittered back-off), resubscribes with
`since`, and resends every unacknowledged message with its original client_id. It
records every message it is given, so a test can check "every acknowledged message
exactly once, in order" against the database afterwards.
"""

import asyncio
import itertools
import json
import random

import websockets

DO_NOT_RECONNECT = {4401, 4403}


class ResilientClient:
    def __init__(self, name: str, urls: list[str], cookie: str, room: str):
        self.name = name
        self.urls = itertools.cycle(urls)
        self.cookie = cookie
        self.room = room
        self.last_id = 0
        self.received: list[int] = []  # message ids in the order they were shown
        self.outbox: dict[str, str] = {}  # client_id -> body, until acknowledged
        self.acknowledged: dict[str, int] = {}  # client_id -> message id
        self.errors: list[dict] = []
        self.failures: list[str] = []  # connection attempts that failed, and why
        self.trace: list[tuple] = []  # (connection number, replay flag or kind, id)
        self.connections = 0
        self.socket = None
        self.current_url: str | None = None
        self.subscribed = asyncio.Event()
        self.stopping = False
        self.task: asyncio.Task | None = None
        self.sent = 0
        self.progress = asyncio.Event()  # set whenever something is received

    # ---- public --------------------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        self.stopping = True
        if self.socket is not None:
            await self.socket.close()
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)

    async def send(self, body: str) -> str:
        self.sent += 1
        client_id = f"{self.name}-{self.sent}"
        self.outbox[client_id] = body
        await self._send_message(client_id, body)
        return client_id

    def settled(self, expected_ids: list[int]) -> bool:
        return not self.outbox and self.received[-len(expected_ids) :] == expected_ids

    # ---- the loop ------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while not self.stopping:
            url = next(self.urls)
            try:
                async with websockets.connect(
                    url,
                    # The page's origin: the server's own scheme, host and port.
                    origin=url.replace("ws://", "http://").removesuffix("/ws/chat/"),
                    additional_headers={"Cookie": f"sessionid={self.cookie}"},
                    open_timeout=5,
                    max_size=None,
                ) as socket:
                    self.socket = socket
                    self.current_url = url
                    self.connections += 1
                    attempt = 0
                    await self._session(socket)
            except websockets.ConnectionClosed as closed:
                if closed.rcvd is not None and closed.rcvd.code in DO_NOT_RECONNECT:
                    raise
            except (TimeoutError, OSError, websockets.InvalidHandshake) as error:
                self.failures.append(f"{url}: {error!r}")
            finally:
                self.socket = None
                self.current_url = None
                self.subscribed.clear()
            if not self.stopping:
                attempt += 1
                delay = min(2.0, 0.05 * 2**attempt)
                await asyncio.sleep(delay / 2 + random.random() * delay)

    async def _session(self, socket) -> None:
        async for text in socket:
            frame = json.loads(text)
            kind = frame["type"]
            if kind in ("subscribed", "error", "hello"):
                self.trace.append(
                    (self.connections, kind, frame.get("code") or frame.get("last_id"))
                )
            if kind == "hello":
                await socket.send(
                    json.dumps(
                        {"type": "subscribe", "room": self.room, "since": self.last_id}
                    )
                )
            elif kind == "subscribed":
                assert frame["more"] is False, "test traffic should fit in one replay"
                self.subscribed.set()
                for client_id, body in list(self.outbox.items()):
                    await self._send_message(client_id, body)
            elif kind == "message.new":
                self.trace.append(
                    (self.connections, frame["replay"], frame["message"]["id"])
                )
                self._record(frame["message"])
            elif kind == "error":
                self.errors.append(frame)
                if frame["code"] == "server_error":
                    # Nothing was stored or acknowledged: try the same frame again
                    # shortly (same client_id, so a late success is not doubled),
                    # on this connection only: a new one subscribes and resends.
                    asyncio.get_running_loop().call_later(
                        0.2,
                        lambda ref=frame["ref"], connection=self.connections: (
                            asyncio.ensure_future(self._retry(ref, connection))
                        ),
                    )

    def _record(self, message: dict) -> None:
        self.progress.set()
        if message["id"] <= self.last_id:
            # The server promises this never happens; the test's assertions check
            # `received`, so record it there to make a duplicate visible.
            self.received.append(message["id"])
            return
        self.received.append(message["id"])
        self.last_id = message["id"]
        if (
            message["client_id"] in self.outbox
            and message["author"]["username"] == self.name
        ):
            del self.outbox[message["client_id"]]
            self.acknowledged[message["client_id"]] = message["id"]

    async def _retry(self, ref: str | None, connection: int) -> None:
        socket = self.socket
        if socket is None or connection != self.connections:
            return  # the next connection subscribes and resends anyway
        if ref == "subscribe":
            if self.subscribed.is_set():
                return  # resubscribing with an older `since` would replay again
            frame = {"type": "subscribe", "room": self.room, "since": self.last_id}
            try:
                await socket.send(json.dumps(frame))
            except websockets.ConnectionClosed:
                pass
        elif ref in self.outbox:
            await self._send_message(ref, self.outbox[ref])

    async def _send_message(self, client_id: str, body: str) -> None:
        socket = self.socket
        if socket is None or not self.subscribed.is_set():
            return  # sent again after the next `subscribed`
        frame = {
            "type": "message.send",
            "room": self.room,
            "body": body,
            "client_id": client_id,
        }
        try:
            await socket.send(json.dumps(frame))
        except websockets.ConnectionClosed:
            pass  # sent again after the reconnect


async def wait_until(clients: list[ResilientClient], predicate, timeout: float) -> None:
    """Wait, woken by the clients' progress events, until predicate() holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError("clients did not settle in time")
        for client in clients:
            client.progress.clear()
        waiters = [asyncio.ensure_future(client.progress.wait()) for client in clients]
        # The timeout also lets a predicate that depends on time (a reconnect) recheck.
        await asyncio.wait(
            waiters, timeout=min(remaining, 0.5), return_when="FIRST_COMPLETED"
        )
        for waiter in waiters:
            waiter.cancel()
