"""A simulated online plant shop: advances its application database one day at a time.

`simulate(url, until)` plays every day from the last simulated one (or `start`) up to `until`: visitors
sign up, browse, fill carts that become orders or are abandoned; orders ship and are delivered on later
days; inventory falls with sales, runs out and is restocked; promos switch on and off. Each day's
randomness comes from (seed, day) and each day reads only the database, so building day by day gives the
same database as building all at once. The last simulated day is kept in `_orchard_sim_state`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from orchard_dev.shop_sample import schema

DEFAULT_SEED = 0
DEFAULT_DAYS = 30  # history built when a new database gets no --start
SITE = "https://orchard-plants.example"

PLANTS = [
    ("Monstera", 45.0), ("Pothos", 18.0), ("Snake Plant", 28.0), ("ZZ Plant", 32.0), ("Fiddle Leaf Fig", 65.0),
    ("Peace Lily", 24.0), ("Spider Plant", 14.0), ("Aloe Vera", 12.0), ("Rubber Plant", 38.0),
    ("Calathea", 30.0), ("Philodendron", 22.0), ("Bird of Paradise", 72.0), ("Boston Fern", 19.0),
    ("String of Pearls", 16.0), ("Jade Plant", 15.0), ("Money Tree", 48.0), ("Majesty Palm", 55.0),
    ("Ponytail Palm", 34.0), ("Orchid", 29.0), ("Lucky Bamboo", 11.0), ("Barrel Cactus", 13.0),
    ("Succulent Trio", 21.0), ("Alocasia", 36.0), ("Pilea Peperomioides", 17.0), ("Haworthia", 10.0),
    ("English Ivy", 13.0), ("Dracaena", 27.0), ("Croton", 23.0), ("Begonia", 16.0), ("Anthurium", 33.0),
]  # fmt: skip
PROMOS = [
    ("spring-sale", 10),
    ("summer-sale", 15),
    ("new-customer", 5),
    ("black-friday", 25),
    ("holiday", 20),
]
FIRST_NAMES = [
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Isla",
    "Jack",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Paul",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Xena",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Adams",
    "Brown",
    "Clark",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
    "Miller",
    "Nguyen",
    "Owens",
    "Patel",
    "Quinn",
    "Rossi",
    "Smith",
    "Turner",
    "Ueda",
    "Vargas",
    "Walker",
    "Young",
    "Zhang",
]
STREETS = [
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Birch",
    "Willow",
    "Aspen",
    "Spruce",
    "Chestnut",
    "Juniper",
    "Magnolia",
]
STATES = [
    ("California", "9"), ("New York", "1"), ("Texas", "7"), ("Washington", "9"), ("Oregon", "9"),
    ("Illinois", "6"), ("Florida", "3"), ("Massachusetts", "0"), ("Colorado", "8"), ("Georgia", "3"),
]  # fmt: skip


class ShopSampleError(ValueError):
    """The shop simulation cannot run as asked; the message says why and what to do."""


@dataclass
class Result:
    start: date
    until: date
    days_simulated: int  # 0 when the database was already at `until`
    rows: dict[str, int] = field(default_factory=dict)  # rows per table afterwards


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def open_database(url: str) -> Engine:
    """An engine on the shop database with its tables created; ShopSampleError if unreachable or foreign."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ShopSampleError(f"--db {url!r} is not a SQLAlchemy URL: write e.g. sqlite:///shop.db") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ShopSampleError(f"cannot create {folder} for the shop database: {exc.strerror}") from exc
    try:
        engine = sa.create_engine(parsed)
        existing = sorted(sa.inspect(engine).get_table_names())
        if existing and schema.STATE_TABLE not in existing:  # someone else's database: leave it untouched
            engine.dispose()
            raise ShopSampleError(
                f"{safe_url(url)} already holds tables ({', '.join(existing[:5])}) but no {schema.STATE_TABLE}: "
                "it was not built by `orchard sample shop` and is left alone; use an empty --db"
            )
        schema.metadata.create_all(engine)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise ShopSampleError(
            f"cannot open the shop database {safe_url(url)}: {exc.orig}; check --db (or ORCHARD_SHOP_DB_URL) "
            "and that the database server is running"
        ) from exc
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise ShopSampleError(
            f"no database driver for {safe_url(url)} ({exc}): install the driver package or use a sqlite:/// URL"
        ) from exc
    return engine


