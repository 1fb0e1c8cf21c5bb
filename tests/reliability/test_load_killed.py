"""A load killed at any moment and retried: the loader process SIGKILLed right after a job committed in the
warehouse (before dlt recorded it), and the warehouse SIGKILLed mid-load and restarted on its data. The
retry ends with exactly the files' rows, and no reader ever sees a published table go back, double or
fill up partially."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import dlt
import pytest
from conftest import start_server
from load_fixtures import write_instacart

from orchard.load.destination import http_destination
from orchard.load.pipelines import _configure_dlt, working_folder
from orchard.settings import ClickHouseSettings
from orchard.sources.instacart.pipeline import run_instacart
from orchard.sources.instacart.settings import FILES
from orchard.warehouse.client import get_client
from orchard_dev.instacart_sample.generator import write_sample

pytestmark = pytest.mark.integration

# The loader, in a process of its own. dlt writes a job's outcome to disk right after the warehouse
# committed the job; this script stops there, at the first job whose file name matches argv[1]: it says
# so on stdout and waits for a line on stdin, while no other job is recorded (nor followed up). The test
# kills the loader there (the job is done in the warehouse, not in dlt's books), or the warehouse.
LOADER = """
import re, sys, threading
from dlt.common.storages.load_package import PackageStorage
from orchard.sources.instacart.pipeline import run_instacart

pattern, folder, database, pipelines_dir = sys.argv[1:]
record = PackageStorage.save_pending_transition
stopping, resumed = threading.Lock(), threading.Event()
stopped = []

def stop_once(self, load_id, file_name, *args, **kwargs):
    with stopping:
        first = re.fullmatch(pattern, file_name) is not None and not stopped
        stopped.extend([file_name] if first else [])
    if first:
        print("paused", file_name, flush=True)
        sys.stdin.readline()
        resumed.set()
    elif stopped:
        resumed.wait()
    return record(self, load_id, file_name, *args, **kwargs)

PackageStorage.save_pending_transition = stop_once
run_instacart(folder, database=database, pipelines_dir=pipelines_dir)
"""


def start_loader(pattern: str, folder: Path, db: str, pipelines_dir: Path, settings) -> subprocess.Popen:
    """The loader, stopped right after the first job matching `pattern` was committed."""
    loader = subprocess.Popen(
        [sys.executable, "-c", LOADER, pattern, str(folder), db, str(pipelines_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **settings.env()},
    )
    line = loader.stdout.readline()
    assert line.startswith("paused"), loader.communicate(timeout=60)[1][-3000:]
    return loader


def file_totals(folder: Path) -> dict[str, tuple[int, int]]:
    """{table: (rows, sum of the first column)} of the source files."""
    totals = {}
    for spec in FILES:
        with (folder / spec.file).open() as handle:
            rows = list(csv.reader(handle))[1:]
        totals[spec.table] = (len(rows), sum(int(row[0]) for row in rows))
    return totals


def table_totals(ch, db: str) -> dict[str, tuple[int, int]]:
    """The same figures of the published tables."""
    totals = {}
    for spec in FILES:
        key = next(iter(spec.columns))
        totals[spec.table] = tuple(
            ch.query(f"SELECT count(), sum({key}) FROM `{db}`.`{spec.table}`").result_rows[0]
        )
    return totals


class Reader(threading.Thread):
    """Reads the row count of a published table over and over, as a dashboard or dbt would, and keeps
    each change it saw."""

    def __init__(self, settings: ClickHouseSettings, table: str) -> None:
        super().__init__(daemon=True)
        self.settings, self.table = settings, table
        self.seen: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        client = None
        while not self.done.wait(0.02):
            try:
                client = client or get_client(self.settings)
                count = client.command(f"SELECT count() FROM {self.table}")
            except Exception:  # the warehouse is down or restarting
                client = None
                continue
            if not self.seen or self.seen[-1] != count:
                self.seen.append(count)

    def start(self) -> None:
        super().start()
        for _ in range(1000):  # the first count is the one before the load
            if self.seen:
                return
            time.sleep(0.01)
        raise AssertionError(f"{self.table} could not be read")

    def stop(self) -> list[int]:
        self.done.set()
        self.join()
        return self.seen


def resume_pending_package(db: str, pipelines_dir: Path, settings: ClickHouseSettings) -> None:
    """Load what the killed run left (dlt resumes its package), and nothing new."""
    _configure_dlt()
    pipeline = dlt.pipeline(
        pipeline_name=f"orchard_{db}",
        destination=http_destination(settings),
        dataset_name=db,
        pipelines_dir=str(working_folder(pipelines_dir, settings)),
    )
    assert pipeline.list_normalized_load_packages(), "the killed run left no package to resume"
    pipeline.load()


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Last night's files (a few rows) and tonight's (a few thousand rows, 50 k products)."""
    root = tmp_path_factory.mktemp("instacart")
    tonight = root / "tonight"
    write_sample(tonight, 1e-4, 0)
    return write_instacart(root / "last"), tonight


