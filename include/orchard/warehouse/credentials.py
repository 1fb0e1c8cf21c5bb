"""The warehouse's secrets: the default user's password, generated once and kept owner-only in the state
directory, and the credentials file that hands secrets to a server process (never argv or environment,
which /proc shows)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

PASSWORD_FILE_NAME = "clickhouse-password"
PASSWORD_ENV = "ORCHARD_CLICKHOUSE_PASSWORD"
READONLY_USERS_ENV = "ORCHARD_WAREHOUSE_READONLY_USERS"
PASSWORDLESS_ENV = "ORCHARD_WAREHOUSE_PASSWORDLESS"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, created with those permissions (no window of exposure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT


def generated_password(state_dir: Path) -> str:
    """The password in <state dir>/clickhouse-password, created on first use (owner-only)."""
    path = Path(state_dir) / PASSWORD_FILE_NAME
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting at once agree on one password
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(24) + "\n")
    return path.read_text().strip()


def client_password(environ: dict[str, str] | None = None, state_dir: Path | None = None) -> str:
    """What Orchard's clients send to the embedded warehouse: ORCHARD_CLICKHOUSE_PASSWORD when set and
    not empty, else the generated password the server uses by default."""
    from orchard import settings

    env = os.environ if environ is None else environ
    return env.get(PASSWORD_ENV) or generated_password(state_dir or settings.STATE_DIR)


def passwordless_requested(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(PASSWORDLESS_ENV, "").lower() in {"1", "true", "yes"}


def write_credentials_file(path: Path, password: str | None, readonly_users: list[str]) -> Path:
    """The secrets for a server about to start: it reads the file and deletes it."""
    write_private(path, json.dumps({"password": password, "readonly_users": readonly_users}))
    return path


def read_credentials_file(path: Path) -> tuple[str | None, list[str]]:
    """(password or None for "use the default", read-only users); the file is gone afterwards."""
    try:
        data = json.loads(Path(path).read_text())
    finally:
        Path(path).unlink(missing_ok=True)
    return data.get("password"), list(data.get("readonly_users") or [])
