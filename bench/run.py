"""The project's benchmark: seven scenarios, each against the tutorial baseline and us.

    .venv/bin/python bench/run.py all            # S1..S5, W1, W2, U1, about 20 minutes
    .venv/bin/python bench/run.py s1 [--targets tutorial,ours] [--seconds 4]
    .venv/bin/python bench/run.py w1 --targets ours@ad9ff66,ours   # before/after
    .venv/bin/python bench/run.py s1 --deflate \
        --targets ours:CHAT_WEBSOCKET_COMPRESSION=0,ours:CHAT_WEBSOCKET_COMPRESSION=1

Scenarios (docs/benchmarks.md has the details and the results):
  s1  fan-out: one room of 500 clients, one sender, a ladder of rates
  s2  many rooms: 1000 clients in 1, 10 and 50 rooms, one sender per room
  s3  idle capacity: 2,000 then 5,000 sockets; connect rate and memory per socket
  s4  persistence: 50 rooms x 20 clients, 5 senders per room, stored messages/s
  s5  reconnect storm: 500 clients drop and come back at once with `since`
  w1  write ramp: 100 rooms x 10 clients, one sender per room, a ladder of messages/s
      over all rooms, every step's messages counted in PostgreSQL
  w2  one busy room: 12 clients, 8 senders, 3 readers and one client that stops
      reading its socket after subscribing (the server should drop it, alone)
  u1  the room page in Chromium: a room of 5,000 messages opened, then scrolled back
      page by page (bench/room_page.py; `ours` targets only)

Every phase also measures the senders' acknowledgement latency: a sender receives
its own message back (the broadcast includes the sender: that is its ack), timed
apart from the other deliveries (`ack_p50_ms`, `ack_p99_ms`).

Targets: `tutorial` is the Channels tutorial consumer under plain Daphne
(bench/baselines/); `ours` is the chat server as deployed (`python -m chatsite.serve`,
production settings, PostgreSQL, session auth). A variant of ours takes environment
overrides after a colon,
`+`-separated: `ours:CHAT_CHANNEL_LAYER=core+WEB_CONCURRENCY=2`.

A same-run "before": `ours@REF` (for instance `ours@ad9ff66`, `ours@HEAD`, with
overrides `ours@ad9ff66:WEB_CONCURRENCY=2`) runs the server from a git worktree of
that commit, bench/worktrees/<REF> (created with `git worktree add --detach`, reused
and moved to the commit REF names on later runs), with the same Python, the same
environment and the same bench database. The database is migrated by this
checkout's code, so the old code runs against the current schema: that works as
long as the columns added since REF have a database default or are nullable (old
code does not write them); a migration that drops or renames something old code
uses breaks the old target, and its server log says so. The load generator and the
harness are always this checkout's. Results carry the full target name.
Every target gets a fresh server on a free loopback port, a Redis key prefix of its
own (deleted afterwards) and the same load generator: `bench/loadgen.py` worker
processes (lean hand-written WebSocket clients) steered over their stdin. With
`--deflate` the clients offer permessage-deflate (as browsers do) and inflate what
comes compressed; every step reports the bytes the clients read per delivery.
Results print as tables and are written as JSON to bench/results/.
"""

import argparse
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = "chat_bench"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789"
LOGS = ROOT / "bench" / "logs"
RESULTS = ROOT / "bench" / "results"
WORKTREES = ROOT / "bench" / "worktrees"
CLEAN_P99_MS = 250.0
STRAGGLER_SECONDS = 3.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- the database and the users of `ours` ------------------------------------------


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": DATABASE_URL},
        check=True,
        timeout=300,
    )


def drop_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def ours_env() -> dict:
    return {
        "DJANGO_SETTINGS_MODULE": "chatsite.settings.production",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": DATABASE_URL,
        # Plain HTTP on loopback: no TLS to redirect to (docs/deploy.md).
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        # Benchmark senders send far above a person's rate: no send limits.
        "CHAT_SEND_BURST": "100000000/1",
        "CHAT_SEND_SUSTAINED": "100000000/60",
    }


_django_ready = False


def setup_django() -> None:
    global _django_ready
    if not _django_ready:
        os.environ.update(ours_env())
        os.environ.setdefault("REDIS_URL", REDIS_URL)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        _django_ready = True