def _read_state(conn: Connection) -> dict[str, str]:
    return dict(conn.execute(sa.select(schema.sim_state.c.key, schema.sim_state.c.value)).all())


def _write_state(conn: Connection, **values: str) -> None:
    for key, value in values.items():
        updated = conn.execute(
            schema.sim_state.update().where(schema.sim_state.c.key == key).values(value=value)
        ).rowcount
        if not updated:
            conn.execute(schema.sim_state.insert().values(key=key, value=value))


def simulate(
    url: str,
    until: date,
    start: date | None = None,
    seed: int | None = None,
    progress: Callable[[date], None] | None = None,
) -> Result:
    """Advance the shop database at `url` day by day up to and including `until`."""
    engine = open_database(url)
    try:
        with engine.begin() as conn:
            state = _read_state(conn)
            if state:
                stored_seed = int(state["seed"])
                first, last = date.fromisoformat(state["start"]), date.fromisoformat(state["last_day"])
                if seed is not None and seed != stored_seed:
                    raise ShopSampleError(
                        f"{safe_url(url)} was simulated with --seed {stored_seed}, not {seed}: "
                        "drop --seed to continue it, or use a new --db"
                    )
                if start is not None and start != first:
                    raise ShopSampleError(
                        f"{safe_url(url)} was simulated from {first}; --start {start} only applies to a new "
                        "database: drop --start to continue it, or use a new --db"
                    )
                if until < last:
                    raise ShopSampleError(
                        f"{safe_url(url)} is already simulated up to {last}; --until {until} is earlier and "
                        f"the simulation only moves forward: give --until {last} or later, or use a new --db"
                    )
                seed, start, next_day = stored_seed, first, last + timedelta(days=1)
            else:
                if any(
                    conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                    for table in schema.SHOP_TABLES
                ):
                    raise ShopSampleError(
                        f"{safe_url(url)} holds shop tables with rows but no simulation state "
                        f"({schema.STATE_TABLE}): it was not built by `orchard sample shop`; use an empty --db"
                    )
                seed = DEFAULT_SEED if seed is None else seed
                start = start or until - timedelta(days=DEFAULT_DAYS - 1)
                if until < start:
                    raise ShopSampleError(f"--until {until} is before --start {start}: give a later --until")
                next_day = start
        days = 0
        day = next_day
        while day <= until:
            with engine.begin() as conn:  # one transaction per day: a stopped run resumes at a whole day
                expected = None if day == start else (day - timedelta(days=1)).isoformat()
                if _read_state(conn).get("last_day") != expected:
                    raise ShopSampleError(
                        f"another run advanced {safe_url(url)} at the same time; run one simulation at a time"
                    )
                _simulate_day(conn, day, seed, first_day=day == start)
                _write_state(conn, seed=str(seed), start=start.isoformat(), last_day=day.isoformat())
            days += 1
            if progress:
                progress(day)
            day += timedelta(days=1)
        with engine.connect() as conn:
            rows = {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                for table in schema.SHOP_TABLES
            }
    finally:
        engine.dispose()
    return Result(start=start, until=until, days_simulated=days, rows=rows)


# ------------------------------------------------------------------------------------------ one day


