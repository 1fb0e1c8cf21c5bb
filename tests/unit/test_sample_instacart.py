"""The Instacart sample generator: exact counts, Kaggle's file layout, a realistic shape, determinism."""

from __future__ import annotations

import csv
import filecmp
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from orchard.cli import app
from orchard_dev.instacart_sample import vocabulary
from orchard_dev.instacart_sample.generator import FILES, SampleError, counts_for, plan, write_sample

pytestmark = pytest.mark.unit

SMALL = 0.002
SHAPE = 0.01
KAGGLE_HEADERS = {
    "aisles.csv": "aisle_id,aisle",
    "departments.csv": "department_id,department",
    "products.csv": "product_id,product_name,aisle_id,department_id",
    "orders.csv": "order_id,user_id,eval_set,order_number,order_dow,order_hour_of_day,days_since_prior_order",
    "order_products__prior.csv": "order_id,product_id,add_to_cart_order,reordered",
    "order_products__train.csv": "order_id,product_id,add_to_cart_order,reordered",
}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("instacart_small")
    write_sample(out, SMALL, seed=7)
    return out


@pytest.fixture(scope="module")
def shape(tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("instacart_shape")
    write_sample(out, SHAPE, seed=11)
    # read everything as text first where the exact text matters
    return {
        "orders": pd.read_csv(out / "orders.csv"),
        "prior": pd.read_csv(out / "order_products__prior.csv"),
        "train": pd.read_csv(out / "order_products__train.csv"),
        "products": pd.read_csv(out / "products.csv"),
        "aisles": pd.read_csv(out / "aisles.csv"),
        "departments": pd.read_csv(out / "departments.csv"),
    }


def data_lines(path: Path) -> int:
    with path.open() as f:
        return sum(1 for _ in f) - 1


def test_small_scale_counts_are_exact(small: Path) -> None:
    assert sorted(p.name for p in small.iterdir()) == sorted(FILES)  # no .partial files left behind
    orders = pd.read_csv(small / "orders.csv")
    assert data_lines(small / "aisles.csv") == 134
    assert data_lines(small / "departments.csv") == 21
    assert data_lines(small / "products.csv") == 49_688
    assert orders.user_id.nunique() == 412 == orders.user_id.max()
    assert orders.eval_set.value_counts().to_dict() == {"prior": 6_430, "train": 262, "test": 150}
    assert data_lines(small / "order_products__prior.csv") == 64_869
    assert data_lines(small / "order_products__train.csv") == 2_769


def test_scale_one_allocation_matches_the_real_dataset() -> None:
    chunks = plan(1.0)
    total = counts_for(1.0)
    assert (total.users, total.orders) == (206_209, 3_421_083)
    assert (total.prior_orders, total.train_orders, total.test_orders) == (3_214_874, 131_209, 75_000)
    assert (total.prior_lines, total.train_lines) == (32_434_489, 1_384_617)
    assert sum(c.counts.users for c in chunks) == 206_209
    assert sum(c.counts.prior_orders for c in chunks) == 3_214_874
    assert sum(c.counts.train_orders for c in chunks) == 131_209
    assert sum(c.counts.test_orders for c in chunks) == 75_000
    assert sum(c.counts.prior_lines for c in chunks) == 32_434_489
    assert sum(c.counts.train_lines for c in chunks) == 1_384_617
    next_user = next_order = 0
    for c in chunks:  # contiguous user and order id ranges; every chunk feasible within 4..100 orders a user
        assert (c.first_user, c.first_order_id) == (next_user, next_order)
        next_user, next_order = next_user + c.counts.users, next_order + c.counts.orders
        assert 3 * c.counts.users <= c.counts.prior_orders <= 99 * c.counts.users
        assert c.counts.prior_lines >= c.counts.prior_orders and c.counts.train_lines >= c.counts.train_orders
    assert next_order == 3_421_083


@pytest.mark.parametrize("scale", [0.5, 0.1, 0.0123, 1e-5])
def test_smaller_scales_shrink_proportionally(scale: float) -> None:
    c = counts_for(scale)
    assert abs(c.users - 206_209 * scale) <= 0.5 and c.train_orders + c.test_orders == c.users
    assert abs(c.prior_lines - 32_434_489 * scale) <= 0.5 and abs(c.orders - 3_421_083 * scale) <= 2
    assert sum(ch.counts.prior_lines for ch in plan(scale)) == c.prior_lines


def test_headers_and_formatting_follow_kaggle(small: Path) -> None:
    for name, header in KAGGLE_HEADERS.items():
        with (small / name).open(newline="") as f:
            assert f.readline() == header + "\n"
    with (small / "orders.csv").open() as f:
        rows = [line.rstrip("\n").split(",") for line in f][1:]
    for row in rows:
        assert len(row) == 7 and '"' not in ",".join(row)
        assert re.fullmatch(r"\d\d", row[5]), row  # hour zero-padded like Kaggle's 08
        assert row[6] == "" if row[3] == "1" else re.fullmatch(r"\d{1,2}\.0", row[6]), row
    with (small / "products.csv").open(newline="") as f:
        products = list(csv.reader(f))[1:]
    assert all(len(p) == 4 for p in products)
    assert len({p[1] for p in products}) == 49_688  # unique names
    text = (small / "products.csv").read_text()
    with_comma = [p[1] for p in products if "," in p[1]]
    assert with_comma and f'"{with_comma[0]}"' in text  # quoted only when needed
    assert '"' not in text.splitlines()[1] or "," in products[0][1]


def test_aisles_and_departments_carry_the_real_names(shape) -> None:
    departments = dict(zip(shape["departments"].department_id, shape["departments"].department, strict=True))
    assert departments[4] == "produce" and departments[16] == "dairy eggs" and departments[21] == "missing"
    aisles = dict(zip(shape["aisles"].aisle_id, shape["aisles"].aisle, strict=True))
    assert aisles[24] == "fresh fruits" and aisles[83] == "fresh vegetables" and aisles[120] == "yogurt"
    assert len(set(aisles.values())) == 134
    products = shape["products"]
    # each product's department is its aisle's department
    aisle_dept = {i + 1: d for i, (_, d) in enumerate(vocabulary.AISLES)}
    assert (products.aisle_id.map(aisle_dept) == products.department_id).all()


def test_orders_have_the_real_structure(shape) -> None:
    orders = shape["orders"]
    per_user = orders.groupby("user_id").order_number.agg(["count", "max", "min"])
    assert per_user["count"].between(4, 100).all()
    assert (per_user["max"] == per_user["count"]).all() and (per_user["min"] == 1).all()
    assert orders.order_id.is_unique and orders.order_id.min() == 1 and orders.order_id.max() == len(orders)
    last = orders.order_number == orders.user_id.map(per_user["count"])
    assert set(orders.eval_set[last]) == {"train", "test"} and set(orders.eval_set[~last]) == {"prior"}
    first = orders.order_number == 1
    assert orders.days_since_prior_order[first].isna().all()
    assert orders.days_since_prior_order[~first].between(0, 30).all()
    # spread: many users with few orders, a long tail of frequent shoppers
    assert (per_user["count"] == 4).mean() > 0.05 and per_user["count"].max() >= 60
    assert orders.order_dow.between(0, 6).all() and orders.order_hour_of_day.between(0, 23).all()


def test_weekday_hour_and_gap_patterns(shape) -> None:
    orders = shape["orders"]
    dow = orders.order_dow.value_counts(normalize=True)
    assert dow[0] > 0.16 and dow[4] < 0.13  # weekends busy, mid-week quiet
    hour = orders.order_hour_of_day.value_counts(normalize=True)
    assert (
        hour[hour.index.isin(range(9, 18))].sum() > 0.55 and hour[hour.index.isin(range(0, 6))].sum() < 0.04
    )
    days = orders.days_since_prior_order.value_counts(normalize=True)
    assert days[7] > days[6] and days[7] > days[8]  # weekly rhythm
    assert days[30] > days[29] * 3  # capped at 30
    assert 8 < orders.days_since_prior_order.mean() < 14


def test_baskets_reorders_and_popularity(shape) -> None:
    prior, train, products = shape["prior"], shape["train"], shape["products"]
    basket = prior.groupby("order_id").size()
    assert 9.5 < basket.mean() < 10.7 and basket.median() in (7, 8, 9) and basket.max() <= 145
    for lines in (prior, train):
        assert not lines.duplicated(["order_id", "product_id"]).any()
        sizes = lines.groupby("order_id").add_to_cart_order.agg(["max", "count", "min"])
        assert (sizes["max"] == sizes["count"]).all() and (sizes["min"] == 1).all()
        assert lines.order_id.is_monotonic_increasing
    all_lines = pd.concat([prior, train])
    assert 0.54 < all_lines.reordered.mean() < 0.64
    counts = prior.product_id.value_counts()
    assert counts.iloc[0] / len(prior) > 0.003  # a few hits ...
    assert counts.head(len(products) // 100).sum() / len(prior) > 0.15  # top 1% of products: a big share
    assert (counts <= 5).sum() > counts.size / 3  # ... and a long tail
    names = products.set_index("product_id").product_name
    dept = products.set_index("product_id").department_id
    organic = names.str.startswith("Organic")
    assert organic[dept == 4].mean() > 0.25 and organic[dept == 16].mean() > 0.15
    assert organic[~dept.isin([4, 16])].mean() < 0.12
    assert organic[counts.head(100).index].mean() > 0.25
    share = all_lines.product_id.map(dept).value_counts(normalize=True)
    assert share.index[0] == 4 and share.index[1] == 16  # produce, then dairy eggs


def test_reorders_follow_each_users_own_history(shape) -> None:
    orders = shape["orders"][["order_id", "user_id", "order_number"]]
    lines = pd.concat([shape["prior"], shape["train"]]).merge(orders, on="order_id")
    lines = lines.sort_values(["user_id", "order_number", "add_to_cart_order"])
    seen_before = lines.duplicated(["user_id", "product_id"])  # bought in an earlier order of this user
    assert (seen_before.astype(int).to_numpy() == lines.reordered.to_numpy()).all()
    assert lines.reordered[lines.order_number == 1].eq(0).all()


def test_same_seed_gives_identical_files(small: Path, tmp_path: Path) -> None:
    write_sample(tmp_path / "again", SMALL, seed=7)
    for name in FILES:
        assert filecmp.cmp(small / name, tmp_path / "again" / name, shallow=False), name
    write_sample(tmp_path / "other", SMALL, seed=8)
    assert not filecmp.cmp(small / "orders.csv", tmp_path / "other" / "orders.csv", shallow=False)


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        (0, "greater than 0 and at most 1"),
        (-0.5, "greater than 0 and at most 1"),
        (1.5, "greater than 0 and at most 1"),
        (float("nan"), "greater than 0 and at most 1"),
        (1e-7, "too small"),
    ],
)
def test_bad_scale_is_refused_before_writing(tmp_path: Path, scale: float, message: str) -> None:
    with pytest.raises(SampleError, match=message):
        write_sample(tmp_path / "out", scale)
    assert not (tmp_path / "out").exists()


