"""Shared fixtures: one embedded warehouse per test session, on a fresh data path and a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchard.settings import ClickHouseSettings, disable_telemetry
from orchard.warehouse.client import get_client

disable_telemetry()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(path: Path, port: int, *extra: str, env: dict | None = None) -> subprocess.Popen:
    """Start `orchard warehouse serve` in a child process and wait until /ping answers."""
    log = open(path.parent / f"warehouse-{port}.log", "ab")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchard.warehouse.server", "--path", str(path), "--port", str(port), *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"warehouse exited with {proc.returncode}: {(path.parent / log.name).read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
                if b"Ok." in sock.recv(1024):
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("warehouse did not answer /ping within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> ClickHouseSettings:
    """A running embedded warehouse for the whole session; ORCHARD_CLICKHOUSE_* point at it."""
    root = tmp_path_factory.mktemp("warehouse")
    port = free_port()
    proc = start_server(root / "data", port)
    settings = ClickHouseSettings(port=port)
    saved = {key: os.environ.get(key) for key in settings.env()}
    os.environ.update(settings.env())
    os.environ.pop("AIRFLOW_CONN_CLICKHOUSE_DEFAULT", None)
    yield settings
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    stop_server(proc)


@pytest.fixture
def ch(warehouse):
    """A clickhouse-connect client to the session's warehouse."""
    client = get_client(warehouse)
    yield client
    client.close()
