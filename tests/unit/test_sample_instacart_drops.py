"""Daily Instacart drops written for a sample: only a day's new rows, continuing the extract and earlier drops."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from orchard_dev.instacart_sample.drops import DAYS_OF_HISTORY, write_daily_drop
from orchard_dev.instacart_sample.generator import SampleError, write_sample

pytestmark = pytest.mark.unit


def test_drops_hold_a_days_new_orders_continuing_each_users_history(tmp_path):
    write_sample(tmp_path, 0.001, seed=3)
    base = pd.read_csv(tmp_path / "orders.csv")
    first = write_daily_drop(tmp_path, date(2026, 11, 21))
    three = write_daily_drop(tmp_path, date(2026, 11, 22), days=3)
    assert first["orders.csv"] == round(len(base) / DAYS_OF_HISTORY)
    assert three["orders.csv"] == round((len(base) + first["orders.csv"]) * 3 / DAYS_OF_HISTORY)
    day1 = pd.read_csv(tmp_path / "2026-11-21" / "orders.csv")
    day2 = pd.read_csv(tmp_path / "2026-11-22" / "orders.csv")
    lines = pd.read_csv(tmp_path / "2026-11-22" / "order_products__prior.csv")
    assert sorted(p.name for p in (tmp_path / "2026-11-22").iterdir()) == [
        "order_products__prior.csv",
        "orders.csv",
    ]
    # new ids after every earlier one; each order is its user's next; lines belong to the day's orders
    assert day1.order_id.min() == base.order_id.max() + 1 and day2.order_id.min() == day1.order_id.max() + 1
    history = pd.concat([base, day1])
    last = history.groupby("user_id").order_number.max()
    assert (day2.order_number.to_numpy() == last.loc[day2.user_id].to_numpy() + 1).all()
    assert set(day2.eval_set) == {"prior"} and day2.user_id.is_unique
    assert set(lines.order_id) == set(day2.order_id) and len(lines) == three["order_products__prior.csv"]
    assert not lines.duplicated(["order_id", "product_id"]).any()
    positions = lines.groupby("order_id").add_to_cart_order
    assert (positions.min() == 1).all() and (positions.max() == positions.count()).all()
    with pytest.raises(SampleError, match="exists already"):
        write_daily_drop(tmp_path, date(2026, 11, 22))
