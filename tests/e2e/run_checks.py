"""What the e2e tests read off a deployment's runs and warehouse: times, pool slots held at once, and
per-table checksums of what the tables hold."""

from __future__ import annotations

from datetime import datetime

# which load wrote a row, and when (models carry dlt's `_loaded_at` on as `loaded_at`): not what it holds
LOAD_COLUMNS = ("_dlt_load_id", "_dlt_id", "_loaded_at", "loaded_at")


def when(value: str) -> datetime:
    """A REST API timestamp as a datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def most_at_once(spans: list[tuple[datetime, datetime, int]]) -> int:
    """The most slots held at one instant by (start, end, slots) spans; one ending as another starts: no overlap."""
    events = sorted(
        [(start, 1, slots) for start, _, slots in spans] + [(end, 0, -slots) for _, end, slots in spans]
    )
    held = most = 0
    for _, _, delta in events:
        held += delta
        most = max(most, held)
    return most


def watches(operator: str) -> bool:
    """Cosmos's per-node watcher tasks (DbtRunWatcherOperator, ...): all but the producer, which builds."""
    return "Watcher" in operator and operator != "DbtProducerWatcherOperator"


def slot_spans(task_instances: list[dict], pool: str) -> list[tuple[datetime, datetime, int]]:
    """(start, end, slots) of the finished task instances that held slots of `pool`. Cosmos's watcher tasks
    defer while dbt builds their node, and a deferred task holds no slot (`include_deferred` is off): their
    spans are not slot holds, so only the tasks that never defer count."""
    return [
        (when(ti["start_date"]), when(ti["end_date"]), ti["pool_slots"])
        for ti in task_instances
        if ti["pool"] == pool
        and ti["state"] == "success"
        and ti["start_date"]
        and ti["end_date"]
        and not watches(ti["operator"] or "")
    ]


def warehouse_checksums(
    client, databases: tuple[str, ...], skip_columns: tuple[str, ...] = ()
) -> dict[str, tuple[int, int]]:
    """(rows, sum of row hashes) per table of the databases, on what the rows hold: not which load wrote
    them or when, not dlt's own bookkeeping of loads, not the times dbt stamps on snapshot versions, nor the columns
    named in `skip_columns`. A ReplacingMergeTree is read FINAL, as the models read it."""
    tables = client.query(
        "SELECT database, name, engine FROM system.tables WHERE database IN %(dbs)s AND NOT is_temporary"
        " AND engine NOT LIKE '%%View%%' AND NOT startsWith(name, '_dlt') ORDER BY database, name",
        parameters={"dbs": list(databases)},
    ).result_rows
    sums = {}
    for database, name, engine in tables:
        columns = [
            c
            for (c,) in client.query(
                "SELECT name FROM system.columns WHERE database = %(d)s AND table = %(t)s ORDER BY position",
                parameters={"d": database, "t": name},
            ).result_rows
            if c not in LOAD_COLUMNS and c not in skip_columns and not c.startswith("dbt_")
        ]
        final = " FINAL" if "Replacing" in engine else ""
        cols = ", ".join(f"`{c}`" for c in columns)
        rows, xor = client.query(
            f"SELECT count(), sum(cityHash64(toString(tuple({cols})))) FROM `{database}`.`{name}`{final}"
        ).result_rows[0]
        sums[f"{database}.{name}"] = (int(rows), int(xor))
    return sums
