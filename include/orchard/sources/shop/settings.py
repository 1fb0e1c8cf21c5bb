"""The shop source's settings: where its tables land, which tables it loads and how."""

from __future__ import annotations

from orchard.sources.spec import Source

DATASET_NAME = "raw_shop"
TABLES = ("users", "addresses", "promos", "products", "orders", "order_items", "events")
SKIP_TABLES = {"_orchard_sim_state"}  # the sample simulator's own bookkeeping, not shop data
APPEND_TABLES = {"events"}  # immutable facts: appended, deduplicated on their key
CHUNK_SIZE = 50_000

SOURCE = Source(
    name="shop",
    database=DATASET_NAME,
    tables=TABLES,
    pipeline="orchard.sources.shop.pipeline:run_shop",
    load_command="orchard.sources.shop.cli:load",
    sample_command="orchard_dev.sample_cli:shop",
    connection_id="shop_db",
)
