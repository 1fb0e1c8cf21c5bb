"""Daily Instacart drops: a day's new orders for a sample already written, in its dated drop folder.

`write_daily_drop(base, day)` reads the full extract in `base` and the drops before `day` (to continue each
user's order numbers and the order ids), then writes `base/<day>/orders.csv` and `order_products__prior.csv`
with only the new rows: one new prior order for each of a day's worth of existing users. A day's worth is the
dataset's orders divided by DAYS_OF_HISTORY (a user's history spans about half a year). Baskets follow the
products' popularity; `reordered` is drawn at the dataset's rate, not from each user's history (reading every
past line to decide it would cost more than the drop).
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from orchard.sources.instacart.settings import DROP_FOLDER_NAME
from orchard_dev.instacart_sample.generator import (
    DOW_SHARE,
    HOUR_SHARE,
    MAX_DAYS,
    SampleError,
    _CsvFile,
    _draw_products,
    build_catalog,
)

DAYS_OF_HISTORY = 180
REORDER_RATE = 0.59  # Kaggle's share of prior lines with reordered = 1
DROP_FILES = ("orders.csv", "order_products__prior.csv")


def _orders(folder: Path) -> pa.Table:
    return pacsv.read_csv(
        folder / "orders.csv",
        convert_options=pacsv.ConvertOptions(
            include_columns=["order_id", "user_id", "order_number"],
            column_types={"order_id": pa.int64(), "user_id": pa.int64(), "order_number": pa.int64()},
        ),
    )


def write_daily_drop(base: Path | str, day: date, days: float = 1.0, seed: int = 0) -> dict[str, int]:
    """Write `days` days' worth of new orders and their lines into `base/<day>/`; returns rows per file."""
    base = Path(base)
    if not (base / "orders.csv").is_file():
        raise SampleError(
            f"no full extract in {base}: write one first with `orchard sample instacart --scale S --out {base}`"
        )
    drop = base / day.isoformat()
    if drop.exists():
        raise SampleError(
            f"{drop} exists already: a day's drop is written once (delete it to write it again)"
        )
    if days <= 0:
        raise SampleError(f"--days must be greater than 0, got {days}")
    earlier = sorted(p for p in base.iterdir() if DROP_FOLDER_NAME.match(p.name) and p.name < day.isoformat())
    history = pa.concat_tables(
        [_orders(base)] + [_orders(p) for p in earlier if (p / "orders.csv").is_file()]
    )
    last = history.group_by("user_id").aggregate([("order_number", "max")])
    users, last_number = last["user_id"].to_numpy(), last["order_number_max"].to_numpy()
    n_orders = min(len(users), max(1, round(len(history) / DAYS_OF_HISTORY * days)))

    rng = np.random.default_rng([seed, 2, day.toordinal()])
    pick = rng.choice(len(users), size=n_orders, replace=False)
    order_id = int(pc.max(history["order_id"]).as_py()) + 1 + np.arange(n_orders)
    orders = pa.table(
        {
            "order_id": order_id,
            "user_id": users[pick],
            "eval_set": pa.array(["prior"] * n_orders),
            "order_number": last_number[pick] + 1,
            "order_dow": rng.choice(7, size=n_orders, p=DOW_SHARE / DOW_SHARE.sum()),
            "order_hour_of_day": pa.array(
                [f"{h:02d}" for h in rng.choice(24, size=n_orders, p=HOUR_SHARE / HOUR_SHARE.sum())]
            ),
            "days_since_prior_order": pa.array([f"{d}.0" for d in rng.integers(0, MAX_DAYS + 1, n_orders)]),
        }
    )
    # distinct products per basket: draw a few extra, keep each product's first occurrence, cut to size
    basket = np.clip(1 + rng.negative_binomial(2.5, 2.5 / (2.5 + 9.0), n_orders), 1, 50)
    catalog = build_catalog(seed)
    line_order, line_product = [], []
    for i, size in enumerate(basket):
        products = dict.fromkeys(_draw_products(rng, catalog.popularity_cdf, 2 * int(size) + 5).tolist())
        chosen = list(products)[: int(size)]
        line_order.extend([order_id[i]] * len(chosen))
        line_product.extend(chosen)
    line_order_arr = np.array(line_order, dtype=np.int64)
    position = np.arange(line_order_arr.size) - np.searchsorted(line_order_arr, line_order_arr) + 1
    lines = pa.table(
        {
            "order_id": line_order_arr,
            "product_id": np.array(line_product, dtype=np.int64),
            "add_to_cart_order": position,
            "reordered": (rng.random(line_order_arr.size) < REORDER_RATE).astype(np.int64),
        }
    )
    # written beside it and renamed: the loader never sees half a drop
    partial = base / f".{day.isoformat()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    written = {}
    for name, table in zip(DROP_FILES, (orders, lines), strict=True):
        out = _CsvFile(partial / name, table.schema)
        out.write(table)
        out.close()
        out.commit()
        written[name] = table.num_rows
    os.replace(partial, drop)
    return written
