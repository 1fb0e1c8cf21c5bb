"""Real servers from Debian's packages for the tests (installed by `make services`, never at test time):
a throwaway PostgreSQL cluster on a free port and a temporary directory, stopped and removed afterwards.

As root, PostgreSQL refuses to run: its programs run as the `postgres` user, on a directory it owns.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from glob import glob
from pathlib import Path

from orchard.warehouse.lifecycle import free_port

INSTALL_HINT = "run `make services` (scripts/install_test_services.sh) to install Debian's postgresql"


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian keeps them in /usr/lib/postgresql/N/bin)."""
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError(f"PostgreSQL is not installed: {INSTALL_HINT}")
    return Path(found[-1]).parent


def _as_postgres_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class PostgresServer:
    """A running throwaway cluster; `url(db)` is a SQLAlchemy URL with the superuser's password."""

    root: Path
    port: int
    user: str
    password: str

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            _as_postgres_user(
                [str(postgres_bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            ),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl start on 127.0.0.1 and a free port, password authentication, no fsync (throwaway)."""
    bin_dir = postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="orchard-pg-"))
    password = secrets.token_hex(12)
    (root / "pwfile").write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pwfile", "postgres")
    server = PostgresServer(root=root, port=free_port(), user="orchard", password=password)

    def run(argv: list[str]) -> None:
        done = subprocess.run(_as_postgres_user(argv), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = root / "postgres.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip() or done.stdout.strip()}\n{tail}")

    run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(server.data),
            "-U",
            server.user,
            f"--pwfile={root / 'pwfile'}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
        ]
    )
    options = f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(server.data),
            "-o",
            options,
            "-l",
            str(root / "postgres.log"),
            "-w",
            "start",
        ]
    )
    return server