def test_unwritable_output_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(SampleError, match="is a file"):
        write_sample(blocker, SMALL)
    with pytest.raises(SampleError, match="cannot create output directory"):
        write_sample(blocker / "sub", SMALL)
    assert blocker.read_text() == "x"


def test_existing_files_are_replaced_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_sample(out, SMALL, seed=7)
    before = {name: (out / name).read_bytes() for name in FILES}

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_sample(out, SMALL, seed=9, progress=interrupt)
    assert {name: (out / name).read_bytes() for name in FILES} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # no .partial files left


def test_cli_writes_and_refuses(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        app, ["sample", "instacart", "--scale", "0.0005", "--out", str(tmp_path / "o"), "--seed", "3"]
    )
    assert ok.exit_code == 0, ok.output
    assert "103 users" in ok.output and (tmp_path / "o" / "order_products__prior.csv").exists()
    bad = runner.invoke(app, ["sample", "instacart", "--scale", "0", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--scale must be greater than 0" in bad.output
    assert not (tmp_path / "x").exists()


def test_files_read_back_with_kaggle_types(small: Path) -> None:
    orders = pd.read_csv(small / "orders.csv", dtype={"order_hour_of_day": "int64"})
    assert orders.dtypes["days_since_prior_order"] == np.float64
    assert orders.order_hour_of_day.between(0, 23).all()
