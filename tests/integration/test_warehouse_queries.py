"""Queries as a ClickHouse server runs them: client query ids, KILL QUERY, cancellation when the client
leaves, the summary header, `;` inside literals and comments, external data, Native protocol versions,
the query log. Tried as the admin, a read-only user and unauthenticated where it matters."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid
from urllib.parse import urlencode

import pytest
from warehouse_http import Http

pytestmark = pytest.mark.integration

ADMIN = {"user": "default", "password": "adm1n"}
VIEWER = {"user": "bi", "password": "v1ew"}
NOBODY = {"user": "default", "password": "wrong"}
# Ten minutes of sleeping in 0.1 s blocks, nothing returned before the end: a query that only stops
# when it is killed or cancelled.
ENDLESS = "SELECT sum(sleepEachRow(0.1)) FROM numbers(6000) SETTINGS max_block_size = 1"


@pytest.fixture(scope="module")
def server(start_warehouse):
    process = start_warehouse(
        env={"ORCHARD_CLICKHOUSE_PASSWORD": ADMIN["password"], "ORCHARD_WAREHOUSE_READONLY_USERS": "bi:v1ew"}
    )
    yield Http(process.port)
    process.stop()


def query(server: Http, sql: str, who=ADMIN, **params) -> tuple[http.client.HTTPResponse, bytes]:
    return server.request("POST", {"query": sql, **who, **params})


def running(server: Http, query_id: str) -> int:
    """How many queries with the client's query id the engine is running (system.processes)."""
    # the id's mark pieced together, so that this query's own text does not hold it
    sql = f"SELECT count() FROM system.processes WHERE position(query, concat('query_id: ', '{query_id}', ' */')) > 0"
    response, data = query(server, sql)
    assert response.status == 200, data
    return int(data)


def wait_until(predicate, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_kill_query_finds_a_query_by_the_clients_query_id(server):
    query_id = f"q-{uuid.uuid4()}"
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(query(server, ENDLESS, query_id=query_id)))
    thread.start()
    assert wait_until(lambda: running(server, query_id) == 1)
    # the id is taken while the query runs, as on a server
    response, data = query(server, "SELECT 1", query_id=query_id)
    assert response.headers["X-ClickHouse-Exception-Code"] == "216", data
    kill = f"KILL QUERY WHERE query_id = '{query_id}' SYNC"
    response, data = query(server, kill, VIEWER)
    assert response.headers["X-ClickHouse-Exception-Code"] == "497" and b"cannot kill" in data
    response, data = query(server, kill, NOBODY)
    assert response.headers["X-ClickHouse-Exception-Code"] == "516"
    assert running(server, query_id) == 1  # neither of them stopped it
    response, data = query(server, kill)
    assert response.status == 200 and b"finished" in data, data
    thread.join(60)
    response, data = outcome[0]
    assert response.headers["X-ClickHouse-Exception-Code"] == "394", data  # QUERY_WAS_CANCELLED
    assert response.headers["X-ClickHouse-Query-Id"] == query_id
    assert running(server, query_id) == 0