class _Day:
    """The random choices and pending writes of one simulated day."""

    def __init__(self, day: date, seed: int):
        # str seeds are hashed with SHA-512 by `random`: stable across processes and Python runs
        self.random = random.Random(f"orchard-shop:{seed}:{day.isoformat()}")
        self.start = datetime(day.year, day.month, day.day)
        self.inserts: dict[str, list[dict]] = {table.name: [] for table in schema.SHOP_TABLES}
        self.updates: dict[str, dict[str, dict]] = {table.name: {} for table in schema.SHOP_TABLES}

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def at(self, lo_hours: float = 0.0, hi_hours: float = 24.0) -> datetime:
        seconds = self.random.uniform(lo_hours * 3600, hi_hours * 3600 - 1)
        return self.start + timedelta(seconds=int(seconds))

    def event(self, session: str, kind: str, when: datetime, user: str | None, url: str, **ids: str) -> None:
        self.inserts["events"].append(
            {
                "event_id": self.uuid(),
                "session_id": session,
                "user_id": user,
                "page_url": url,
                "event_type": kind,
                "order_id": ids.get("order_id"),
                "product_id": ids.get("product_id"),
                "created_at": when,
                "updated_at": when,
            }
        )

    def update(self, table: str, key: str, updated_at: datetime, **values) -> None:
        row = self.updates[table].setdefault(key, {})
        row.update(values)
        # changes are not made in time order (sessions are drawn one after another): keep the latest time
        row["updated_at"] = max(updated_at, row.get("updated_at", updated_at))


def _rows(conn: Connection, table: sa.Table, *where, order_by: tuple) -> list[dict]:
    query = sa.select(table).where(*where).order_by(*order_by)
    return [dict(row._mapping) for row in conn.execute(query)]


def _simulate_day(conn: Connection, day: date, seed: int, first_day: bool) -> None:
    today = _Day(day, seed)
    if first_day:
        _open_shop(today)
    products = _rows(
        conn, schema.products, order_by=(schema.products.c.created_at, schema.products.c.product_id)
    )
    products += today.inserts["products"]
    promos = _rows(conn, schema.promos, order_by=(schema.promos.c.promo_id,)) + today.inserts["promos"]
    users = _rows(conn, schema.users, order_by=(schema.users.c.created_at, schema.users.c.user_id))
    open_orders = _rows(
        conn,
        schema.orders,
        schema.orders.c.status != "delivered",
        order_by=(schema.orders.c.created_at, schema.orders.c.order_id),
    )

    _switch_promos(today, promos)
    _restock(today, products)
    _ship_and_deliver(today, open_orders)
    _update_users(today, users)
    users += _sign_up(today, first_day)
    _shop(today, users, products, promos)
    _flush(conn, today)


def _open_shop(today: _Day) -> None:
    opened = today.start
    for name, price in PLANTS:
        today.inserts["products"].append(
            {
                "product_id": today.uuid(),
                "name": name,
                "price": price,
                "inventory": today.random.randint(15, 80),
                "created_at": opened,
                "updated_at": opened,
            }
        )
    for i, (name, discount) in enumerate(PROMOS):
        status = "active" if i % 2 == 0 else "inactive"
        today.inserts["promos"].append(
            {
                "promo_id": name,
                "discount": discount,
                "status": status,
                "created_at": opened,
                "updated_at": opened,
            }
        )


def _switch_promos(today: _Day, promos: list[dict]) -> None:
    for promo in promos:
        if today.random.random() < 0.08:
            promo["status"] = "inactive" if promo["status"] == "active" else "active"
            today.update("promos", promo["promo_id"], status=promo["status"], updated_at=today.at(0, 1))


def _restock(today: _Day, products: list[dict]) -> None:
    for product in products:
        if (
            product["inventory"] <= 3 and today.random.random() < 0.3
        ):  # the grower delivers a few days after it runs low
            product["inventory"] += today.random.randint(40, 120)
            today.update(
                "products", product["product_id"], inventory=product["inventory"], updated_at=today.at(6, 8)
            )


