"""The HTTP layer's SQL text handling: INSERT ... FORMAT headers, formats, read-only checks."""

from __future__ import annotations

import pytest

from orchard.warehouse import codecs, sql
from orchard.warehouse.errors import ClickHouseError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"INSERT INTO t FORMAT CSV\n1,2\n", ("INSERT INTO t", "CSV", 25)),
        (b"insert into db.t (a, b) format Native", ("insert into db.t (a, b)", "Native", 37)),
        (b"INSERT INTO t (format) FORMAT TSV\r\nx", ("INSERT INTO t (format)", "TSV", 35)),
        (b"INSERT INTO t VALUES (1)", None),
        (b"SELECT 1 FORMAT CSV", None),
    ],
)
def test_split_insert(head, expected):
    assert sql.split_insert(head) == expected


def test_output_format():
    assert sql.output_format("SELECT 1 FORMAT JSON", "TSV") == "JSON"
    assert sql.output_format("SELECT 1 FORMAT JSONEachRow SETTINGS max_threads = 1;", "TSV") == "JSONEachRow"
    assert sql.output_format("SELECT 'FORMAT JSON'", "TSV") == "TSV"
    assert sql.output_format("SELECT 1 -- FORMAT JSON", "TabSeparated") == "TabSeparated"


def test_read_only_statements():
    assert sql.is_read_only("  (SELECT 1)")
    assert sql.is_read_only("/* hi */ WITH 1 AS a SELECT a")
    assert not sql.is_read_only("INSERT INTO t VALUES (1)")
    assert not sql.is_read_only("-- SELECT\nDROP TABLE t")


def test_several_statements():
    assert sql.has_several_statements("SELECT 1; DROP TABLE t")
    assert not sql.has_several_statements("SELECT 1;")
    assert not sql.has_several_statements("SELECT ';' AS x; ")
    assert not sql.has_several_statements("SELECT 'it''s; fine' -- ; comment")


def test_split_statements_keeps_semicolons_in_literals_and_comments():
    script = (
        "CREATE TABLE t (s String) ENGINE = Memory; INSERT INTO t VALUES ('a;b') /* ; */;\n-- c;\n; SELECT 1;"
    )
    assert sql.split_statements(script) == [
        "CREATE TABLE t (s String) ENGINE = Memory",
        "INSERT INTO t VALUES ('a;b') /* ; */",
        "SELECT 1",
    ]
    assert sql.split_statements('SELECT `a;b`, "c;d" FROM t') == ['SELECT `a;b`, "c;d" FROM t']
    assert sql.split_statements(" ; -- nothing\n") == []


def test_unknown_content_encoding_is_named():
    with pytest.raises(ClickHouseError) as info:
        codecs.decoder("snappy-ish")
    assert "snappy-ish" in str(info.value) and info.value.name == "UNKNOWN_COMPRESSION_METHOD"


def test_accept_encoding_choice():
    assert codecs.choose_response_encoding("br;q=0.9, gzip") == "br"
    assert codecs.choose_response_encoding("identity") is None


def test_engine_errors_keep_code_and_name():
    error = ClickHouseError.from_engine(
        RuntimeError("Code: 60. DB::Exception: Unknown table x. (UNKNOWN_TABLE)")
    )
    assert (error.code, error.name, error.http_status) == (60, "UNKNOWN_TABLE", 404)
    assert error.body().startswith("Code: 60. DB::Exception: Unknown table x. (UNKNOWN_TABLE)")
