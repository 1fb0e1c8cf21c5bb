"""Small, hand-checkable inputs for the load tests (Instacart CSVs and a shop SQLite database), and the
checksums that tell whether a load changed what was already there."""

from __future__ import annotations

import socket
import sqlite3
import uuid
from datetime import datetime, timedelta
from pathlib import Path

INSTACART = {
    "aisles.csv": "aisle_id,aisle\n1,prepared soups salads\n2,specialty cheeses\n3,energy granola bars\n",
    "departments.csv": "department_id,department\n1,frozen\n2,other\n",
    "products.csv": (
        "product_id,product_name,aisle_id,department_id\n"
        '1,"Chocolate Sandwich Cookies",1,1\n2,"All-Seasons Salt",2,2\n3,"Oolong Tea, Unsweetened",3,1\n'
    ),
    "orders.csv": (
        "order_id,user_id,eval_set,order_number,order_dow,order_hour_of_day,days_since_prior_order\n"
        "1,1,prior,1,2,8,\n2,1,prior,2,3,7,15.0\n3,1,train,3,3,12,21.0\n4,2,test,1,5,9,\n"
    ),
    "order_products__prior.csv": "order_id,product_id,add_to_cart_order,reordered\n1,1,1,0\n1,2,2,0\n2,1,1,1\n",
    "order_products__train.csv": "order_id,product_id,add_to_cart_order,reordered\n3,1,1,1\n3,3,2,0\n",
}
INSTACART_ROWS = {
    "aisles": 3,
    "departments": 2,
    "products": 3,
    "orders": 4,
    "order_products_prior": 3,
    "order_products_train": 2,
}


def write_instacart(folder: Path, **overrides: str) -> Path:
    """The six files; `overrides` replaces a file's text by file stem (e.g. orders="...")."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in INSTACART.items():
        (folder / name).write_text(overrides.get(name.removesuffix(".csv"), text))
    return folder


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def data_lines(path: Path) -> int:
    with path.open() as handle:
        return sum(1 for _ in handle) - 1


SHOP_DDL = """
CREATE TABLE users (user_id TEXT PRIMARY KEY, first_name TEXT, email TEXT,
                    created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL);
CREATE TABLE products (product_id TEXT PRIMARY KEY, name TEXT, price FLOAT, inventory INTEGER,
                       created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL);
CREATE TABLE orders (order_id TEXT PRIMARY KEY, user_id TEXT, status TEXT, order_total FLOAT,
                     created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL);
CREATE TABLE order_items (order_id TEXT NOT NULL, product_id TEXT NOT NULL, quantity INTEGER,
                          created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL,
                          PRIMARY KEY (order_id, product_id));
CREATE TABLE events (event_id TEXT PRIMARY KEY, session_id TEXT, user_id TEXT, event_type TEXT,
                     created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL);
CREATE TABLE _orchard_sim_state (key TEXT PRIMARY KEY, value TEXT);
"""
DAY0 = datetime(2026, 11, 1)


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


class Shop:
    """A tiny shop database that can be advanced day by day, with known counts per day."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        with self.connect() as db:
            db.executescript(SHOP_DDL)
            db.execute("INSERT INTO _orchard_sim_state VALUES ('day', '0')")
        self.orders: list[str] = []

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def day(self, n: int, users: int = 3, orders: int = 2, events: int = 5, ship: int = 0) -> dict[str, int]:
        """Activity of day `n` (0-based): new users, orders with 2 items each, events; `ship`
        earlier orders move to 'shipped' (changed rows). Returns the rows touched per table."""
        at = DAY0 + timedelta(days=n, hours=12)
        touched = {"users": users, "orders": orders + ship, "order_items": 2 * orders, "events": events}
        with self.connect() as db:
            if n == 0:
                for i in range(3):
                    db.execute(
                        "INSERT INTO products VALUES (?,?,?,?,?,?)",
                        (f"p{i}", f"plant {i}", 10.0 + i, 100, _ts(at), _ts(at)),
                    )
                touched["products"] = 3
            for i in range(users):
                uid = str(uuid.uuid4())
                db.execute(
                    "INSERT INTO users (user_id, first_name, email, created_at, updated_at) VALUES (?,?,?,?,?)",
                    (uid, f"user{i}", f"u{n}_{i}@example.com", _ts(at), _ts(at + timedelta(seconds=i))),
                )
            for old in self.orders[:ship]:
                db.execute(
                    "UPDATE orders SET status='shipped', updated_at=? WHERE order_id=?", (_ts(at), old)
                )
            self.orders = self.orders[ship:]
            for i in range(orders):
                oid = str(uuid.uuid4())
                self.orders.append(oid)
                db.execute(
                    "INSERT INTO orders VALUES (?,?,?,?,?,?)", (oid, "u", "preparing", 21.0, _ts(at), _ts(at))
                )
                for p in ("p0", "p1"):
                    db.execute(
                        "INSERT INTO order_items VALUES (?,?,?,?,?)", (oid, p, i + 1, _ts(at), _ts(at))
                    )
            for i in range(events):
                stamp = _ts(at + timedelta(minutes=i))
                db.execute(
                    "INSERT INTO events VALUES (?,?,?,?,?,?)",
                    (str(uuid.uuid4()), f"s{n}", None, "page_view", stamp, stamp),
                )
            db.execute("UPDATE _orchard_sim_state SET value=?", (str(n),))
        return touched

    @staticmethod
    def interval(n: int) -> tuple[datetime, datetime]:
        start = DAY0 + timedelta(days=n)
        return start, start + timedelta(days=1)


def checksums(ch, db: str) -> dict[str, tuple[int, int]]:
    """{table: (rows, order-independent hash of every row)} of one database."""
    tables = ch.query("SELECT name FROM system.tables WHERE database = %(db)s", parameters={"db": db})
    return {
        name: tuple(
            ch.query(f"SELECT count(), groupBitXor(cityHash64(*)) FROM `{db}`.`{name}`").result_rows[0]
        )
        for (name,) in tables.result_rows
    }
