"""The project's benchmark, one command per scenario. So far only S1 (fan-out).

    .venv/bin/python bench/run.py s1 [--clients 100] [--rates 10,20,40,80] [--seconds 4]

For each target (`tutorial`: the Channels tutorial consumer, then `ours`: the chat
server started as the tests start it) this starts the server on a free loopback port
with Redis and a key prefix of its own, prepares users, a room and sessions for
`ours` in the `chat_bench` database (created and migrated when missing, dropped at the
end unless --keep-db), runs `bench/loadgen.py` once in a separate process, stops the
server's whole process group, deletes the prefix's Redis keys and prints a table.
Results are also written to bench/results/.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REDIS_URL = "redis://127.0.0.1:6379/0"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = "chat_bench"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789"
ROOM = "bench-s1"
LOGS = ROOT / "bench" / "logs"
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')


def ours_env() -> dict:
    return {
        "DJANGO_SETTINGS_MODULE": "chatsite.settings.production",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": DATABASE_URL,
        # One sender sends everything: it must not be rate limited.
        "CHAT_SEND_BURST": "100000000/1",
        "CHAT_SEND_SUSTAINED": "100000000/60",
    }


def prepare_ours(clients: int, prefix: str) -> list[str]:
    """Users, one public room everyone joined, a session per user: the cookies."""
    os.environ.update(ours_env())
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ["CHANNEL_LAYER_PREFIX"] = prefix
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from chat import services
    from chat.models import Room

    user_model = get_user_model()
    names = [f"bench{i}" for i in range(clients)]
    taken = user_model.objects.filter(username__in=names)
    existing = set(taken.values_list("username", flat=True))
    new = []
    for name in names:
        if name not in existing:
            user = user_model(username=name)
            user.set_unusable_password()
            new.append(user)
    user_model.objects.bulk_create(new)
    users = {u.username: u for u in user_model.objects.filter(username__in=names)}
    ordered = [users[name] for name in names]
    room = Room.objects.filter(slug=ROOM).first()
    if room is None:
        room = services.room_create(owner=ordered[0], slug=ROOM, name="Bench S1")
    cookies = []
    for user in ordered:
        services.room_join(user=user, room=room)
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        cookies.append(client.cookies["sessionid"].value)
    connection.close()
    return cookies


class Server:
    """One server process in its own process group; stop() ends the whole group."""

    def __init__(self, target: str, prefix: str):
        self.target = target
        self.port = free_port()
        env = {**os.environ, "REDIS_URL": REDIS_URL, "CHANNEL_LAYER_PREFIX": prefix}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        if target == "tutorial":
            env.pop("DATABASE_URL", None)
            env["DJANGO_SETTINGS_MODULE"] = "chatsite.settings.local"
            command = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
            command.append("bench.baselines.tutorial_asgi:application")
        else:
            env.update(ours_env())
            command = [PYTHON, "-m", "chatsite.serve", "--port", str(self.port)]
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{target}-{self.port}.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not listen; see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        try:  # anything left in the group (there should be nothing)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def delete_prefix_keys(prefix: str) -> int:
    """Remove this run's channel-layer, presence and cache keys (and only those)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    deleted = 0
    batch = []
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        batch.append(key)
        if len(batch) >= 500:
            deleted += client.delete(*batch)
            batch = []
        if deleted > 1_000_000:
            break
    if batch:
        deleted += client.delete(*batch)
    client.close()
    return deleted


