"""A dlt destination for ClickHouse that speaks only HTTP (clickhouse-connect).

dlt's own ClickHouse destination sends DDL, merges and state through clickhouse-driver over the
native TCP port and only file inserts over HTTP. This one keeps all of dlt's ClickHouse SQL,
type mapping, schema evolution, merge/replace jobs and state handling (it subclasses them) and
swaps the SQL client for one built on clickhouse-connect, so one HTTP host:port is all it needs.

It also maps a dlt dataset to a real ClickHouse database (`raw_shop.orders`) instead of dlt's
default `<dataset>___<table>` prefix inside one database; see README.md in this package.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver import exceptions as ch_errors
from clickhouse_connect.driver.tools import insert_file as ch_insert_file
from dlt.common.destination.exceptions import DestinationTerminalException
from dlt.common.storages.load_package import ParsedLoadJobFileName
from dlt.destinations.exceptions import (
    DatabaseTerminalException,
    DatabaseTransientException,
    DatabaseUndefinedRelation,
)
from dlt.destinations.impl.clickhouse.clickhouse import ClickHouseClient
from dlt.destinations.impl.clickhouse.configuration import ClickHouseCredentials
from dlt.destinations.impl.clickhouse.factory import clickhouse
from dlt.destinations.impl.clickhouse.sql_client import ClickHouseSqlClient
from dlt.destinations.impl.clickhouse.typing import EXCHANGE_CAPABLE_DATABASE_ENGINES
from dlt.destinations.sql_client import DBApiCursorImpl, SqlClientBase, raise_database_error
from dlt.destinations.sql_jobs import SqlStagingReplaceFollowupJob
from dlt.destinations.utils import _convert_to_old_pyformat

from orchard.settings import ClickHouseSettings
from orchard.warehouse.sql import split_statements

# https://github.com/ClickHouse/ClickHouse/blob/master/src/Common/ErrorCodes.cpp
UNDEFINED_RELATION_CODES = {60, 81}  # UNKNOWN_TABLE, UNKNOWN_DATABASE
TERMINAL_CODES = {6, 27, 36, 41, 44, 47, 53, 57, 62, 70, 82, 117, 349}  # bad SQL / data: retrying won't help
_ROW_RETURNING = re.compile(r"^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b", re.IGNORECASE)
# Settings dlt sends with its inserts; the same on every statement keeps both paths alike.
INSERT_SETTINGS = {"date_time_input_format": "best_effort"}
# Block hashes a table keeps to recognise an insert it already has (ClickHouse's deduplication log).
DEDUPLICATION_WINDOW = 10000


class HttpCursor:
    """The slice of a DB-API cursor dlt uses, over clickhouse-connect's query/command calls."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.description: list[tuple] | None = None
        self._rows: Sequence[tuple] = []
        self._pos = 0

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._pos = 0
        if _ROW_RETURNING.match(sql):
            result = self.client.query(sql, parameters=params or None)
            self.description = [
                (name, ch_type.name, None, None, None, None, None)
                for name, ch_type in zip(result.column_names, result.column_types, strict=True)
            ]
            self._rows = result.result_rows
        else:
            self.client.command(sql, parameters=params or None)
            self.description = None
            self._rows = []

    def fetchall(self) -> list[tuple]:
        rows = list(self._rows[self._pos :])
        self._pos = len(self._rows)
        return rows

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        end = len(self._rows) if size is None else self._pos + size
        rows = list(self._rows[self._pos : end])
        self._pos += len(rows)
        return rows

    def fetchone(self) -> tuple | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def close(self) -> None:
        self._rows = []


