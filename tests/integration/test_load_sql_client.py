"""The HTTP-only dlt destination's SQL client against the embedded warehouse: dlt hands it several
statements joined with ";", and a ";" inside a literal or a comment must not split a statement."""

from __future__ import annotations

import uuid

import dlt
import pytest

from orchard.load.destination import http_destination

pytestmark = pytest.mark.integration


def test_semicolons_in_literals_and_comments_do_not_split_statements(warehouse, ch, tmp_path):
    dataset = f"sqlclient_{uuid.uuid4().hex[:8]}"
    pipeline = dlt.pipeline(
        pipeline_name=dataset,
        destination=http_destination(warehouse),
        dataset_name=dataset,
        pipelines_dir=str(tmp_path),
    )
    table = f"{dataset}.notes"
    with pipeline.sql_client() as client:
        client.execute_sql(
            f"CREATE DATABASE IF NOT EXISTS {dataset}; "
            f"CREATE TABLE {table} (id UInt8, note String) ENGINE = MergeTree ORDER BY id; "
            f"INSERT INTO {table} VALUES (1, 'a;b'), (2, 'it''s; -- not a comment'); "
            f"-- a comment; with a semicolon\n"
            f"INSERT INTO {table} VALUES (3, '/* ; */')"
        )
    rows = ch.query(f"SELECT id, note FROM {table} ORDER BY id").result_rows
    assert rows == [(1, "a;b"), (2, "it's; -- not a comment"), (3, "/* ; */")]
    ch.command(f"DROP DATABASE {dataset}")