@pytest.mark.reliability(
    fault="the loader is killed (SIGKILL) right after a table was published (the swap done in the warehouse, "
    "not yet recorded by dlt), or right after a file went into staging, and the load is retried",
    behaviour="the retry publishes each table once: exactly the files' rows and checksums; no reader sees a "
    "published table go back to the previous night's rows, doubled or partial",
)
def test_loader_killed_mid_load_and_after_publishing(warehouse, ch, nights, tmp_path):
    last, tonight = nights
    db = f"raw_instacart_k{uuid.uuid4().hex[:8]}"
    pipelines_dir = tmp_path / "dlt"
    run_instacart(last, database=db, pipelines_dir=pipelines_dir)
    assert table_totals(ch, db) == file_totals(last)
    old, new = file_totals(last)["products"][0], file_totals(tonight)["products"][0]

    reader = Reader(warehouse, f"`{db}`.products")
    reader.start()
    for job in (r".*\.sql", r"products\..*\.parquet"):  # killed after publishing, then after inserting
        loader = start_loader(job, tonight, db, pipelines_dir, warehouse)
        loader.send_signal(signal.SIGKILL)
        loader.communicate(timeout=60)
        # what the killed run left, resumed alone, publishes tonight's files whole, once
        resume_pending_package(db, pipelines_dir, warehouse)
        assert table_totals(ch, db) == file_totals(tonight)
    run_instacart(tonight, database=db, pipelines_dir=pipelines_dir)  # the task's retry: a new run
    assert table_totals(ch, db) == file_totals(tonight)
    seen = reader.stop()
    assert seen == [old, new], f"a reader saw products go {seen}: only {old} then {new} is right"


@pytest.mark.reliability(
    fault="the warehouse is killed (SIGKILL) mid-load, restarted on its data, and the load retried",
    behaviour="the published tables stay the previous night's, whole, until the retry publishes exactly the "
    "files' rows and checksums",
)
def test_warehouse_killed_mid_load(start_warehouse, nights, tmp_path):
    last, tonight = nights
    server = start_warehouse()
    settings = ClickHouseSettings(port=server.port)
    db = f"raw_instacart_w{uuid.uuid4().hex[:8]}"
    pipelines_dir = tmp_path / "dlt"
    run_instacart(last, database=db, settings=settings, pipelines_dir=pipelines_dir)

    # a first file is in staging (no table published yet), other jobs are running when the warehouse dies
    loader = start_loader(r".*", tonight, db, pipelines_dir, settings)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    _, err = loader.communicate("\n", timeout=300)  # the loader goes on, and fails
    assert loader.returncode != 0 and "WarehouseUnreachable" in err, err[-3000:]

    server.proc = start_server(server.path, server.port)
    ch = get_client(settings)
    try:
        assert table_totals(ch, db) == file_totals(last)  # nothing of the killed load published
        resume_pending_package(db, pipelines_dir, settings)
        assert table_totals(ch, db) == file_totals(tonight)  # each file in once
        run_instacart(tonight, database=db, settings=settings, pipelines_dir=pipelines_dir)
        assert table_totals(ch, db) == file_totals(tonight)
    finally:
        ch.close()
        server.stop()
