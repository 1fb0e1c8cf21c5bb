"""A load killed mid-insert (loader or warehouse) and retried: dlt runs the interrupted job again, re-inserting the same
file. The destination's inserts are idempotent per job file, so the retry never doubles rows; and publishing a
replaced table, run again, keeps the new table."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dlt.destinations.impl.clickhouse.configuration import ClickHouseClientConfiguration

from orchard.load.destination import (
    HttpClickHouseSqlClient,
    PublishFromStagingJob,
    clickhouse_http,
    credentials_from_settings,
    job_file_token,
)

pytestmark = pytest.mark.integration


def job_file(root: Path, load_id: str, rows: int, retry: int) -> Path:
    """A parquet job file as dlt lays it out: <load id>/started_jobs/<table>.<file id>.<retry>.parquet."""
    path = root / load_id / "started_jobs" / f"events.a1b2c3d4e5.{retry}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": pa.array(range(rows), pa.int64())}), path)
    return path


@pytest.fixture
def sql_client(warehouse, ch):
    db = f"raw_retry_{uuid.uuid4().hex[:8]}"
    ch.command(f"CREATE DATABASE {db}")
    ch.command(f"CREATE TABLE {db}.events (id Int64) ENGINE = MergeTree ORDER BY id")
    credentials = credentials_from_settings(warehouse)
    client = HttpClickHouseSqlClient(
        db,
        f"{db}_staging",
        ["events"],
        credentials,
        clickhouse_http().capabilities(),
        ClickHouseClientConfiguration(credentials=credentials),
    )
    client.open_connection()
    yield client, db
    client.close_connection()


def test_a_retried_job_file_is_inserted_once(sql_client, ch, tmp_path):
    client, db = sql_client
    # 1.5 M rows: more than one insert block, as the large files a killed load leaves half-inserted
    first_try = job_file(tmp_path, "1796000000.1", 1_500_000, retry=0)
    client.insert_file(str(first_try), "events", "parquet", "none")
    retry = job_file(tmp_path, "1796000000.1", 1_500_000, retry=1)  # dlt renames the file per retry
    assert job_file_token(str(first_try)) == job_file_token(str(retry))
    client.insert_file(str(retry), "events", "parquet", "none")
    assert ch.command(f"SELECT count() FROM {db}.events") == 1_500_000


def test_the_same_rows_in_another_load_are_kept(sql_client, ch, tmp_path):
    client, db = sql_client
    client.insert_file(str(job_file(tmp_path, "1796000000.1", 1000, retry=0)), "events", "parquet", "none")
    client.insert_file(str(job_file(tmp_path, "1796000000.2", 1000, retry=0)), "events", "parquet", "none")
    client.execute_sql(f"INSERT INTO {db}.events SELECT * FROM {db}.events WHERE id < 10")
    client.execute_sql(f"INSERT INTO {db}.events SELECT * FROM {db}.events WHERE id < 10 LIMIT 10")
    assert ch.command(f"SELECT count() FROM {db}.events") == 2000 + 20 + 10  # nothing taken for a repeat


def test_publishing_a_replaced_table_twice_keeps_the_new_rows(sql_client, ch):
    """A resumed load runs the publish step of `replace` again: the table must stay the new one (dlt's own
    EXCHANGE TABLES would swap the previous rows back in)."""
    client, db = sql_client
    ch.command(f"CREATE DATABASE {db}_staging")
    ch.command(f"CREATE TABLE {db}_staging.events (id Int64) ENGINE = MergeTree ORDER BY id")
    ch.command(f"INSERT INTO {db}.events SELECT number FROM numbers(3)")  # last night's rows
    ch.command(f"INSERT INTO {db}_staging.events SELECT number + 100 FROM numbers(5)")  # tonight's, staged
    publish = PublishFromStagingJob.generate_sql([{"name": "events"}], client)
    for _ in range(2):
        client.execute_many(publish)
        assert ch.query(f"SELECT count(), min(id) FROM {db}.events").result_rows == [(5, 100)]
    assert ch.command(f"SELECT count() FROM {db}_staging.events") == 5
