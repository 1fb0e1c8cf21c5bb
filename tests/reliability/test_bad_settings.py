"""Bad settings are refused before anything starts, with a message that names the setting and the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchard.orchestration import params
from orchard.settings import ClickHouseSettings

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-not-for-logs"

pytestmark = pytest.mark.unit


def _local_run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    state = tmp_path / "state"
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "airflow_local.py"), "run"],
        env={
            **os.environ,
            "ORCHARD_STATE_DIR": str(state),
            "ORCHARD_AIRFLOW_HOME": str(state / "airflow"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.reliability(
    fault="`ORCHARD_SCALE` that is not a number in (0, 1] (`make run`)",
    behaviour="stops before anything starts, naming the variable, its value and a valid one",
)
@pytest.mark.parametrize("value", ["ten", "0", "5", "nan"])
def test_scale_that_is_not_a_number_is_refused(tmp_path, value):
    result = _local_run(tmp_path, ORCHARD_SCALE=value)
    assert result.returncode == 1
    assert f"ORCHARD_SCALE={value!r} is not a number greater than 0 and at most 1" in result.stderr
    assert "set it to e.g. 0.01" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists()  # no sample data written, no service started


@pytest.mark.reliability(
    fault="a malformed `clickhouse_default` connection URI",
    behaviour="refused naming the connection and the URI form to write, never echoing the password",
)
@pytest.mark.parametrize(
    "uri",
    [
        f"clickhouse://default:{SECRET}@127.0.0.1:eighty/default",
        f'{{"conn_type": "generic", "host": "127.0.0.1", "password": "{SECRET}", ',
        f'{{"conn_type": "generic", "port": "http", "password": "{SECRET}"}}',
    ],
)
def test_malformed_clickhouse_default_is_refused(uri):
    with pytest.raises(ValueError) as err:
        ClickHouseSettings.from_env({"AIRFLOW_CONN_CLICKHOUSE_DEFAULT": uri})
    message = str(err.value)
    assert "clickhouse_default connection (AIRFLOW_CONN_CLICKHOUSE_DEFAULT) is malformed" in message
    assert "clickhouse://user:password@host:8123/database" in message
    assert SECRET not in message and err.value.__cause__ is None and err.value.__suppress_context__


@pytest.mark.reliability(
    fault="a manual trigger naming a source that does not exist",
    behaviour="Airflow's params validation refuses the trigger, listing the sources there are",
)
def test_trigger_with_unknown_source_is_refused():
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    form = ParamsDict({"sources": params.sources()})
    with pytest.raises(ParamValidationError) as err:
        form["sources"] = ["instacart", "shopify"]  # what the trigger form and the REST API do with a conf
    message = str(err.value)
    assert "'shopify' is not one of" in message
    assert all(repr(source) in message for source in params.SOURCES)
