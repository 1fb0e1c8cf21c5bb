"""The README's Reliability table is generated from the tests marked `reliability`, so it cannot drift."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("reliability_table", ROOT / "scripts" / "reliability_table.py")
table = sys.modules["reliability_table"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(table)

pytestmark = pytest.mark.unit


def test_readme_table_is_what_the_tests_say():
    rows = table.rows()
    assert rows, "no test is marked reliability"
    held = table.current(table.README.read_text())
    assert held is not None, "README.md lost its Reliability table markers"
    assert held == table.render(rows), "run `.venv/bin/python scripts/reliability_table.py --write`"


def test_every_row_names_a_test_that_exists():
    for row in table.rows():
        path, name = row.test.split("::")
        assert f"def {name}(" in (ROOT / path).read_text()


def test_a_mark_without_its_texts_is_refused(tmp_path):
    (tmp_path / "test_x.py").write_text(
        'import pytest\n\n@pytest.mark.reliability(fault="a fault")\ndef test_x():\n    pass\n'
    )
    with pytest.raises(ValueError, match=r'needs behaviour="\.\.\." as a literal string'):
        table.rows(tmp_path)
