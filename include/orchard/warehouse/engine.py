"""The chDB engine behind the embedded server: one data path, a connection per request or session.

chDB lets one process open a data path; inside it every `chdb.connect(path)` is an independent
session (its own settings, current database and temporary tables), cheap to open (~0.3 ms), and
queries on different connections run in parallel. So a plain request gets a fresh connection and
an HTTP session keeps one for its lifetime.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import chdb

from orchard.warehouse import sql
from orchard.warehouse.errors import ClickHouseError

DEFAULT_SESSION_TIMEOUT = 60
MAX_SESSION_TIMEOUT = 3600


class DataPathBusy(RuntimeError):
    """Another process already serves this data path."""


class Connection:
    """One chDB connection plus the progress counters of its current query."""

    def __init__(self, path: str) -> None:
        self.raw = chdb.connect(path)
        self.timezone: str | None = None  # the session_timezone a SET gave this connection (a session)
        self.progress: dict[str, int] = {}
        self.raw.set_progress_callback(self._on_progress)

    def _on_progress(self, progress: dict) -> None:
        self.progress = dict(progress)

    def reset_progress(self) -> None:
        self.progress = {}

    def execute(self, sql: str, fmt: str = "TabSeparated"):
        """Run a statement to completion; return chDB's result. Engine errors become ClickHouseError."""
        try:
            return self.raw.query(sql, fmt)
        except Exception as exc:  # chDB raises ChdbError/RuntimeError with ClickHouse's text
            raise ClickHouseError.from_engine(exc) from None

    def query_bytes(self, sql: str, fmt: str, params: dict[str, str] | None = None) -> bytes:
        """Run a statement to completion and return its whole result in `fmt`."""
        try:
            return self.raw.query(sql, fmt, params=params or {}).bytes()
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None

    def start_stream(self, sql: str, fmt: str, params: dict[str, str] | None = None):
        """A handle to fetch the result block by block, or None if the engine cannot stream this
        statement (it streams SELECTs only)."""
        try:
            return self.raw._conn.send_query(sql, fmt, params=params or {})
        except Exception as exc:
            if "Streaming query is not supported" in str(exc):
                return None
            raise ClickHouseError.from_engine(exc) from None

    def fetch_block(self, handle):
        """The next block of a stream (chDB's result object), or None at its end."""
        try:
            return self.raw._conn.streaming_fetch_result(handle)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None

    def cancel_stream(self, handle) -> None:
        self.raw._conn.streaming_cancel_query(handle)

    def send_insert(self, statement: str, fmt: str):
        """An inserter: .append(bytes) streams data in `fmt` into the engine, .finish() commits."""
        try:
            return self.raw.send_insert(statement, fmt)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None

    def write_failures(self) -> int:
        """How many writes the engine has failed for lack of disk since it started (system.errors). chDB's
        streaming insert swallows NOT_ENOUGH_SPACE: finish() reports the rows while none were committed,
        so an insert compares this count before and after."""
        names = ", ".join(f"'{name}'" for name in WRITE_FAILURES)
        return int(self.execute(f"SELECT sum(value) FROM system.errors WHERE name IN ({names})").bytes() or 0)

    def explain_ast(self, sql: str, params: dict[str, str] | None = None) -> str:
        """The engine's parse tree of one statement (`EXPLAIN AST`), to check before running it."""
        try:
            return self.raw.query(f"EXPLAIN AST {sql}", "TSVRaw", params=params or {}).bytes().decode()
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None

    def close(self) -> None:
        try:
            self.raw.set_progress_callback(None)
            self.raw.close()
        except Exception:  # closing a broken connection must not mask the request's own error
            pass


# The query log, as a ClickHouse server keeps it (chDB keeps none without a configuration), for 30 days.
ENGINE_CONFIG = """<clickhouse>
    <query_log>
        <database>system</database>
        <table>query_log</table>
        <flush_interval_milliseconds>7500</flush_interval_milliseconds>
        <ttl>event_date + INTERVAL 30 DAY DELETE</ttl>
    </query_log>
</clickhouse>
"""

# system.processes with each query's `query_id` the one its client chose (carried in the query's text by
# sql.tag) and chDB's own id as `engine_query_id`: what a client's KILL QUERY condition is evaluated on.
CLIENT_PROCESSES = (
    "SELECT * EXCEPT (query_id, mark), if(mark = '', query_id, decodeURLComponent(mark)) AS query_id "
    "FROM (SELECT *, query_id AS engine_query_id, "
    f"extract(query, '{sql.QUERY_ID_PATTERN}') AS mark FROM system.processes)"
)


# Every connection's starting settings, as a server's default profile gives them (chDB reads no profile from
# its configuration; a connection's URL takes settings). They bound a query's memory whatever the history's
# size: a GROUP BY or ORDER BY past 1 GiB spills to disk, and a GROUP BY on a table's sort key aggregates in
# order (one group in memory at a time). With the models written to read in their tables' sort order, the
# warehouse's peak through a scale-1 load and full `dbt build` went from 6.4 to 3.3 GiB (bench/RESULTS.md).
# A client may still change them for its own queries.
QUERY_DEFAULTS = {
    "optimize_aggregation_in_order": 1,
    "max_bytes_before_external_group_by": 1 << 30,
    "max_bytes_before_external_sort": 1 << 30,
}


