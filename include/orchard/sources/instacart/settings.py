"""The Instacart (Kaggle) files: one spec per table, with column types, keys and write disposition."""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchard.settings import DATA_DIR
from orchard.sources.spec import Source

# Arrow CSV block size: memory per batch stays flat whatever the file size.
BLOCK_SIZE = 8 << 20
DATASET_NAME = "raw_instacart"


@dataclass(frozen=True)
class FileSpec:
    table: str
    file: str
    columns: dict[str, str]  # name -> "int" | "float" | "string"
    primary_key: tuple[str, ...]
    nullable: tuple[str, ...] = ()
    # In a daily drop folder (README "Full extracts and daily drops"): `merge` files hold only the day's new rows,
    # merged on the primary key; the others are optional full lists that replace their table when present.
    # A full extract replaces every table (CREATE OR REPLACE ... CLONE AS its staging copy).
    drop_disposition: str = "replace"
    required_in_drop: bool = False


FILES: tuple[FileSpec, ...] = (
    FileSpec("aisles", "aisles.csv", {"aisle_id": "int", "aisle": "string"}, ("aisle_id",)),
    FileSpec(
        "departments", "departments.csv", {"department_id": "int", "department": "string"}, ("department_id",)
    ),
    FileSpec(
        "products",
        "products.csv",
        {"product_id": "int", "product_name": "string", "aisle_id": "int", "department_id": "int"},
        ("product_id",),
    ),
    FileSpec(
        "orders",
        "orders.csv",
        {
            "order_id": "int",
            "user_id": "int",
            "eval_set": "string",
            "order_number": "int",
            "order_dow": "int",
            "order_hour_of_day": "int",
            "days_since_prior_order": "float",
        },
        ("order_id",),
        nullable=("days_since_prior_order",),
        drop_disposition="merge",
        required_in_drop=True,
    ),
    FileSpec(
        "order_products_prior",
        "order_products__prior.csv",
        {"order_id": "int", "product_id": "int", "add_to_cart_order": "int", "reordered": "int"},
        ("order_id", "product_id"),
        drop_disposition="merge",
        required_in_drop=True,
    ),
    FileSpec(
        "order_products_train",
        "order_products__train.csv",
        {"order_id": "int", "product_id": "int", "add_to_cart_order": "int", "reordered": "int"},
        ("order_id", "product_id"),
        drop_disposition="merge",
    ),
)
TABLES = {spec.table: spec for spec in FILES}

# A folder named like this (a date, YYYY-MM-DD) is a daily drop; any other folder is a full extract.
DROP_FOLDER_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Where `orchard load instacart` looks by default (the sample generator's default output too).
DEFAULT_DIR = DATA_DIR / "instacart"

SOURCE = Source(
    name="instacart",
    database=DATASET_NAME,
    tables=tuple(TABLES),
    pipeline="orchard.sources.instacart.pipeline:run_instacart",
    load_command="orchard.sources.instacart.cli:load",
    sample_command="orchard_dev.sample_cli:instacart",
)
