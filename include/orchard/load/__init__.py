"""Extract and load: Orchard's dlt pipelines into ClickHouse over HTTP.

The public API is cheap to import (dlt, pyarrow and clickhouse-connect load on first call):

    from orchard.load import run_instacart, run_shop
    report = run_instacart("/data/instacart")            # -> LoadReport
    report = run_shop("sqlite:///shop.db", interval=(start, end))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchard.load.report import LoadReport

__all__ = ["LoadError", "LoadReport", "run_instacart", "run_shop"]


def run_instacart(data_dir: Any = None, interval: Any = None, **kwargs: Any) -> LoadReport:
    """Load the Instacart CSV files into `raw_instacart`; see orchard.load.pipelines.run_instacart."""
    from orchard.load.pipelines import run_instacart as run

    return run(data_dir, interval, **kwargs)


def run_shop(db_url: str | None = None, interval: Any = None, **kwargs: Any) -> LoadReport:
    """Load the shop app database into `raw_shop`; see orchard.load.pipelines.run_shop."""
    from orchard.load.pipelines import run_shop as run

    return run(db_url, interval, **kwargs)


def __getattr__(name: str) -> Any:
    if name in ("LoadReport", "LoadError"):
        from orchard.load import report

        return getattr(report, name)
    raise AttributeError(name)
