"""A PostgreSQL server of our own (initdb in a temporary folder, a free port), which a
fault test may stop and start without touching the shared one."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

from django.conf import settings

from tests.servers import free_port


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [
        shutil.which(name)
    ]
    if not found or not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return found[-1]


class ThrowawayPostgres:
    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="chat-pg-")
        self.data = os.path.join(self.dir, "data")
        # initdb refuses to run as root: run the server as the postgres user then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/chat"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True)

    def create(self) -> "ThrowawayPostgres":
        self._run(_binary("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres",
                  "--no-sync")  # fmt: skip
        self.start()
        self._run(_binary("createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "postgres", "chat")  # fmt: skip
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=settings.BASE_DIR,
            env={**os.environ, "DATABASE_URL": self.url,
                 "DJANGO_SETTINGS_MODULE": "chatsite.settings.test"},
            check=True,
        )  # fmt: skip
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        )
        # -l: the server's output goes to a file, not to our pipes (which would then
        # stay open for as long as the server runs).
        log = os.path.join(self.dir, "server.log")
        self._run(
            _binary("pg_ctl"), "-D", self.data, "-o", options, "-l", log, "-w", "start"
        )

    def stop(self) -> None:
        # Immediate: like a crash, connections are cut without goodbye.
        self._run(_binary("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_django(self, code: str) -> object:
        """Run Python code against this database in a fresh process; its last
        expression is printed as JSON and returned."""
        result = subprocess.run(
            [sys.executable, "-c",
             "import django, json; django.setup()\n" + code],
            cwd=settings.BASE_DIR,
            env={**os.environ, "DATABASE_URL": self.url,
                 "DJANGO_SETTINGS_MODULE": "chatsite.settings.test"},
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return json.loads(result.stdout.strip().splitlines()[-1])