def run_target(target: str, options, cookies: list[str], prefix: str) -> dict:
    server = Server(target, prefix)
    phases: list[dict] = []
    connected = None
    try:
        server.wait_listening()
        config = {
            "target": target,
            "clients": options.clients,
            "rates": options.rates,
            "seconds": options.seconds,
            "run_id": f"{os.getpid()}{target[0]}",
            "room": ROOM if target == "ours" else "bench",
            "url": (
                f"ws://127.0.0.1:{server.port}/ws/chat/"
                if target == "ours"
                else f"ws://127.0.0.1:{server.port}/ws/chat/bench/"
            ),
            "cookies": cookies,
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(config, handle)
        budget = 180 + len(options.rates) * (options.seconds * 3 + 10 + 5)
        try:
            result = subprocess.run(
                [PYTHON, str(ROOT / "bench" / "loadgen.py"), handle.name],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=budget,
            )
        finally:
            os.unlink(handle.name)
        for line in result.stdout.splitlines():
            event = json.loads(line)
            if event["event"] == "connected":
                connected = event
            else:
                phases.append(event)
        if result.returncode != 0:
            print(f"[{target}] loadgen failed:\n{result.stderr[-2000:]}")
    finally:
        server.stop()
        print(f"[{target}] deleted {delete_prefix_keys(prefix)} Redis keys of {prefix}")
    clean = [p for p in phases if p["clean"]]
    best = max(clean, key=lambda p: p["rate"]) if clean else None
    return {
        "target": target,
        "connected": connected,
        "phases": phases,
        "best_clean_rate": best["rate"] if best else None,
        # The clean rate in deliveries per second: messages/s times receivers.
        "best_clean_deliveries_per_s": (
            best["rate"] * options.clients if best else None
        ),
        "best_clean_measured_per_s": best["deliveries_per_s"] if best else None,
    }


def print_table(results: list[dict]) -> None:
    head = (
        "target    rate  sent  expected  received  loss%   p50ms   p99ms  "
        "deliv/s  lg-cpu%  clean"
    )
    print(head)
    for res in results:
        for p in res["phases"]:
            print(
                f"{res['target']:<8} {p['rate']:>5g} {p['sent']:>5} {p['expected']:>9}"
                f" {p['received']:>9} {p['loss_pct']:>6} {p['p50_ms']!s:>7}"
                f" {p['p99_ms']!s:>7} {p['deliveries_per_s']:>8}"
                f" {p['loadgen_cpu_pct']:>8} {'yes' if p['clean'] else 'NO'}"
                + ("" if p["errors"] == 0 else f" errors={p['errors']}")
                + (" sender-behind" if p["sender_behind"] else "")
                + (f" closed={p['closed_sockets']}" if p["closed_sockets"] else "")
            )
    for res in results:
        print(
            f"{res['target']}: connected {res['connected']}; highest clean rate "
            f"{res['best_clean_rate']} msg/s = "
            f"{res['best_clean_deliveries_per_s']} deliveries/s "
            f"(measured {res['best_clean_measured_per_s']})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["s1"])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument(
        "--rates",
        default="10,20,40,80,160,320",
        help="messages per second sent by the one sender, comma-separated",
    )
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--targets", default="tutorial,ours")
    parser.add_argument("--keep-db", action="store_true")
    options = parser.parse_args()
    options.rates = [float(r) for r in options.rates.split(",")]
    targets = options.targets.split(",")
    base = f"bench-s1-{os.getpid()}"
    results = []
    cookies: list[str] = []
    try:
        if "ours" in targets:
            ensure_database()
            cookies = prepare_ours(options.clients, f"{base}-ours")
        for target in targets:
            results.append(run_target(target, options, cookies, f"{base}-{target}"))
    finally:
        if "ours" in targets and not options.keep_db:
            drop_database()
    print_table(results)
    by_target = {r["target"]: r["best_clean_deliveries_per_s"] for r in results}
    if by_target.get("ours") and by_target.get("tutorial"):
        ratio = by_target["ours"] / by_target["tutorial"]
        print(f"ratio ours/tutorial (highest clean deliveries/s): {ratio:.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"s1-{time.strftime('%Y%m%d-%H%M%S')}.json"
    summary = {"options": {**vars(options)}, "results": results}
    path.write_text(json.dumps(summary, indent=1))
    print(f"results written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