# Engine errors of a failed write that chDB 26.9's streaming insert does not raise.
WRITE_FAILURES = ("NOT_ENOUGH_SPACE", "CANNOT_WRITE_TO_FILE_DESCRIPTOR", "CANNOT_FSYNC")


@dataclass
class Session:
    """An HTTP session (`session_id`): one connection, used by one request at a time."""

    session_id: str
    user: str
    connection: Connection
    timeout: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    # Its values of the settings requests named (and, under "", its database), as last read from the
    # engine; forgotten after any statement that may change them.
    state: dict[str, str] = field(default_factory=dict)
    # Its own values of what the last request's URL settings changed (undone by the next request).
    own_values: dict[str, str] = field(default_factory=dict)

    def expired(self, now: float) -> bool:
        return not self.lock.locked() and now - self.last_used > self.timeout


class Engine:
    """Owns the data path: the lock file, an anchor connection, and the session registry."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.path / ".orchard-warehouse.lock", "a+")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            owner = self._lock_file.read().strip() or "unknown"
            raise DataPathBusy(
                f"Another warehouse server (pid {owner}) is already using the data path {self.path}. "
                "Stop it with `orchard warehouse stop`, or start this one with another --path."
            ) from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()
        # The anchor keeps the engine open while request connections come and go; being the first
        # connection, it starts the engine with the configuration.
        config = self.path / ".orchard-engine.xml"
        config.write_text(ENGINE_CONFIG)
        self._anchor = Connection(f"file:{self.path}?{urlencode({'config-file': config, **QUERY_DEFAULTS})}")
        self.version = chdb.engine_version
        self.timezone = self._anchor.execute("SELECT timezone()").bytes().decode().strip()
        self._sessions: dict[str, Session] = {}
        self._sessions_lock = threading.Lock()
        self._running: set[str] = set()
        self._running_lock = threading.Lock()
        self._closed = False

    @contextlib.contextmanager
    def running(self, query_id: str):
        """Hold a client's query id while its query runs: a second query with the same id is refused,
        as a ClickHouse server refuses it."""
        with self._running_lock:
            if query_id in self._running:
                raise ClickHouseError(
                    "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING",
                    f"Query with id = {query_id} is already running: wait for it, or choose another query_id",
                    code=216,
                )
            self._running.add(query_id)
        try:
            yield
        finally:
            with self._running_lock:
                self._running.discard(query_id)

    def cancel(self, query_id: str) -> None:
        """Stop the engine's query for a client's query id (its client went away)."""
        condition = f"query_id = {sql.quote_literal(query_id)}"
        conn = self.connect()
        try:
            conn.execute(self.kill_statement(condition, " ASYNC"))
        except ClickHouseError:
            pass  # the query ended meanwhile
        finally:
            conn.close()

    @staticmethod
    def kill_statement(condition: str, tail: str) -> str:
        """The engine's KILL QUERY for a client's condition, in which `query_id` is the client's id."""
        return (
            f"KILL QUERY WHERE query_id IN (SELECT engine_query_id FROM ({CLIENT_PROCESSES}) "
            f"WHERE {condition}){tail}"
        )

    def connect(self) -> Connection:
        return Connection(f"file:{self.path}?{urlencode(QUERY_DEFAULTS)}")

    def session(self, session_id: str, user: str, timeout: int | None, must_exist: bool) -> Session:
        """The session for `session_id`, created unless `must_exist`; locked for the caller."""
        if timeout is not None and not 0 < timeout <= MAX_SESSION_TIMEOUT:
            raise ClickHouseError(
                "INVALID_SESSION_TIMEOUT",
                f"Invalid session timeout: {timeout}, must be in (0, {MAX_SESSION_TIMEOUT}]",
            )
        self.expire_sessions()
        with self._sessions_lock:
            session = self._sessions.get(session_id)
            if session is not None and session.user != user:
                raise ClickHouseError("SESSION_NOT_FOUND", f"Session {session_id} not found")
            if session is None:
                if must_exist:
                    raise ClickHouseError("SESSION_NOT_FOUND", f"Session {session_id} not found")
                session = Session(session_id, user, self.connect(), timeout or DEFAULT_SESSION_TIMEOUT)
                self._sessions[session_id] = session
            if not session.lock.acquire(blocking=False):
                raise ClickHouseError(
                    "SESSION_IS_LOCKED", f"Session {session_id} is locked by a concurrent client"
                )
            if timeout is not None:
                session.timeout = timeout
        return session

    def release(self, session: Session) -> None:
        session.last_used = time.monotonic()
        session.lock.release()

    def expire_sessions(self) -> None:
        now = time.monotonic()
        with self._sessions_lock:
            expired = [s for s in self._sessions.values() if s.expired(now)]
            for session in expired:
                del self._sessions[session.session_id]
        for session in expired:
            session.connection.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._sessions_lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.connection.close()
        self._anchor.close()
        self._lock_file.close()
