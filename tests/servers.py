"""Real servers for tests, started on loopback in temporary folders: PostgreSQL (Debian's ``postgresql``) and
mosquitto. Each skips the test with the package to install when its binaries are absent.

PostgreSQL refuses to run as root, so as root the cluster is initialised and run as the ``postgres`` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_bin() -> Path | None:
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / "initdb").is_file():
            return root
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only, trust authentication."""

    def __init__(self):
        bindir = _postgres_bin()
        if bindir is None:
            pytest.skip("PostgreSQL is not installed (apt-get install postgresql); the PostgreSQL store is untested")
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="streetorder-pg-"))
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.folder / "data"), "-U", self.user, "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C.UTF-8")
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-w", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c max_connections=200", "start")
        self.url = f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"
        self._schemas = 0

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.folder)

    def fresh_url(self) -> str:
        """The URL of a new, empty schema of the server's database: a store of its own for one test."""
        import psycopg
        self._schemas += 1
        schema = f"t{os.getpid()}_{self._schemas}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return f"{self.url}?options=-csearch_path%3D{schema}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class MosquittoBroker:
    """A mosquitto broker on 127.0.0.1 (anonymous; persistence off), which a test may stop and start again on the
    same port."""

    def __init__(self, port: int | None = None):
        from evaluation.bench_sinks import mosquitto_binary
        self.binary = mosquitto_binary()
        if self.binary is None:
            pytest.skip("mosquitto is not installed (apt-get install mosquitto); the MQTT sink is untested")
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="streetorder-mqtt-"))
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        """Start the broker (again: on the same port)."""
        from evaluation.bench_sinks import mosquitto
        self.process, self.port = mosquitto(self.binary, self.folder, self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

