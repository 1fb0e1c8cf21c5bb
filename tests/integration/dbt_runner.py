"""For the dbt integration tests: runs the real dbt CLI on Orchard's project (target ci, raw data read from the
databases a test loaded through the vars raw_instacart_database / raw_shop_database, artifacts in a temporary
folder), writes daily Instacart drops, and fills a warehouse with the samples the session's one real-project
build (tests/conftest.py `real_build`) runs on."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from orchard.settings import DBT_PROJECT_DIR, ClickHouseSettings

DBT = Path(sys.executable).parent / "dbt"
# The samples of the session's real-project build: Instacart at this scale, the shop simulated up to this day.
REAL_BUILD_SCALE = 0.002
REAL_BUILD_DAY = date(2026, 1, 20)


def dbt_command(*args: str, target: str, target_path: Path, log_path: Path) -> list[str]:
    """The dbt CLI on Orchard's project and profiles, for one target, with its artifacts where a test wants them."""
    return [
        str(DBT),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        target,
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path),
    ]


class Dbt:
    """`dbt(*args, vars=...)` runs one dbt command and returns its run results (plus returncode and output)."""

    def __init__(
        self, root: Path, raw_instacart: str, raw_shop: str, schema: str = "ci", env: dict | None = None
    ):
        self.root = root
        self.env = env or {}  # e.g. the ORCHARD_CLICKHOUSE_* of a warehouse other than the session's
        self.raw_instacart = raw_instacart
        self.raw_shop = raw_shop
        self.schema = schema  # the databases are <schema>_marts, <schema>_staging, ...

    def __call__(self, *args: str, vars: dict | None = None, check: bool = True) -> dict:
        all_vars = {
            "raw_instacart_database": self.raw_instacart,
            "raw_shop_database": self.raw_shop,
            **(vars or {}),
        }
        cmd = [
            *dbt_command(*args, target="ci", target_path=self.root / "target", log_path=self.root / "logs"),
            "--vars",
            json.dumps(all_vars),
        ]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env={**os.environ, **self.env, "DO_NOT_TRACK": "1", "ORCHARD_DBT_SCHEMA": self.schema},
        )
        # `dbt source freshness` writes its results to sources.json, every other command to run_results.json
        artifact = "sources.json" if args[:2] == ("source", "freshness") else "run_results.json"
        results_file = self.root / "target" / artifact
        results = json.loads(results_file.read_text()) if results_file.exists() else {"results": []}
        results_file.unlink(missing_ok=True)
        results["returncode"] = proc.returncode
        results["output"] = proc.stdout[-6000:] + proc.stderr[-2000:]
        if check and proc.returncode != 0:
            raise AssertionError(f"dbt {' '.join(args)} failed:\n{results['output']}")
        return results

    def manifest(self) -> dict:
        return json.loads((self.root / "target" / "manifest.json").read_text())


def statuses(results: dict) -> dict[str, str]:
    return {r["unique_id"]: r["status"] for r in results["results"]}


def not_green(results: dict) -> dict[str, str]:
    """Nodes that did not succeed or pass; exposures are only recorded (no-op)."""
    return {
        uid: s
        for uid, s in statuses(results).items()
        if s not in ("success", "pass") and not (uid.startswith("exposure.") and s == "no-op")
    }


