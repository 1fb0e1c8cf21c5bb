"""Orchestration benchmark: `python bench/orchestration/bench.py [--scale 0.01] [--modes local,watcher]`.

Prints, in one run:
1. DAG-file parse time of orchard_nightly rendered from the manifest vs. from `dbt ls`, and their ratio,
   each in a fresh process after imports and a gc.freeze() (what Airflow's dag-processor does before it
   forks a parser); plus the first parse of a fresh interpreter, imports included;
2. the wall time of one orchard_nightly run at the given scale under each Cosmos execution mode, on the
   local deployment (scheduler, triggerer, LocalExecutor; scripts/airflow_local.py up);
3. the per-task overhead of a Cosmos model task in each run: task duration minus dbt's own node time;
   under WATCHER, the per-model lag: each model task's end minus the end of that model in the producer's
   `dbt build` (when the producer pushed that node's status to XCom), median and p90;
4. with --plain, the same nightly's steps back to back in a plain script (bench/run_all.py's), each step's
   seconds, and the orchestration tax: each mode's wall time through the scheduler / the plain script's;
5. per mode, the run's critical path: for each task that held the run up, the scheduler's gap (its
   upstream's end -> queued), the executor's (queued -> started) and its run time, with the worker's parse
   of the DAG file and, for dbt tasks, dbt's start-up and project parse; beside it the plain script's step.
Everything runs on free ports under a temp directory; nothing of the user's .orchard is touched.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchard.settings import ClickHouseSettings
from orchard.warehouse.lifecycle import free_port
from orchard_dev.airflow_api import AirflowAPI

ROOT = Path(__file__).resolve().parents[2]
NODE_TASK_SUFFIXES = ("model", "seed", "snapshot")  # the nodes a WATCHER task is named after
PY = sys.executable
PARSE_SNIPPET = """
import gc, os, sys, time
from orchard.settings import disable_telemetry; disable_telemetry()
start = time.perf_counter()
import airflow.sdk, cosmos
from airflow.dag_processing.dagbag import DagBag
from orchard.orchestration import dbt_group
# Warm-up: parse a sibling DAG file from the manifest, so every module and plugin is loaded; then drop
# Orchard's in-process manifest cache, so the timed parse reads and renders the manifest afresh.
warm = DagBag(dag_folder=sys.argv[2])
cold = time.perf_counter() - start
assert not warm.import_errors, warm.import_errors
dbt_group._manifest.cache_clear()
# Airflow's dag-processor calls gc.freeze() before it forks a parser (DagFileProcessorManager.before_run),
# so a parse does not pay for collecting what was imported before it. Do the same.
gc.collect()
gc.freeze()
os.environ["ORCHARD_COSMOS_LOAD_METHOD"] = sys.argv[3]
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - start
assert not bag.import_errors, bag.import_errors
print(elapsed, len(bag.dags["orchard_nightly"].tasks), cold)
"""


def parse_time(env: dict[str, str], load_method: str) -> tuple[float, int, float]:
    """(seconds to parse orchard_nightly with imports loaded, its task count, seconds of the cold first parse)"""
    proc = subprocess.run(
        [
            PY,
            "-c",
            PARSE_SNIPPET,
            str(ROOT / "dags" / "orchard_nightly.py"),
            str(ROOT / "dags" / "orchard_intraday.py"),
            load_method,
        ],
        env={
            **env,
            "AIRFLOW__COSMOS__ENABLE_CACHE_DBT_LS": "False",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
        },
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.exit(f"parsing orchard_nightly ({load_method}) failed:\n{proc.stderr[-3000:]}")
    seconds, tasks, cold = proc.stdout.strip().splitlines()[-1].split()
    return float(seconds), int(tasks), float(cold)


# the modes --modes takes: Cosmos's execution mode, and for WATCHER where its model tasks wait
MODES = {
    "local": {"ORCHARD_EXECUTION_MODE": "local"},
    # Orchard's: a model task whose node succeeded while it waited ends in the triggerer
    # (orchard.transform.watcher_trigger)
    "watcher": {"ORCHARD_EXECUTION_MODE": "watcher"},
    # Cosmos's own: a worker resumes each deferred model task to end it
    "watcher-workers": {"ORCHARD_EXECUTION_MODE": "watcher", "ORCHARD_WATCHER_END_IN_TRIGGERER": "false"},
}


class Deployment:
    """One local Airflow deployment (scripts/airflow_local.py) in its own state directory."""

    def __init__(self, mode: str, scale: float, base: Path):
        self.state = base / mode
        self.port, ch_port = free_port(), free_port()
        self.warehouse = ClickHouseSettings(host="127.0.0.1", port=ch_port, password=uuid.uuid4().hex)
        self.env = {
            **os.environ,
            "ORCHARD_STATE_DIR": str(self.state),
            "ORCHARD_AIRFLOW_PORT": str(self.port),
            "ORCHARD_AIRFLOW_PASSWORD": "bench",
            "ORCHARD_CLICKHOUSE_PORT": str(ch_port),
            "ORCHARD_CLICKHOUSE_PASSWORD": self.warehouse.password,
            **MODES[mode],
            "ORCHARD_NIGHTLY_CATCHUP": "false",
            "ORCHARD_NIGHTLY_START_DATE": "2099-01-01T00:00:00+00:00",  # no scheduled run competes with ours
            "ORCHARD_TASK_RETRIES": "1",
            "ORCHARD_TASK_RETRY_DELAY_S": "5",
            # without Superset unless asked for, as the plain script: the same publish steps on both sides
            "ORCHARD_BI": os.environ.get("ORCHARD_BI", "off"),
        }
        for key in (
            "AIRFLOW_HOME",
            "AIRFLOW_CONN_CLICKHOUSE_DEFAULT",
        ):  # the deployment writes its connection
            self.env.pop(key, None)
        self.scale = scale
        self.airflow = AirflowAPI(f"http://localhost:{self.port}", "admin", "bench")

    def script(self, *args: str) -> None:
        subprocess.run(
            [PY, str(ROOT / "scripts" / "airflow_local.py"), *args],
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def run_nightly(self) -> dict:
        from orchard_dev.instacart_sample.generator import write_sample
        from orchard_dev.shop_sample.simulator import simulate

        write_sample(self.state / "data" / "instacart", self.scale, 42)
        simulate(
            f"sqlite:///{self.state / 'shop.sqlite'}", until=datetime.now(UTC).date() - timedelta(days=1)
        )
        try:
            self.script("up")
            self.airflow.wait_for_dag("orchard_nightly")
            # a manual run without a logical date: it loads the whole sample, nothing else is scheduled
            run = self.airflow.api(
                "POST", "/dags/orchard_nightly/dagRuns", {"logical_date": None, "conf": {}}
            )
            self.airflow.api("PATCH", "/dags/orchard_nightly", {"is_paused": False})
            run_id = run["dag_run_id"]
            run = self.airflow.wait_for_runs("orchard_nightly", {run_id}, timeout=3600)[run_id]
            tis = list(self.airflow.task_instances("orchard_nightly", run_id).values())
            tasks = self.airflow.api("GET", "/dags/orchard_nightly/tasks")["tasks"]
            upstream: dict[str, set[str]] = {t["task_id"]: set() for t in tasks}
            for t in tasks:
                for down in t["downstream_task_ids"]:
                    upstream[down].add(t["task_id"])
            logs = self.state / "airflow" / "logs" / "dag_id=orchard_nightly" / f"run_id={run_id}"
            return {
                "run": run,
                "tis": tis,
                "overhead": self.overhead(run_id, tis),
                "lag": self.lag(run_id, tis),
                "path": critical_path(run, tis, upstream, logs),
            }
        finally:
            self.script("down")

    def overhead(self, run_id: str, tis: list[dict]) -> list[float]:
        """Per model task, what Airflow adds to dbt's own work for the model, from the node results that
        dbt's on-run-end hook logs in ops.dbt_node_results (this deployment's warehouse holds only this run).

        LOCAL: the task's duration minus dbt's time for its model (each task is a whole dbt invocation).
        WATCHER: how long after the producer's one `dbt build` ended each model task turned green.
        """
        from orchard.warehouse.client import get_client

        client = get_client(self.warehouse)
        model_time = dict(
            client.query(
                "SELECT node_name, sum(execution_time) FROM ops.dbt_node_results"
                " WHERE resource_type = 'model' GROUP BY node_name"
            ).result_rows
        )
        client.close()
        by_id = {ti["task_id"]: ti for ti in tis}
        producer = by_id.get("transform.dbt_producer_watcher") or {}
        result = []
        for task_id, ti in by_id.items():
            name = task_id.removeprefix("transform.")
            if name.endswith("_model_build") and ti["duration"]:
                result.append(ti["duration"] - model_time.get(name.removesuffix("_model_build"), 0.0))
            elif name.endswith((".run", "_run")) and ti["end_date"] and producer.get("end_date"):
                result.append((_when(ti["end_date"]) - _when(producer["end_date"])).total_seconds())
        return result

    def lag(self, run_id: str, tis: list[dict]) -> list[float]:
        """WATCHER: per model, seed and snapshot, its task's end minus the moment the producer reported that
        node finished: the time of its `<node>_status` XCom, pushed as dbt's NodeFinished event arrives."""
        producer = "transform.dbt_producer_watcher"
        base = f"/dags/orchard_nightly/dagRuns/{run_id}/taskInstances/{producer}/xcomEntries"
        finished, offset = {}, 0
        while True:
            page = self.airflow.api("GET", f"{base}?limit=100&offset={offset}")["xcom_entries"]
            for entry in page:
                parts = entry["key"].removesuffix("_status").split("__", 2)
                if entry["key"].endswith("_status") and len(parts) == 3 and parts[0] in NODE_TASK_SUFFIXES:
                    finished[parts[2]] = _when(entry["timestamp"])
            offset += len(page)
            if len(page) < 100:
                break
        lags = []
        for ti in tis:
            name = ti["task_id"].removeprefix("transform.")
            for suffix in (".run", "_run", "_seed", "_snapshot"):
                node = name.removesuffix(suffix)
                if name.endswith(suffix) and node in finished and ti["end_date"] and ti["state"] == "success":
                    lags.append((_when(ti["end_date"]) - finished[node]).total_seconds())
        return lags


