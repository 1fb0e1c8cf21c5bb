"""A clickhouse-connect client for the configured warehouse, with errors that say what to do."""

from __future__ import annotations

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

from orchard.settings import ClickHouseSettings


class WarehouseUnreachable(RuntimeError):
    """The warehouse did not answer: the message names where we looked and how to fix it."""


def unreachable_message(settings: ClickHouseSettings, cause: object) -> str:
    return (
        f"Cannot reach ClickHouse at {settings.describe()}: {cause}. "
        "Start the embedded warehouse with `orchard warehouse start`, or point Orchard at a "
        "running server with AIRFLOW_CONN_CLICKHOUSE_DEFAULT or ORCHARD_CLICKHOUSE_HOST/PORT."
    )


def get_client(settings: ClickHouseSettings | None = None, **kwargs) -> Client:
    """Open a client to the warehouse (by default `ClickHouseSettings.resolve()`: inside a task, the
    `clickhouse_default` connection as it is now); raise WarehouseUnreachable if nothing answers."""
    settings = settings or ClickHouseSettings.resolve()
    try:
        return clickhouse_connect.get_client(
            host=settings.host,
            port=settings.port,
            username=settings.user,
            password=settings.password,
            database=settings.database,
            secure=settings.secure,
            **kwargs,
        )
    except OperationalError as exc:
        raise WarehouseUnreachable(unreachable_message(settings, exc)) from None
