"""Real server processes on loopback for tests: Daphne sharing the test database,
and throwaway Redis servers a test may kill or start empty.

Each server runs `chatsite.asgi` with the test settings, pointed at the test database
(PostgreSQL or the SQLite file) and at the same channel-layer prefix as the test
process, so a test can talk to several servers and to the layer directly.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


class ChatServer:
    """One Daphne process; start() waits until it answers HTTP."""

    def __init__(
        self,
        port: int | None = None,
        extra_env: dict | None = None,
        args: list[str] | None = None,
    ):
        self.port = port or free_port()
        self.extra_env = extra_env or {}
        self.args = args or []  # more serve-command options, e.g. --workers 2
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / "test-artifacts" / f"daphne-{self.port}.log"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        """The Origin a page served by this server sends (scheme, host and port)."""
        return self.http_url

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/"

    def start(self, timeout: float = 20) -> "ChatServer":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chatsite.settings.test",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CHANNEL_LAYER_PREFIX": getattr(settings, "CHANNEL_LAYER_PREFIX", "chat"),
            **self.extra_env,
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for Playwright, not servers
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatsite.serve", "--port", str(self.port)]
            + self.args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited early; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(
                    0.05
                )  # polling a port that is not open yet: no event to await
        raise RuntimeError(f"daphne did not listen on {self.port}; see {self.log_path}")

    def stop(self, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def websocket_for(server: ChatServer, cookie: str):
    """A real WebSocket client on the server, signed in, its hello already read."""
    import asyncio
    import json

    import websockets

    socket = await websockets.connect(
        server.ws_url,
        origin=server.origin,
        additional_headers={"Cookie": f"sessionid={cookie}"},
        max_size=None,
    )
    hello = json.loads(await asyncio.wait_for(socket.recv(), 5))
    assert hello["type"] == "hello", hello
    return socket


async def next_frame(socket, frame_type: str, timeout: float = 5) -> dict:
    """The next frame of that type, skipping others (presence and the like)."""
    import asyncio
    import json

    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if frame["type"] == frame_type:
            return frame


async def subscribe_over(socket, room: str) -> dict:
    import json

    await socket.send(json.dumps({"type": "subscribe", "room": room}))
    return await next_frame(socket, "subscribed")


class ThrowawayRedis:
    """A redis-server of our own on a free port, which a test may kill and restart."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="chat-redis-")
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "ThrowawayRedis":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)  # the server is starting: nothing to await but a port
        raise RuntimeError("throwaway redis did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
