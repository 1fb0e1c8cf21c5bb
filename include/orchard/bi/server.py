"""The local Superset: initialised once under the state directory (SQLite metadata, an admin user), run as
a gunicorn process from its own virtualenv (.venv-superset, `make superset`), started and stopped like
the embedded warehouse."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from orchard.bi import config

INIT_STAMP = "initialised"


def superset_bin(name: str = "superset") -> Path:
    path = config.SUPERSET_VENV / "bin" / name
    if not path.exists():
        raise config.BiConfigError(f"Superset is not installed ({path} is missing): run `make superset`")
    return path


def superset_env(home: Path = config.SUPERSET_HOME) -> dict[str, str]:
    """The environment of every Superset process: its config file, metadata DB and secret key."""
    home.mkdir(parents=True, exist_ok=True)
    secret = home / "secret_key"
    if not secret.exists():
        secret.write_text(secrets.token_urlsafe(42))
        secret.chmod(0o600)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(
        {
            "SUPERSET_CONFIG_PATH": str(config.SUPERSET_DIR / "superset_config.py"),
            "SUPERSET_HOME": str(home),
            "SUPERSET_SECRET_KEY": os.environ.get("SUPERSET_SECRET_KEY") or secret.read_text().strip(),
            "SUPERSET_METADATA_URI": os.environ.get("SUPERSET_METADATA_URI")
            or f"sqlite:///{home / 'superset.db'}",
            "FLASK_APP": "superset.app:create_app()",
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
        }
    )
    return env


def initialise(home: Path = config.SUPERSET_HOME) -> None:
    """Metadata schema, roles and the admin user; done once per state directory (the stamp file), and the
    admin's password set again each time so ORCHARD_SUPERSET_PASSWORD changes take effect."""
    env = superset_env(home)
    log = home / "init.log"
    password = config.admin_password(home)

    def run(*args: str) -> None:
        with open(log, "ab") as out:
            done = subprocess.run([str(superset_bin()), *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        if done.returncode:
            raise config.BiConfigError(f"`superset {' '.join(args[:2])}` failed: see {log}")

    if not (home / INIT_STAMP).exists():
        run("db", "upgrade")
        run("init")
        run(
            "fab", "create-admin", "--username", config.SUPERSET_ADMIN, "--firstname", "Orchard",
            "--lastname", "Admin", "--email", "admin@orchard.example", "--password", password,
        )  # fmt: skip
        (home / INIT_STAMP).write_text("superset db upgrade, init, fab create-admin\n")
    else:
        run("fab", "reset-password", "--username", config.SUPERSET_ADMIN, "--password", password)


def _pid_file(home: Path) -> Path:
    return home / "superset.pid"


def running_pid(home: Path = config.SUPERSET_HOME) -> int | None:
    path = _pid_file(home)
    if not path.exists():
        return None
    pid = int(path.read_text())
    try:
        os.kill(pid, 0)
    except OSError:
        path.unlink(missing_ok=True)
        return None
    return pid


def url(port: int = config.SUPERSET_PORT) -> str:
    return f"http://127.0.0.1:{port}"


def wait_healthy(
    port: int, proc: subprocess.Popen | None = None, log: Path | None = None, timeout: float = 180
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise config.BiConfigError(f"Superset stopped at start (exit {proc.returncode}): see {log}")
        try:
            urllib.request.urlopen(f"{url(port)}/health", timeout=2).read()
            return
        except OSError:
            time.sleep(1)
    raise config.BiConfigError(f"Superset did not answer at {url(port)} within {timeout:.0f} s: see {log}")


def start(home: Path = config.SUPERSET_HOME, port: int = config.SUPERSET_PORT) -> int:
    """Initialise if needed, start gunicorn in the background (its own process group) and wait for /health.
    Returns the pid; a Superset already running from this home is left as it is."""
    pid = running_pid(home)
    if pid:
        return pid
    initialise(home)
    log = home / "superset.log"
    out = open(log, "ab")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(
        [
            str(superset_bin("gunicorn")),
            "--bind",
            f"127.0.0.1:{port}",
            # One worker with threads: the machine is small and Superset's memory is per worker.
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--timeout",
            "300",
            "superset.app:create_app()",
        ],  # fmt: skip
        env=superset_env(home),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _pid_file(home).write_text(str(proc.pid))
    try:
        wait_healthy(port, proc, log)
    except config.BiConfigError:
        stop(home)
        raise
    return proc.pid


def stop(home: Path = config.SUPERSET_HOME) -> bool:
    """Stop the Superset started from this home; True if one was running."""
    pid = running_pid(home)
    if pid is None:
        return False
    os.killpg(pid, signal.SIGTERM)
    for _ in range(60):
        try:
            os.kill(pid, 0)
        except OSError:
            break
        try:  # our own child (tests, `make run`) stays a zombie until reaped
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        except ChildProcessError:
            pass
        time.sleep(0.5)
    else:
        os.killpg(pid, signal.SIGKILL)
    _pid_file(home).unlink(missing_ok=True)
    return True
