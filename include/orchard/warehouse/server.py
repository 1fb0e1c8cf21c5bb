"""The embedded warehouse: ClickHouse's HTTP interface served from one process over chDB.

clickhouse-connect, dbt-clickhouse (driver: http), dlt and BI tools talk to it as they would to
a ClickHouse server on port 8123. Run it with `orchard warehouse serve` (or `python -m
orchard.warehouse.server`).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import os
import secrets
import select
import signal
import socket
import sys
import threading
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from orchard.warehouse import codecs, credentials, external, forms, sql, streaming
from orchard.warehouse.auth import (
    User,
    Users,
    default_user_password,
    is_loopback,
    parse_readonly_users,
)
from orchard.warehouse.confinement import Confinement, default_confinement
from orchard.warehouse.engine import Connection, DataPathBusy, Engine, Session
from orchard.warehouse.errors import ClickHouseError
from orchard.warehouse.http_connection import HttpConnection, ThreadingServer

RESPONSE_BUFFER = 1 << 20  # result bytes held before headers go out (ClickHouse buffers too)
MAX_QUERY_BODY = 256 << 20  # a query (not INSERT data) read from the body
MAX_BODY = 64 << 30  # decompressed bytes of one request body (--max-body)

# Statements that change neither a session's settings nor its database.
KEEP_SESSION_STATE = (sql.READ_ONLY_STATEMENTS - {"SET", "USE"}) | {
    "INSERT", "CREATE", "DROP", "ALTER", "TRUNCATE", "RENAME", "EXCHANGE", "OPTIMIZE", "DELETE", "UPDATE",
}  # fmt: skip

# URL parameters of the HTTP interface that are not engine settings.
HTTP_PARAMS = {
    "query", "database", "default_format", "session_id", "session_timeout", "session_check", "user",
    "password", "quota_key", "query_id", "compress", "decompress", "buffer_size", "wait_end_of_query",
    "stacktrace", "role", "client_protocol_version", "_",
}  # fmt: skip

_CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
    "CSVWithNames": "text/csv; charset=UTF-8; header=present",
}


def content_type(fmt: str) -> str:
    if fmt in _CONTENT_TYPES:
        return _CONTENT_TYPES[fmt]
    if fmt.startswith("JSON"):
        return "application/json; charset=UTF-8"
    if fmt.startswith(("TabSeparated", "TSV")):
        return _CONTENT_TYPES["TSV"]
    if fmt.startswith(("Native", "RowBinary", "Parquet", "Arrow", "ORC", "Avro", "Protobuf", "MsgPack")):
        return "application/octet-stream"
    return "text/plain; charset=UTF-8"


@dataclass
class Request:
    """One query request, decoded from the URL, headers and body."""

    params: dict[str, str]
    user: User
    read_only: bool
    query_id: str
    settings: dict[str, str]
    query_params: dict[str, str]
    external: dict[str, bytes]  # external data: temporary tables sent with the query, by name


class WarehouseHTTPServer(ThreadingServer):
    def __init__(
        self,
        address: tuple[str, int],
        engine: Engine,
        users: Users,
        confinement: Confinement,
        verbose: bool = False,
        max_body: int = MAX_BODY,
    ) -> None:
        self.engine = engine
        self.confinement = confinement
        self.loopback_only = is_loopback(address[0])
        self.max_body = max_body
        self.users = users
        self.verbose = verbose
        self.display_name = socket.gethostname()
        super().__init__(address, Handler)


class Handler(HttpConnection):
    server: WarehouseHTTPServer

    def setup(self) -> None:
        super().setup()
        self.verbose = self.server.verbose
        self.reader: Iterator[bytes] | None = None  # the body's reading thread, once started

    def log_error(self, format: str, *args) -> None:  # noqa: A002 - errors are logged, verbose or not
        self.log_line(format % args)

    def end_session(self) -> None:
        """Free the request's session; respond() replaces it for requests that have one."""

    # -- request plumbing -------------------------------------------------------------------------

    def respond(self) -> None:
        self.end_session = lambda: None  # run() replaces it inside a session
        self.query_conn: Connection | None = None  # its counters are the summary of an error response
        self.reader = None
        query_id = str(uuid.uuid4())
        method = self.method
        try:
            if method == "HEAD":
                self.send_plain(200, b"", {})
                return
            if method not in ("GET", "POST"):
                raise ClickHouseError("NOT_IMPLEMENTED", f"HTTP method {method} is not supported", code=48)
            self.refuse_other_sites()
            url = urlsplit(self.path)
            if url.path in ("/ping", "/replicas_status"):
                self.send_plain(200, b"Ok.\n", {})
                return
            if url.path not in ("/", "/query"):
                raise ClickHouseError("UNKNOWN_TYPE_OF_QUERY", f"There is no handle {url.path}")
            try:  # strict: a URL's bytes are never silently replaced
                params = dict(parse_qsl(url.query, keep_blank_values=True, errors="strict"))
            except UnicodeDecodeError:
                raise ClickHouseError(
                    "SYNTAX_ERROR",
                    "The URL is not valid UTF-8 once decoded: pass binary values as query parameters "
                    "(param_x with unhex()) or as INSERT data in the body",
                ) from None
            if method == "GET" and not params and url.path == "/":
                self.send_plain(200, b"Ok.\n", {})
                return
            query_id = params.get("query_id") or query_id
            request = self.make_request(method, params, query_id)  # authenticates: before any body is read
            body = self.decoded_body() if method == "POST" else iter(())
            if method == "POST" and forms.is_form(self.headers.get("Content-Type")):
                fields, files = forms.read_form(self.headers.get("Content-Type"), body, MAX_QUERY_BODY)
                request = self.make_request(method, {**params, **fields}, query_id, files)
                body = iter(())
            self.run(request, body)
        except ClickHouseError as exc:
            self.send_error_response(exc, query_id)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):  # the client left, or stopped reading
            self.close_connection = True
        except Exception as exc:  # an unexpected failure still answers like ClickHouse, and is logged
            self.log_error("internal error in query %s: %s", query_id, traceback.format_exc())
            self.send_error_response(ClickHouseError("UNKNOWN_EXCEPTION", str(exc), code=1002), query_id)

    def refuse_other_sites(self) -> None:
        """Refuse what a web page in the user's browser can send: a request from another origin, or one
        addressed to another name that resolves here (DNS rebinding). Browsers always send Origin on
        cross-origin POSTs and Sec-Fetch-Site on every request; other clients send neither."""
        origin = self.headers.get("Origin")
        site = self.headers.get("Sec-Fetch-Site", "").lower()
        host = self.headers.get("Host", "")
        if site in ("cross-site", "same-site") or (origin is not None and urlsplit(origin).netloc != host):
            raise ClickHouseError(
                "ACCESS_DENIED",
                f"Request from the web page at {origin or 'another site'} refused: the warehouse answers "
                "clients, not browsers visiting other sites",
                code=497,
            )
        if self.server.loopback_only and not is_loopback(urlsplit(f"//{host}").hostname or "localhost"):
            raise ClickHouseError(
                "ACCESS_DENIED",
                f"Host {host} refused: this warehouse listens on a loopback address; use 127.0.0.1 or localhost",
                code=497,
            )

    def decoded_body(self) -> Iterator[bytes]:
        """The body, decompressed, read a few chunks ahead on a thread of its own."""
        encoding = self.headers.get("Content-Encoding")
        self.reader = streaming.prefetch(
            streaming.rechunk(codecs.decode_stream(self.body(), encoding, self.server.max_body))
        )
        return self.reader

    def response(self, status: int, headers: dict[str, str]):
        if self.reader is not None:
            self.reader.close()  # its thread stops reading the socket before the answer goes out
        return super().response(status, headers)

    def credentials(self, params: dict[str, str]) -> tuple[str, str]:
        header = self.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                name, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise ClickHouseError(
                    "AUTHENTICATION_FAILED", "Malformed basic authorization header"
                ) from None
            return name or "default", password
        if "X-ClickHouse-User" in self.headers or "X-ClickHouse-Key" in self.headers:
            return self.headers.get("X-ClickHouse-User", "default"), self.headers.get("X-ClickHouse-Key", "")
        return params.get("user", "default"), params.get("password", "")

    def make_request(
        self, method: str, params: dict[str, str], query_id: str, files: dict[str, bytes] | None = None
    ) -> Request:
        user = self.server.users.authenticate(*self.credentials(params))
        external_params = {f"{name}_{key}" for name in files or {} for key in external.PARAMS}
        settings = {
            k: v
            for k, v in params.items()
            if k not in HTTP_PARAMS and k not in external_params and not k.startswith("param_")
        }
        query_params = {k[len("param_") :]: v for k, v in params.items() if k.startswith("param_")}
        return Request(
            params, user, user.readonly or method == "GET", query_id, settings, query_params, files or {}
        )

    # -- running queries --------------------------------------------------------------------------

    def run(self, request: Request, body: Iterator[bytes]) -> None:
        params = request.params
        session: Session | None = None
        engine = self.server.engine
        if params.get("session_id"):
            timeout = params.get("session_timeout")
            if timeout is not None and not timeout.isdigit():
                raise ClickHouseError("INVALID_SESSION_TIMEOUT", f"Invalid session timeout: '{timeout}'")
            session = engine.session(
                params["session_id"],
                request.user.name,
                int(timeout) if timeout else None,
                must_exist=params.get("session_check") in ("1", "true"),
            )
            conn = session.connection
            if request.user.readonly and not getattr(conn, "read_only", False):
                conn.execute("SET readonly = 2")
                conn.read_only = True
        else:
            conn = engine.connect()
            if request.read_only:
                conn.execute("SET readonly = 2")  # as ClickHouse does for GET: settings may change, data not
        external_drops: list[str] = []  # a session keeps no external table after the query
        released = False

        def end_session() -> None:
            # Runs before the last bytes of the response go out: a client that sends its next
            # request the moment it has read this response must find the session free.
            nonlocal released
            if released or session is None:
                return
            released = True
            try:
                for statement in external_drops:
                    conn.execute(statement)
            except ClickHouseError as exc:
                session.state.clear()
                self.log_error("could not drop session %s external tables: %s", session.session_id, exc)
            finally:
                engine.release(session)

        self.end_session = end_session
        self.query_conn = conn
        try:
            with engine.running(request.query_id):
                self.apply(conn, request, session)
                for name, data in request.external.items():
                    create = external.create_statement(name, request.params)
                    self.confine(conn, request, create)
                    conn.execute(create)
                    external_drops.append(external.drop_statement(name))
                    external.load(conn, name, request.params, data)
                self.execute(conn, request, body, session)
        finally:
            end_session()
            if session is None:
                conn.close()

    def apply(self, conn: Connection, request: Request, session: Session | None) -> None:
        """Apply URL settings and database, for this request only.

        Each engine call costs a millisecond or more (reading system.settings ~5), and clients such as
        clickhouse-connect send the same settings and database with every request of a session. So a
        session remembers its values (read once), sets only what differs, in one statement, and undoes a
        request's settings lazily: at the start of its next request, unless that one asks for them again.
        Every request of a session goes through here before running anything, so each still runs with the
        session's own values and its own URL settings only."""
        names = [n for n in request.settings if n.replace("_", "").isalnum()]
        bad = set(request.settings) - set(names)
        if bad:
            raise ClickHouseError("UNKNOWN_SETTING", f"Unknown setting '{sorted(bad)[0]}'")
        database = (request.params.get("database") or "").replace("`", "")
        if session is None:  # a fresh connection, closed after the request
            if names:
                conn.execute(set_statement(request.settings, names))
            if database:
                conn.execute(f"USE `{database}`")
            return
        own = session.own_values  # of what an earlier request's URL changed and left
        wanted = {**own, **{n: request.settings[n] for n in names}}
        if database:
            wanted[""] = database
        current = self.session_state(conn, session, [n for n in wanted if n], "" in wanted)
        changed = [n for n in wanted if n and current.get(n) != wanted[n]]
        for name in changed + ([""] if current.get("") != wanted.get("", current.get("")) else []):
            if name not in own and name in current:
                own[name] = current[name]
        try:
            if changed:
                conn.execute(set_statement(wanted, changed))
                current.update({n: wanted[n] for n in changed})
            if "" in wanted and current[""] != wanted[""]:
                conn.execute(f"USE `{wanted['']}`")
                current[""] = wanted[""]
        except ClickHouseError:
            current.clear()  # read the values again next time
            raise
        for name in [n for n in own if current.get(n) == own[n]]:
            del own[name]  # back to the session's own value

    @staticmethod
    def session_state(conn: Connection, session: Session, names: list[str], database: bool) -> dict[str, str]:
        """The session's values of settings `names` and, under "", its database: read from the engine (in
        one query) what the session does not remember."""
        known = session.state
        parts = []
        if missing := [n for n in names if n not in known]:
            listed = ", ".join(sql.quote_literal(n) for n in missing)
            parts.append(f"SELECT name, value FROM system.settings WHERE name IN ({listed})")
        if database and "" not in known:
            parts.append("SELECT '' AS name, currentDatabase() AS value")
        if parts:
            rows = conn.execute(" UNION ALL ".join(parts), "JSONCompact")
            known.update({name: value for name, value in json.loads(rows.bytes())["data"]})
        return known

    def execute(
        self, conn: Connection, request: Request, body: Iterator[bytes], session: Session | None
    ) -> None:
        query = request.params.get("query", "").encode()
        head = next(body, b"")
        text = query + (b"\n" + head if query and head else head)
        insert = sql.split_insert(text)
        if insert is not None:
            statement, fmt, offset = insert
            if request.read_only:
                raise ClickHouseError(
                    "READONLY", f"{request.user.name}: Cannot execute query in readonly mode"
                )
            if sql.has_several_statements(statement):
                raise ClickHouseError("SYNTAX_ERROR", "Multi-statements are not allowed")
            self.confine(conn, request, f"{statement} FORMAT {fmt}")
            statement = sql.tag(statement, request.query_id)
            self.run_insert(conn, request, statement, fmt, streaming.prepend(text[offset:], body))
            return
        text += streaming.read_limited(body, MAX_QUERY_BODY)
        try:  # never change the bytes of a query: refuse what the engine's text API cannot carry
            statement = text.decode().strip()
        except UnicodeDecodeError as exc:
            raise ClickHouseError(
                "SYNTAX_ERROR",
                f"The query text is not valid UTF-8 (byte {exc.start}): pass binary values as query "
                "parameters (param_x with unhex()) or as INSERT data in the body",
            ) from None
        if not statement:
            raise ClickHouseError("SYNTAX_ERROR", "Empty query")
        if sql.has_several_statements(statement):
            raise ClickHouseError("SYNTAX_ERROR", "Multi-statements are not allowed")
        if session is not None and request.read_only and not sql.is_read_only(statement):
            raise ClickHouseError("READONLY", f"{request.user.name}: Cannot execute query in readonly mode")
        if session is not None and sql.first_keyword(statement) not in KEEP_SESSION_STATE:
            session.state.clear()  # a SET, USE or statement we cannot vouch for: read the values again
        self.confine(conn, request, statement)
        fmt = sql.output_format(statement, request.params.get("default_format") or "TabSeparated")
        if (kill := sql.kill_query(statement)) is not None:
            # chDB's query ids are its own: the condition is evaluated with the clients' ids instead.
            statement = self.server.engine.kill_statement(*kill)
        self.run_query(conn, request, sql.tag(statement, request.query_id), fmt)

    def confine(self, conn: Connection, request: Request, statement: str) -> None:
        """Refuse a statement that reaches files or hosts the operator did not allow."""
        self.server.confinement.check_text(statement, request.user.name)
        ast = conn.explain_ast(statement, request.query_params)
        self.server.confinement.check(ast, request.user.name, request.user.readonly, not request.read_only)

    def run_insert(self, conn: Connection, request: Request, statement: str, fmt: str, data) -> None:
        conn.reset_progress()
        write_failures = conn.write_failures()
        inserter = conn.send_insert(statement, fmt)
        try:
            for chunk in data:
                if chunk:
                    inserter.append(chunk)
            result = inserter.finish()
        except ClickHouseError:
            inserter.cancel()
            raise
        except (BrokenPipeError, ConnectionResetError):
            inserter.cancel()
            raise
        except Exception as exc:
            with contextlib.suppress(RuntimeError):  # a failed finish() already ended the insert
                inserter.cancel()
            raise ClickHouseError.from_engine(exc) from None
        if conn.write_failures() > write_failures:
            raise ClickHouseError(
                "NOT_ENOUGH_SPACE",
                "The insert could not be written: the warehouse's disk is full or failing; nothing of it was "
                "committed. Free space under the warehouse's data path and retry",
                code=243,
            )
        summary = {
            **conn.progress,
            "written_rows": result.rows_written,
            "written_bytes": result.bytes_written,
        }
        self.send_plain(200, b"", self.clickhouse_headers(request, "TabSeparated", summary, conn))

    def run_query(self, conn: Connection, request: Request, statement: str, fmt: str) -> None:
        default_format = request.params.get("default_format") or "TabSeparated"
        conn.reset_progress()
        with self.cancel_if_client_leaves(request, statement):
            self.respond_with_result(conn, request, statement, default_format, fmt)

    @contextlib.contextmanager
    def cancel_if_client_leaves(self, request: Request, statement: str):
        """Stop a read-only query whose client closed its connection while the query computes, as
        ClickHouse's cancel_http_readonly_queries_on_client_close does (on here unless set to 0)."""
        if not sql.is_read_only(statement) or request.settings.get(
            "cancel_http_readonly_queries_on_client_close"
        ) in ("0", "false"):
            yield
            return
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                try:
                    readable, _, _ = select.select([self.sock], [], [], 0.25)
                    if not readable:
                        continue
                    if self.sock.recv(1, socket.MSG_PEEK):
                        return  # the client's next request: it is still there
                except (OSError, ValueError):
                    pass
                if not done.is_set():
                    self.server.engine.cancel(request.query_id)
                return

        watcher = threading.Thread(target=watch, name="client-watch", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()

    def respond_with_result(
        self, conn: Connection, request: Request, statement: str, default_format: str, fmt: str
    ) -> None:
        chunks = self.result_chunks(conn, statement, default_format, fmt, request.query_params)
        if fmt == "Native" and (version := native_protocol_version(request.params)):
            chunks = streaming.native_block_info(chunks, version)
        wait_end = request.params.get("wait_end_of_query") in ("1", "true")
        encoding = None
        if request.settings.get("enable_http_compression") in ("1", "true"):
            encoding = codecs.choose_response_encoding(self.headers.get("Accept-Encoding"))
        held: list[bytes] = []  # the first bytes of the result, held until the headers are known
        try:
            buffered, complete = 0, True
            for chunk in chunks:
                held.append(chunk)
                buffered += len(chunk)
                if buffered >= RESPONSE_BUFFER and not wait_end:
                    complete = False
                    break
            if sql.first_keyword(statement) == "SET" and "session_timezone" in statement.lower():
                conn.timezone = conn.execute("SELECT timezone()").bytes().decode().strip()
            headers = self.clickhouse_headers(request, fmt, conn.progress, conn)
            headers["Content-Type"] = content_type(fmt)
            if complete:
                payload = held[0] if len(held) == 1 else b"".join(held)
                if encoding:
                    enc = codecs.encoder(encoding)
                    payload = enc.compress(payload) + enc.flush()
                    headers["Content-Encoding"] = encoding
                self.send_plain(200, payload, headers)
                return
            self.send_streaming(held, chunks, headers, encoding)
        finally:
            chunks.close()

    def result_chunks(self, conn: Connection, statement: str, fmt: str, out_fmt: str, params: dict[str, str]):
        """The result as a generator of byte chunks; engine errors before the first chunk raise here.

        chDB formats each streamed block as a whole document (prefix, rows, suffix). That is a
        valid concatenation only for formats without a prefix or suffix; header-only formats get
        their repeated header cut; any other format (JSON, Parquet, ...) is produced in one piece.
        """
        header_cut = streaming.stream_header_cutter(out_fmt)
        if header_cut is not None and (handle := conn.start_stream(statement, fmt, params)) is not None:
            return streaming.prefetch(streaming.stream_blocks(conn, handle, header_cut))
        # DDL, SHOW, INSERT ... SELECT and whole-document formats: run to completion
        return streaming.single(conn.query_bytes(statement, fmt, params))

    def send_streaming(
        self, held: list[bytes], chunks, headers: dict[str, str], encoding: str | None
    ) -> None:
        """Headers now, then the held part and the rest of the result as it comes (chunked)."""
        enc = codecs.encoder(encoding)
        if encoding:
            headers["Content-Encoding"] = encoding
        # Current servers' protocol for an error after the headers: the block at the end of the body
        # carries this tag, so a client raises instead of returning the rows it got so far.
        tag = secrets.token_hex(8)
        headers["X-ClickHouse-Exception-Tag"] = tag
        self.start_stream(200, headers)
        try:
            for chunk in held:
                self.write(enc.compress(chunk))
            held.clear()
            for chunk in chunks:
                self.write(enc.compress(chunk))
        except ClickHouseError as exc:
            # Headers are gone: like ClickHouse, append the exception block and drop the connection.
            message = exc.body().encode()
            block = b"__exception__\r\n%s\r\n%s\n%d %s\r\n__exception__\r\n" % (
                tag.encode(),
                message,
                len(message),
                tag.encode(),
            )
            self.write(enc.compress(block))
            self.log_error("query failed while streaming its result: %s", exc.body().strip())
            self.close_connection = True
        self.write(enc.flush())
        self.end_session()
        self.end_stream()

    # -- responses --------------------------------------------------------------------------------

    def clickhouse_headers(
        self, request: Request, fmt: str, progress: dict, conn: Connection
    ) -> dict[str, str]:
        # As a server, the time zone the query ran in: its session_timezone, else the server's.
        timezone = request.settings.get("session_timezone") or conn.timezone or self.server.engine.timezone
        return {
            "X-ClickHouse-Query-Id": request.query_id,
            "X-ClickHouse-Format": fmt,
            "X-ClickHouse-Timezone": timezone,
            "X-ClickHouse-Server-Display-Name": self.server.display_name,
            "X-ClickHouse-Summary": summary(progress),
            "Content-Type": "text/plain; charset=UTF-8",
        }

    def send_plain(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.end_session()
        self.send_whole(status, {"Content-Type": "text/plain; charset=UTF-8", **headers}, payload)

    def send_error_response(self, exc: ClickHouseError, query_id: str) -> None:
        # The body may be partly unread: the connection cannot be reused safely.
        self.close_connection = True
        headers = {
            "X-ClickHouse-Exception-Code": str(exc.code),
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Server-Display-Name": self.server.display_name,
            "X-ClickHouse-Summary": summary(self.query_conn.progress if self.query_conn else {}),
        }
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_plain(exc.http_status, exc.body().encode(), headers)


def set_statement(values: dict[str, str], names: list[str]) -> str:
    """One SET of several settings (one engine call); empty for none."""
    if not names:
        return ""
    return "SET " + ", ".join(f"{n} = {sql.quote_literal(values[n])}" for n in names)


def summary(progress: dict) -> str:
    """The X-ClickHouse-Summary header: the query's counters, zero where the engine reported none."""
    keys = ("read_rows", "read_bytes", "written_rows", "written_bytes", "total_rows_to_read",
            "result_rows", "result_bytes", "elapsed_ns")  # fmt: skip
    return json.dumps({key: str(progress.get(key, 0)) for key in keys}, separators=(",", ":"))


def native_protocol_version(params: dict[str, str]) -> int:
    """The client_protocol_version a Native result is written for (0: the plain format)."""
    version = params.get("client_protocol_version", "0") or "0"
    if not version.isdigit():
        raise ClickHouseError("BAD_ARGUMENTS", f"Invalid client_protocol_version: '{version}'")
    if (
        int(version)
        and not streaming.NATIVE_LOW_CARDINALITY <= int(version) < streaming.NATIVE_CUSTOM_SERIALIZATION
    ):
        # Older clients want LowCardinality columns converted, newer ones a per-column serialization flag:
        # chDB writes neither.
        raise ClickHouseError(
            "NOT_IMPLEMENTED",
            f"Native output for client_protocol_version {version} is not available: the embedded warehouse "
            f"writes Native for protocol versions {streaming.NATIVE_LOW_CARDINALITY} to "
            f"{streaming.NATIVE_CUSTOM_SERIALIZATION - 1} (clickhouse-connect uses 54405), or with none",
            code=48,
        )
    return int(version)


# -- process entry point ----------------------------------------------------------------------------


def serve(
    path: Path,
    host: str = "127.0.0.1",
    port: int = 8123,
    password: str | None = None,
    readonly_users: list[str] | None = None,
    verbose: bool = False,
    ready: threading.Event | None = None,
    passwordless: bool = False,
    allow_files: list[Path] | None = None,
    allow_hosts: list[str] | None = None,
    max_body: int = MAX_BODY,
) -> None:
    """Serve until SIGTERM/SIGINT; fail at once, with a message, on a busy data path or port."""
    password = default_user_password(password, passwordless)
    if not is_loopback(host) and not password:
        raise SystemExit(
            f"Refusing to listen on {host} without a password: drop --no-password "
            f"(and {credentials.PASSWORDLESS_ENV}), or bind to 127.0.0.1."
        )
    users = Users([User("default", password), *parse_readonly_users(readonly_users or [])])
    try:
        engine = Engine(path)
    except DataPathBusy as exc:
        raise SystemExit(str(exc)) from None
    confinement = default_confinement(engine.path, allow_files or [], allow_hosts or [])
    # Relative paths in file() and in table names start in the user-files folder, as on a server.
    os.chdir(confinement.user_files)
    try:
        server = WarehouseHTTPServer((host, port), engine, users, confinement, verbose, max_body)
    except OSError as exc:
        engine.close()
        raise SystemExit(
            f"Cannot listen on {host}:{port}: {exc.strerror}. Another server (maybe another warehouse) "
            "uses this port: stop it with `orchard warehouse stop` or choose another --port."
        ) from None

    def shutdown(signum, frame) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    who = "no password (asked for)" if not password else "password required"
    print(
        f"Orchard warehouse (chDB {engine.version}) on http://{host}:{port}, data in {engine.path}, "
        f"{who}; file() confined to {', '.join(map(str, confinement.file_roots))}; "
        f"other hosts: {', '.join(sorted(confinement.allowed_hosts)) or 'none'}",
        flush=True,
    )
    if ready is not None:
        ready.set()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        engine.close()
        print("Orchard warehouse stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    from orchard import settings

    parser = argparse.ArgumentParser(
        description="Serve the embedded ClickHouse-compatible warehouse over HTTP. Secrets come from "
        "--credentials-file (read, then deleted) or ORCHARD_CLICKHOUSE_PASSWORD / "
        "ORCHARD_WAREHOUSE_READONLY_USERS; without a password, one is generated in the state directory."
    )
    parser.add_argument("--path", type=Path, default=settings.WAREHOUSE_PATH)
    parser.add_argument("--host", default=os.environ.get("ORCHARD_WAREHOUSE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ORCHARD_CLICKHOUSE_PORT", 8123)))
    parser.add_argument("--credentials-file", type=Path)
    parser.add_argument("--no-password", action="store_true", help="serve without a password (loopback only)")
    parser.add_argument("--allow-files", action="append", type=Path, default=[], metavar="DIR")
    parser.add_argument("--allow-host", action="append", default=[], metavar="HOST")
    parser.add_argument("--max-body", type=int, default=MAX_BODY, help="decompressed bytes per request body")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.credentials_file:
        password, readonly = credentials.read_credentials_file(args.credentials_file)
    else:
        password = os.environ.get(credentials.PASSWORD_ENV) or None
        readonly = [u for u in os.environ.get(credentials.READONLY_USERS_ENV, "").split(",") if u]
    serve(
        args.path,
        args.host,
        args.port,
        password,
        readonly,
        args.verbose,
        passwordless=args.no_password or credentials.passwordless_requested(),
        allow_files=args.allow_files,
        allow_hosts=args.allow_host,
        max_body=args.max_body,
    )


if __name__ == "__main__":
    sys.exit(main())
