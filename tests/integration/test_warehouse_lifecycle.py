"""The warehouse as a process: restarts keep data, conflicts fail at once with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from orchard.settings import ClickHouseSettings
from orchard.warehouse.client import WarehouseUnreachable, get_client

pytestmark = pytest.mark.integration


def serve(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchard.warehouse.server", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_data_survives_a_clean_restart(start_warehouse):
    first = start_warehouse()
    client = get_client(ClickHouseSettings(port=first.port))
    client.command("CREATE TABLE kept (x UInt32) ENGINE = MergeTree ORDER BY x")
    client.insert("kept", [[1], [2], [3]], column_names=["x"])
    first.stop()
    assert first.proc.returncode == 0  # SIGTERM is a clean shutdown
    second = start_warehouse(first.path)
    assert get_client(ClickHouseSettings(port=second.port)).command("SELECT sum(x) FROM kept") == 6


def test_busy_port_is_refused(warehouse, tmp_path):
    result = serve("--path", str(tmp_path / "other"), "--port", str(warehouse.port))
    assert result.returncode != 0
    assert "already in use" in result.stderr and str(warehouse.port) in result.stderr


def test_busy_data_path_is_refused(start_warehouse):
    server = start_warehouse()
    result = serve("--path", str(server.path), "--port", "0")
    assert result.returncode != 0
    assert "already using the data path" in result.stderr
    assert str(server.proc.pid) in result.stderr


def test_open_bind_needs_a_password(tmp_path):
    result = serve(
        "--path",
        str(tmp_path / "d"),
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        env={"ORCHARD_CLICKHOUSE_PASSWORD": "", "ORCHARD_WAREHOUSE_PASSWORDLESS": "1"},
    )
    assert result.returncode != 0
    assert "without a password" in result.stderr


def test_unreachable_warehouse_names_host_port_and_fix():
    settings = ClickHouseSettings(host="127.0.0.1", port=1)
    with pytest.raises(WarehouseUnreachable) as info:
        get_client(settings)
    message = str(info.value)
    assert "127.0.0.1:1" in message and "orchard warehouse start" in message


def test_stop_with_a_stale_pid_file_kills_nothing(tmp_path):
    from orchard.warehouse import lifecycle

    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pid_file = tmp_path / "warehouse.pid"
        pid_file.write_text(f"{bystander.pid}\n")  # the warehouse died; its pid went to another program
        assert lifecycle.stop(pid_file) is None
        assert bystander.poll() is None and not pid_file.exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_start_on_a_port_another_server_answers_fails(warehouse, tmp_path):
    from orchard.warehouse import lifecycle

    with pytest.raises(lifecycle.WarehouseStartError) as info:
        lifecycle.start(tmp_path / "data", "127.0.0.1", warehouse.port, pid_file=tmp_path / "w.pid")
    assert str(warehouse.port) in str(info.value) and "another --port" in str(info.value)
