"""The warehouse's disk fills up during a load: a real size-limited filesystem (tmpfs, mounted as root)
holds a warehouse's data path, and a filler file leaves it almost no room."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import uuid

import pytest
from load_fixtures import INSTACART_ROWS, checksums, write_instacart

from orchard.load.report import LoadError
from orchard.settings import ClickHouseSettings
from orchard.sources.instacart.pipeline import run_instacart
from orchard.warehouse.client import get_client
from orchard_dev.instacart_sample.generator import write_sample

pytestmark = pytest.mark.integration


@pytest.fixture
def small_disk(tmp_path):
    """A 96 MiB tmpfs; unmounted afterwards (whatever runs on it must be stopped first)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited filesystem needs root (CI runs as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount, leave_bytes: int) -> None:
    """Take all but `leave_bytes` of the filesystem with one file."""
    free = shutil.disk_usage(mount).free
    with (mount / "filler").open("wb", buffering=0) as handle:
        handle.truncate(0)
        chunk = b"\0" * (1 << 20)
        remaining = max(free - leave_bytes, 0)
        written = 0
        try:
            while remaining > 0:
                count = handle.write(chunk[: min(len(chunk), remaining)])
                remaining -= count
                written += count
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            # The warehouse wrote meanwhile (merges, its logs) and took the room first: leave it as much again.
            handle.truncate(max(written - leave_bytes, 0))


@pytest.mark.reliability(
    fault="the warehouse's disk fills up while loading",
    behaviour="the load fails saying the warehouse is out of disk space and how to recover; the warehouse "
    "keeps serving what it had; the rerun after freeing space loads every row",
)
def test_disk_full_during_a_load(start_warehouse, small_disk, tmp_path):
    server = start_warehouse(small_disk / "data")
    settings = ClickHouseSettings(port=server.port)
    db = f"raw_instacart_d{uuid.uuid4().hex[:8]}"
    ch = get_client(settings)
    try:
        run_instacart(
            write_instacart(tmp_path / "small"), settings=settings, database=db, pipelines_dir=tmp_path / "d"
        )
        before = checksums(ch, db)
        assert {t: before[t][0] for t in INSTACART_ROWS} == INSTACART_ROWS

        big = tmp_path / "big"
        write_sample(big, 0.01, 0)
        fill(small_disk, leave_bytes=128 << 10)
        with pytest.raises(LoadError) as err:
            run_instacart(big, settings=settings, database=db, pipelines_dir=tmp_path / "d")
        message = str(err.value)
        assert "out of disk space" in message and "Free space on the warehouse's data volume" in message
        assert db in message

        assert server.proc.poll() is None, "the warehouse died"
        assert checksums(ch, db) == before  # still served, unchanged

        (small_disk / "filler").unlink()
        report = run_instacart(big, settings=settings, database=db, pipelines_dir=tmp_path / "d")
        assert report.rows["orders"] == ch.command(f"SELECT count() FROM `{db}`.orders")
        assert ch.command(f"SELECT count() FROM `{db}`.orders") > INSTACART_ROWS["orders"]
    finally:
        ch.close()
        server.stop()
