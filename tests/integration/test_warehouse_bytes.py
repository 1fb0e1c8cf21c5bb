"""Strict about bytes: a body cut short fails its query and commits nothing of a small insert, a
decompression bomb stops at the limit, credentials are checked before a body is read, query text is
never silently changed."""

from __future__ import annotations

import socket
import threading
import time
import uuid
import zlib
from pathlib import Path
from urllib.parse import urlencode

import pytest
from warehouse_http import COMPRESSORS, Http

from orchard.warehouse import http_connection
from orchard.warehouse.errors import ClickHouseError

pytestmark = pytest.mark.integration

ROWS = b"".join(b"%d,row%d\n" % (i, i) for i in range(5000))


@pytest.fixture
def http_client(warehouse):
    return Http(warehouse.port, warehouse.password)


@pytest.fixture
def table(http_client):
    name = f"b_{uuid.uuid4().hex[:8]}"
    http_client.query(f"CREATE TABLE {name} (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
    return name


def raw_request(port: int, head: str, body: bytes) -> bytes:
    """Send a request head and a body, then stop sending (as a client that dies would); the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def insert_head(warehouse, table: str, extra: str) -> str:
    query = urlencode({"query": f"INSERT INTO {table} FORMAT CSV"})
    return (
        f"POST /?{query} HTTP/1.1\r\nHost: 127.0.0.1:{warehouse.port}\r\n"
        f"X-ClickHouse-User: default\r\nX-ClickHouse-Key: {warehouse.password}\r\n{extra}\r\n"
    )


def test_chunked_body_cut_before_its_last_chunk_fails(warehouse, http_client, table):
    body = b"%x\r\n%s\r\n" % (len(ROWS), ROWS)  # no terminating zero-length chunk
    answer = raw_request(
        warehouse.port, insert_head(warehouse, table, "Transfer-Encoding: chunked\r\n"), body
    )
    assert answer.startswith(b"HTTP/1.1 500") or b"X-ClickHouse-Exception-Code: 33" in answer, answer[:300]
    assert b"CANNOT_READ_ALL_DATA" in answer and b"before its last chunk" in answer
    assert http_client.query(f"SELECT count() FROM {table}") == "0\n"


def test_body_shorter_than_content_length_fails(warehouse, http_client, table):
    head = insert_head(warehouse, table, f"Content-Length: {len(ROWS) + 100}\r\n")
    answer = raw_request(warehouse.port, head, ROWS)
    assert b"X-ClickHouse-Exception-Code: 33" in answer and b"100 bytes short" in answer, answer[:300]
    assert http_client.query(f"SELECT count() FROM {table}") == "0\n"


def test_body_cut_short_after_several_reads_fails(warehouse, http_client, table):
    """A body of several socket reads (Content-Length bodies are read straight from the socket) that
    stops 100 bytes short: code 33, and nothing of it committed (fewer rows than one insert block)."""
    rows = b"".join(b"%d,row%d\n" % (i, i) for i in range(300_000))  # ~4 MiB: several reads
    assert len(rows) > 3 * http_connection.RECV_SIZE
    head = insert_head(warehouse, table, f"Content-Length: {len(rows) + 100}\r\n")
    with socket.create_connection(("127.0.0.1", warehouse.port), timeout=60) as sock:
        sock.sendall(head.encode() + rows[:1000])
        time.sleep(0.3)  # the server has read the head and the start, and reads the rest as it comes
        for start in range(1000, len(rows), 1 << 20):
            sock.sendall(rows[start : start + (1 << 20)])
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert b"X-ClickHouse-Exception-Code: 33" in answer and b"100 bytes short" in answer, answer[:300]
    assert b"Connection: close" in answer
    assert http_client.query(f"SELECT count() FROM {table}") == "0\n"


def read_response(stream) -> tuple[bytes, bytes]:
    """One response with a Content-Length from a socket's file: its head and its body."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline()
        assert line, head
        head += line
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, stream.read(length)


def post(warehouse, query: str, body: bytes = b"") -> bytes:
    return (
        f"POST /?{urlencode({'query': query})} HTTP/1.1\r\nHost: 127.0.0.1:{warehouse.port}\r\n"
        f"X-ClickHouse-User: default\r\nX-ClickHouse-Key: {warehouse.password}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@pytest.mark.parametrize("pipelined", [False, True])
def test_the_connection_lives_on_after_a_content_length_body(warehouse, table, pipelined):
    """After an insert's body, the same connection serves the next request: sent after the answer, or
    sent with the insert in one write (its bytes arrive with the body's and start the next request)."""
    insert = post(warehouse, f"INSERT INTO {table} FORMAT CSV", ROWS)
    count = post(warehouse, f"SELECT count() FROM {table}")
    with socket.create_connection(("127.0.0.1", warehouse.port), timeout=60) as sock:
        stream = sock.makefile("rb")
        if pipelined:
            sock.sendall(insert + count + count)
        else:
            sock.sendall(insert)
        head, _ = read_response(stream)
        assert head.startswith(b"HTTP/1.1 200") and b"Keep-Alive" in head, head
        for _ in range(2):
            if not pipelined:
                sock.sendall(count)
            head, body = read_response(stream)
            assert head.startswith(b"HTTP/1.1 200") and body == b"5000\n", (head, body)


def test_a_stalled_body_times_out(monkeypatch):
    """A client that stops in the middle of a Content-Length body gets code 209 once the socket has been
    quiet for the stall timeout (55 s in the server; 1 s here)."""
    monkeypatch.setattr(http_connection, "STALL_TIMEOUT", 1)

    class Reader(http_connection.HttpConnection):
        def respond(self) -> None:
            try:
                for _ in self.body():
                    pass
                self.send_whole(200, {}, b"")
            except ClickHouseError as exc:
                self.close_connection = True
                self.send_whole(
                    exc.http_status, {"X-ClickHouse-Exception-Code": str(exc.code)}, exc.body().encode()
                )

    server = http_connection.ThreadingServer(("127.0.0.1", 0), Reader)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    try:
        with socket.create_connection(server.server_address, timeout=30) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000)
            time.sleep(0.2)
            sock.sendall(b"x" * 5000)  # read by the server's own loop, then nothing more
            started = time.monotonic()
            answer = sock.recv(65536)
        assert b"X-ClickHouse-Exception-Code: 209" in answer, answer[:300]
        assert time.monotonic() - started < 10
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("encoding", "compress"), COMPRESSORS.items())
def test_compressed_body_that_ends_early_fails(http_client, table, encoding, compress):
    payload = compress(ROWS)
    response, data = http_client.request(
        "POST",
        {"query": f"INSERT INTO {table} FORMAT CSV"},
        body=payload[: len(payload) - 8],
        headers={"Content-Encoding": encoding},
    )
    assert response.headers["X-ClickHouse-Exception-Code"] == "271", data
    assert b"cut off" in data or b"Cannot decompress" in data
    assert http_client.query(f"SELECT count() FROM {table}") == "0\n"
    response, data = http_client.request(  # the whole body still goes in
        "POST",
        {"query": f"INSERT INTO {table} FORMAT CSV"},
        body=payload,
        headers={"Content-Encoding": encoding},
    )
    assert response.status == 200, data
    assert http_client.query(f"SELECT count() FROM {table}") == "5000\n"


