"""Raw tables for the dbt tests, exactly as the raw data contract describes them (databases raw_instacart and
raw_shop, `_loaded_at`, `_dlt_load_id`), and a small deterministic shop simulation that can advance by a day.

The Instacart rows come from Orchard's own sample generator; the shop rows from `shop_state(until)`, whose
state on a later day extends the earlier one (new sessions, orders moving from preparing to delivered,
inventory and prices changing), which is what the snapshot tests need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv

INSTACART_TABLES = {
    "aisles": ("aisles.csv", "aisle_id Int64, aisle String"),
    "departments": ("departments.csv", "department_id Int64, department String"),
    "products": (
        "products.csv",
        "product_id Int64, product_name String, aisle_id Int64, department_id Int64",
    ),
    "orders": (
        "orders.csv",
        "order_id Int64, user_id Int64, eval_set String, order_number Int64, order_dow Int64, "
        "order_hour_of_day Int64, days_since_prior_order Nullable(Float64)",
    ),
    "order_products_prior": (
        "order_products__prior.csv",
        "order_id Int64, product_id Int64, add_to_cart_order Int64, reordered Int64",
    ),
    "order_products_train": (
        "order_products__train.csv",
        "order_id Int64, product_id Int64, add_to_cart_order Int64, reordered Int64",
    ),
}

TS = "DateTime64(6, 'UTC')"
NTS = "Nullable(DateTime64(6, 'UTC'))"
SHOP_TABLES = {
    "users": "user_id String, first_name String, last_name String, email String, phone_number String, "
    f"address_id String, created_at {TS}, updated_at {TS}",
    "addresses": f"address_id String, address String, zipcode String, state String, country String, "
    f"created_at {TS}, updated_at {TS}",
    "promos": f"promo_id String, discount Int64, status String, created_at {TS}, updated_at {TS}",
    "products": f"product_id String, name String, price Float64, inventory Int64, created_at {TS}, updated_at {TS}",
    "orders": "order_id String, user_id String, promo_id Nullable(String), address_id String, order_cost Float64, "
    "shipping_cost Float64, order_total Float64, tracking_id Nullable(String), shipping_service Nullable(String), "
    f"estimated_delivery_at {NTS}, delivered_at {NTS}, status String, created_at {TS}, updated_at {TS}",
    "order_items": f"order_id String, product_id String, quantity Int64, created_at {TS}, updated_at {TS}",
    "events": "event_id String, session_id String, user_id Nullable(String), page_url String, event_type String, "
    f"order_id Nullable(String), product_id Nullable(String), created_at {TS}, updated_at {TS}",
}
KEYS = {
    "users": "user_id",
    "addresses": "address_id",
    "promos": "promo_id",
    "products": "product_id",
    "orders": "order_id",
    "order_items": "(order_id, product_id)",
    "events": "event_id",
}


def create_table(client, database: str, table: str, columns: str, order_by: str) -> None:
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(f"DROP TABLE IF EXISTS {database}.{table}")
    client.command(
        f"CREATE TABLE {database}.{table} ({columns}, _loaded_at DateTime64(6, 'UTC'), _dlt_load_id String) "
        f"ENGINE = MergeTree ORDER BY {order_by}"
    )


def load_instacart_csvs(client, csv_dir: Path, loaded_at: datetime | None = None) -> dict[str, int]:
    """Replace raw_instacart.* with the Kaggle-layout CSV files in csv_dir; return row counts."""
    loaded_at = loaded_at or datetime.now(UTC)
    counts = {}
    for table, (file_name, columns) in INSTACART_TABLES.items():
        create_table(client, "raw_instacart", table, columns, columns.split(" ", 1)[0])
        data = pacsv.read_csv(csv_dir / file_name)
        names = data.column_names
        rows = [
            [*row, loaded_at, "dev"] for row in zip(*(data.column(n).to_pylist() for n in names), strict=True)
        ]
        client.insert(f"raw_instacart.{table}", rows, column_names=[*names, "_loaded_at", "_dlt_load_id"])
        counts[table] = len(rows)
    return counts


# --- the shop ------------------------------------------------------------------------------------------

START = date(2026, 1, 5)  # a Monday
STATES = ["CA", "NY", "TX", "WA", "FL", "IL"]
SERVICES = ["ups", "fedex", "usps", "dhl"]
PRODUCTS = 12
SESSIONS_PER_DAY = 24


def at(day: int, seconds: float) -> datetime:
    return datetime(START.year, START.month, START.day, tzinfo=UTC) + timedelta(days=day, seconds=seconds)


@dataclass
class ShopState:
    rows: dict[str, list[dict]] = field(default_factory=lambda: {t: [] for t in SHOP_TABLES})


def shop_state(until: date, seed: int = 7) -> ShopState:
    """The shop database as it looks at the end of `until` (a day on or after START)."""
    days = (until - START).days + 1
    if days < 1:
        raise ValueError(f"until={until} is before the simulation starts ({START}): pick a later day")
    state = ShopState()
    rows = state.rows
    t0 = at(0, 0)
    rows["promos"] = [
        {"promo_id": "spring-sale", "discount": 10, "status": "active", "created_at": t0, "updated_at": t0},
        {"promo_id": "welcome", "discount": 5, "status": "active", "created_at": t0, "updated_at": t0},
        {
            "promo_id": "winter-clearance",
            "discount": 20,
            "status": "inactive",
            "created_at": t0,
            "updated_at": t0,
        },
    ]
    # Products: inventory sells down every day and is restocked some days after it ran out; prices move
    # now and then. The raw row holds the state at the end of `until`.
    for p in range(PRODUCTS):
        rng = np.random.default_rng([seed, 1000 + p])
        inventory, price, updated = int(rng.integers(5, 40)), round(float(rng.uniform(5, 80)), 2), t0
        for day in range(1, days):
            sold = int(rng.integers(0, 12))
            restock = inventory == 0 and rng.random() < 0.6
            new_inventory = inventory + 30 if restock else max(0, inventory - sold)
            new_price = (
                round(price * (1.1 if rng.random() < 0.5 else 0.9), 2) if rng.random() < 0.15 else price
            )
            if (new_inventory, new_price) != (inventory, price):
                inventory, price, updated = new_inventory, new_price, at(day, 9 * 3600 + p)
        rows["products"].append(
            {
                "product_id": f"p-{p:04d}",
                "name": f"Product {p}",
                "price": price,
                "inventory": inventory,
                "created_at": t0,
                "updated_at": updated,
            }
        )
    prices = {r["product_id"]: r["price"] for r in rows["products"]}
    end = at(days, 0)
    users: list[tuple[str, str]] = []
    for day in range(days):
        rng = np.random.default_rng([seed, day])
        for s in range(SESSIONS_PER_DAY):
            sid = f"s-{day:03d}-{s:02d}"
            clock = [10 * 3600 + s * 1200.0]
            events = rows["events"]

            def event(kind: str, user: str | None, url: str, order=None, product=None, sid=sid, clock=clock):
                clock[0] += 30
                ts = at(day, clock[0])
                events.append(
                    {
                        "event_id": f"e-{sid}-{len(events):06d}",
                        "session_id": sid,
                        "user_id": user,
                        "page_url": url,
                        "event_type": kind,
                        "order_id": order,
                        "product_id": product,
                        "created_at": ts,
                        "updated_at": ts,
                    }
                )

            user = None
            if not users or rng.random() < 0.4:
                event("signup_started", None, "/signup")
                if rng.random() < 0.75:
                    uid, aid = f"u-{day:03d}-{s:02d}", f"a-{day:03d}-{s:02d}"
                    ts = at(day, clock[0] + 30)
                    rows["addresses"].append(
                        {
                            "address_id": aid,
                            "address": f"{s} Main St",
                            "zipcode": f"{10000 + day * 100 + s}",
                            "state": STATES[int(rng.integers(len(STATES)))],
                            "country": "US",
                            "created_at": ts,
                            "updated_at": ts,
                        }
                    )
                    rows["users"].append(
                        {
                            "user_id": uid,
                            "first_name": f"First{s}",
                            "last_name": f"Last{day}",
                            "email": f"{uid}@example.com",
                            "phone_number": f"555-{day:03d}-{s:04d}",
                            "address_id": aid,
                            "created_at": ts,
                            "updated_at": ts,
                        }
                    )
                    event("account_created", uid, "/signup/done")
                    users.append((uid, aid))
                    if rng.random() < 0.7:
                        event("profile_completed", uid, "/profile")
                        user = uid if rng.random() < 0.6 else None
            else:
                user = users[int(rng.integers(len(users)))][0]
            if user is None:
                continue
            viewed = rng.choice(PRODUCTS, size=int(rng.integers(1, 5)), replace=False)
            cart = []
            for p in viewed:
                pid = f"p-{p:04d}"
                event("page_view", user, f"/products/{pid}", product=pid)
                if rng.random() < 0.5:
                    event("add_to_cart", user, f"/products/{pid}", product=pid)
                    cart.append(pid)
            if not cart or rng.random() < 0.3:
                continue
            oid = f"o-{day:03d}-{s:02d}"
            event("checkout", user, "/checkout", order=oid)
            created = at(day, clock[0])
            quantities = {pid: int(rng.integers(1, 4)) for pid in cart}
            cost = round(sum(prices[p] * q for p, q in quantities.items()), 2)
            promo = ["spring-sale", "welcome", None, None][int(rng.integers(4))]
            shipping = 5.0 if cost < 50 else 0.0
            service = SERVICES[int(rng.integers(len(SERVICES)))]
            ship_day, deliver_day = day + 1, day + 1 + int(rng.integers(1, 4))
            shipped, delivered = at(ship_day, 8 * 3600 + s), at(deliver_day, 15 * 3600 + s)
            order = {
                "order_id": oid,
                "user_id": user,
                "promo_id": promo,
                "address_id": dict(users)[user],
                "order_cost": cost,
                "shipping_cost": shipping,
                "order_total": round(cost + shipping, 2),
                "tracking_id": None,
                "shipping_service": None,
                "estimated_delivery_at": None,
                "delivered_at": None,
                "status": "preparing",
                "created_at": created,
                "updated_at": created,
            }
            if shipped < end:
                order |= {
                    "status": "shipped",
                    "tracking_id": f"t-{oid}",
                    "shipping_service": service,
                    "estimated_delivery_at": at(day + 3, 18 * 3600),
                    "updated_at": shipped,
                }
                events.append(
                    {
                        "event_id": f"e-ship-{oid}",
                        "session_id": f"s-ship-{oid}",
                        "user_id": user,
                        "page_url": "/tracking",
                        "event_type": "package_shipped",
                        "order_id": oid,
                        "product_id": None,
                        "created_at": shipped,
                        "updated_at": shipped,
                    }
                )
            if delivered < end:
                order |= {"status": "delivered", "delivered_at": delivered, "updated_at": delivered}
            rows["orders"].append(order)
            for pid, q in quantities.items():
                rows["order_items"].append(
                    {
                        "order_id": oid,
                        "product_id": pid,
                        "quantity": q,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
    return state


def load_shop(client, until: date, loaded_at: datetime | None = None, seed: int = 7) -> dict[str, int]:
    """Replace raw_shop.* with the shop's state at the end of `until`; return row counts."""
    loaded_at = loaded_at or datetime.now(UTC)
    state = shop_state(until, seed)
    counts = {}
    for table, columns in SHOP_TABLES.items():
        create_table(client, "raw_shop", table, columns, KEYS[table])
        names = [c.split(" ", 1)[0] for c in re.split(r",\s*(?![^()]*\))", columns)]
        data = [[row[n] for n in names] + [loaded_at, f"shop-{until}"] for row in state.rows[table]]
        client.insert(f"raw_shop.{table}", data, column_names=[*names, "_loaded_at", "_dlt_load_id"])
        counts[table] = len(data)
    return counts
