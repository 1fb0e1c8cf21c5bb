#!/usr/bin/env python3
"""`make bench`: run every benchmark under bench/ with its own command, then write bench/RESULTS.md.

Runs bench/samples, bench/load, bench/dbt, bench/warehouse, bench/steady_state and bench/orchestration/bench.py
as they are run by hand (each in a child process; their own commands keep working), plus a plain script that runs the nightly's
steps back to back (loads, source freshness, `dbt build`, publish) as the orchestration tax's denominator.
While each runs, a sampler records the peak resident memory (VmHWM) of every process it started, by kind
(warehouse, dbt, Airflow, Superset, Python: the loads and generators). RESULTS.md gets the machine, the
versions, the date and the load average, a table per benchmark with each comparison as a ratio measured in
the same run, a scaling table, issue #15's targets with the measured figure beside each, and every
benchmark's raw output.

Usage: bench/run_all.py [--quick] [--scale-10] [--out bench/RESULTS.md]
  --quick     scale 0.01 only, short runs (a few minutes)
  --scale-10  add scale 10 to the scaling runs (338 M order lines; long, and needs the disk)
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = str(Path(sys.executable))
MARKER = (
    "ORCHARD_BENCH_RUN"  # in every process a benchmark starts, daemons included: how the sampler finds them
)
PIPELINE_RATE = r"^dlt pipeline\s+[\d.]+ s\s+([\d,]+) rows/s"


def kind_of(cmdline: str) -> str:
    if "orchard.warehouse.server" in cmdline or "warehouse serve" in cmdline:
        return "warehouse"
    if "gunicorn" in cmdline or "superset" in cmdline:
        return "superset"
    if "airflow" in cmdline or "celery" in cmdline:
        return "airflow"
    if re.search(r"/dbt(\s|$)", cmdline):
        return "dbt"
    return "python"


class Sampler(threading.Thread):
    """Peak resident memory (MiB) per process kind of the processes carrying one run's marker."""

    def __init__(self, token: str, interval: float = 1.0):
        super().__init__(daemon=True)
        self.token = f"{MARKER}={token}".encode()
        self.interval = interval
        self.peaks: dict[str, float] = {}
        self.done = threading.Event()

    def sample(self) -> None:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if self.token not in (proc / "environ").read_bytes():
                    continue
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                status = (proc / "status").read_text()
            except OSError:
                continue
            hwm = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
            if hwm:
                kind = kind_of(cmdline)
                self.peaks[kind] = max(self.peaks.get(kind, 0.0), int(hwm.group(1)) / 1024)

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.sample()

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.join()
        return self.peaks


@dataclass
class Run:
    name: str
    command: list[str]
    seconds: float = 0.0
    returncode: int = 0
    output: str = ""
    peaks: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def find(self, pattern: str, group: int = 1, cast=float):
        match = re.search(pattern, self.output, re.M)
        return cast(match.group(group).replace(",", "")) if match else None