@pytest.fixture(scope="module")
def small_limit(start_warehouse, warehouse):
    server = start_warehouse(None, None, "--max-body", str(64 << 20))
    yield server
    server.stop()


def vm_peak_mib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmHWM")


def test_decompression_bomb_stops_at_the_limit(small_limit, warehouse):
    wh = Http(small_limit.port, warehouse.password)
    wh.query("CREATE TABLE bomb (line String) ENGINE = MergeTree ORDER BY tuple()")
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"0" * (1 << 20)
    bomb = b"".join(compressor.compress(zeros) for _ in range(1024)) + compressor.flush()  # 1 GiB inflated
    assert len(bomb) < 2 << 20
    before = vm_peak_mib(small_limit.proc.pid)
    response, data = wh.request(
        "POST",
        {"query": "INSERT INTO bomb FORMAT LineAsString"},
        body=bomb,
        headers={"Content-Encoding": "gzip"},
    )
    assert response.headers["X-ClickHouse-Exception-Code"] == "290", data
    assert b"--max-body" in data
    assert vm_peak_mib(small_limit.proc.pid) - before < 512  # never the whole GiB in memory


def test_credentials_are_checked_before_a_form_is_read(warehouse):
    """The form claims 64 MiB and only its first bytes come: a server that read it before checking the
    password would wait for the rest; this one answers at once."""
    boundary = "b0undary"
    start = f'--{boundary}\r\nContent-Disposition: form-data; name="query"\r\n\r\nSELECT 1\r\n'.encode()
    head = (
        f"POST /?user=default&password=wrong HTTP/1.1\r\nHost: 127.0.0.1:{warehouse.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {64 << 20}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", warehouse.port), timeout=20) as sock:
        sock.sendall(head.encode() + start)
        answer = sock.recv(65536)
    assert b"X-ClickHouse-Exception-Code: 516" in answer, answer[:300]


def test_query_text_is_never_silently_changed(http_client, table):
    response, data = http_client.request("POST", body=b"SELECT hex('\xff\xfe')")
    assert response.headers["X-ClickHouse-Exception-Code"] == "62" and b"not valid UTF-8" in data
    assert http_client.query("SELECT hex(unhex({b:String}))", param_b="FFFE") == "FFFE\n"


def test_head_requests(warehouse):
    with socket.create_connection(("127.0.0.1", warehouse.port), timeout=30) as sock:
        host = f"Host: 127.0.0.1:{warehouse.port}\r\n"
        sock.sendall(f"HEAD /ping HTTP/1.1\r\n{host}\r\nGET /ping HTTP/1.1\r\n{host}\r\n".encode())
        answer = b""
        while answer.count(b"HTTP/1.1 200") < 2 or not answer.endswith(b"Ok.\n"):
            chunk = sock.recv(4096)
            assert chunk, answer
            answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and rest.startswith(b"HTTP/1.1 200")


def test_expect_100_continue_gets_its_interim_answer(warehouse, http_client, table):
    """curl sends `Expect: 100-continue` with bodies over 1 MiB and waits for the interim answer."""
    head = insert_head(warehouse, table, f"Content-Length: {len(ROWS)}\r\nExpect: 100-continue\r\n")
    with socket.create_connection(("127.0.0.1", warehouse.port), timeout=30) as sock:
        sock.sendall(head.encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 ")
        sock.sendall(ROWS)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
    assert http_client.query(f"SELECT count() FROM {table}") == "5000\n"


def test_a_malformed_request_is_answered_like_clickhouse(warehouse):
    answer = raw_request(warehouse.port, "GET /ping HTTP/1.1\r\nno colon in this header\r\n\r\n", b"")
    assert answer.startswith(b"HTTP/1.1 400 ") and b"X-ClickHouse-Exception-Code: 36" in answer, answer[:300]
    assert b"Malformed HTTP request" in answer
