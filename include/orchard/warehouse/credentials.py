"""The warehouse's secrets, handed to a server process in an owner-only file it deletes once read (never
argv or environment, which /proc shows). The default password itself is generated once by
orchard.settings.generated_warehouse_password."""

from __future__ import annotations

import json
import os
from pathlib import Path

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