def test_a_query_whose_client_leaves_is_cancelled(server):
    query_id = f"gone-{uuid.uuid4()}"
    sock = socket.create_connection(("127.0.0.1", server.port))
    url = "/?" + urlencode({"query": ENDLESS, "query_id": query_id, **ADMIN})
    sock.sendall(f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert wait_until(lambda: running(server, query_id) == 1)
    sock.close()
    assert wait_until(lambda: running(server, query_id) == 0), "the query ran on after its client left"


def test_summary_header_on_errors_and_control_statements(server):
    table = f"s_{uuid.uuid4().hex[:8]}"
    for sql in (
        f"CREATE TABLE {table} (x UInt8) ENGINE = Memory",
        "SET max_threads = 1",
        f"DROP TABLE {table}",
    ):
        response, data = query(server, sql)
        assert response.status == 200, data
        assert set(json.loads(response.headers["X-ClickHouse-Summary"])) >= {"read_rows", "written_rows"}
    response, _ = query(server, "SELECT throwIf(number = 5) FROM numbers(10) SETTINGS max_block_size = 1")
    assert response.status != 200 and "read_rows" in json.loads(response.headers["X-ClickHouse-Summary"])
    for who in (VIEWER, NOBODY):
        response, _ = query(server, "DROP TABLE nothing", who)
        assert response.status != 200 and json.loads(response.headers["X-ClickHouse-Summary"])


def test_timezone_header_follows_session_timezone(server):
    response, data = query(server, "SELECT timezone()", session_timezone="Asia/Tokyo")
    assert data == b"Asia/Tokyo\n" and response.headers["X-ClickHouse-Timezone"] == "Asia/Tokyo"
    session = {"session_id": f"s-{uuid.uuid4()}"}
    assert query(server, "SET session_timezone = 'America/Denver'", **session)[0].status == 200
    response, data = query(server, "SELECT timezone()", **session)
    assert data == b"America/Denver\n" and response.headers["X-ClickHouse-Timezone"] == "America/Denver"
    assert query(server, "SELECT 1")[0].headers["X-ClickHouse-Timezone"] not in (
        "Asia/Tokyo",
        "America/Denver",
    )


def test_a_semicolon_in_a_literal_or_comment_is_not_a_second_statement(server):
    table = f"c_{uuid.uuid4().hex[:8]}"
    # what dbt-clickhouse sends for a model whose column description holds a `;`
    create = f"CREATE TABLE {table} (x UInt8 COMMENT 'first; second') ENGINE = Memory COMMENT 'a;b' -- c;"
    assert query(server, create)[0].status == 200
    assert query(server, f"ALTER TABLE {table} COMMENT COLUMN x 'it''s; fine /* ; */'")[0].status == 200
    for sql, expected in [
        (
            f"SELECT comment FROM system.columns WHERE table = '{table}' FORMAT TSVRaw",
            b"it's; fine /* ; */\n",
        ),
        ("SELECT 1 /* a; /* nested; */ b; */", b"1\n"),
        ("SELECT $$x;y$$ # trailing; comment", b"x;y\n"),
        ("SELECT 'a\\';b';", b"a\\';b\n"),
    ]:
        response, data = query(server, sql, VIEWER if sql.startswith("SELECT 1") else ADMIN)
        assert (response.status, data) == (200, expected), sql
    response, data = query(server, "SELECT 1; SELECT 2")
    assert response.status == 400 and b"Multi-statements" in data


def multipart(fields: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, (filename, data) in fields.items()
    )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_external_data_is_a_temporary_table_for_the_query(server):
    body, kind = multipart({"ids": ("ids.csv", b"1,one\n3,three\n"), "n": ("n.tsv", b"10\n20\n")})
    params = {
        "query": "SELECT groupArray(name), (SELECT sum(_1) FROM n) FROM ids WHERE id IN (SELECT number FROM numbers(3))",
        "ids_structure": "id UInt32, name String",
        "ids_format": "CSV",
        "n_types": "Decimal(9, 2)",
    }
    for who in (ADMIN, VIEWER):  # a read-only user sends external data too
        response, data = server.request("POST", {**params, **who}, body, {"Content-Type": kind})
        assert (response.status, data) == (200, b"['one']\t30\n"), data
    response, data = server.request("POST", {**params, **NOBODY}, body, {"Content-Type": kind})
    assert response.headers["X-ClickHouse-Exception-Code"] == "516"
    # in a session the tables are gone after the query
    session = {"session_id": f"s-{uuid.uuid4()}"}
    assert (
        server.request("POST", {**params, **session, **ADMIN}, body, {"Content-Type": kind})[0].status == 200
    )
    response, data = query(server, "SELECT * FROM ids", **session)
    assert response.headers["X-ClickHouse-Exception-Code"] == "60", data
    # a structure is checked like any statement: it cannot smuggle in an engine that reaches out
    evil = {**params, "ids_structure": "id UInt32) ENGINE = URL('http://example.com/x', CSV) --"}
    response, data = server.request("POST", {**evil, **ADMIN}, body, {"Content-Type": kind})
    assert response.headers["X-ClickHouse-Exception-Code"] == "497", data
    response, data = server.request(
        "POST", {**params, "ids_structure": "", "n_types": "", **ADMIN}, body, {"Content-Type": kind}
    )
    assert response.status != 200
    del params["ids_structure"]
    response, data = server.request("POST", {**params, **ADMIN}, body, {"Content-Type": kind})
    assert response.headers["X-ClickHouse-Exception-Code"] == "36" and b"ids_structure" in data


def test_external_data_from_clickhouse_connect(warehouse, ch):
    from clickhouse_connect.driver.external import ExternalData

    data = ExternalData(
        file_name="people.csv", data=b"1,ann\n2,bob\n", fmt="CSV", structure=["id UInt8", "name String"]
    )
    result = ch.query("SELECT name FROM people ORDER BY id DESC", external_data=data)
    assert result.result_rows == [("bob",), ("ann",)]


def test_native_follows_client_protocol_version(server, warehouse, ch):
    sql = "SELECT toLowCardinality(toString(number)) AS s FROM numbers(3) FORMAT Native"
    plain = query(server, sql)[1]
    for version, starts in [
        ("54405", b"\x01\x00\x02\xff\xff\xff\xff\x00\x01\x03\x01s"),
        ("", b"\x01\x03\x01s"),
    ]:
        response, data = query(server, sql, client_protocol_version=version)
        assert response.status == 200 and data.startswith(starts), (version, data[:20])
    assert query(server, sql, client_protocol_version="54405")[1].endswith(plain[3:])
    # versions whose Native chDB cannot write are refused, never answered in another layout
    for version in ("54000", "54470"):
        response, data = query(server, sql, client_protocol_version=version)
        assert response.headers["X-ClickHouse-Exception-Code"] == "48" and b"54405 to 54453" in data
    # clickhouse-connect probes the version and reads Native blocks with their BlockInfo
    assert ch.protocol_version == 54405
    rows = ch.query("SELECT toLowCardinality(toString(number)) AS s FROM numbers(200000)").result_rows
    assert len(rows) == 200000 and rows[-1] == ("199999",)


def test_query_log_keeps_finished_queries(server):
    query_id = f"logged-{uuid.uuid4()}"
    assert query(server, "SELECT 42", query_id=query_id)[0].status == 200
    assert query(server, "SYSTEM FLUSH LOGS")[0].status == 200
    sql = (
        "SELECT type, read_rows, result_rows FROM system.query_log "
        f"WHERE position(query, concat('query_id: ', '{query_id}', ' */')) > 0 ORDER BY event_time_microseconds"
    )
    assert query(server, sql)[1] == b"QueryStart\t0\t0\nQueryFinish\t1\t1\n"
    assert query(server, sql, VIEWER)[1].endswith(b"QueryFinish\t1\t1\n")  # BI may read it
    assert query(server, "SYSTEM FLUSH LOGS", VIEWER)[0].status != 200