PRODUCER = "transform.dbt_producer_watcher"
# the plain script's step for each task of the critical path (bench/run_all.py's PLAIN)
PLAIN_STEP = {
    "extract_load.load_instacart": "loads",
    "extract_load.load_shop": "loads",
    "source_freshness": "source freshness",
    PRODUCER: "dbt build",
    "publish.ops_marts": "ops marts",
    "publish.bi_refresh": "bi refresh",
    "publish.dbt_docs": "dbt docs",
}


def critical_path(run: dict, tis: list[dict], upstream: dict[str, set[str]], logs: Path) -> list[dict]:
    """The chain of task instances that set the run's wall time, first to last: from the task that ended
    last, each step back goes to the upstream task that ended last (the one that released it). WATCHER model
    and test tasks only watch the producer's one `dbt build`: the last of them to end stands for the group
    (its end minus the producer's is the group's tail), and the path goes on from the producer.

    Per task: `sched` = its gate's end (the run's start for the first) -> queued (the scheduler),
    `queue` = queued -> started (the executor, a worker process), `run` = started -> ended, of which
    `parse` = the worker's parse of the DAG file, `dbt_start` = from there to dbt's adapter registered
    (imports, Cosmos's project copy, profile), `dbt_parse` = dbt's own parse of the project (to "Found ...")."""
    by_id = {ti["task_id"]: ti for ti in tis if ti.get("end_date")}
    if not by_id:
        return []
    path: list[dict] = []
    task_id = max(by_id, key=lambda t: _when(by_id[t]["end_date"]))
    while task_id:
        ti = by_id[task_id]
        if task_id.startswith("transform.") and task_id != PRODUCER and PRODUCER in by_id:
            tail = (_when(ti["end_date"]) - _when(by_id[PRODUCER]["end_date"])).total_seconds()
            path.append({"task": task_id, "tail": tail})
            task_id = PRODUCER
            continue
        gates = [u for u in upstream.get(task_id, ()) if u in by_id]
        gate = max(gates, key=lambda u: _when(by_id[u]["end_date"])) if gates else None
        released = _when(by_id[gate]["end_date"]) if gate else _when(run["start_date"])
        queued = _when(ti.get("queued_when") or ti["start_date"])
        row = {
            "task": task_id,
            "sched": (queued - released).total_seconds(),
            "queue": (_when(ti["start_date"]) - queued).total_seconds(),
            "run": (_when(ti["end_date"]) - _when(ti["start_date"])).total_seconds(),
            **_log_marks(logs / f"task_id={task_id}" / f"attempt={ti.get('try_number') or 1}.log"),
        }
        path.append(row)
        task_id = gate
    path.reverse()
    last = by_id[path[-1]["task"]]
    path.append(
        {"task": "(run ends)", "sched": (_when(run["end_date"]) - _when(last["end_date"])).total_seconds()}
    )
    return path


