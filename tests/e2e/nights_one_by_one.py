"""The reference for test_backfill_fortnight: the given intervals run one after another by a plain script,
each as a nightly does it (the shop load for the interval, then `dbt build` with the interval's vars), into
the warehouse `clickhouse_default` names.

Usage: python nights_one_by_one.py '[["2026-10-06T02:00:00+00:00", "2026-10-07T02:00:00+00:00"], ...]'
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

from orchard.settings import disable_telemetry


def main(intervals: list[tuple[str, str]]) -> None:
    disable_telemetry()
    from orchard.orchestration.loads import load_source
    from orchard.transform.cosmos_config import DBT_VARS
    from orchard.transform.runner import run_dbt

    for start, end in intervals:
        load_source("shop", datetime.fromisoformat(start), datetime.fromisoformat(end))
        run_dbt(["build"], dbt_vars={**DBT_VARS, "data_interval_start": start, "data_interval_end": end})
        print(f"built [{start}, {end})", flush=True)


if __name__ == "__main__":
    main([tuple(pair) for pair in json.loads(sys.argv[1])])
