"""The ClickHouse HTTP interface spoken raw: what curl, BI tools and other drivers rely on."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import threading
import time
import uuid
import zlib
from urllib.parse import urlencode

import brotli
import lz4.frame
import pytest
import zstandard
from warehouse_http import COMPRESSORS, Http

pytestmark = pytest.mark.integration


@pytest.fixture
def http_client(warehouse):
    return Http(warehouse.port, warehouse.password)


@pytest.fixture
def table(http_client):
    name = f"h_{uuid.uuid4().hex[:8]}"
    http_client.query(f"CREATE TABLE {name} (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
    return name


def test_ping_and_root(http_client):
    for path in ("/ping", "/replicas_status", "/"):
        response, data = http_client.request("GET", path=path)
        assert (response.status, data) == (200, b"Ok.\n")


def test_query_from_url_body_or_both(http_client, table):
    assert http_client.request("GET", {"query": "SELECT 1"})[1] == b"1\n"
    assert http_client.request("POST", body=b"SELECT 2")[1] == b"2\n"
    response, _ = http_client.request(
        "POST", {"query": f"INSERT INTO {table} FORMAT CSV"}, body=b"1,a\n2,b\n"
    )
    assert response.status == 200
    response, _ = http_client.request("POST", body=f"INSERT INTO {table} FORMAT TSV\n3\tc\n".encode())
    assert response.status == 200
    response, _ = http_client.request("POST", {"query": f"INSERT INTO {table} VALUES"}, body=b"(4, 'd')")
    assert response.status == 200
    assert (
        http_client.query(f"SELECT groupArray(name) FROM (SELECT name FROM {table} ORDER BY id)")
        == "['a','b','c','d']\n"
    )


def _chunked(parts):
    yield from parts


@pytest.mark.parametrize(("encoding", "compress"), COMPRESSORS.items())
def test_chunked_and_compressed_insert_bodies(http_client, table, encoding, compress):
    rows = "".join(f"{i},name{i}\n" for i in range(20000)).encode()
    payload = compress(rows)
    pieces = [payload[i : i + 7001] for i in range(0, len(payload), 7001)]
    conn = http.client.HTTPConnection("127.0.0.1", http_client.port, timeout=60)
    conn.request(
        "POST",
        "/?" + urlencode({"query": f"INSERT INTO {table} FORMAT CSV"}),
        body=_chunked(pieces),
        headers={**http_client.auth, "Content-Encoding": encoding, "Transfer-Encoding": "chunked"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    assert response.status == 200, response.read()
    summary = json.loads(response.headers["X-ClickHouse-Summary"])
    assert summary["written_rows"] == "20000"
    conn.close()
    assert http_client.query(f"SELECT count(), max(id) FROM {table}") == "20000\t19999\n"


def test_errors_look_like_clickhouse(http_client):
    response, data = http_client.request("POST", {"query": "SELECT * FROM missing_table"})
    assert response.status == 404
    assert response.headers["X-ClickHouse-Exception-Code"] == "60"
    assert data.startswith(b"Code: 60. DB::Exception:") and b"(UNKNOWN_TABLE)" in data
    response, data = http_client.request("POST", {"query": "SELEC 1"})
    assert (response.status, response.headers["X-ClickHouse-Exception-Code"]) == (400, "62")
    response, data = http_client.request("POST", {"query": "SELECT 1", "not_a_setting": "1"})
    assert response.headers["X-ClickHouse-Exception-Code"] == "115"
    assert b"not_a_setting" in data
    response, data = http_client.request("POST", {"query": "SELECT 1; SELECT 2"})
    assert response.status == 400 and b"Multi-statements" in data


def test_settings_params_database_and_formats(http_client, table):
    assert http_client.query("SELECT getSetting('max_threads')", max_threads="1") == "1\n"
    assert http_client.query("SELECT {a:UInt8} * 2, {b:String}", param_a="21", param_b="x") == "42\tx\n"
    http_client.query(f"INSERT INTO {table} VALUES (1, 'one')")
    assert http_client.query(f"SELECT name FROM {table.split('.')[-1]}", database="default") == "one\n"
    response, data = http_client.request("POST", {"query": "SELECT 1 AS x", "default_format": "JSONEachRow"})
    assert data == b'{"x":1}\n' and response.headers["X-ClickHouse-Format"] == "JSONEachRow"
    response, data = http_client.request("POST", {"query": "SELECT 1 AS x FORMAT JSONCompact"})
    assert json.loads(data)["data"] == [[1]] and response.headers["X-ClickHouse-Format"] == "JSONCompact"
    response, data = http_client.request("POST", {"query": "SELECT 1 AS x FORMAT CSVWithNames"})
    assert data == b'"x"\n1\n'
    for header in ("X-ClickHouse-Query-Id", "X-ClickHouse-Timezone", "X-ClickHouse-Server-Display-Name"):
        assert response.headers[header]


def test_summary_counts_rows_read_and_written(http_client, table):
    response, _ = http_client.request(
        "POST", {"query": f"INSERT INTO {table} SELECT number, 'x' FROM numbers(1000)"}
    )
    assert json.loads(response.headers["X-ClickHouse-Summary"])["written_rows"] == "1000"
    response, _ = http_client.request("POST", {"query": f"SELECT count() FROM {table} WHERE name = 'x'"})
    assert json.loads(response.headers["X-ClickHouse-Summary"])["read_rows"] == "1000"


@pytest.mark.parametrize(
    ("encoding", "decompress"),
    [
        ("gzip", gzip.decompress),
        ("deflate", zlib.decompress),
        ("zstd", lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data)),
        ("br", brotli.decompress),
        ("lz4", lz4.frame.decompress),
    ],
)
def test_compressed_responses(http_client, encoding, decompress):
    params = {"query": "SELECT number FROM numbers(100000)", "enable_http_compression": "1"}
    response, data = http_client.request("POST", params, headers={"Accept-Encoding": encoding})
    assert response.headers["Content-Encoding"] == encoding
    assert decompress(data) == "".join(f"{i}\n" for i in range(100000)).encode()


def test_large_results_stream_in_every_streamable_format(http_client):
    for fmt, check in [
        ("TSVWithNames", lambda d: d.count(b"\n") == 500001 and d.count(b"number") == 1),
        ("RowBinaryWithNamesAndTypes", lambda d: len(d) == 1 + 7 + 7 + 8 * 500000),
        ("JSON", lambda d: json.loads(d)["rows"] == 500000),
        ("Native", lambda d: len(d) > 8 * 500000),
    ]:
        response, data = http_client.request(
            "POST", {"query": f"SELECT number FROM numbers(500000) FORMAT {fmt}"}
        )
        assert response.status == 200 and check(data), fmt


def test_get_is_read_only(http_client, table):
    response, data = http_client.request("GET", {"query": f"INSERT INTO {table} VALUES (1, 'x')"})
    assert response.headers["X-ClickHouse-Exception-Code"] == "164"
    response, data = http_client.request("GET", {"query": f"DROP TABLE {table}"})
    assert response.headers["X-ClickHouse-Exception-Code"] == "164"
    assert http_client.query(f"EXISTS TABLE {table}") == "1\n"


def test_sessions(http_client):
    sid = f"s-{uuid.uuid4()}"
    http_client.query("CREATE TEMPORARY TABLE tmp (x UInt8)", session_id=sid)
    http_client.query("INSERT INTO tmp VALUES (7)", session_id=sid)
    http_client.query("SET max_threads = 1", session_id=sid)
    assert http_client.query("SELECT x, getSetting('max_threads') FROM tmp", session_id=sid) == "7\t1\n"
    # URL settings apply to their request only, even in a session.
    assert (
        http_client.query("SELECT getSetting('max_block_size')", session_id=sid, max_block_size="999")
        == "999\n"
    )
    assert http_client.query("SELECT getSetting('max_block_size')", session_id=sid) != "999\n"
    # A URL setting equal to the session's value leaves it; the others and the database are undone.
    http_client.query("CREATE DATABASE IF NOT EXISTS session_db")
    assert (
        http_client.query(
            "SELECT getSetting('max_threads'), getSetting('max_block_size'), currentDatabase()",
            session_id=sid,
            max_threads="1",
            max_block_size="999",
            database="session_db",
        )
        == "1\t999\tsession_db\n"
    )
    assert (
        http_client.query(
            "SELECT getSetting('max_threads'), getSetting('max_block_size') != 999, currentDatabase()",
            session_id=sid,
        )
        == "1\t1\tdefault\n"
    )
    # The session's values are remembered between requests, but not past a SET or USE that changes them.
    http_client.query("SET max_threads = 5", session_id=sid)
    assert http_client.query("SELECT getSetting('max_threads')", session_id=sid, max_threads="1") == "1\n"
    assert http_client.query("SELECT getSetting('max_threads')", session_id=sid) == "5\n"
    http_client.query("USE session_db", session_id=sid)
    assert http_client.query("SELECT currentDatabase()", session_id=sid, database="default") == "default\n"
    assert http_client.query("SELECT currentDatabase()", session_id=sid) == "session_db\n"
    # A URL setting left on the session is undone before the next request runs, whatever that one is.
    http_client.query("SELECT 1", session_id=sid, max_threads="2", database="default")
    http_client.query("CREATE TEMPORARY TABLE seen AS SELECT getSetting('max_threads') AS t", session_id=sid)
    assert http_client.query("SELECT t, currentDatabase() FROM seen", session_id=sid) == "5\tsession_db\n"
    response, data = http_client.request(
        "POST", {"query": "SELECT 1", "session_id": "nope", "session_check": "1"}
    )
    assert response.headers["X-ClickHouse-Exception-Code"] == "372"


def test_session_timeout_expires(http_client):
    sid = f"s-{uuid.uuid4()}"
    http_client.query("CREATE TEMPORARY TABLE gone (x UInt8)", session_id=sid, session_timeout="1")
    time.sleep(2.2)
    response, data = http_client.request("POST", {"query": "SELECT * FROM gone", "session_id": sid})
    assert response.status != 200 and b"gone" in data


def test_concurrent_requests_in_one_session_are_refused(http_client):
    sid = f"s-{uuid.uuid4()}"
    results = []

    def slow():
        results.append(http_client.request("POST", {"query": "SELECT sleep(2)", "session_id": sid}))

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.7)
    response, data = http_client.request("POST", {"query": "SELECT 1", "session_id": sid})
    thread.join()
    assert response.headers["X-ClickHouse-Exception-Code"] == "373"
    assert b"locked" in data
    assert results[0][0].status == 200


def test_client_disconnect_cancels_the_query(http_client):
    conn = http.client.HTTPConnection("127.0.0.1", http_client.port, timeout=60)
    conn.request(
        "POST", "/?" + urlencode({"query": "SELECT number FROM system.numbers"}), headers=http_client.auth
    )
    response = conn.getresponse()
    assert response.status == 200
    assert len(response.read(1 << 20)) == 1 << 20  # an endless result is streaming
    conn.close()
    time.sleep(1)
    assert http_client.query("SELECT 1") == "1\n"
    processes = http_client.query(
        "SELECT count() FROM system.processes WHERE query LIKE '%system.numbers%' AND query NOT LIKE '%processes%'"
    )
    assert processes == "0\n"


@pytest.fixture(scope="module")
def secured(start_warehouse):
    server = start_warehouse(
        env={"ORCHARD_CLICKHOUSE_PASSWORD": "s3cret", "ORCHARD_WAREHOUSE_READONLY_USERS": "bi:view"}
    )
    yield Http(server.port)
    server.stop()


def test_authentication(secured):
    ok = {"query": "SELECT currentUser() IS NOT NULL"}
    basic = base64.b64encode(b"default:s3cret").decode()
    assert secured.request("POST", ok, headers={"Authorization": f"Basic {basic}"})[0].status == 200
    assert (
        secured.request("POST", ok, headers={"X-ClickHouse-User": "default", "X-ClickHouse-Key": "s3cret"})[
            0
        ].status
        == 200
    )
    assert secured.request("POST", {**ok, "user": "default", "password": "s3cret"})[0].status == 200
    response, data = secured.request("POST", {**ok, "user": "default", "password": "wrong"})
    assert response.status == 403 and response.headers["X-ClickHouse-Exception-Code"] == "516"
    assert b"Authentication failed" in data
    response, _ = secured.request("POST", ok)  # no password at all
    assert response.headers["X-ClickHouse-Exception-Code"] == "516"


def test_read_only_user_can_read_not_write(secured):
    admin = {"user": "default", "password": "s3cret"}
    viewer = {"user": "bi", "password": "view"}
    assert (
        secured.request("POST", {**admin, "query": "CREATE TABLE ro (x UInt8) ENGINE = Memory"})[0].status
        == 200
    )
    response, _ = secured.request("POST", {**viewer, "query": "SELECT count() FROM ro"})
    assert response.status == 200
    response, _ = secured.request("POST", {**viewer, "query": "INSERT INTO ro VALUES (1)"})
    assert response.headers["X-ClickHouse-Exception-Code"] == "164"
    response, _ = secured.request("POST", {**viewer, "query": "DROP TABLE ro"})
    assert response.headers["X-ClickHouse-Exception-Code"] == "164"


def test_an_error_mid_stream_ends_the_body_with_the_tagged_exception_block(http_client, warehouse):
    from clickhouse_connect.driver.exceptions import DatabaseError

    from orchard.warehouse.client import get_client

    sql = "SELECT number, throwIf(number = 3000000, 'boom mid-stream') FROM numbers(5000000)"
    settings = {"max_threads": "1", "max_block_size": "65536"}
    response, data = http_client.request("POST", {"query": sql, **settings})
    assert response.status == 200  # the headers left before the error
    tag = response.headers["X-ClickHouse-Exception-Tag"]
    assert data.endswith(b" " + tag.encode() + b"\r\n__exception__\r\n") and b"boom mid-stream" in data
    client = get_client(warehouse)
    with pytest.raises(DatabaseError, match="boom mid-stream"):
        client.query(sql, settings=settings)  # a client raises instead of returning partial rows
    client.close()
