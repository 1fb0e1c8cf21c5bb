"""Where the BI layer lives and how to reach it: the Superset server (URL and login), the read-only
warehouse user it queries as, and the local install's paths. Every value can be overridden by environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from orchard import settings

SUPERSET_DIR = settings.PROJECT_ROOT / "superset"  # pins, superset_config.py, the dashboards as code
ASSETS_DIR = Path(os.environ.get("ORCHARD_SUPERSET_ASSETS", SUPERSET_DIR / "assets"))
SUPERSET_VENV = Path(os.environ.get("ORCHARD_SUPERSET_VENV", settings.PROJECT_ROOT / ".venv-superset"))
SUPERSET_HOME = Path(os.environ.get("ORCHARD_SUPERSET_HOME", settings.STATE_DIR / "superset"))
SUPERSET_PORT = int(os.environ.get("ORCHARD_SUPERSET_PORT", "8088"))
SUPERSET_ADMIN = os.environ.get("ORCHARD_SUPERSET_USER", "admin")
DATABASE_NAME = "Orchard warehouse"  # the Superset database every dataset of the bundle sits on
BI_WAREHOUSE_USER = os.environ.get("ORCHARD_BI_WAREHOUSE_USER", "bi")


class BiConfigError(RuntimeError):
    """A BI setting is missing or wrong: the message names it and the fix."""


def _kept_secret(path: Path, wanted: str | None) -> str:
    """`wanted` if given, else a secret generated once and kept (0600) in `path`."""
    if wanted:
        return wanted
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(16)
    path.write_text(value)
    path.chmod(0o600)
    return value


def admin_password(home: Path = SUPERSET_HOME) -> str:
    """The local Superset admin's password: ORCHARD_SUPERSET_PASSWORD, else generated once."""
    return _kept_secret(home / "admin_password", os.environ.get("ORCHARD_SUPERSET_PASSWORD"))


def bi_warehouse_password(home: Path = SUPERSET_HOME) -> str:
    """The read-only warehouse user's password: ORCHARD_BI_WAREHOUSE_PASSWORD, else generated once (the
    embedded warehouse refuses read-only users without a password)."""
    return _kept_secret(home / "warehouse_bi_password", os.environ.get("ORCHARD_BI_WAREHOUSE_PASSWORD"))


@dataclass(frozen=True)
class SupersetConnection:
    """How Orchard reaches Superset's REST API."""

    url: str
    user: str
    password: str

    @classmethod
    def from_env(cls) -> SupersetConnection | None:
        """AIRFLOW_CONN_SUPERSET_DEFAULT (http://user:password@host:port), else ORCHARD_SUPERSET_URL with
        ORCHARD_SUPERSET_USER / ORCHARD_SUPERSET_PASSWORD; None when neither is set (no BI configured)."""
        uri = os.environ.get("AIRFLOW_CONN_SUPERSET_DEFAULT")
        if uri:
            parts = urlsplit(uri)
            if not parts.hostname or not parts.username or not parts.password:
                raise BiConfigError(
                    "AIRFLOW_CONN_SUPERSET_DEFAULT needs a host, a user and a password: "
                    "http://admin:PASSWORD@localhost:8088"
                )
            scheme = "https" if parts.scheme in {"https", "superset+https"} else "http"
            port = f":{parts.port}" if parts.port else ""
            return cls(f"{scheme}://{parts.hostname}{port}", unquote(parts.username), unquote(parts.password))
        url = os.environ.get("ORCHARD_SUPERSET_URL")
        if not url:
            return None
        password = os.environ.get("ORCHARD_SUPERSET_PASSWORD")
        if not password:
            raise BiConfigError(
                f"ORCHARD_SUPERSET_URL is set ({url}) but ORCHARD_SUPERSET_PASSWORD is not: set the password of "
                f"Superset user {SUPERSET_ADMIN!r}, or unset ORCHARD_SUPERSET_URL to skip the BI refresh"
            )
        return cls(url.rstrip("/"), SUPERSET_ADMIN, password)

    def airflow_uri(self) -> str:
        parts = urlsplit(self.url)
        from urllib.parse import quote

        return f"{parts.scheme}://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{parts.netloc}"