class HttpClickHouseSqlClient(ClickHouseSqlClient):
    """dlt's ClickHouse SQL client with its connection, errors and dataset layout replaced."""

    dbapi = ch_errors  # exposes the PEP 249 exception names dlt looks for

    def open_connection(self) -> Any:
        creds = self.credentials
        self._conn = clickhouse_connect.get_client(
            host=creds.host,
            port=creds.http_port,
            username=creds.username,
            password=creds.password or "",
            database=creds.database,
            secure=bool(creds.secure),
            connect_timeout=creds.connect_timeout,
            send_receive_timeout=creds.send_receive_timeout,
            # only file inserts (below) deduplicate: dlt's own INSERT ... SELECT must never drop a block
            settings={**INSERT_SETTINGS, "insert_deduplicate": 0},
            # parquet/jsonl files are inserted as they are; don't spend a core on lz4
            compress=False,
        )
        self._deduplicating: set[tuple[str, str]] = set()
        return self._conn

    def close_connection(self) -> None:
        if self._conn:
            self._conn.close()
            self._conn = None

    @contextmanager
    @raise_database_error
    def execute_query(self, query: Any, *args: Any, **kwargs: Any) -> Iterator[DBApiCursorImpl]:
        assert isinstance(query, str), "Query must be a string."
        db_args: dict[str, Any] = kwargs.copy()
        if args:
            query, db_args = _convert_to_old_pyformat(query, args, ch_errors.OperationalError)
            db_args.update(kwargs)
        db_args = self._sanitise_dbargs(db_args)
        cursor = HttpCursor(self._conn)
        # dlt joins statements with ";" (ClickHouse over HTTP runs one statement per request); a ";" inside
        # a literal or a comment is not a boundary
        for statement in split_statements(query):
            # clickhouse-connect only %-formats when there are parameters
            cursor.execute(self.escape_pct(statement) if db_args else statement, db_args)
        yield DBApiCursorImpl(cursor)  # type: ignore[abstract]

    # A dataset is a ClickHouse database: `raw_shop.orders`, staging in `raw_shop_staging`.
    def catalog_name(self, quote: bool = True, casefold: bool = True) -> str | None:
        return None

    def make_qualified_table_name_path(
        self,
        table_name: str | None,
        quote: bool = True,
        casefold: bool = True,
        dataset_name: str | None = None,
        catalog: str | None = None,
    ) -> list[str]:
        return SqlClientBase.make_qualified_table_name_path(
            self, table_name, quote=quote, casefold=casefold, dataset_name=dataset_name, catalog=catalog
        )

    def _get_information_schema_components(self, *tables: str) -> tuple[str | None, str, list[str]]:
        return SqlClientBase._get_information_schema_components(self, *tables)

    def has_dataset(self) -> bool:
        rows = self.execute_sql("SELECT 1 FROM system.databases WHERE name = %s", self.dataset_name)
        return bool(rows)

    def create_dataset(self) -> None:
        self.execute_sql(f"CREATE DATABASE IF NOT EXISTS {self.fully_qualified_dataset_name()}")

    def drop_dataset(self) -> None:
        if not self.has_dataset():
            # dlt expects a missing dataset to raise "undefined relation"
            raise DatabaseUndefinedRelation(Exception(f"Database {self.dataset_name} does not exist"))
        self.execute_sql(f"DROP DATABASE {self.fully_qualified_dataset_name()} SYNC")

    def _list_tables(self) -> list[str]:
        rows = self.execute_sql("SELECT name FROM system.tables WHERE database = %s", self.dataset_name)
        return [row[0] for row in rows]

    def insert_file(self, file_path: str, table_name: str, file_format: str, compression: str) -> Any:
        """Insert one job file, idempotently: a load killed mid-insert (loader or warehouse) and
        retried re-inserts the same file, and the table keeps each of its blocks once. The token
        names the file within its load package (without dlt's retry count), so every block of a
        retry matches the block the first attempt committed, and the rest goes in."""
        database, table = self.make_qualified_table_name_path(table_name, quote=False)
        self._deduplicate_inserts(database, table)
        return ch_insert_file(
            self._conn,
            table,
            file_path,
            fmt=file_format,
            database=database,
            settings={
                **INSERT_SETTINGS,
                "insert_deduplicate": 1,
                "insert_deduplication_token": job_file_token(file_path),
            },
            compression={"auto": None, "none": None, "gz": "gzip"}.get(compression, compression),
        )

    def _deduplicate_inserts(self, database: str, table: str) -> None:
        """Give a (non-replicated) MergeTree table the deduplication log that tokens need."""
        if (database, table) in self._deduplicating:
            return
        rows = self._conn.query(
            "SELECT engine FROM system.tables WHERE database = %(db)s AND name = %(t)s",
            parameters={"db": database, "t": table},
        ).result_rows
        if rows and rows[0][0].endswith("MergeTree") and not rows[0][0].startswith("Replicated"):
            self._conn.command(
                f"ALTER TABLE `{database}`.`{table}` "
                f"MODIFY SETTING non_replicated_deduplication_window = {DEDUPLICATION_WINDOW}"
            )
        self._deduplicating.add((database, table))

    @classmethod
    def _make_database_exception(cls, ex: Exception) -> Exception:
        if isinstance(ex, ch_errors.DatabaseError):
            code = getattr(ex, "code", None)
            if code is None and (match := re.search(r"(?:Code: |error code )(\d+)", str(ex))):
                code = int(match.group(1))
            if code in UNDEFINED_RELATION_CODES:
                return DatabaseUndefinedRelation(ex)
            if code in TERMINAL_CODES or isinstance(ex, ch_errors.ProgrammingError | ch_errors.DataError):
                return DatabaseTerminalException(ex)
            return DatabaseTransientException(ex)
        if isinstance(ex, ch_errors.Error):
            return DatabaseTransientException(ex)
        return ex

    @staticmethod
    def is_dbapi_exception(ex: Exception) -> bool:
        return isinstance(ex, ch_errors.Error)


