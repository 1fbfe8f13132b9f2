"""The production server command: Daphne with the chat's socket limits, N workers.

    python -m chatsite.serve [--host 127.0.0.1] [--port 8000] [--workers N]

Every Daphne option that the protocol depends on is set here, from settings, so that
the serve command, the tests' servers and a deployment all run the same way.

With `--workers N` (or WEB_CONCURRENCY=N) this process binds the port once and
supervises N Daphne worker processes that all accept on that one listening socket
(the kernel hands each new connection to one of them); with `--metrics-port P`
worker i also listens on 127.0.0.1:P+i, so that each worker's /metrics can be
scraped on its own. The workers share nothing but
Redis: groups, presence and the per-user socket limit live there, so several workers
need REDIS_URL. A worker that dies is started again; SIGTERM or SIGINT is passed on
to every worker, which closes its sockets with 1012 (chatsite.server_adapter).
"""

import argparse
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import time

logger = logging.getLogger("chatsite.serve")

# A worker that keeps dying is restarted at most this often.
RESTART_DELAY_SECONDS = 1.0
# How long workers get to close their sockets before they are killed.
STOP_TIMEOUT_SECONDS = 30.0


def daphne_arguments(endpoint: list[str]) -> list[str]:
    from django.conf import settings

    heartbeat = settings.CHAT_HEARTBEAT_SECONDS
    return [
        *endpoint,
        # Protocol-level pings every heartbeat; a peer that answers none for three
        # heartbeats is dropped (a dead TCP connection that sends no close frame).
        # The application-level rule (no frame for three heartbeats: 4408) is the
        # consumer's; browsers answer pings by themselves, so both are needed.
        "--ping-interval", str(heartbeat),
        "--ping-timeout", str(3 * heartbeat),
        # No maximum lifetime for a socket (Daphne's default closes after a day).
        "--websocket_timeout", "-1",
        # Frames over 64 KiB are refused by the WebSocket layer with 1009 before
        # they are buffered whole; the consumer checks the same limit again.
        "--websocket-max-message-size", str(settings.CHAT_MAX_FRAME_BYTES),
        "--application-close-timeout", "5",
        # No --proxy-headers: Daphne would believe X-Forwarded-For from anyone. The
        # application resolves the client (chatsite.client_address).
        "chatsite.asgi:application",
    ]  # fmt: skip


def tune_garbage_collector(young_threshold: int) -> None:
    """Freeze what start-up allocated and collect the young generation less often.

    A worker holds Django's, the libraries' and the URL and template machinery's
    start-up objects (about 110,000) for its whole life, and every full collection
    walked them again; every socket's connect allocates thousands of short-lived
    objects, and with Python's default of 700 per collection a connect storm spent
    a sixth of its time in the collector (docs/benchmarks.md). Frozen objects are
    never collected: only what start-up made goes there."""
    if young_threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young_threshold, older, oldest)


def run_daphne(endpoint: list[str]) -> None:
    import django

    django.setup()
    from django.conf import settings

    from chatsite import server_adapter

    # Daphne first, then the application (which patches what it finds of Daphne):
    # both are start-up, frozen below with the rest.
    server_adapter.load()
    import chatsite.asgi  # noqa: F401

    tune_garbage_collector(settings.CHAT_GC_YOUNG_THRESHOLD)
    server_adapter.run(daphne_arguments(endpoint))


class Supervisor:
    """Runs N workers on one listening socket and keeps them running."""

    def __init__(self, listener: socket.socket, workers: int, metrics_port: int | None):
        self.listener = listener
        self.count = workers
        self.metrics_port = metrics_port
        self.workers: dict[int, subprocess.Popen] = {}  # slot -> process
        self.stopping = False

    def spawn(self, slot: int) -> None:
        fd = self.listener.fileno()
        command = [sys.executable, "-m", "chatsite.serve", "--fd", str(fd)]
        if self.metrics_port is not None:
            command += ["--private-port", str(self.metrics_port + slot)]
        self.workers[slot] = subprocess.Popen(
            command, pass_fds=(fd,), preexec_fn=_end_with_parent
        )
        logger.info("worker %d started (pid %d)", slot, self.workers[slot].pid)

    def stop(self, signum=None, frame=None) -> None:
        self.stopping = True
        for process in self.workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        for slot in range(self.count):
            self.spawn(slot)
        restart_at: dict[int, float] = {}
        while not self.stopping:
            time.sleep(0.2)
            for slot, process in list(self.workers.items()):
                if process.poll() is None or self.stopping:
                    continue
                # A worker died (a crash, the OOM killer): its sockets' clients
                # reconnect with `since`; start a replacement, not too eagerly.
                due = restart_at.setdefault(
                    slot, time.monotonic() + RESTART_DELAY_SECONDS
                )
                if time.monotonic() >= due:
                    logger.warning(
                        "worker %d (pid %d) exited with %s; starting it again",
                        slot, process.pid, process.returncode,
                    )  # fmt: skip
                    del restart_at[slot]
                    self.spawn(slot)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in self.workers.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return 0


def _end_with_parent() -> None:
    """In a worker, before exec: SIGTERM it if the supervisor dies (even by SIGKILL),
    so no worker goes on serving the port on its own."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: workers then outlive a killed supervisor
        pass


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(4096)
    listener.set_inheritable(True)
    return listener


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "1")),
        help="worker processes sharing the port (default: WEB_CONCURRENCY or 1)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=int(os.environ["METRICS_PORT"])
        if "METRICS_PORT" in os.environ
        else None,
        help="with several workers: worker i also listens on 127.0.0.1 at this "
        "port + i, for a scraper to read each worker's /metrics (env METRICS_PORT)",
    )
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)  # a worker's socket
    parser.add_argument("--private-port", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings.production")
    if options.fd is not None:
        endpoint = ["--fd", str(options.fd)]
        if options.private_port is not None:
            endpoint += ["-e", f"tcp:{options.private_port}:interface=127.0.0.1"]
        run_daphne(endpoint)
        return
    if options.workers <= 1:
        run_daphne(["-b", options.host, "-p", str(options.port)])
        return
    import django

    django.setup()
    from django.conf import settings

    if not settings.REDIS_URL:
        parser.error(
            "--workers above 1 needs REDIS_URL: workers share groups and presence "
            "through Redis (the in-memory layer is per process)"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    listener = listen(options.host, options.port)
    logger.info(
        "listening on %s:%d with %d workers",
        options.host,
        options.port,
        options.workers,
    )
    sys.exit(Supervisor(listener, options.workers, options.metrics_port).run())


if __name__ == "__main__":
    main()
