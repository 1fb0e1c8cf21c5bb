"""clickhouse-connect against the embedded warehouse, the way dlt, dbt and BI tools use it."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime

import pandas as pd
import pyarrow as pa
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from orchard.warehouse.client import get_client

pytestmark = pytest.mark.integration


@pytest.fixture
def table(ch):
    name = f"t_{uuid.uuid4().hex[:8]}"
    ch.command(
        f"CREATE TABLE {name} (id UInt64, name String, ts DateTime64(3)) ENGINE = MergeTree ORDER BY id"
    )
    yield name
    ch.command(f"DROP TABLE IF EXISTS {name}")


def test_server_identity(ch):
    assert ch.server_version.startswith("26.")
    assert ch.query("SELECT timezone()").result_rows[0][0]


def test_query_and_command(ch):
    assert ch.query("SELECT number, toString(number) FROM numbers(3)").result_rows == [
        (0, "0"),
        (1, "1"),
        (2, "2"),
    ]
    assert ch.command("SELECT 40 + 2") == 42


@pytest.mark.parametrize("compress", [True, False, "gzip", "zstd", "br", "lz4"])
def test_insert_round_trip_with_each_compression(warehouse, table, compress):
    client = get_client(warehouse, compress=compress)
    rows = [[i, f"name-{i}", datetime(2026, 1, 1, 0, 0, i % 60)] for i in range(1000)]
    client.insert(table, rows, column_names=["id", "name", "ts"])
    assert client.command(f"SELECT count() FROM {table}") == 1000
    assert client.query(f"SELECT name FROM {table} WHERE id = 999").result_rows == [("name-999",)]
    assert client.query(f"SELECT sum(id) FROM {table}").result_rows == [(sum(range(1000)),)]


def test_dataframes_and_arrow(ch, table):
    frame = pd.DataFrame(
        {"id": [1, 2], "name": ["a", "b"], "ts": pd.to_datetime(["2026-01-01", "2026-01-02"])}
    )
    ch.insert_df(table, frame)
    ch.insert_arrow(
        table,
        pa.table({"id": [3], "name": ["c"], "ts": pa.array([0], pa.timestamp("ms"))}),
    )
    df = ch.query_df(f"SELECT id, name FROM {table} ORDER BY id")
    assert df["name"].tolist() == ["a", "b", "c"]
    arrow = ch.query_arrow(f"SELECT id FROM {table} ORDER BY id")
    assert arrow.column("id").to_pylist() == [1, 2, 3]


def test_parameters_and_settings(ch):
    assert ch.query("SELECT {n:UInt32} + 1, {s:String}", parameters={"n": 41, "s": "x'y"}).result_rows == [
        (42, "x'y")
    ]
    assert ch.query("SELECT getSetting('max_threads')", settings={"max_threads": 1}).result_rows == [(1,)]
    # Settings of one request do not leak into the next one.
    assert ch.query("SELECT getSetting('max_block_size')").result_rows != [(1234,)]


def test_unknown_setting_is_an_error(ch):
    with pytest.raises(DatabaseError, match="Unknown setting"):
        ch.query("SELECT 1", settings={"no_such_setting_at_all": 1})


def test_errors_carry_clickhouse_codes(ch):
    with pytest.raises(DatabaseError) as info:
        ch.query("SELECT * FROM no_such_table")
    assert "code: 60" in str(info.value)
    with pytest.raises(DatabaseError, match="Syntax error"):
        ch.command("SELEC 1")


def test_session_keeps_settings_and_temporary_tables(warehouse):
    session = get_client(warehouse, session_id=f"s-{uuid.uuid4()}")
    session.command("CREATE TEMPORARY TABLE scratch (x Int32)")
    session.command("INSERT INTO scratch VALUES (1), (2), (3)")
    session.command("SET max_threads = 1")
    assert session.command("SELECT sum(x) FROM scratch") == 6
    assert session.command("SELECT getSetting('max_threads')") == 1
    other = get_client(warehouse)
    with pytest.raises(DatabaseError):
        other.command("SELECT sum(x) FROM scratch")


def test_raw_insert_in_several_formats(ch, table):
    ch.raw_insert(table, ["id", "name", "ts"], insert_block="1,a,2026-01-01 00:00:00\n", fmt="CSV")
    ch.raw_insert(
        table,
        ["id", "name", "ts"],
        insert_block='{"id":2,"name":"b","ts":"2026-01-01 00:00:00"}\n',
        fmt="JSONEachRow",
    )
    ch.raw_insert(table, ["id", "name", "ts"], insert_block="3\tc\t2026-01-01 00:00:00\n", fmt="TabSeparated")
    buffer = pa.BufferOutputStream()
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"id": pa.array([4], pa.uint64()), "name": ["d"], "ts": pa.array([0], pa.timestamp("ms"))}),
        buffer,
    )
    ch.raw_insert(table, ["id", "name", "ts"], insert_block=buffer.getvalue().to_pybytes(), fmt="Parquet")
    assert ch.query(f"SELECT id, name FROM {table} ORDER BY id").result_rows == [
        (1, "a"),
        (2, "b"),
        (3, "c"),
        (4, "d"),
    ]


def test_large_result_streams_in_blocks(ch):
    total = rows = 0
    with ch.query_row_block_stream("SELECT number FROM numbers(3000000)") as stream:
        for block in stream:
            rows += len(block)
            total += sum(row[0] for row in block)
    assert rows == 3_000_000
    assert total == sum(range(3_000_000))


def test_many_clients_at_once(warehouse, table):
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            client = get_client(warehouse)
            for batch in range(5):
                base = worker * 1000 + batch * 100
                client.insert(
                    table,
                    [[base + i, "w", datetime(2026, 1, 1)] for i in range(100)],
                    column_names=["id", "name", "ts"],
                )
                client.query(f"SELECT count() FROM {table}")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert get_client(warehouse).command(f"SELECT count() FROM {table}") == 8 * 5 * 100


def test_async_clients_at_once(warehouse):
    import asyncio

    import clickhouse_connect

    async def run() -> list[int]:
        client = await clickhouse_connect.get_async_client(
            host=warehouse.host, port=warehouse.port, password=warehouse.password
        )
        try:
            results = await asyncio.gather(
                *(client.query(f"SELECT {n} + sleepEachRow(0.01)") for n in range(10))
            )
        finally:
            await client.close()
        return [result.result_rows[0][0] for result in results]

    assert asyncio.run(run()) == list(range(10))
