"""Tables of the shop's application database (SQLAlchemy 2), as the raw data contract describes them.

Ids are UUID strings (promos are named, e.g. 'spring-sale'). Timestamps are UTC stored without a zone
(naive datetimes), and every table has created_at and an indexed updated_at, the loader's cursor.
`_orchard_sim_state` is the sample generator's bookkeeping (key/value), which the loader skips.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
)

metadata = MetaData()

ORDER_STATUSES = ("preparing", "shipped", "delivered")
SHIPPING_SERVICES = ("ups", "fedex", "usps", "dhl")
EVENT_TYPES = (
    "page_view",
    "add_to_cart",
    "checkout",
    "package_shipped",
    "signup_started",
    "account_created",
    "profile_completed",
)
PROMO_STATUSES = ("active", "inactive")
STATE_TABLE = "_orchard_sim_state"


def _uuid(name: str, *args, **kw) -> Column:
    return Column(name, String(36), *args, **kw)


def _money(name: str) -> Column:
    return Column(name, Numeric(10, 2, asdecimal=False), nullable=False)


def _stamps() -> list[Column]:
    return [Column("created_at", DateTime, nullable=False), Column("updated_at", DateTime, nullable=False)]


addresses = Table(
    "addresses",
    metadata,
    _uuid("address_id", primary_key=True),
    Column("address", String(200), nullable=False),
    Column("zipcode", String(10), nullable=False),  # text: zip codes keep their leading zeros
    Column("state", String(50), nullable=False),
    Column("country", String(50), nullable=False),
    *_stamps(),
)

users = Table(
    "users",
    metadata,
    _uuid("user_id", primary_key=True),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("email", String(200), nullable=False, unique=True),
    Column("phone_number", String(20)),  # filled when the user completes their profile
    _uuid("address_id", ForeignKey("addresses.address_id"), nullable=False),
    *_stamps(),
)

promos = Table(
    "promos",
    metadata,
    Column("promo_id", String(50), primary_key=True),
    Column("discount", Integer, nullable=False),  # an amount in dollars off the order
    Column("status", String(20), nullable=False),
    *_stamps(),
)

products = Table(
    "products",
    metadata,
    _uuid("product_id", primary_key=True),
    Column("name", String(200), nullable=False),
    Column("price", Numeric(10, 2, asdecimal=False), nullable=False),
    Column("inventory", Integer, nullable=False),
    *_stamps(),
)

orders = Table(
    "orders",
    metadata,
    _uuid("order_id", primary_key=True),
    _uuid("user_id", ForeignKey("users.user_id"), nullable=False),
    Column("promo_id", String(50), ForeignKey("promos.promo_id")),
    _uuid("address_id", ForeignKey("addresses.address_id"), nullable=False),
    _money("order_cost"),
    _money("shipping_cost"),
    _money("order_total"),
    _uuid("tracking_id"),
    Column("shipping_service", String(20)),
    Column("estimated_delivery_at", DateTime),
    Column("delivered_at", DateTime),
    Column("status", String(20), nullable=False),
    *_stamps(),
)

order_items = Table(
    "order_items",
    metadata,
    _uuid("order_id", ForeignKey("orders.order_id"), nullable=False),
    _uuid("product_id", ForeignKey("products.product_id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    *_stamps(),
    PrimaryKeyConstraint("order_id", "product_id"),
)

events = Table(
    "events",
    metadata,
    _uuid("event_id", primary_key=True),
    _uuid("session_id", nullable=False),
    _uuid("user_id", ForeignKey("users.user_id")),  # null until the visitor has an account
    Column("page_url", String(300), nullable=False),
    Column("event_type", String(30), nullable=False),
    _uuid("order_id", ForeignKey("orders.order_id")),
    _uuid("product_id", ForeignKey("products.product_id")),
    *_stamps(),
)

sim_state = Table(
    STATE_TABLE,
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
)

SHOP_TABLES = [addresses, users, promos, products, orders, order_items, events]

for _table in SHOP_TABLES:
    Index(f"ix_{_table.name}_updated_at", _table.c.updated_at)