def prepare_users(count: int, rooms: list[str]) -> list[str]:
    """`count` users, rooms they are members of (user i in rooms[i * len // count]),
    a real Django session per user; returns the session cookies in user order."""
    setup_django()
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.utils import timezone

    from chat.models import Membership, Room

    user_model = get_user_model()
    names = [f"bench{i}" for i in range(count)]
    existing = set(
        user_model.objects.filter(username__in=names).values_list("username", flat=True)
    )
    new = []
    for name in names:
        if name not in existing:
            user = user_model(username=name)
            user.set_unusable_password()
            new.append(user)
    user_model.objects.bulk_create(new, batch_size=1000)
    by_name = {u.username: u for u in user_model.objects.filter(username__in=names)}
    users = [by_name[name] for name in names]
    room_objects = []
    for slug in rooms:
        room = Room.objects.filter(slug=slug).first()
        if room is None:
            room = Room.objects.create(slug=slug, name=slug, owner=users[0])
        room_objects.append(room)
    memberships = [
        Membership(user=user, room=room_objects[i * len(rooms) // count])
        for i, user in enumerate(users)
    ]
    Membership.objects.bulk_create(memberships, batch_size=1000, ignore_conflicts=True)
    store = SessionStore()
    expire = timezone.now() + timezone.timedelta(days=1)
    backend = settings.AUTHENTICATION_BACKENDS[-1]
    sessions, cookies = [], []
    for user in users:
        key = uuid.uuid4().hex
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(
            Session(
                session_key=key, session_data=store.encode(data), expire_date=expire
            )
        )
        cookies.append(key)
    Session.objects.bulk_create(sessions, batch_size=1000, ignore_conflicts=True)
    # Since accounts.Session (the sessions that know their user), the server reads
    # that table; older commits run in the same benchmark read Django's.
    from accounts.models import Session as UserSession

    UserSession.objects.bulk_create(
        [
            UserSession(
                session_key=session.session_key,
                session_data=session.session_data,
                expire_date=session.expire_date,
                user_id=user.pk,
            )
            for session, user in zip(sessions, users, strict=True)
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )
    connection.close()
    return cookies


def count_stored(tag: str) -> int:
    setup_django()
    from django.db import connection

    from chat.models import Message

    stored = Message.objects.filter(body__startswith=f"BENCH|{tag}|").count()
    connection.close()
    return stored


def wait_stored(tag: str, sent: int, limit: float = 5.0) -> int:
    """count_stored once the count stops moving: right after a step that lost
    deliveries, some messages may still be on their way to the database."""
    deadline = time.monotonic() + limit
    stored = count_stored(tag)
    while stored < sent and time.monotonic() < deadline:
        time.sleep(0.5)
        again = count_stored(tag)
        if again == stored:
            break
        stored = again
    return stored


# ---- targets and their code --------------------------------------------------------


def parse_target(target: str) -> tuple[str, str | None, str]:
    """`kind[@REF][:NAME=VALUE+...]` -> (kind, REF or None, overrides)."""
    name, _, overrides = target.partition(":")
    kind, _, ref = name.partition("@")
    if kind not in ("tutorial", "ours"):
        raise ValueError(f"unknown target {target!r}: tutorial or ours[@REF][:...]")
    return kind, ref or None, overrides


def git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def worktree(ref: str) -> Path:
    """A checkout of `ref` under bench/worktrees/, at the commit `ref` names now
    (`HEAD` moves as commits land): created on first use, reused afterwards."""
    try:
        commit = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except RuntimeError:
        raise ValueError(f"{ref!r} names no commit of this repository") from None
    path = WORKTREES / ref.replace("/", "_")
    if not (path / ".git").exists():
        WORKTREES.mkdir(parents=True, exist_ok=True)
        # --force: also when an earlier worktree there was deleted but is still
        # registered (git refuses a non-empty directory either way).
        git("worktree", "add", "--force", "--detach", "--quiet", str(path), commit)
    elif git("rev-parse", "HEAD", cwd=path) != commit:
        # Without --force: local edits in the worktree stop the run, unlost.
        git("checkout", "--detach", "--quiet", commit, cwd=path)
    return path


# ---- servers ---------------------------------------------------------------------


class Server:
    """One target's server in its own process group; stop() ends the whole group."""

    def __init__(self, target: str, prefix: str):
        self.target = target
        self.kind, ref, overrides = parse_target(target)
        # `ours@REF` runs the same command from a worktree of that commit: the
        # working directory comes first on sys.path with `python -m`.
        self.cwd = worktree(ref) if ref else ROOT
        self.port = free_port()
        env = {**os.environ, "REDIS_URL": REDIS_URL, "CHANNEL_LAYER_PREFIX": prefix}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        if self.kind == "tutorial":
            env.pop("DATABASE_URL", None)
            env["DJANGO_SETTINGS_MODULE"] = "chatsite.settings.local"
            command = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
            command.append("bench.baselines.tutorial_asgi:application")
        else:
            env.update(ours_env())
            for pair in filter(None, overrides.split("+")):
                name, _, value = pair.partition("=")
                env[name] = value
            command = [PYTHON, "-m", "chatsite.serve", "--port", str(self.port)]
        LOGS.mkdir(parents=True, exist_ok=True)
        safe = target.replace(":", "_").replace("+", "_").replace("=", "-")
        safe = safe.replace("@", "_at_").replace("/", "_")
        self.log_path = LOGS / f"{safe}-{self.port}.log"
        with open(self.log_path, "ab") as log:
            self.log_start = log.tell()  # the log may hold an earlier run's lines
            self.process = subprocess.Popen(
                command,
                cwd=self.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_listening(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"server did not listen; see {self.log_path}")
        time.sleep(1.0)  # every worker of a multi-process server is up

    def pids(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                fields = stat[stat.rfind(")") + 2 :].split()
                if int(fields[2]) == self.process.pid:  # the process group
                    pids.append(int(entry))
        return pids

    def usage(self) -> tuple[float, int]:
        """CPU seconds used so far and resident bytes, summed over the group."""
        cpu, rss = 0.0, 0
        for pid in self.pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            cpu += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            rss += int(fields[21]) * PAGE_SIZE
        return cpu, rss

    def slow_consumer_aborts(self) -> int:
        """Sockets this server aborted as slow consumers so far (its log's warning,
        chatsite/server_adapter.py; the tutorial never aborts one)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self.log_start)
                return log.read().count(b"aborting a slow consumer")
        except OSError:
            return 0

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def delete_prefix_keys(prefix: str) -> int:
    """Remove this run's channel-layer, presence and cache keys (and only those)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    deleted, batch = 0, []
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        batch.append(key)
        if len(batch) >= 500:
            deleted += client.delete(*batch)
            batch = []
    if batch:
        deleted += client.delete(*batch)
    client.close()
    return deleted


# ---- the load generator ------------------------------------------------------------


class LoadGenerator:
    """`workers` loadgen processes sharing the clients round-robin (so every room
    has clients in every worker)."""

    def __init__(
        self, server: Server, clients: list[dict], workers: int, deflate: bool = False
    ):
        self.clients = clients
        self.count = min(workers, len(clients))
        self.processes = []
        self.local: list[tuple[int, int]] = []  # global index -> (worker, local index)
        shares: list[list[dict]] = [[] for _ in range(self.count)]
        for index, client in enumerate(clients):
            worker = index % self.count
            self.local.append((worker, len(shares[worker])))
            # The global index goes into the bodies a client sends, so that a
            # sender knows its own message (its ack) in whichever worker it is.
            shares[worker].append({**client, "id": index})
        self.config_paths = []
        for share in shares:
            config = {
                "target": server.kind,
                "host": "127.0.0.1",
                "port": server.port,
                "clients": share,
                "connect_concurrency": 100,
                "deflate": deflate,
            }
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump(config, f)
            self.config_paths.append(f.name)
            self.processes.append(
                subprocess.Popen(
                    [PYTHON, str(ROOT / "bench" / "loadgen.py"), f.name],
                    cwd=ROOT / "bench",
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    bufsize=1,
                )
            )

    def read_all(self, timeout: float) -> list[dict]:
        """One answer line from every worker (bounded: a stuck worker is killed)."""
        import selectors

        answers: list[dict | None] = [None] * self.count
        waiting = selectors.DefaultSelector()
        for worker, process in enumerate(self.processes):
            waiting.register(process.stdout, selectors.EVENT_READ, worker)
        deadline = time.monotonic() + timeout
        while any(a is None for a in answers):
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise TimeoutError("load generator did not answer in time")
            for key, _ in waiting.select(left):
                line = key.fileobj.readline()
                if not line:
                    self.kill()
                    raise RuntimeError(f"load generator {key.data} exited")
                answers[key.data] = json.loads(line)
                waiting.unregister(key.fileobj)
        return answers

    def command(self, per_worker: list[dict], timeout: float) -> list[dict]:
        for process, command in zip(self.processes, per_worker, strict=True):
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()
        return self.read_all(timeout)

    def quit(self) -> None:
        for process in self.processes:
            try:
                process.stdin.write('{"cmd": "quit"}\n')
                process.stdin.flush()
            except OSError:
                pass
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        for path in self.config_paths:
            os.unlink(path)

    def kill(self) -> None:
        for process in self.processes:
            process.kill()


def client_specs(
    kind: str,
    cookies: list[str],
    rooms: int,
    clients: int,
    non_readers: frozenset[int] = frozenset(),
) -> list[dict]:
    """One spec per client; the `non_readers` stop reading once subscribed."""
    specs = []
    for index in range(clients):
        room = index * rooms // clients
        if kind == "tutorial":
            spec = {"room": f"bench_r{room}", "path": f"/ws/chat/bench_r{room}/"}
        else:
            spec = {
                "room": f"bench-r{room}",
                "path": "/ws/chat/",
                "cookie": cookies[index],
            }
        if index in non_readers:
            spec["reads"] = False
        specs.append(spec)
    return specs


def room_members(rooms: int, clients: int) -> list[list[int]]:
    members: list[list[int]] = [[] for _ in range(rooms)]
    for index in range(clients):
        members[index * rooms // clients].append(index)
    return members


def merged(answers: list[dict], key: str) -> dict[int, int]:
    """The workers' histograms of one kind, added up."""
    histogram: dict[int, int] = {}
    for answer in answers:
        for bucket, count in answer[key].items():
            histogram[int(bucket)] = histogram.get(int(bucket), 0) + count
    return histogram


def percentile(histogram: dict[int, int], p: float) -> float | None:
    total = sum(histogram.values())
    if total == 0:
        return None
    rank, seen = max(1, math.ceil(p * total)), 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return (bucket + 1) / 10  # bucket upper bound, in ms
    return None


# How long py-spy samples a session's connect phase (sized for S3's 2,000 and S5's
# storm; the profile's samples are what counts, not the phase's end).
CONNECT_PROFILE_SECONDS = 5


def start_profilers(server: Server, tag: str, seconds: float) -> list:
    """With BENCH_PROFILE=1, py-spy samples each server process during the send
    phase; collapsed stacks go to bench/logs/profile-<tag>-<pid>.txt."""
    if not os.environ.get("BENCH_PROFILE"):
        return []
    py_spy = Path(PYTHON).parent / "py-spy"
    return [
        subprocess.Popen(
            [
                str(py_spy),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                "250",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(LOGS / f"profile-{tag}-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in server.pids()
    ]


def run_phase(
    load: LoadGenerator,
    server: Server,
    *,
    tag: str,
    seconds: float,
    senders: dict[int, float],
    members: list[list[int]],
) -> dict:
    """All senders send at their rates; every member of a sender's room receives,
    except clients that stopped reading (`reads: false`): they expect nothing and
    are in neither the loss nor the latencies."""
    room_of = {i: r for r, room in enumerate(members) for i in room}
    expected = [0] * load.count
    per_worker_senders: list[list] = [[] for _ in range(load.count)]
    sent_total = 0
    for sender, rate in senders.items():
        messages = max(1, int(rate * seconds))
        sent_total += messages
        worker, local = load.local[sender]
        per_worker_senders[worker].append([local, rate])
        for member in members[room_of[sender]]:
            if load.clients[member].get("reads", True):
                expected[load.local[member][0]] += messages
    start_at = time.time() + 0.3
    commands = [
        {
            "cmd": "phase",
            "tag": tag,
            "start_at": start_at,
            "seconds": seconds,
            "senders": per_worker_senders[w],
            "expected": expected[w],
            "straggler": STRAGGLER_SECONDS,
        }
        for w in range(load.count)
    ]
    profilers = start_profilers(server, tag, seconds)
    cpu_before, _ = server.usage()
    wall_before = time.time()
    answers = load.command(commands, timeout=seconds * 3 + 60)
    for profiler in profilers:
        profiler.wait(timeout=60)
    cpu_after, rss = server.usage()
    wall = time.time() - wall_before
    histogram = merged(answers, "histogram")
    acks, readers = merged(answers, "ack"), merged(answers, "readers")
    received = sum(a["received"] for a in answers)
    wanted = sum(expected)
    p50, p99 = percentile(histogram, 0.5), percentile(histogram, 0.99)
    errors = sum(a["errors"] for a in answers)
    closes = sum(a["unexpected_closes"] for a in answers)
    behind = any(a["sender_behind"] for a in answers)
    server_cpu = cpu_after - cpu_before
    return {
        "tag": tag,
        "messages": sent_total,
        "messages_per_s": round(sent_total / seconds, 1),
        "deliveries_per_s": round(wanted / seconds, 1),
        "expected": wanted,
        "received": received,
        "loss_pct": round(100 * (1 - received / wanted), 3) if wanted else 0.0,
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": (max(histogram) + 1) / 10 if histogram else None,
        # Senders receiving their own messages (None: no sender got its echo).
        "acks": sum(acks.values()),
        "ack_p50_ms": percentile(acks, 0.5),
        "ack_p99_ms": percentile(acks, 0.99),
        # Deliveries to clients that sent nothing in this step.
        "readers_p50_ms": percentile(readers, 0.5),
        "readers_p99_ms": percentile(readers, 0.99),
        "server_cpu_pct": round(100 * server_cpu / wall, 1),
        "server_cpu_us_per_delivery": (
            round(1e6 * server_cpu / received, 1) if received else None
        ),
        "server_cpu_us_per_message": round(1e6 * server_cpu / sent_total, 1),
        "server_rss_mb": round(rss / 2**20, 1),
        # What the clients read (frames and headers), per delivery: with --deflate,
        # what permessage-deflate saved on the wire.
        "wire_bytes_per_delivery": (
            round(sum(a["wire_bytes"] for a in answers) / received, 1)
            if received
            else None
        ),
        "loadgen_cpu_pct": round(
            100 * max(a["cpu_seconds"] / a["wall_seconds"] for a in answers), 1
        ),
        "errors": errors,
        "error_sample": next(
            (a["error_sample"] for a in answers if a["error_sample"]), ""
        ),
        "unexpected_closes": closes,
        # Clients that stopped reading: how many, how many the server has let go
        # so far (by the kernel's TCP state, or a close), and the server's count of
        # slow-consumer aborts (from its log). Expected, never unclean.
        "non_readers": sum(a["non_readers"] for a in answers),
        "non_readers_cut": sum(a["non_readers_cut"] for a in answers),
        "non_reader_closes": sum(a["non_reader_closes"] for a in answers),
        "slow_consumer_aborts": server.slow_consumer_aborts(),
        "sender_behind": behind,
        "clean": (
            received == wanted
            and p99 is not None
            and p99 < CLEAN_P99_MS
            and errors == 0
            and closes == 0
            and not behind
        ),
    }


class Session:
    """One target's server and connected load generator, for one scenario."""

    def __init__(
        self,
        target: str,
        options,
        *,
        rooms: int,
        clients: int,
        cookies: list[str],
        non_readers: frozenset[int] = frozenset(),
    ):
        self.target = target
        self.prefix = f"bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.server = Server(target, self.prefix)
        self.load = None
        self.members = room_members(rooms, clients)
        try:
            self.server.wait_listening()
            self.cpu_idle, self.rss_idle = self.server.usage()
            specs = client_specs(self.server.kind, cookies, rooms, clients, non_readers)
            started = time.time()
            # BENCH_PROFILE=1: the connect phase is sampled too (profile-connect-*).
            profilers = start_profilers(
                self.server, f"connect-{self.prefix}", CONNECT_PROFILE_SECONDS
            )
            self.load = LoadGenerator(
                self.server, specs, options.loadgen_workers, options.deflate
            )
            answers = self.load.read_all(timeout=600)
            for profiler in profilers:
                profiler.wait()
            self.connect_seconds = time.time() - started
            self.connected = sum(a["clients"] for a in answers)
            self.failed = sum(a["failed"] for a in answers)
            self.connect_error = next(
                (a["error_sample"] for a in answers if a["error_sample"]), ""
            )
            # Each load generator worker's quantiles; the slowest worker's are kept.
            self.connect_timings = {
                stage: max(
                    (a["timings_ms"][stage] for a in answers if a["timings_ms"][stage]),
                    key=lambda q: q["p99"],
                    default=None,
                )
                for stage in ("hello", "subscribed")
            }
            self.connect_cpu_loadgen = sum(a["cpu_seconds"] for a in answers)
            self.settle()
            self.cpu_connected, self.rss_connected = self.server.usage()
            print(
                f"[{target}] {self.connected} connected, {self.failed} failed in "
                f"{self.connect_seconds:.1f} s {self.connect_error} "
                f"(to hello {self.connect_timings['hello']}, to subscribed "
                f"{self.connect_timings['subscribed']} ms; load generator "
                f"{self.connect_cpu_loadgen:.1f} CPU s)",
                flush=True,
            )
        except BaseException:
            self.close()
            raise

    def settle(self, limit: float = 30) -> None:
        """Wait until the server has finished the work of the connections (presence
        broadcasts and the like): its CPU use stays under 10% for half a second."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            before, _ = self.server.usage()
            time.sleep(0.5)
            after, _ = self.server.usage()
            if after - before < 0.05:
                return

    def close(self) -> None:
        if self.load is not None:
            self.load.quit()
        self.server.stop()
        delete_prefix_keys(self.prefix)


# ---- scenarios -----------------------------------------------------------------------


def ladder(
    session: Session,
    options,
    *,
    senders_of,
    levels: list[float],
    label: str,
    every_level: bool = False,
    after_step=None,
    readers: bool = False,
) -> list[dict]:
    """Step up the load; stop at the first unclean step (with `every_level`, only
    once the server is overwhelmed: loss, or p99 over 2 s). `senders_of(level)`
    gives {client index: messages/s} for one step; `after_step(session, result)`
    may add to a step's result (and make it unclean) before it is judged; with
    `readers`, the printed line has the non-senders' latencies too."""
    phases = []
    for step, level in enumerate(levels):
        tag = f"{label}{step}x{uuid.uuid4().hex[:4]}"
        result = run_phase(
            session.load,
            session.server,
            tag=tag,
            seconds=options.seconds,
            senders=senders_of(level),
            members=session.members,
        )
        result["level"] = level
        if after_step is not None:
            after_step(session, result)
        phases.append(result)
        print_phase(session.target, result, readers=readers)
        overwhelmed = (
            result["received"] < result["expected"] or (result["p99_ms"] or 0) > 2000
        )
        if overwhelmed or (not result["clean"] and not every_level):
            break
        time.sleep(1.0)
    return phases


def print_phase(target: str, p: dict, readers: bool = False) -> None:
    print(
        f"  {target:<28} {p['messages_per_s']:>7g} msg/s {p['deliveries_per_s']:>9g}"
        f" deliv/s  loss {p['loss_pct']:>6}%  p50 {p['p50_ms']!s:>6}  p99"
        f" {p['p99_ms']!s:>7} ms"
        + (
            f"  readers p50 {p['readers_p50_ms']!s:>6}  p99"
            f" {p['readers_p99_ms']!s:>7} ms"
            if readers
            else ""
        )
        + f"  ack p50 {p['ack_p50_ms']!s:>6}  p99 {p['ack_p99_ms']!s:>7} ms"
        + (f"  stored {p['stored']}/{p['messages']}" if "stored" in p else "")
        + f"  server {p['server_cpu_pct']:>5}% "
        f"({p['server_cpu_us_per_delivery']} us/deliv, "
        f"{p['wire_bytes_per_delivery']} B/deliv)  loadgen"
        f" {p['loadgen_cpu_pct']:>5}%  {'clean' if p['clean'] else 'NOT CLEAN'}"
        + (f" errors={p['errors']} {p['error_sample'][:80]}" if p["errors"] else "")
        + (f" closes={p['unexpected_closes']}" if p["unexpected_closes"] else "")
        + (
            f" non-readers cut {p['non_readers_cut']}/{p['non_readers']}"
            f" (slow-consumer aborts {p['slow_consumer_aborts']})"
            if p["non_readers"]
            else ""
        )
        + (" sender-behind" if p["sender_behind"] else ""),
        flush=True,
    )


def best_clean(phases: list[dict]) -> dict | None:
    clean = [p for p in phases if p["clean"]]
    return max(clean, key=lambda p: p["deliveries_per_s"]) if clean else None


def scenario_s1(options, targets, cookies) -> dict:
    clients = options.s1_clients
    levels = [float(x) for x in options.s1_levels.split(",")]  # deliveries/s
    out = {}
    for target in targets:
        session = Session(target, options, rooms=1, clients=clients, cookies=cookies)
        try:
            phases = ladder(
                session,
                options,
                levels=levels,
                label="s1",
                senders_of=lambda level: {0: level / clients},
            )
        finally:
            session.close()
        best = best_clean(phases)
        out[target] = {
            "phases": phases,
            "best_clean_deliveries_per_s": best and best["deliveries_per_s"],
        }
    return out


def scenario_s2(options, targets, cookies) -> dict:
    clients = options.s2_clients
    levels = [float(x) for x in options.s2_levels.split(",")]
    out = {}
    for target in targets:
        out[target] = {}
        for rooms in [int(r) for r in options.s2_rooms.split(",")]:
            session = Session(
                target, options, rooms=rooms, clients=clients, cookies=cookies
            )
            try:
                first = [room[0] for room in session.members]
                phases = ladder(
                    session,
                    options,
                    levels=levels,
                    label=f"s2r{rooms}",
                    senders_of=lambda level, first=first, rooms=rooms: {
                        i: level / clients for i in first
                    },
                    every_level=True,
                )
            finally:
                session.close()
            best = best_clean(phases)
            out[target][str(rooms)] = {
                "phases": phases,
                "best_clean_deliveries_per_s": best and best["deliveries_per_s"],
                "server_cpu_us_per_delivery_at_best": (
                    best and best["server_cpu_us_per_delivery"]
                ),
            }
    return out


def scenario_s3(options, targets, cookies) -> dict:
    out = {}
    for target in targets:
        out[target] = {}
        for size in [int(s) for s in options.s3_sizes.split(",")]:
            session = Session(target, options, rooms=50, clients=size, cookies=cookies)
            try:
                time.sleep(5)  # settle, then measure idle cost over 10 s
                cpu_a, rss = session.server.usage()
                time.sleep(10)
                cpu_b, _ = session.server.usage()
            finally:
                session.close()
            per_socket = (rss - session.rss_idle) / max(1, session.connected)
            result = {
                "sockets": session.connected,
                "failed": session.failed,
                "connect_seconds": round(session.connect_seconds, 2),
                "connects_per_s": round(session.connected / session.connect_seconds, 1),
                "rss_before_mb": round(session.rss_idle / 2**20, 1),
                "rss_after_mb": round(rss / 2**20, 1),
                "kib_per_socket": round(per_socket / 1024, 1),
                "idle_server_cpu_pct": round(100 * (cpu_b - cpu_a) / 10, 1),
                "connect_server_cpu_s": round(
                    session.cpu_connected - session.cpu_idle, 2
                ),
                "connect_loadgen_cpu_s": round(session.connect_cpu_loadgen, 2),
                "connect_timings_ms": session.connect_timings,
            }
            out[target][str(size)] = result
            print(f"  {target:<28} {size:>5} sockets: {result}", flush=True)
    return out


def scenario_s4(options, targets, cookies) -> dict:
    clients, rooms, per_room = 1000, 50, options.s4_senders_per_room
    levels = [float(x) for x in options.s4_levels.split(",")]  # messages/s, all rooms
    out = {}
    for target in targets:
        session = Session(
            target, options, rooms=rooms, clients=clients, cookies=cookies
        )
        try:
            senders = [i for room in session.members for i in room[:per_room]]
            phases = ladder(
                session,
                options,
                levels=levels,
                label="s4",
                senders_of=lambda level, senders=senders: {
                    i: level / len(senders) for i in senders
                },
            )
            if session.server.kind == "ours":
                for phase in phases:
                    phase["stored"] = count_stored(phase["tag"])
        finally:
            session.close()
        best = best_clean(
            [p for p in phases if p.get("stored", p["messages"]) == p["messages"]]
        )
        out[target] = {
            "phases": phases,
            "best_clean_messages_per_s": best and best["messages_per_s"],
        }
    return out


def scenario_s5(options, targets, cookies) -> dict:
    clients, missed = options.s5_clients, 20
    out = {}
    for target in targets:
        session = Session(target, options, rooms=1, clients=clients, cookies=cookies)
        try:
            load = session.load
            # Everyone receives a few messages first (so `since` has a value).
            warm = run_phase(
                load,
                session.server,
                tag=f"s5w{uuid.uuid4().hex[:4]}",
                seconds=1,
                senders={0: 5},
                members=session.members,
            )
            sender_worker, sender_local = load.local[0]
            load.command(
                [
                    {
                        "cmd": "drop",
                        "keep": [sender_local] if w == sender_worker else [],
                    }
                    for w in range(load.count)
                ],
                60,
            )
            # The sender goes on while everyone else is away: `missed` messages.
            tag = f"s5m{uuid.uuid4().hex[:4]}"
            away = run_phase(
                load,
                session.server,
                tag=tag,
                seconds=1,
                senders={0: missed},
                members=[[0]],
            )
            cpu_before, _ = session.server.usage()
            profilers = start_profilers(session.server, f"{tag}-storm", 4)
            answers = load.command(
                [
                    {
                        "cmd": "reconnect",
                        "tag": tag,
                        "timeout": 120,
                        "expected_per_client": missed
                        if session.server.kind == "ours"
                        else 0,
                    }
                    for _ in range(load.count)
                ],
                timeout=200,
            )
            cpu_after, _ = session.server.usage()
            for profiler in profilers:
                profiler.wait(timeout=60)
        finally:
            session.close()
        result = {
            "clients": sum(a["clients"] for a in answers),
            "failed": sum(a["failed"] for a in answers),
            "seconds_all_subscribed": round(
                max(a["seconds_subscribed"] for a in answers), 2
            ),
            "seconds_all_caught_up": round(
                max(a["seconds_complete"] for a in answers), 2
            ),
            "clients_caught_up": sum(a["complete_clients"] for a in answers),
            "replayed_messages": sum(a["received"] for a in answers),
            "server_cpu_seconds": round(cpu_after - cpu_before, 2),
            "warm_clean": warm["clean"],
            "away_clean": away["clean"],
            "error_sample": next(
                (a["error_sample"] for a in answers if a["error_sample"]), ""
            ),
        }
        out[target] = result
        print(f"  {target:<28} storm: {result}", flush=True)
    return out


def check_stored(session: Session, result: dict) -> None:
    """`after_step` of the write scenarios: count the step's messages in PostgreSQL
    (ours only; the tutorial stores nothing); a step that lost one is not clean."""
    if session.server.kind == "ours":
        result["stored"] = wait_stored(result["tag"], result["messages"])
        result["clean"] = result["clean"] and result["stored"] == result["messages"]


def write_result(phases: list[dict]) -> dict:
    clean = [p for p in phases if p["clean"]]
    best = max(clean, key=lambda p: p["messages_per_s"]) if clean else None
    return {
        "phases": phases,
        "best_clean_messages_per_s": best and best["messages_per_s"],
    }


def scenario_w1(options, targets, cookies) -> dict:
    """The write ramp: 100 rooms of 10, one sender per room; the ladder is in
    messages/s over all rooms. Many small rooms make it a test of the write path
    (store, then broadcast to a few) rather than of the fan-out."""
    clients, rooms = 1000, 100
    levels = [float(x) for x in options.w1_levels.split(",")]
    out = {}
    for target in targets:
        session = Session(
            target, options, rooms=rooms, clients=clients, cookies=cookies
        )
        try:
            senders = [room[0] for room in session.members]
            phases = ladder(
                session,
                options,
                levels=levels,
                label="w1",
                senders_of=lambda level, senders=senders: {
                    i: level / len(senders) for i in senders
                },
                after_step=check_stored,
            )
        finally:
            session.close()
        out[target] = write_result(phases)
    return out


W2_SENDERS, W2_READERS = 8, 3


def scenario_w2(options, targets, cookies) -> dict:
    """One busy room: 8 senders, 3 readers and one client that subscribes and then
    never reads its socket again. The ladder is in messages/s over the 8 senders.
    The non-reader expects nothing; the server should cut it (a slow consumer)
    without the others noticing: their loss and latency are what is judged."""
    clients = W2_SENDERS + W2_READERS + 1
    non_reader = clients - 1
    levels = [float(x) for x in options.w2_levels.split(",")]
    out = {}
    for target in targets:
        session = Session(
            target,
            options,
            rooms=1,
            clients=clients,
            cookies=cookies,
            non_readers=frozenset([non_reader]),
        )
        try:
            phases = ladder(
                session,
                options,
                levels=levels,
                label="w2",
                senders_of=lambda level: {
                    i: level / W2_SENDERS for i in range(W2_SENDERS)
                },
                after_step=check_stored,
                readers=True,
            )
        finally:
            session.close()
        out[target] = write_result(phases)
        last = phases[-1] if phases else {}
        out[target]["non_reader_cut"] = bool(last.get("non_readers_cut"))
        out[target]["slow_consumer_aborts"] = last.get("slow_consumer_aborts", 0)
    return out


def scenario_u1(options, targets, cookies) -> dict:
    """The room page in Chromium with a long history (bench/room_page.py)."""
    import room_page  # bench/, beside this script

    setup_django()
    held = room_page.seed_messages("bench-r0", options.u1_messages)
    out = {}
    for target in targets:
        if parse_target(target)[0] != "ours":
            print(f"  {target}: no web page, skipped", flush=True)
            continue
        # Production settings serve static files from STATIC_ROOT (WhiteNoise, which
        # indexes it at start-up): collected first, from the target's own code.
        _, ref, _ = parse_target(target)
        subprocess.run(
            [PYTHON, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
            cwd=worktree(ref) if ref else ROOT,
            env={**os.environ, **ours_env()},
            check=True,
            timeout=300,
        )
        prefix = f"bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        server = Server(target, prefix)
        try:
            server.wait_listening()
            result = room_page.measure_target(server, cookies[0], options)
        finally:
            server.stop()
            delete_prefix_keys(prefix)
        result["room_messages"] = held
        out[target] = result
        print(f"  {target:<28} {result}", flush=True)
    return out


SCENARIOS = {
    "s1": scenario_s1,
    "s2": scenario_s2,
    "s3": scenario_s3,
    "s4": scenario_s4,
    "s5": scenario_s5,
    "w1": scenario_w1,
    "w2": scenario_w2,
    "u1": scenario_u1,
}


def user_layouts(scenario: str, options) -> list[tuple[int, int]]:
    """(users, rooms) layouts a scenario uses; user i is in room i * rooms // users."""
    if scenario == "s1":
        return [(options.s1_clients, 1)]
    if scenario == "s2":
        return [(options.s2_clients, int(r)) for r in options.s2_rooms.split(",")]
    if scenario == "s3":
        return [(int(s), 50) for s in options.s3_sizes.split(",")]
    if scenario == "s4":
        return [(1000, 50)]
    if scenario == "w1":
        return [(1000, 100)]
    if scenario == "w2":
        return [(W2_SENDERS + W2_READERS + 1, 1)]
    if scenario == "u1":
        return [(2, 1)]
    return [(options.s5_clients, 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=[*SCENARIOS, "all"])
    parser.add_argument("--targets", default="tutorial,ours")
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--loadgen-workers", type=int, default=2)
    parser.add_argument("--s1-clients", type=int, default=500)
    parser.add_argument(
        "--s1-levels",
        default="1000,2000,4000,6000,8000,12000,16000,20000,24000,32000,40000,48000",
        help="deliveries per second",
    )
    parser.add_argument("--s2-clients", type=int, default=1000)
    parser.add_argument("--s2-rooms", default="1,10,50")
    parser.add_argument("--s2-levels", default="1000,2000,4000,6000,8000,12000")
    parser.add_argument("--s3-sizes", default="2000,5000")
    # One sender per room: with more, a low rate rounds to one message per sender
    # per step and neighbouring levels send the same number of messages.
    parser.add_argument("--s4-senders-per-room", type=int, default=1)
    parser.add_argument(
        "--s4-levels",
        default="50,100,150,200,300,400,600,800",
        help="messages per second over all rooms",
    )
    parser.add_argument("--s5-clients", type=int, default=500)
    parser.add_argument(
        "--w1-levels",
        default="50,100,200,300,400,600,800,1000,1200,1500",
        help="messages per second over all 100 rooms",
    )
    parser.add_argument(
        "--w2-levels",
        default="200,400,600,800,1000,1200,1500",
        help="messages per second over the 8 senders of the one room",
    )
    parser.add_argument(
        "--deflate",
        action="store_true",
        help="clients offer permessage-deflate (compare ours:CHAT_WEBSOCKET_COMPRESSION"
        "=0 and =1)",
    )
    parser.add_argument("--u1-messages", type=int, default=5000)
    parser.add_argument("--u1-opens", type=int, default=5)
    parser.add_argument("--u1-pages", type=int, default=20)
    parser.add_argument("--keep-db", action="store_true")
    options = parser.parse_args()
    targets = options.targets.split(",")
    scenarios = list(SCENARIOS) if options.scenario == "all" else [options.scenario]
    # Bad target names and missing commits fail now, not after the first target.
    for target in targets:
        _, ref, _ = parse_target(target)
        if ref:
            print(f"[{target}] code from {worktree(ref).relative_to(ROOT)}", flush=True)
    needs_db = any(parse_target(t)[0] == "ours" for t in targets)
    results = {"options": vars(options), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        if needs_db:
            ensure_database()
        for scenario in scenarios:
            print(f"== {scenario}", flush=True)
            cookies: list[str] = []
            if needs_db:
                for users, rooms in sorted(user_layouts(scenario, options)):
                    slugs = [f"bench-r{r}" for r in range(rooms)]
                    cookies = prepare_users(users, slugs)
            results[scenario] = SCENARIOS[scenario](options, targets, cookies)
    finally:
        if needs_db and not options.keep_db:
            drop_database()
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{options.scenario}-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps(results, indent=1))
        print(f"results written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