def job_file_token(file_path: str) -> str:
    """`<load id>/<table>.<file id>.<format>`: the same for every retry of one job file."""
    path = Path(file_path)
    parsed = ParsedLoadJobFileName.parse(path.name)
    return f"{path.parent.parent.name}/{parsed.table_name}.{parsed.file_id}.{parsed.file_format}"


class PublishFromStagingJob(SqlStagingReplaceFollowupJob):
    """`replace`'s last step: publish each staging table with `CREATE OR REPLACE TABLE t CLONE AS staging.t`.

    dlt's ClickHouse replace swaps with `EXCHANGE TABLES staging.t AND t`, which undoes itself when run
    twice: a loader or warehouse killed after the swap but before dlt recorded the job runs it again on
    resume and publishes the previous table back. REPLACE is atomic in an Atomic database (readers see the
    old table or the new one) and gives the same table however often it runs, because staging keeps the
    load's rows until the next load truncates it. CLONE AS attaches staging's parts by hard link: no copy.
    """

    @classmethod
    def generate_sql(cls, table_chain: Sequence[Any], sql_client: SqlClientBase[Any]) -> list[str]:
        sql = []
        for table in table_chain:
            with sql_client.with_staging_dataset():
                staging_table = sql_client.make_qualified_table_name(table["name"])
            table_name = sql_client.make_qualified_table_name(table["name"])
            sql.append(f"CREATE OR REPLACE TABLE {table_name} CLONE AS {staging_table}")
        return sql


class HttpClickHouseClient(ClickHouseClient):
    """dlt's ClickHouse job client (DDL, merge, replace, state) on the HTTP SQL client."""

    def __init__(self, schema: Any, config: Any, capabilities: Any) -> None:
        super().__init__(schema, config, capabilities)
        self.sql_client = HttpClickHouseSqlClient(
            self.sql_client.dataset_name,
            self.sql_client.staging_dataset_name,
            list(schema.tables.keys()),
            config.credentials,
            capabilities,
            config,
        )

    def _create_replace_followup_jobs(self, table_chain: Sequence[Any]) -> list[Any]:
        if table_chain[0]["x-replace-strategy"] == "staging-optimized":
            return [PublishFromStagingJob.from_table_chain(table_chain, self.sql_client)]
        return super()._create_replace_followup_jobs(table_chain)

    def _verify_database_supports_exchange(self) -> None:
        # the dataset is its own database here, not currentDatabase()
        rows = self.sql_client.execute_sql(
            "SELECT engine FROM system.databases WHERE name = %s", self.sql_client.dataset_name
        )
        engine = rows[0][0] if rows else "Atomic"  # created by us on first load, Atomic by default
        if engine not in EXCHANGE_CAPABLE_DATABASE_ENGINES:  # the engines that replace a table atomically
            raise DestinationTerminalException(
                f"Database {self.sql_client.dataset_name} uses engine {engine}, which cannot replace a table"
                " atomically; recreate it with ENGINE = Atomic."
            )


class clickhouse_http(clickhouse):  # noqa: N801 - dlt names destination factories in lower case
    """Factory for the HTTP-only ClickHouse destination; use `http_destination()` to configure it."""

    @property
    def client_class(self) -> type[HttpClickHouseClient]:
        return HttpClickHouseClient


clickhouse_http.register()


def credentials_from_settings(settings: ClickHouseSettings) -> ClickHouseCredentials:
    creds = ClickHouseCredentials()
    creds.host = settings.host
    creds.port = settings.port  # the native port is never used; keep it equal to the HTTP one
    creds.http_port = settings.port
    creds.username = settings.user
    creds.password = settings.password
    creds.database = settings.database
    creds.secure = 1 if settings.secure else 0
    creds.resolve()
    return creds


def http_destination(settings: ClickHouseSettings | None = None) -> clickhouse_http:
    """The destination configured from the `clickhouse_default` settings (same as dbt's)."""
    settings = settings or ClickHouseSettings.resolve()
    return clickhouse_http(credentials=credentials_from_settings(settings), destination_name="clickhouse")