def write_instacart_drop(base: Path, day: date, new_users: int) -> Path:
    """A daily drop of new rows only: `new_users` new customers, each with a prior order and a train order of two
    lines (the second reorders the first), in the dated folder the loader merges from. Ids continue those of the
    full extract in `base` and of the drops before this one."""
    drop = base / day.isoformat()
    drop.mkdir()
    earlier = [p for p in base.iterdir() if p.is_dir() and p.name < day.isoformat()]

    def column_max(name: str, column: str) -> int:
        values = [0]
        for folder in [base, *earlier]:
            if (folder / name).is_file():
                with (folder / name).open() as handle:
                    values.extend(int(row[column]) for row in csv.DictReader(handle))
        return max(values)

    order_id = column_max("orders.csv", "order_id")
    user_id = column_max("orders.csv", "user_id")
    products = [column_max("products.csv", "product_id"), 1]
    header = "order_id,product_id,add_to_cart_order,reordered\n"
    with (
        (drop / "orders.csv").open("w") as orders,
        (drop / "order_products__prior.csv").open("w") as prior,
        (drop / "order_products__train.csv").open("w") as train,
    ):
        orders.write(
            "order_id,user_id,eval_set,order_number,order_dow,order_hour_of_day,days_since_prior_order\n"
        )
        prior.write(header)
        train.write(header)
        for _ in range(new_users):
            user_id += 1
            for number, (eval_set, gap, lines) in enumerate(
                [("prior", "", prior), ("train", "7.0", train)], 1
            ):
                order_id += 1
                orders.write(f"{order_id},{user_id},{eval_set},{number},{number % 7},10,{gap}\n")
                for position, product in enumerate(products, 1):
                    lines.write(f"{order_id},{product},{position},{number - 1}\n")
    return drop


def fill_warehouse(root: Path, settings: ClickHouseSettings) -> str:
    """Generate the samples under `root` (instacart/, shop.sqlite) and load them with Orchard's dlt pipelines
    (state in root/pipelines) into raw_instacart and raw_shop; returns the shop database's URL."""
    from orchard.sources.instacart.pipeline import run_instacart
    from orchard.sources.shop.pipeline import run_shop
    from orchard_dev.instacart_sample.generator import write_sample
    from orchard_dev.shop_sample.simulator import simulate

    write_sample(root / "instacart", scale=REAL_BUILD_SCALE)
    shop_url = f"sqlite:///{root / 'shop.sqlite'}"
    simulate(shop_url, REAL_BUILD_DAY)
    run_instacart(root / "instacart", settings=settings, pipelines_dir=root / "pipelines")
    run_shop(shop_url, settings=settings, pipelines_dir=root / "pipelines")
    return shop_url


# What a copy of the real-project build holds besides the warehouse's data: the samples and the dlt state.
BUILD_FILES = ("instacart", "pipelines", "shop.sqlite")


@dataclass
class RealBuild:
    """The session's one `dbt build --full-refresh` of the real project (seeds, snapshots, models, data and
    unit tests) on the samples above, in a warehouse of its own (with a read-only `bi` user): raw data in
    raw_instacart and raw_shop, dbt's in the ci_* databases. Tiers that only read it share it; a test that
    changes raw data or models works on a `copy` (started by the conftest fixture)."""

    root: Path
    warehouse: ClickHouseSettings
    bi_password: str
    results: dict[str, Any]  # the build's run results, with its returncode and output
    manifest: dict[str, Any]
    pristine: Path  # the warehouse's data path and BUILD_FILES as the build left them
    copy: Any = field(repr=False, default=None)  # copy(name) -> RealBuildCopy

    @property
    def dbt(self) -> Dbt:
        """The dbt CLI on the project, ci target, against this build's warehouse (raises if dbt fails)."""
        return Dbt(self.root, "raw_instacart", "raw_shop", env=self.warehouse.env())


@dataclass
class RealBuildCopy:
    """A warehouse of its own holding what the real-project build left (raw data, dlt state, dbt's tables,
    snapshots and ops records), with copies of the samples and the dlt pipelines' state under `root`."""

    root: Path
    warehouse: ClickHouseSettings
    process: Any = field(
        repr=False, default=None
    )  # its WarehouseProcess (tests/conftest.py), to stop it early

    @property
    def pipelines(self) -> Path:
        return self.root / "pipelines"

    @property
    def shop_url(self) -> str:
        return f"sqlite:///{self.root / 'shop.sqlite'}"

    def dbt(self, schema: str = "ci") -> Dbt:
        return Dbt(self.root, "raw_instacart", "raw_shop", schema=schema, env=self.warehouse.env())


def copy_build_files(source: Path, target: Path) -> None:
    """The samples and dlt state of a build (BUILD_FILES) from `source` to `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for name in BUILD_FILES:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, symlinks=True)
        else:
            shutil.copy2(source / name, target / name)