def _ship_and_deliver(today: _Day, open_orders: list[dict]) -> None:
    for order in open_orders:
        if order["status"] == "preparing" and today.random.random() < 0.65:
            shipped = today.at(9, 18)
            estimate = shipped + timedelta(days=today.random.randint(2, 6))
            tracking = today.uuid()
            today.update(
                "orders",
                order["order_id"],
                status="shipped",
                tracking_id=tracking,
                shipping_service=today.random.choice(schema.SHIPPING_SERVICES),
                estimated_delivery_at=estimate,
                updated_at=shipped,
            )
            today.event(today.uuid(), "package_shipped", shipped, order["user_id"], f"{SITE}/orders/{order['order_id']}",
                    order_id=order["order_id"])  # fmt: skip
        elif order["status"] == "shipped":
            late = (today.start - order["estimated_delivery_at"]).total_seconds() / 86400
            chance = 0.05 if late < -1 else 0.5 if late < 0 else 0.9
            if today.random.random() < chance:
                delivered = today.at(8, 20)
                today.update(
                    "orders",
                    order["order_id"],
                    status="delivered",
                    delivered_at=delivered,
                    updated_at=delivered,
                )


def _update_users(today: _Day, users: list[dict]) -> None:
    for user in users:
        if user["phone_number"] is None and today.random.random() < 0.15:  # comes back to finish the profile
            when = today.at(7, 23)
            user["phone_number"] = _phone(today)
            today.update("users", user["user_id"], phone_number=user["phone_number"], updated_at=when)
            today.event(today.uuid(), "profile_completed", when, user["user_id"], f"{SITE}/account")
        elif today.random.random() < 0.0005:  # moves house (a few a month)
            when = today.at(7, 23)
            address = _address(today, when)
            user["address_id"] = address["address_id"]
            today.update("users", user["user_id"], address_id=address["address_id"], updated_at=when)


def _phone(today: _Day) -> str:
    return f"{today.random.randint(201, 989)}-{today.random.randint(200, 999)}-{today.random.randint(0, 9999):04d}"


def _address(today: _Day, when: datetime) -> dict:
    state, zip_first = today.random.choice(STATES)
    row = {
        "address_id": today.uuid(),
        "address": f"{today.random.randint(1, 9999)} {today.random.choice(STREETS)} {today.random.choice(['St', 'Ave', 'Rd', 'Ln'])}",
        "zipcode": f"{zip_first}{today.random.randint(0, 9999):04d}",
        "state": state,
        "country": "United States",
        "created_at": when,
        "updated_at": when,
    }
    today.inserts["addresses"].append(row)
    return row


def _sign_up(today: _Day, first_day: bool) -> list[dict]:
    """New visitors who start signing up: most create an account, most of those complete their profile."""
    new_users = []
    for _ in range(today.random.randint(6, 14) + (30 if first_day else 0)):
        session, began = today.uuid(), today.at(7, 22)
        today.event(session, "page_view", began, None, f"{SITE}/")
        today.event(session, "signup_started", began + timedelta(seconds=20), None, f"{SITE}/signup")
        if today.random.random() < 0.2:
            continue  # dropped off before creating an account
        created = began + timedelta(seconds=today.random.randint(60, 240))
        address = _address(today, created)
        first, last = today.random.choice(FIRST_NAMES), today.random.choice(LAST_NAMES)
        user = {
            "user_id": (user_id := today.uuid()),
            "first_name": first,
            "last_name": last,
            # emails are unique: 48 bits of the user id make a clash practically impossible
            "email": f"{first}.{last}.{user_id[:8]}{user_id[9:13]}@example.com".lower(),
            "phone_number": None,
            "address_id": address["address_id"],
            "created_at": created,
            "updated_at": created,
        }
        today.event(session, "account_created", created, user["user_id"], f"{SITE}/signup")
        if today.random.random() < 0.8:
            completed = created + timedelta(seconds=today.random.randint(60, 300))
            user["phone_number"], user["updated_at"] = _phone(today), completed
            today.event(session, "profile_completed", completed, user["user_id"], f"{SITE}/account")
        today.inserts["users"].append(user)
        new_users.append(user)
    return new_users