def run(name: str, command: list[str], timeout: float, env: dict | None = None, drop: tuple = ()) -> Run:
    token = uuid.uuid4().hex
    child_env = {k: v for k, v in os.environ.items() if k not in drop}
    result = Run(name, command)
    print(f"== {name}: {' '.join(command)}", flush=True)
    sampler = Sampler(token)
    sampler.start()
    started = time.monotonic()
    try:
        proc = subprocess.run(
            command,
            cwd=ROOT,
            env={**child_env, **(env or {}), MARKER: token},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        result.returncode, result.output = proc.returncode, proc.stdout + proc.stderr[-4000:]
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        result.returncode, result.output = -1, out + f"\n(timed out after {timeout:.0f} s)"
    result.seconds = time.monotonic() - started
    result.peaks = sampler.stop()
    status = "ok" if result.ok else f"FAILED ({result.returncode})"
    print(f"   {status} in {result.seconds:.0f} s", flush=True)
    if not result.ok:
        print(result.output[-3000:], flush=True)
    return result


# The nightly's steps back to back, without Airflow: the orchestration tax's denominator. The same data as
# bench/orchestration's run (Instacart with seed 42, the shop simulated up to yesterday), a fresh warehouse.
PLAIN = """
import json, os, sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from orchard.settings import ClickHouseSettings, disable_telemetry
disable_telemetry()
from orchard.warehouse import lifecycle
from orchard_dev.instacart_sample.generator import write_sample
from orchard_dev.shop_sample.simulator import simulate
state, scale = Path(sys.argv[1]), float(sys.argv[2])
write_sample(state / "data" / "instacart", scale, 42)
simulate(f"sqlite:///{state / 'shop.sqlite'}", until=datetime.now(UTC).date() - timedelta(days=1))
port = int(os.environ["ORCHARD_CLICKHOUSE_PORT"])
proc = lifecycle.spawn(state / "warehouse", "127.0.0.1", port, state / "warehouse.log")
try:
    lifecycle.wait_ready(proc, "127.0.0.1", port, state / "warehouse.log")
    # dbt's profile comes from the clickhouse_default connection, as in a task
    conn = ClickHouseSettings(host="127.0.0.1", port=port).airflow_connection()
    os.environ["AIRFLOW_CONN_CLICKHOUSE_DEFAULT"] = conn
    from orchard.bi.refresh import refresh
    from orchard.orchestration.dbt_group import OPS_MARTS
    from orchard.orchestration.loads import load_source
    from orchard.transform.manifest import load_manifest
    from orchard.transform.runner import run_dbt
    from orchard import settings
    steps, started = {}, time.perf_counter()
    def step(name, fn):
        t = time.perf_counter(); fn(); steps[name] = time.perf_counter() - t
    from orchard.transform.cosmos_config import DBT_VARS
    # the vars the DAG's dbt tasks render for a run without a data interval (grants as the settings say)
    dbt_vars = {**DBT_VARS, "data_interval_start": "", "data_interval_end": ""}
    step("loads", lambda: [load_source(s, None, None) for s in ("instacart", "shop")])
    step("source freshness", lambda: run_dbt(["source", "freshness"], dbt_vars=dbt_vars))
    step("dbt build", lambda: run_dbt(["build", "--exclude", OPS_MARTS], dbt_vars=dbt_vars))
    step("ops marts", lambda: run_dbt(["build", "--select", OPS_MARTS], dbt_vars=dbt_vars))
    step("bi refresh", lambda: refresh(load_manifest(), run_id="plain"))
    docs_vars = {"enable_grants": settings.DBT_ENABLE_GRANTS}
    step("dbt docs", lambda: run_dbt(["docs", "generate"], target_path=state / "docs", dbt_vars=docs_vars))
    steps["total"] = time.perf_counter() - started
    print(json.dumps(steps))
finally:
    proc.terminate(); proc.wait()
"""


_PASSWORD = uuid.uuid4().hex


def shared_password() -> dict[str, str]:
    """ORCHARD_CLICKHOUSE_PASSWORD for a benchmark that starts a warehouse in a state directory of its own:
    the warehouse and every client of it (Airflow's connection, the benchmark's queries) agree on it."""
    return {"ORCHARD_CLICKHOUSE_PASSWORD": os.environ.get("ORCHARD_CLICKHOUSE_PASSWORD") or _PASSWORD}


def plain_nightly(scale: float, base: Path) -> Run:
    from orchard.warehouse.lifecycle import free_port

    state = base / f"plain-{scale:g}"
    state.mkdir(parents=True)
    env = {
        "ORCHARD_STATE_DIR": str(state),
        "ORCHARD_CLICKHOUSE_PORT": str(free_port()),
        "AIRFLOW_HOME": str(state / "airflow"),
        **shared_password(),
    }
    drop = ("AIRFLOW_CONN_CLICKHOUSE_DEFAULT", "AIRFLOW_CONN_SUPERSET_DEFAULT", "ORCHARD_SUPERSET_URL")
    return run(f"plain {scale:g}", [PY, "-c", PLAIN, str(state), str(scale)], 7200, env, drop)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for label, dist in [
        ("chdb", "chdb-core"),
        ("dbt-core", "dbt-core"),
        ("dbt-clickhouse", "dbt-clickhouse"),
        ("dlt", "dlt"),
        ("airflow", "apache-airflow"),
        ("cosmos", "astronomer-cosmos"),
        ("clickhouse-connect", "clickhouse-connect"),
    ]:
        try:
            found[label] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[label] = "not installed"
    return found


def machine() -> dict[str, str]:
    mem = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    return {
        "cores": str(os.cpu_count()),
        "memory": f"{int(mem.group(1)) / 1024**2:.1f} GiB" if mem else "?",
        "kernel": platform.release(),
    }


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def fmt(value, spec: str = ".2f", unit: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{unit}"


def ratio(a, b) -> float | None:
    return None if a is None or b in (None, 0) else a / b


def verdict(value, target: float, unit: str = "") -> str:
    if value is None:
        return "not measured"
    if value <= target:
        return "met"
    return f"missed by {value - target:.2f}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="scale 0.01 only, short runs")
    parser.add_argument("--scale-10", action="store_true", help="also scale 10 in the scaling runs")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    scales = [0.01] if args.quick else [0.01, 0.1, 1.0] + ([10.0] if args.scale_10 else [])
    base = Path(tempfile.mkdtemp(prefix="orchard-bench-all-"))
    data = base / "data"  # generated Instacart files, shared by bench/dbt and bench/load per scale
    when = datetime.now(UTC)
    load_before = load_average()
    wall = time.monotonic()
    runs: dict[str, Run] = {}

    runs["samples"] = run(
        "samples",
        [
            PY,
            "bench/samples",
            "--scales",
            ",".join(f"{s:g}" for s in scales),
            "--days",
            "7" if args.quick else "30",
        ],
        7200,
    )
    for scale in scales:
        folder = data / f"instacart-{scale}"
        repeat = "1" if args.quick or scale >= 1 else "3"
        runs[f"load {scale:g}"] = run(
            f"load {scale:g}",
            [
                PY,
                "bench/load",
                "--scale",
                str(scale),
                "--repeat",
                repeat,
                "--memory-scales",
                "--dir",
                str(folder),
            ],
            7200,
        )
        # bench/dbt's --dir is the folder holding instacart-<scale>: the files bench/load just wrote
        runs[f"dbt {scale:g}"] = run(
            f"dbt {scale:g}", [PY, "bench/dbt", "--scales", str(scale), "--dir", str(data)], 7200
        )
    # the steady-state nightly: full history, then one day's and three days' new data (plain-script path)
    steady_scale = 0.01 if args.quick else 1.0
    runs["steady"] = run(
        f"steady {steady_scale:g}",
        [PY, "bench/steady_state", "--scale", str(steady_scale)],
        7200,
        shared_password(),
        ("AIRFLOW_CONN_CLICKHOUSE_DEFAULT", "AIRFLOW_CONN_SUPERSET_DEFAULT", "ORCHARD_SUPERSET_URL"),
    )
    runs["warehouse"] = run(
        "warehouse",
        [PY, "bench/warehouse", *(["--rows", "1000000", "--repeat", "1"] if args.quick else [])],
        3600,
    )
    orchestration_scales = [0.01] if args.quick else [s for s in scales if s <= 1]
    for scale in orchestration_scales:
        modes = "watcher" if args.quick or scale > 0.01 else "local,watcher"
        command = [PY, "bench/orchestration/bench.py", "--scale", str(scale), "--modes", modes]
        # without Superset (ORCHARD_BI=off), as the plain script: the same publish steps on both sides
        extra = {"ORCHARD_BI": "off", **shared_password()}
        runs[f"orchestration {scale:g}"] = run(f"orchestration {scale:g}", command, 7200, extra)
        runs[f"plain {scale:g}"] = plain_nightly(scale, base)

    load_after = load_average()
    total = time.monotonic() - wall
    text = report(args, scales, orchestration_scales, runs, when, load_before, load_after, total)
    args.out.write_text(text)
    print(f"wrote {args.out} ({total:.0f} s)")
    if not all(r.ok for r in runs.values()):
        sys.exit("some benchmarks failed: see their output in " + str(args.out))


def plain_steps(run_: Run | None) -> dict[str, float] | None:
    if not run_ or not run_.ok:
        return None
    import json

    line = [line for line in run_.output.splitlines() if line.startswith("{")]
    return json.loads(line[-1]) if line else None


def orchestration_figures(run_: Run | None) -> dict[str, dict[str, float]]:
    """{mode: {wall, lag}} from bench/orchestration's output."""
    figures: dict[str, dict[str, float]] = {}
    if not run_:
        return figures
    mode = None
    for line in run_.output.splitlines():
        match = re.match(r"\s+(local|watcher)\s+wall\s+([\d.]+) s\s+state (\w+)", line)
        if match:
            mode = match.group(1)
            figures[mode] = {"wall": float(match.group(2)), "success": match.group(3) == "success"}
            continue
        # WATCHER: each model task's end minus that node's end in the producer's build (median)
        match = re.search(r"WATCHER lag per model: median ([\d.-]+) s", line)
        if match and mode:
            figures[mode]["lag"] = float(match.group(1))
    return figures


def steady_nights(run_: Run | None) -> tuple[float, list[dict]] | None:
    """bench/steady_state's nights (its last output line is JSON)."""
    if not run_ or not run_.ok:
        return None
    import json

    line = [line for line in run_.output.splitlines() if line.startswith('{"scale"')]
    if not line:
        return None
    data = json.loads(line[-1])
    return data["scale"], data["nights"]


def steady_target_row(run_: Run | None) -> str:
    figure = "steady-state nightly (plain script: full history, then one more day; bench/steady_state)"
    found = steady_nights(run_)
    if not found or len(found[1]) < 3:
        return (
            f"| {figure} | ≤ 45 s | not measured (bench/steady_state failed or did not run) | not measured |"
        )
    scale, (history, day, three) = found
    wall = day["steps"]["wall"]
    where = "" if scale == 1 else f" (scale {scale:g}, not 1)"
    return (
        f"| {figure} | ≤ 45 s, work ∝ the day's rows | {wall:.0f} s{where} for "
        f"{sum(day['rows'].values()):,} rows loaded (dbt build {day['steps']['dbt build']:.0f} s); three days' "
        f"worth: {three['steps']['wall']:.0f} s for {sum(three['rows'].values()):,} rows; the first night (all "
        f"history): {history['steps']['wall']:.0f} s | "
        + (verdict(wall, 45, " s") if scale == 1 else "not measured at scale 1")
        + " (through the scheduler: not measured) |"
    )


def steady_table(run_: Run | None) -> str:
    found = steady_nights(run_)
    if not found:
        return ""
    scale, nights = found
    out = [
        f"### bench/steady_state (the nightly's steps in a plain script, scale {scale:g})\n",
        "| night | rows loaded (instacart / shop) | loads s | dbt build s | wall s | slowest models (s) |",
        "|---|---|---|---|---|---|",
    ]
    for n in nights:
        slowest = sorted(n["models"].items(), key=lambda kv: -kv[1])[:4]
        out.append(
            f"| {n['night']} | {n['rows'].get('instacart', 0):,} / {n['rows'].get('shop', 0):,} | "
            f"{n['steps']['loads']:.1f} | {n['steps']['dbt build']:.1f} | {n['steps']['wall']:.1f} | "
            + ", ".join(f"{k} {v:.1f}" for k, v in slowest)
            + " |"
        )
    return "\n".join(out) + "\n"


def report(args, scales, orchestration_scales, runs, when, load_before, load_after, total) -> str:
    out: list[str] = []
    w = out.append
    m, v = machine(), versions()
    w("# Orchard benchmarks\n")
    w(
        f"Written by `{'make bench-quick' if args.quick else 'make bench'}` (`bench/run_all.py"
        f"{' --quick' if args.quick else ''}{' --scale-10' if args.scale_10 else ''}`) on "
        f"{when:%Y-%m-%d %H:%M} UTC in {total / 60:.1f} min. Every ratio below compares two figures measured in "
        "this same run. Numbers are single runs: read them as orders of magnitude.\n"
    )
    w(
        f"**Machine:** {m['cores']} cores, {m['memory']} memory, Linux {m['kernel']}. "
        f"**Load average** (1 / 5 / 15 min) at the start: {load_before}; at the end: {load_after}. "
        f"On {m['cores']} cores a load above {m['cores']} means the benchmarks waited for CPU (the benchmarks' "
        "own processes count too), so with a high load at the start the machine was shared with other work: "
        "wall times are then pessimistic and ratios noisier than on a quiet machine.\n"
    )
    w("**Versions:** " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".\n")

    # issue #15's targets
    scale_one = runs.get("orchestration 1")
    o1 = orchestration_figures(scale_one).get("watcher", {})
    taxes = {}
    for scale in orchestration_scales:
        steps = plain_steps(runs.get(f"plain {scale:g}"))
        wall = orchestration_figures(runs.get(f"orchestration {scale:g}")).get("watcher", {}).get("wall")
        taxes[scale] = ratio(wall, steps["total"] if steps else None)
    lags = [
        orchestration_figures(runs.get(f"orchestration {s:g}")).get("watcher", {}).get("lag")
        for s in orchestration_scales
    ]
    lags = [x for x in lags if x is not None]
    warehouse_peak_1 = max(
        [runs[k].peaks.get("warehouse", 0) for k in ("dbt 1", "orchestration 1", "plain 1") if k in runs]
        or [0]
    )
    wh = runs.get("warehouse")
    # bench/warehouse prints one line per HTTP layer: "server   read 0.09 s ratio 2.78   insert 0.30 s ratio 1.65"
    read_ratio = wh.find(r"^server\s+read .*?ratio\s+([\d.]+)") if wh else None
    insert_ratio = wh.find(r"^server\s+read .*insert .*?ratio\s+([\d.]+)") if wh else None
    rows_note = "1 M rows (quick)" if args.quick else "10 M rows"
    worst_tax = max((t for t in taxes.values() if t is not None), default=None)
    tax_text = ", ".join(f"{fmt(t)} at {s:g}" for s, t in taxes.items()) or "n/a"
    missing_scales = [s for s in (0.01, 0.1, 1.0) if s not in taxes]
    w("## Issue #15's targets\n")
    w("| figure | target | measured in this run | verdict |")
    w("|---|---|---|---|")
    w(steady_target_row(runs.get("steady")))
    tax_verdict = verdict(worst_tax, 1.2)
    if missing_scales and worst_tax is not None:
        tax_verdict += f" (scales {', '.join(f'{s:g}' for s in missing_scales)} not measured)"
    w(
        "| orchestration tax: nightly through the scheduler (WATCHER) ÷ the same steps back to back in a plain "
        f"script | ≤ 1.2 at 0.01, 0.1 and 1 | {tax_text} | {tax_verdict} |"
    )
    lag = statistics.median(lags) if lags else None
    w(
        "| WATCHER model task lag after dbt finished the model (median: each model task's end minus that "
        f"node's end in the producer's `dbt build`) | ≤ 2 s | {fmt(lag, '.1f', ' s')} | {verdict(lag, 2, ' s')} |"
    )
    first = o1.get("wall")
    w(
        f"| first nightly at scale 1, end to end | ≤ 120 s | {fmt(first, '.0f', ' s')} | {verdict(first, 120, ' s')} |"
    )
    peak_gib = warehouse_peak_1 / 1024 if warehouse_peak_1 else None
    w(
        f"| warehouse peak resident memory at scale 1 | ≤ 3 GiB | {fmt(peak_gib, '.2f', ' GiB')} | "
        f"{verdict(peak_gib, 3.0, ' GiB')} |"
    )
    if "dbt 10" in runs:
        d10, d1 = runs["dbt 10"], runs.get("dbt 1")
        peak10 = max(d10.peaks.values(), default=0) / 1024
        time_ratio = ratio(d10.seconds, d1.seconds if d1 else None)
        ok = d10.ok and peak10 <= 8 and time_ratio is not None and time_ratio <= 10
        w(
            f"| scale 10: generate, load and the first build | completes, peak ≤ 8 GiB, time ≤ 10 × scale 1 | "
            f"{'completed' if d10.ok else 'failed'}, peak {peak10:.1f} GiB, {fmt(time_ratio, '.1f')} × scale 1 "
            f"(bench/dbt, not through the scheduler) | {'met' if ok else 'missed'} |"
        )
    else:
        w(
            "| scale 10 (338 M order lines): generate, load and the first nightly | completes, peak ≤ 8 GiB, "
            "time ≤ 10 × scale 1 | not run (`make bench BENCH_ARGS=--scale-10`) | not measured |"
        )
    w(
        f"| HTTP read and insert ÷ in-process chDB (bench/warehouse, {rows_note}) | ≤ 1.2 each | "
        f"read {fmt(read_ratio)}, insert {fmt(insert_ratio)} | read {verdict(read_ratio, 1.2)}, insert "
        f"{verdict(insert_ratio, 1.2)} |"
    )
    w("")

    # scaling
    w("## Scaling\n")
    w(
        "Per Instacart scale: generating the files (bench/samples), loading them with the dlt pipeline "
        "(bench/load), `dbt build --full-refresh` of the project after loading them (bench/dbt), and the "
        "nightly through the scheduler and as a plain script. Peak memory is each kind's largest single "
        "process (VmHWM) over the whole benchmark command.\n"
    )
    w(
        "| scale | order lines | generate s | load s (dlt) | load rows/s | dbt build s | nightly (scheduler) s | "
        "plain script s | orchestration tax | peak MiB: warehouse | dbt | Airflow | Python (loads, generator) |"
    )
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    samples = runs.get("samples")
    for scale in scales:
        lines = gen_s = None
        if samples:
            match = re.search(
                rf"^instacart --scale {re.escape(f'{scale:g}')}: [\d,]+ orders, ([\d,]+) lines, .* in ([\d.]+) s",
                samples.output,
                re.M,
            )
            if match:
                lines, gen_s = int(match.group(1).replace(",", "")), float(match.group(2))
        load_run = runs.get(f"load {scale:g}")
        load_s = load_run.find(r"^dlt pipeline\s+([\d.]+) s") if load_run else None
        load_rate = load_run.find(PIPELINE_RATE) if load_run else None
        dbt_run = runs.get(f"dbt {scale:g}")
        build_s = dbt_run.find(r"^\s*[\d.]+\s+[\d,]+\s+[\d.]+\s+([\d.]+)") if dbt_run else None
        orch = orchestration_figures(runs.get(f"orchestration {scale:g}")).get("watcher", {})
        steps = plain_steps(runs.get(f"plain {scale:g}"))
        peaks: dict[str, float] = {}
        for key in (f"load {scale:g}", f"dbt {scale:g}", f"orchestration {scale:g}", f"plain {scale:g}"):
            for kind, mib in runs[key].peaks.items() if key in runs else ():
                peaks[kind] = max(peaks.get(kind, 0), mib)
        w(
            f"| {scale:g} | {fmt(lines, ',')} | {fmt(gen_s, '.1f')} | {fmt(load_s, '.1f')} | {fmt(load_rate, ',.0f')} | "
            f"{fmt(build_s, '.1f')} | {fmt(orch.get('wall'), '.0f')} | {fmt(steps['total'] if steps else None, '.0f')} | "
            f"{fmt(taxes.get(scale))} | "
            + " | ".join(fmt(peaks.get(k), ",.0f") for k in ("warehouse", "dbt", "airflow", "python"))
            + " |"
        )
    w("")

    # per benchmark
    w("## Per benchmark\n")
    w("### bench/samples (generators)\n")
    w(
        "```\n"
        + "\n".join(line for line in (samples.output if samples else "").splitlines() if line.strip())
        + "\n```\n"
    )
    w("### bench/load (dlt pipeline vs the engine's own file() insert)\n")
    w(
        "| scale | dlt pipeline rows/s | direct file() rows/s | pipeline ÷ direct (target ≥ 0.33) | pipeline peak RSS |"
    )
    w("|---|---|---|---|---|")
    for scale in scales:
        r = runs.get(f"load {scale:g}")
        if not r:
            continue
        piped = r.find(PIPELINE_RATE)
        direct = r.find(r"^direct file\(\)\s+[\d.]+ s\s+([\d,]+) rows/s")
        share = r.find(r"^ratio pipeline/direct: ([\d.]+)")
        peak = r.find(r"^pipeline process peak RSS: ([\d,]+) MiB")
        w(
            f"| {scale:g} | {fmt(piped, ',.0f')} | {fmt(direct, ',.0f')} | {fmt(share)} | {fmt(peak, ',.0f', ' MiB')} |"
        )
    w("")
    w("### bench/dbt (`dbt build --full-refresh`, 2 threads)\n")
    w("| scale | build s | market basket s (in the build) | market basket s (alone) | in the build ÷ alone |")
    w("|---|---|---|---|---|")
    for scale in scales:
        r = runs.get(f"dbt {scale:g}")
        if not r:
            continue
        row = re.search(
            r"^\s*[\d.]+\s+[\d,]+\s+([\d.]+)\s+([\d.]+)\s+([\d.na]+)\s+([\d.na]+)", r.output, re.M
        )
        if row:
            build, basket, alone = float(row.group(2)), float(row.group(3)), float(row.group(4))
            w(f"| {scale:g} | {build:.1f} | {basket:.1f} | {alone:.1f} | {fmt(ratio(basket, alone))} |")
        else:
            w(f"| {scale:g} | failed | | | |")
    w("")
    w(f"### bench/warehouse (server over HTTP vs in-process chDB, {rows_note})\n")
    if wh:
        w(f"| read ratio | insert ratio |\n|---|---|\n| {fmt(read_ratio)} | {fmt(insert_ratio)} |\n")
    w("### bench/orchestration (DAG parse and one nightly per Cosmos execution mode)\n")
    w(
        "| scale | parse from manifest s | parse from dbt ls s | dbt ls ÷ manifest | mode | nightly wall s | "
        "WATCHER model lag s (median) | plain script s | tax |"
    )
    w("|---|---|---|---|---|---|---|---|---|")
    for scale in orchestration_scales:
        r = runs.get(f"orchestration {scale:g}")
        if not r:
            continue
        m_s = r.find(r"from manifest.json: ([\d.]+) s")
        d_s = r.find(r"from dbt ls:\s+([\d.]+) s")
        steps = plain_steps(runs.get(f"plain {scale:g}"))
        plain_total = steps["total"] if steps else None
        for mode, fig in orchestration_figures(r).items() or {"-": {}}.items():
            w(
                f"| {scale:g} | {fmt(m_s, '.3f')} | {fmt(d_s, '.3f')} | {fmt(ratio(d_s, m_s), '.0f')} | {mode} | "
                f"{fmt(fig.get('wall'), '.0f')} | {fmt(fig.get('lag'), '.1f')} | {fmt(plain_total, '.0f')} | "
                f"{fmt(ratio(fig.get('wall'), plain_total))} |"
            )
    for scale in orchestration_scales:
        steps = plain_steps(runs.get(f"plain {scale:g}"))
        if steps:
            w(
                f"\nPlain script at scale {scale:g} (no Airflow; without Superset on both sides, the BI refresh "
                "checks the marts only), s: " + ", ".join(f"{k} {val:.1f}" for k, val in steps.items())
            )
    w("")
    w(steady_table(runs.get("steady")))
    w("## Commands and raw output\n")
    w("| benchmark | command | exit | wall s | peak MiB by process kind |")
    w("|---|---|---|---|---|")
    for r in runs.values():
        command = " ".join(c if c != PY else "python" for c in r.command)
        if r.name.startswith("plain"):
            command = "bench/run_all.py's plain nightly script"
        peaks = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(r.peaks.items()))
        w(f"| {r.name} | `{command}` | {r.returncode} | {r.seconds:.0f} | {peaks} |")
    w("")
    for r in runs.values():
        w(f"<details><summary>{r.name}</summary>\n\n```\n{r.output.strip()[-6000:]}\n```\n</details>\n")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
