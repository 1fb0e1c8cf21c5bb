"""External data (ClickHouse's "external data for query processing"): files sent with a query as
multipart parts become temporary tables for that query. A part named `t` takes its columns from the
`t_structure` ("id UInt32, name String") or `t_types` ("UInt32, String": columns _1, _2, ...) parameter
and its format from `t_format` (TabSeparated by default)."""

from __future__ import annotations

from orchard.warehouse import sql
from orchard.warehouse.engine import Connection
from orchard.warehouse.errors import ClickHouseError

PARAMS = ("structure", "types", "format")


def create_statement(name: str, params: dict[str, str]) -> str:
    """The CREATE TEMPORARY TABLE for external table `name` (checked like any statement before it runs)."""
    structure, types = params.get(f"{name}_structure"), params.get(f"{name}_types")
    if structure is None and types is None:
        raise ClickHouseError(
            "BAD_ARGUMENTS",
            f"Neither structure nor types have been provided for external table {name}: pass "
            f"{name}_structure ('id UInt32, name String') or {name}_types ('UInt32, String')",
        )
    if structure is None:
        columns = sql.split_top_level(types)
        structure = ", ".join(f"_{i} {column}" for i, column in enumerate(columns, start=1))
    return f"CREATE TEMPORARY TABLE {sql.quote_identifier(name)} ({structure}) ENGINE = Memory"


def load(conn: Connection, name: str, params: dict[str, str], data: bytes) -> None:
    """Fill the created table with the part's data, streamed into the engine in its format."""
    fmt = params.get(f"{name}_format") or "TabSeparated"
    inserter = conn.send_insert(f"INSERT INTO {sql.quote_identifier(name)}", fmt)
    try:
        for start in range(0, len(data), 1 << 20):
            inserter.append(data[start : start + (1 << 20)])
        inserter.finish()
    except Exception as exc:
        inserter.cancel()
        error = exc if isinstance(exc, ClickHouseError) else ClickHouseError.from_engine(exc)
        raise ClickHouseError(
            error.name, f"External table {name} ({fmt}): {error.message}", code=error.code
        ) from None


def drop_statement(name: str) -> str:
    return f"DROP TEMPORARY TABLE IF EXISTS {sql.quote_identifier(name)}"
