"""A third source added the documented way (tests/example_source and one registry line) loads end to end."""

from __future__ import annotations

import uuid

import pytest
from example_source.settings import SOURCE

from orchard.load.contracts import SourceDataError
from orchard.sources import registry

pytestmark = pytest.mark.integration


@pytest.fixture
def weather(monkeypatch, warehouse, tmp_path):
    """The weather source registered as README's "Adding a source" says, loading into a database of its own."""
    monkeypatch.setitem(registry.SOURCES, SOURCE.name, SOURCE)
    database = f"raw_weather_t{uuid.uuid4().hex[:8]}"

    def load(folder):
        return registry.get("weather").run(
            folder, None, settings=warehouse, database=database, pipelines_dir=tmp_path / "dlt"
        )

    load.database = database
    return load


def write_readings(folder, *rows: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "readings.csv").write_text("station,day,temp_c\n" + "".join(f"{r}\n" for r in rows))
    return folder


def test_a_registered_source_loads_its_tables_and_a_rerun_merges(weather, ch, tmp_path):
    folder = write_readings(tmp_path / "in", "oslo,2026-11-20,-1.5", "lima,2026-11-20,19.0")
    assert weather(folder).rows == {"readings": 2}

    write_readings(folder, "oslo,2026-11-20,-2.0", "oslo,2026-11-21,0.5")  # a correction and a new day
    assert weather(folder).rows == {"readings": 2}

    db = weather.database
    tables = {
        name for (name,) in ch.query(f"SELECT name FROM system.tables WHERE database = '{db}'").result_rows
    }
    assert tables == {"readings", "_dlt_loads", "_dlt_pipeline_state", "_dlt_version"}
    rows = ch.query(f"SELECT station, toString(day), temp_c FROM `{db}`.readings ORDER BY station, day")
    assert rows.result_rows == [
        ("lima", "2026-11-20", 19.0),
        ("oslo", "2026-11-20", -2.0),
        ("oslo", "2026-11-21", 0.5),
    ]


def test_a_file_with_other_columns_is_refused_and_the_loaded_rows_stay(weather, ch, tmp_path):
    folder = write_readings(tmp_path / "in", "oslo,2026-11-20,-1.5")
    weather(folder)
    (folder / "readings.csv").write_text("station,date,temperature\noslo,2026-11-21,0.5\n")

    with pytest.raises(SourceDataError, match="expected station, day, temp_c"):
        weather(folder)
    assert ch.command(f"SELECT count() FROM `{weather.database}`.readings") == 1


def test_an_unknown_source_names_the_registered_ones():
    with pytest.raises(ValueError, match="unknown source 'wether': expected one of instacart, shop"):
        registry.get("wether")
