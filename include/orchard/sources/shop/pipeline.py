"""The shop pipeline: new and changed rows of the app database into raw_shop."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from orchard import settings as orchard_settings
from orchard.load.contracts import Quarantine
from orchard.load.pipelines import resolve_interval, run_pipeline
from orchard.load.report import LoadReport
from orchard.settings import ClickHouseSettings
from orchard.warehouse.client import get_client

from .helpers import CURSOR, open_engine, sqlalchemy_url
from .settings import DATASET_NAME
from .source import shop


def _key_lookup(client: Any, database: str, existing: dict[str, dict[str, str]]) -> Any:
    """Keys + updated_at (in microseconds) already in a warehouse table, for a cursor range."""
    import pyarrow as pa

    def lookup(table: str, key: list[str], low: int, high: int) -> Any:
        columns = existing.get(table, {})
        if CURSOR not in columns or any(k not in columns for k in key):
            return None
        names = ", ".join(f"`{k}`" for k in key)
        result = client.query(
            f"SELECT {names}, toUnixTimestamp64Micro(toDateTime64(`{CURSOR}`, 6, 'UTC')) FROM `{database}`.`{table}`"
            f" WHERE `{CURSOR}` BETWEEN fromUnixTimestamp64Micro(toInt64(%(low)s), 'UTC')"
            f" AND fromUnixTimestamp64Micro(toInt64(%(high)s), 'UTC')",
            parameters={"low": low, "high": high},
        )
        values = result.result_columns or [[] for _ in range(len(key) + 1)]
        return pa.table(
            {**{k: values[i] for i, k in enumerate(key)}, "__ts": pa.array(values[-1], pa.int64())}
        )

    return lookup


def _high_water_marks(client: Any, database: str, existing: dict[str, dict[str, str]]) -> dict[str, Any]:
    """{table: the latest updated_at already loaded} for the warehouse tables that have the cursor."""
    marks = {}
    for table, columns in existing.items():
        if CURSOR in columns:
            query = f"SELECT max(toDateTime64(`{CURSOR}`, 6, 'UTC')) FROM `{database}`.`{table}`"
            mark = client.query(query).result_rows[0][0]
            if isinstance(mark, datetime) and mark.year > 1970:  # an empty table has no mark
                marks[table] = mark if mark.tzinfo else mark.replace(tzinfo=UTC)
    return marks


def run_shop(
    db_url: str | None = None,
    interval: tuple[Any, Any] | None = None,
    *,
    day: str | date | None = None,
    database: str | None = None,
    tables: list[str] | None = None,
    settings: ClickHouseSettings | None = None,
    **options: Any,
) -> LoadReport:
    """Load the shop app database into `raw_shop`: rows with start <= updated_at < end when an
    interval (or one `day`) is given, else everything new since the last run. `options` go to
    run_pipeline (pipelines_dir, progress)."""
    bounds = resolve_interval(interval, day)
    url = sqlalchemy_url(db_url or orchard_settings.SHOP_DB_URL)
    database = database or DATASET_NAME
    open_engine(url).dispose()  # unreachable source: refuse before touching the warehouse
    skipped: dict[str, int] = {}
    settings = settings or ClickHouseSettings.resolve()
    lookup_client: list[Any] = []

    def make_source(quarantine: Quarantine, existing: dict, loaded_at: datetime) -> Any:
        client = get_client(settings)
        lookup_client.append(client)
        return shop(
            credentials=url,
            interval=bounds,
            loaded_at=loaded_at,
            quarantine=quarantine,
            existing_columns=existing,
            database=database,
            loaded_keys=_key_lookup(client, database, existing),
            high_water=_high_water_marks(client, database, existing),
            skipped=skipped,
            tables=tables,
        )

    try:
        report = run_pipeline("shop", make_source, database, interval=bounds, settings=settings, **options)
    finally:
        for client in lookup_client:
            client.close()
    report.skipped_unchanged = {t: n for t, n in skipped.items() if n}
    return report