def _log_marks(log: Path) -> dict[str, float]:
    """From a task's log: the worker's DAG-file parse and, for a dbt task, dbt's start-up and parse."""
    marks: dict[str, float] = {}
    if not log.exists():
        return marks
    times: dict[str, datetime] = {}
    for line in log.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        text = str(event.get("event", ""))
        when = event.get("timestamp")
        if not when:
            continue
        if text == "Worker startup parse complete":
            marks["parse"] = event.get("dag_file_parse_ms", 0) / 1000
            times.setdefault("parsed", _when(when))
        elif "Registered adapter" in text:
            times.setdefault("adapter", _when(when))
        elif " Found " in f" {text}" and "models" in text:
            times.setdefault("found", _when(when))
    if {"parsed", "adapter"} <= times.keys():
        marks["dbt_start"] = (times["adapter"] - times["parsed"]).total_seconds()
    if {"adapter", "found"} <= times.keys():
        marks["dbt_parse"] = (times["found"] - times["adapter"]).total_seconds()
    return marks


def print_critical_path(path: list[dict], plain: dict[str, float] | None) -> None:
    print(
        "  critical path (s): sched = gate's end -> queued, queue = queued -> started, run = started -> ended;"
    )
    print(
        "  inside run: parse = worker's DAG-file parse, dbt start = to dbt's adapter, dbt parse = to 'Found'"
    )
    header = (
        f"    {'task':40} {'sched':>6} {'queue':>6} {'run':>6} {'parse':>6} {'dbt start':>9} {'dbt parse':>9}"
    )
    print(header + ("  plain step" if plain else ""))
    total = {"sched": 0.0, "queue": 0.0, "run": 0.0}
    for row in path:
        if "tail" in row:
            print(
                f"    {row['task']:40} ends {row['tail']:.1f} s after the producer (the transform group's tail)"
            )
            total["run"] += row["tail"]
            continue
        cells = [row.get(k) for k in ("sched", "queue", "run", "parse", "dbt_start", "dbt_parse")]
        for key in total:
            total[key] += row.get(key) or 0.0
        text = " ".join(
            f"{c:{w}.1f}" if c is not None else " " * (w - 1) + "-"
            for c, w in zip(cells, (6, 6, 6, 6, 9, 9), strict=True)
        )
        step = PLAIN_STEP.get(row["task"])
        extra = f"  {step} {plain[step]:.1f}" if plain and step in plain else ""
        print(f"    {row['task']:40} {text}{extra}")
    print(
        f"    {'total':40} {total['sched']:6.1f} {total['queue']:6.1f} {total['run']:6.1f}"
        "  (sched + queue: the scheduler's and the executor's share)"
    )


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def seconds(run: dict) -> float:
    start = datetime.fromisoformat(run["start_date"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(run["end_date"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def print_parse_times(env: dict[str, str]) -> None:
    print(
        "== DAG-file parse time of orchard_nightly (imports and plugins loaded first, as a warm parser has)"
    )
    manifest = [parse_time(env, "manifest") for _ in range(3)]
    dbt_ls = [parse_time(env, "dbt_ls") for _ in range(3)]
    m, d = statistics.median(r[0] for r in manifest), statistics.median(r[0] for r in dbt_ls)
    print(
        f"  from manifest.json: {m:.3f} s  ({manifest[0][1]} tasks; runs {[round(r[0], 3) for r in manifest]})"
    )
    print(f"  from dbt ls:        {d:.3f} s  (runs {[round(r[0], 3) for r in dbt_ls]})")
    print(f"  manifest is {d / m:.0f}x faster")
    cold = statistics.median(r[2] for r in manifest)
    print(f"  (a fresh interpreter's first parse, imports included: {cold:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument(
        "--modes", default="local,watcher", help=f"a comma-separated choice of {', '.join(MODES)}"
    )
    parser.add_argument("--skip-runs", action="store_true", help="only the parse-time figures")
    parser.add_argument("--skip-parse", action="store_true", help="only the runs, not the parse-time figures")
    parser.add_argument(
        "--plain", action="store_true", help="also the plain script, and the orchestration tax"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "include"))
    base = Path(tempfile.mkdtemp(prefix="orchard-bench-"))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(base / "airflow-parse"),
        "PATH": f"{Path(PY).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # `dbt ls` needs dbt on PATH
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_CLICKHOUSE_DEFAULT": ClickHouseSettings().airflow_connection(),  # parsing needs no server
    }
    subprocess.run(
        [str(Path(PY).parent / "orchard"), "dbt", "manifest"], env=env, check=True, stdout=subprocess.DEVNULL
    )

    if not args.skip_parse:
        print_parse_times(env)
    if args.skip_runs:
        return
    print(f"\n== one orchard_nightly run at scale {args.scale} per execution mode (local deployment)")
    walls: dict[str, float] = {}
    paths: dict[str, list[dict]] = {}
    modes = args.modes.split(",")
    if unknown := set(modes) - MODES.keys():
        parser.error(f"unknown mode(s) {', '.join(sorted(unknown))}: choose among {', '.join(MODES)}")
    for mode in modes:
        result = Deployment(mode, args.scale, base).run_nightly()
        paths[mode] = result["path"]
        run, tis = result["run"], result["tis"]
        states: dict[str, int] = {}
        for ti in tis:
            states[ti["state"]] = states.get(ti["state"], 0) + 1
        print(f"  {mode:15} wall {seconds(run):7.1f} s  state {run['state']}  tasks {states}")
        if result["overhead"]:
            over = result["overhead"]
            print(
                f"  {'':15} per model task: overhead {statistics.median(over):.1f} s median over {len(over)} tasks"
                " (LOCAL: task duration - dbt's node time; WATCHER: task end - end of the whole build)"
            )
        if lag := result["lag"]:
            p90 = statistics.quantiles(lag, n=10)[-1] if len(lag) > 1 else lag[0]
            print(
                f"  {'':15} WATCHER lag per model: median {statistics.median(lag):.1f} s, p90 {p90:.1f} s,"
                f" max {max(lag):.1f} s over {len(lag)} tasks (task end - that node's end in the producer's dbt build)"
            )
        walls[mode] = seconds(run)
    steps = None
    if args.plain:
        steps = _plain_steps(args.scale, base)
        plain = steps["total"]
        print(f"  plain    the same steps back to back in a plain script: {plain:.1f} s")
        print("  " + ", ".join(f"{name} {value:.1f}" for name, value in steps.items() if name != "total"))
        for mode, wall in walls.items():
            print(
                f"  {mode:15} orchestration tax {wall / plain:.2f} (wall through the scheduler / plain script)"
            )
    for mode, path in paths.items():
        print(f"\n== {mode}: where the run's wall time went")
        print_critical_path(path, steps)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _plain_steps(scale: float, base: Path) -> dict[str, float]:
    """bench/run_all.py's plain nightly at this scale: the seconds of each of its steps, and the total."""
    spec = importlib.util.spec_from_file_location("bench_run_all", ROOT / "bench" / "run_all.py")
    run_all = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = run_all  # its dataclasses look their module up there
    spec.loader.exec_module(run_all)
    result = run_all.plain_nightly(scale, base)
    if not result.ok:
        sys.exit(f"the plain nightly failed:\n{result.output[-3000:]}")
    steps = [line for line in result.output.splitlines() if line.startswith('{"loads"')]
    return json.loads(steps[-1])


if __name__ == "__main__":
    main()