def _shop(today: _Day, users: list[dict], products: list[dict], promos: list[dict]) -> None:
    """Browsing sessions: product views, carts, checkouts; sales take inventory down (never below zero)."""
    if not users:
        return
    # A few plants are bestsellers: popularity falls with catalogue position.
    weights = [1.0 / (i + 1) ** 0.7 for i in range(len(products))]
    for _ in range(today.random.randint(25, 45)):
        user = today.random.choice(users)
        session = today.uuid()
        when = max(today.at(6, 23), user["created_at"] + timedelta(minutes=5))
        if when.hour == 23:
            continue  # signed up too late in the day to shop today
        today.event(session, "page_view", when, user["user_id"], f"{SITE}/")
        cart: dict[str, int] = {}
        for product in today.random.choices(products, weights=weights, k=today.random.randint(1, 6)):
            when += timedelta(seconds=today.random.randint(15, 180))
            pid = product["product_id"]
            today.event(session, "page_view", when, user["user_id"], f"{SITE}/product/{pid}", product_id=pid)
            if (
                product["inventory"] > cart.get(pid, 0) and today.random.random() < 0.45
            ):  # sold out: view only
                quantity = min(today.random.randint(1, 3), product["inventory"] - cart.get(pid, 0))
                cart[pid] = cart.get(pid, 0) + quantity
                when += timedelta(seconds=today.random.randint(5, 60))
                today.event(
                    session, "add_to_cart", when, user["user_id"], f"{SITE}/product/{pid}", product_id=pid
                )
        if not cart or today.random.random() >= 0.6:
            continue  # nothing wanted, or the cart is abandoned
        when += timedelta(seconds=today.random.randint(30, 300))
        _place_order(today, session, when, user, cart, products, promos)


def _place_order(
    today: _Day,
    session: str,
    when: datetime,
    user: dict,
    cart: dict,
    products: list[dict],
    promos: list[dict],
) -> None:
    by_id = {product["product_id"]: product for product in products}
    order_id = today.uuid()
    cost = round(sum(by_id[pid]["price"] * qty for pid, qty in cart.items()), 2)
    active = [promo for promo in promos if promo["status"] == "active"]
    promo = today.random.choice(active) if active and today.random.random() < 0.25 else None
    shipping = 0.0 if cost >= 75 else today.random.choice([4.99, 6.99, 9.99])
    discount = min(promo["discount"], cost) if promo else 0
    today.inserts["orders"].append(
        {
            "order_id": order_id,
            "user_id": user["user_id"],
            "promo_id": promo["promo_id"] if promo else None,
            "address_id": user["address_id"],
            "order_cost": cost,
            "shipping_cost": shipping,
            "order_total": round(cost + shipping - discount, 2),
            "tracking_id": None,
            "shipping_service": None,
            "estimated_delivery_at": None,
            "delivered_at": None,
            "status": "preparing",
            "created_at": when,
            "updated_at": when,
        }
    )
    for pid, qty in cart.items():
        today.inserts["order_items"].append(
            {"order_id": order_id, "product_id": pid, "quantity": qty, "created_at": when, "updated_at": when}
        )
        product = by_id[pid]
        product["inventory"] -= qty
        today.update("products", pid, inventory=product["inventory"], updated_at=when)
    today.event(session, "checkout", when, user["user_id"], f"{SITE}/checkout", order_id=order_id)


def _flush(conn: Connection, today: _Day) -> None:
    """Write the day: inserts in foreign-key order, then updates (latest values per row)."""
    for table in schema.SHOP_TABLES:
        rows = today.inserts[table.name]
        if rows:
            conn.execute(table.insert(), rows)
    for table in schema.SHOP_TABLES:
        changes = today.updates[table.name]
        if not changes:
            continue
        (key,) = table.primary_key.columns
        for row_key, values in changes.items():
            conn.execute(table.update().where(key == row_key).values(**values))
