"""Throw-away PostgreSQL and Redis servers for the tests: real servers, on loopback, in temp folders.

`PostgresServer.start(folder)` runs `initdb` and `pg_ctl` from PostgreSQL 15's binaries on
a free port of 127.0.0.1 with its data and socket in `folder`; `RedisServer.start(folder)`
runs `redis-server` the same way. Both stop (and leave nothing running) on `stop()`.

`initdb` refuses to run as root: as root, the cluster runs as the `postgres` OS user
(`runuser`), its folder handed to that user; as anyone else it runs as that user.
`missing()` says which binaries are absent, so a fixture can skip with that reason
(`make test` installs them from Debian's packages).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("JOIST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "joist"


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def missing() -> list[str]:
    """The server binaries this machine lacks (empty when both servers can start)."""
    absent = [str(PG_BIN / name) for name in ("initdb", "pg_ctl", "postgres") if not (PG_BIN / name).exists()]
    if shutil.which("redis-server") is None:
        absent.append("redis-server")
    return absent


def _as_owner(command: list[str]) -> list[str]:
    """The command run as the `postgres` user when we are root (initdb refuses root), else as is."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _hand_over(folder: Path) -> None:
    """Give `folder` to the `postgres` user when we are root, so the cluster can write it."""
    if os.geteuid() != 0:
        return
    owner = pwd.getpwnam("postgres")
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    folder.chmod(0o700)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def _wait_for_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:g}s")


@dataclass
class PostgresServer:
    """One PostgreSQL cluster on 127.0.0.1:`port`, user `joist` (trust auth, loopback only)."""

    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @classmethod
    def start(cls, folder: Path) -> PostgresServer:
        """initdb a new cluster in `folder` and start it on a free port; waits until it answers."""
        folder.mkdir(parents=True, exist_ok=True)
        _hand_over(folder)
        server = cls(folder, free_port())
        _run(
            _as_owner(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(server.data),
                    "-U",
                    PG_USER,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            "initdb",
        )
        options = (
            f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        _run(
            _as_owner(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(server.data),
                    "-o",
                    options,
                    "-l",
                    str(folder / "log"),
                    "-w",
                    "start",
                ]
            ),
            "pg_ctl start",
        )
        _wait_for_port(server.port, 30, "PostgreSQL")
        return server

    def url(self, database: str = "postgres") -> str:
        """The libpq URL of `database` on this server."""
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def fresh_url(self) -> str:
        """The URL of a state store of its own: a new, empty schema in the `postgres` database."""
        return f"{self.url()}?schema=t_{uuid.uuid4().hex[:12]}"

    def stop(self) -> None:
        """Stop the cluster (fast shutdown) and wait for it."""
        subprocess.run(
            _as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )


@dataclass
class RedisServer:
    """One redis-server on 127.0.0.1:`port`, persisting nothing."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, folder: Path) -> RedisServer:
        """Start redis-server on a free port with `folder` as its working folder; waits until it answers."""
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
                "--logfile",
                str(folder / "log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(port, 30, "Redis")
        except RuntimeError:
            process.kill()
            process.wait()
            raise
        return cls(folder, port, process)

    def url(self, db: int = 0) -> str:
        """The redis:// URL of database `db`."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
