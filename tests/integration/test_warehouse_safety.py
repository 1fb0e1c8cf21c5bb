"""Safe by default: files, hosts, browsers and secrets, tried unauthenticated, as a read-only user and as
the admin, against a real server process."""

from __future__ import annotations

import http.server
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from warehouse_http import Http

from orchard.settings import WAREHOUSE_PASSWORD_FILE as PASSWORD_FILE_NAME

pytestmark = pytest.mark.integration

ADMIN = {"user": "default", "password": "adm1n-pw"}
VIEWER = {"user": "bi", "password": "view-pw"}
NOBODY: dict[str, str] = {}


class CsvListener:
    """A local web server standing for "another host": it records every path it is asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.paths.append(self.path)
                body = b"1,remote\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def listener():
    one = CsvListener()
    yield one
    one.server.shutdown()


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A folder outside the warehouse with a secret file, and an allowed folder with a shared file."""
    root = tmp_path_factory.mktemp("outside")
    (root / "secret.txt").write_text("do not read\n")
    (root / "shared").mkdir()
    (root / "shared" / "shared.csv").write_text("7,shared\n")
    return root


@pytest.fixture(scope="module")
def guarded(start_warehouse, outside):
    """A warehouse with an admin password, a read-only user, one allowed folder and no allowed host."""
    server = start_warehouse(
        None,
        {"ORCHARD_CLICKHOUSE_PASSWORD": ADMIN["password"], "ORCHARD_WAREHOUSE_READONLY_USERS": "bi:view-pw"},
        "--allow-files",
        str(outside / "shared"),
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def wh(guarded):
    return Http(guarded.port)


def ask(wh: Http, who: dict, sql: str, method: str = "POST", headers: dict | None = None):
    response, data = wh.request(method, {**who, "query": sql}, headers=headers)
    return response.status, response.headers.get("X-ClickHouse-Exception-Code"), data.decode(errors="replace")


def refused(result, code: str, *words: str) -> bool:
    status, got, text = result
    return status != 200 and got == code and all(word in text for word in words)


FILES_OUTSIDE = [
    "SELECT * FROM file('{secret}', 'LineAsString')",
    "SELECT * FROM file('/proc/self/environ', 'LineAsString')",
    "SELECT * FROM file('../../../../../../etc/passwd', 'LineAsString')",
    "SELECT * FROM file('/etc/*', 'LineAsString')",
    "SELECT * FROM `{secret}`",
    "SELECT * FROM '/etc/passwd'",
    "SELECT file('{secret}')",
    "INSERT INTO FUNCTION file('{outside}/written.csv', 'CSV') SELECT 1",
    "CREATE TABLE t_file (x String) ENGINE = File(LineAsString, '{secret}')",
    "CREATE DATABASE fs ENGINE = Filesystem('/')",
    "SELECT * FROM sqlite('{secret}', 't')",
    "SELECT * FROM file(concat('/etc/', 'passwd'), 'LineAsString')",
]


@pytest.mark.parametrize("template", FILES_OUTSIDE)
def test_no_one_reaches_files_outside_the_allowed_folders(wh, outside, template):
    sql = template.format(secret=outside / "secret.txt", outside=outside)
    assert refused(ask(wh, NOBODY, sql), "516")
    assert ask(wh, VIEWER, sql)[1] in ("497", "164")  # refused: not enough privileges, or read-only
    status, code, text = ask(wh, ADMIN, sql)
    assert status != 200 and code in ("291", "497"), text
    assert "do not read" not in text and "root:" not in text
    assert ("user_files" in text and "--allow-files" in text) or "not available" in text or "literal" in text
    assert not (outside / "written.csv").exists()


def test_admin_uses_user_files_and_the_allowed_folder(wh, guarded, outside):
    status, _, text = ask(
        wh, ADMIN, "INSERT INTO FUNCTION file('export.csv', 'CSV', 'x UInt8, s String') VALUES (1, 'a')"
    )
    assert status == 200, text
    assert (guarded.path / "user_files" / "export.csv").read_text() == '1,"a"\n'
    assert ask(wh, ADMIN, "SELECT * FROM file('export.csv', 'CSV', 'x UInt8, s String')")[2] == "1\ta\n"
    assert ask(wh, ADMIN, "SELECT count() FROM file('exp*.csv', 'CSV', 'x UInt8, s String')")[2] == "1\n"
    shared = outside / "shared" / "shared.csv"
    assert ask(wh, ADMIN, f"SELECT * FROM file('{shared}', 'CSV', 'x UInt8, s String')")[2] == "7\tshared\n"
    # a read-only user gets no file access at all, even inside user_files
    assert refused(
        ask(wh, VIEWER, "SELECT * FROM file('export.csv', 'CSV', 'x UInt8, s String')"), "497", "read-only"
    )


def test_into_outfile_is_refused(wh, outside):
    target = outside / "outfile.csv"
    for who in (ADMIN, VIEWER):
        for method in ("POST", "GET"):
            status, code, text = ask(wh, who, f"SELECT 1 INTO OUTFILE '{target}'", method)
            assert status != 200 and code in ("497", "164"), text
            # the parser gives this INTO OUTFILE to an EXPLAIN: refused before the engine sees it
            sql = f"INSERT INTO t SELECT 'x' INTO /* */ OUTFILE '{target}' TRUNCATE"
            status, code, text = ask(wh, who, sql, method)
            assert status != 200 and code == "497", text
    assert "INTO OUTFILE is not allowed" in ask(wh, ADMIN, f"SELECT 1 INTO OUTFILE '{target}'")[2]
    assert ask(wh, ADMIN, "SELECT 'INTO OUTFILE' /* INTO OUTFILE */")[2] == "INTO OUTFILE\n"
    assert not target.exists()


NETWORK = [
    "SELECT * FROM url('http://127.0.0.1:{port}/data.csv', 'CSV', 'x UInt8, s String')",
    "SELECT * FROM remote('127.0.0.1:{port}', system.one)",
    "SELECT * FROM s3('http://127.0.0.1:{port}/bucket/data.csv', 'CSV', 'x UInt8, s String')",
    "SELECT * FROM mysql('127.0.0.1:{port}', 'db', 't', 'u', 'p')",
    "CREATE TABLE t_url (x UInt8, s String) ENGINE = URL('http://127.0.0.1:{port}/data.csv', CSV)",
    "INSERT INTO FUNCTION url('http://127.0.0.1:{port}/up.csv', 'CSV', 'x UInt8') SELECT 1",
]


@pytest.mark.parametrize("template", NETWORK)
def test_no_one_reaches_another_host_unless_allowed(wh, listener, template):
    sql = template.format(port=listener.port)
    assert refused(ask(wh, NOBODY, sql), "516")
    assert ask(wh, VIEWER, sql)[1] in ("497", "164")
    status, code, text = ask(wh, ADMIN, sql)
    assert status != 200 and code == "497", text
    assert "--allow-host" in text or "not available" in text
    assert listener.paths == []


def test_an_allowed_host_is_reachable(start_warehouse, listener):
    server = start_warehouse(
        None, {"ORCHARD_CLICKHOUSE_PASSWORD": ADMIN["password"]}, "--allow-host", "127.0.0.1"
    )
    wh = Http(server.port)
    status, _, text = ask(
        wh,
        ADMIN,
        f"SELECT * FROM url('http://127.0.0.1:{listener.port}/data.csv', 'CSV', 'x UInt8, s String')",
    )
    assert (status, text) == (200, "1\tremote\n")
    assert listener.paths == ["/data.csv"]
    assert refused(
        ask(wh, ADMIN, "SELECT * FROM url('http://example.invalid/x.csv', 'CSV', 'x UInt8')"),
        "497",
        "example.invalid",
    )
    server.stop()


def test_read_only_user_cannot_kill_queries(wh):
    assert refused(ask(wh, VIEWER, "KILL QUERY WHERE query_id = 'anything'"), "497", "cannot kill")
    assert ask(wh, ADMIN, "KILL QUERY WHERE query_id = 'anything' SYNC")[0] == 200


def test_other_engines_and_table_functions_are_refused(wh):
    for sql in (
        "SELECT * FROM executable('cat /etc/passwd', 'LineAsString', 'x String')",
        "SELECT * FROM Python(wh)",
        "BACKUP TABLE system.one TO File('/tmp/backup')",
    ):
        assert refused(ask(wh, ADMIN, sql), "497", "not available"), sql


def test_requests_from_web_pages_are_refused(wh):
    attacks = [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Host": "evil.example:8123"},  # DNS rebinding: another name resolving to 127.0.0.1
    ]
    for headers in attacks:
        for who in (NOBODY, VIEWER, ADMIN):
            status, code, text = ask(wh, who, "SELECT 1", headers=headers)
            assert (status, code) == (403, "497"), (headers, text)
    same_origin = {"Origin": f"http://127.0.0.1:{wh.port}", "Sec-Fetch-Site": "same-origin"}
    assert ask(wh, ADMIN, "SELECT 1", headers=same_origin)[2] == "1\n"


def test_get_never_writes(wh):
    assert (
        ask(wh, ADMIN, "CREATE TABLE IF NOT EXISTS kept_rows (x UInt8) ENGINE = MergeTree ORDER BY x")[0]
        == 200
    )
    for sql in (
        "INSERT INTO kept_rows VALUES (1)",
        "DROP TABLE kept_rows",
        "INSERT INTO FUNCTION file('g.csv', 'CSV') SELECT 1",
    ):
        assert ask(wh, ADMIN, sql, "GET")[1] in ("164", "497")
    assert ask(wh, ADMIN, "SELECT count() FROM kept_rows")[2] == "0\n"


def test_no_secret_in_argv_environment_or_log(guarded, wh):
    ask(wh, {"user": "default", "password": "wrong-guess"}, "SELECT 1")
    proc = Path(f"/proc/{guarded.proc.pid}")
    exposed = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
    assert ADMIN["password"].encode() not in exposed and b"view-pw" not in exposed
    assert not list(guarded.path.parent.glob(".warehouse-credentials-*"))  # read, then deleted
    log = (guarded.path.parent / f"warehouse-{guarded.port}.log").read_text()
    assert ADMIN["password"] not in log and "view-pw" not in log and "wrong-guess" not in log


def _serve(state: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if k != "ORCHARD_CLICKHOUSE_PASSWORD"}
    return subprocess.Popen(
        [sys.executable, "-m", "orchard.warehouse.server", "--path", str(state / "data"), *args],
        env={**environ, "ORCHARD_STATE_DIR": str(state), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_password_is_generated_on_first_start(tmp_path):
    from orchard.warehouse.lifecycle import free_port, ping

    port = free_port()
    proc = _serve(tmp_path, "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while not ping("127.0.0.1", port) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.2)
        password_file = tmp_path / PASSWORD_FILE_NAME
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        assert len(password) >= 24
        wh = Http(port)
        assert refused(ask(wh, NOBODY, "SELECT 1"), "516")
        assert ask(wh, {"user": "default", "password": password}, "SELECT 1")[2] == "1\n"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_bad_user_settings_are_refused_at_start(tmp_path):
    for users, why in (("bi:", "empty password"), ("default:x", "cannot be called 'default'")):
        proc = _serve(tmp_path, "--port", "0", env={"ORCHARD_WAREHOUSE_READONLY_USERS": users})
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode != 0 and why in out


def test_credentials_file_is_owner_only(tmp_path):
    from orchard.warehouse.credentials import read_credentials_file, write_credentials_file

    path = write_credentials_file(tmp_path / "c.json", "pw", ["bi:x"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["password"] == "pw"
    assert read_credentials_file(path) == ("pw", ["bi:x"]) and not path.exists()
