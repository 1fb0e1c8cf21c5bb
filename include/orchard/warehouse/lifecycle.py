"""Start, stop and check the embedded warehouse as a background process (pid file + readiness wait)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from orchard import settings
from orchard.warehouse import credentials

PID_FILE = settings.STATE_DIR / "warehouse.pid"
LOG_FILE = settings.STATE_DIR / "warehouse.log"


class WarehouseStartError(RuntimeError):
    """The server process exited or never answered; the message carries its last log lines."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ping(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/ping", timeout=timeout) as response:
            return response.read().startswith(b"Ok.")
    except OSError:
        return False


def spawn(
    path: Path, host: str, port: int, log_file: Path, *extra: str, env: dict | None = None
) -> subprocess.Popen:
    """Start `python -m orchard.warehouse.server` detached from this terminal, logging to log_file.

    Secrets in the environment (ORCHARD_CLICKHOUSE_PASSWORD, ORCHARD_WAREHOUSE_READONLY_USERS) go to the
    server in an owner-only file it deletes once read, never in its argv or environment (/proc shows both).
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    child_env = {**os.environ, **(env or {})}
    password = child_env.pop(credentials.PASSWORD_ENV, "") or None
    readonly = [u for u in child_env.pop(credentials.READONLY_USERS_ENV, "").split(",") if u]
    secrets_file = credentials.write_credentials_file(
        log_file.parent / f".warehouse-credentials-{port}.json", password, readonly
    )
    with open(log_file, "ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orchard.warehouse.server",
                "--path",
                str(path),
                "--host",
                host,
                "--port",
                str(port),
                "--credentials-file",
                str(secrets_file),
                *extra,
            ],  # fmt: skip
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env,
            start_new_session=True,
        )


def wait_ready(proc: subprocess.Popen, host: str, port: int, log_file: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WarehouseStartError(f"The warehouse exited with code {proc.returncode}:\n{tail(log_file)}")
        if ping(host, port):
            return
        time.sleep(0.1)
    proc.terminate()
    raise WarehouseStartError(
        f"The warehouse did not answer on {host}:{port} within {timeout:.0f} s:\n{tail(log_file)}"
    )


def tail(log_file: Path, lines: int = 5) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Status:
    pid: int | None
    running: bool
    answering: bool


def read_pid(pid_file: Path = PID_FILE) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def is_warehouse(pid: int) -> bool:
    """True if the pid is an Orchard warehouse server (a stale pid file may name any process now)."""
    try:
        return b"orchard.warehouse.server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(host: str, port: int, pid_file: Path = PID_FILE) -> Status:
    pid = read_pid(pid_file)
    running = pid is not None and alive(pid) and is_warehouse(pid)
    return Status(pid if running else None, running, ping(host, port))


def start(
    path: Path, host: str, port: int, *extra: str, env: dict | None = None, pid_file: Path = PID_FILE
) -> int:
    """Start in the background unless already running; return the server's pid once it answers."""
    current = status(host, port, pid_file)
    if current.running and current.answering:
        return current.pid
    if current.answering:  # another process holds the port: our server would fail, theirs would answer
        raise WarehouseStartError(
            f"Another server already answers on {host}:{port} (not one `orchard warehouse start` started): "
            "stop it, or choose another --port."
        )
    proc = spawn(path, host, port, LOG_FILE, *extra, env=env)
    wait_ready(proc, host, port, LOG_FILE)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def stop(pid_file: Path = PID_FILE, timeout: float = 30) -> int | None:
    """SIGTERM the background server and wait for it to exit; return its pid, or None if none ran."""
    pid = read_pid(pid_file)
    if pid is None or not alive(pid) or not is_warehouse(pid):
        pid_file.unlink(missing_ok=True)  # stale: that pid is gone, or now belongs to another program
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return pid
