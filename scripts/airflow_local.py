"""Local Airflow for Orchard: `up` starts the embedded warehouse and Airflow 3 (api-server, scheduler,
dag-processor, triggerer) with SQLite metadata under .orchard/airflow (or ORCHARD_AIRFLOW_DB_URL); with
ORCHARD_EXECUTOR=celery also Redis (Debian's redis-server), two Celery workers and Flower. `down` stops
what `up` started; `run` runs orchard_nightly once for the latest complete interval and prints a summary.

Usage: python scripts/airflow_local.py up|down|status|run|env|restart <service>
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from orchard import settings
from orchard.bi import local as bi  # BI hooks: Superset beside Airflow
from orchard.warehouse import lifecycle

ROOT = Path(__file__).resolve().parents[1]

BIN = Path(sys.executable).parent
HOME = Path(os.environ.get("ORCHARD_AIRFLOW_HOME", settings.STATE_DIR / "airflow"))
PIDS = HOME / "pids"
LOGS = HOME / "service-logs"
PORT = int(os.environ.get("ORCHARD_AIRFLOW_PORT", "8080"))
USER = os.environ.get("ORCHARD_AIRFLOW_USER", "admin")
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
CELERY_WORKERS = ("worker-1", "worker-2")
FLOWER_PORT = int(os.environ.get("ORCHARD_FLOWER_PORT", "5555"))
REDIS = HOME / "redis"  # the Celery broker's data, config (with its password) and port
STOP_TIMEOUT_S = 30.0  # a stopped service's grace (a Celery worker's warm shutdown), then SIGKILL
STOPPED_LAST = ("api-server", "redis")  # `down` stops these once the services that use them are gone


def executor() -> str:
    """ORCHARD_EXECUTOR: `local` (default) or `celery` (Airflow's names, LocalExecutor/CeleryExecutor, too)."""
    name = os.environ.get("ORCHARD_EXECUTOR", "local").strip().lower().removesuffix("executor")
    if name not in EXECUTORS:
        sys.exit(
            f"ORCHARD_EXECUTOR={os.environ['ORCHARD_EXECUTOR']!r} is not known: set it to local or celery"
        )
    return EXECUTORS[name]


def services(celery: bool | None = None) -> dict[str, list[str]]:
    """Name -> command of every process `up` starts, in start order (`down` stops them in two waves)."""
    airflow = str(BIN / "airflow")
    core = {
        "api-server": [airflow, "api-server", "--host", "127.0.0.1", "--port", str(PORT)],
        "scheduler": [airflow, "scheduler"],
        "dag-processor": [airflow, "dag-processor"],
        "triggerer": [airflow, "triggerer"],
    }
    if not (executor() == "CeleryExecutor" if celery is None else celery):
        return core
    # The workers share this machine's disk with the api-server, which reads their task logs from it: no
    # log server per worker (two would fight over one port). Each gets its own Celery node name.
    workers = {
        name: [airflow, "celery", "worker", "--celery-hostname", f"{name}@%h", "--skip-serve-logs"]
        for name in CELERY_WORKERS
    }
    flower = [airflow, "celery", "flower", "--hostname", "127.0.0.1", "--port", str(FLOWER_PORT)]
    return {"redis": ["redis-server", str(REDIS / "redis.conf")], **core, **workers, "flower": flower}


def _kept(name: str, make) -> str:
    """A value generated once and kept, private, under the Redis state directory."""
    path = REDIS / name
    if not path.exists():
        REDIS.mkdir(parents=True, exist_ok=True)
        path.write_text(str(make()))
        path.chmod(0o600)
    return path.read_text().strip()


def redis_port() -> int:
    """ORCHARD_REDIS_PORT, else a free port chosen at the first `up` and kept."""
    from orchard.warehouse.lifecycle import free_port

    return int(os.environ.get("ORCHARD_REDIS_PORT") or _kept("port", free_port))


def redis_password() -> str:
    return os.environ.get("ORCHARD_REDIS_PASSWORD") or _kept("password", lambda: secrets.token_hex(16))


def write_redis_config() -> None:
    """redis-server's config: 127.0.0.1 only, a password (kept out of `ps`), data under the state dir."""
    if not shutil.which("redis-server"):
        sys.exit("ORCHARD_EXECUTOR=celery needs redis-server: run `make services` (Debian's redis-server)")
    config = REDIS / "redis.conf"
    REDIS.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f"bind 127.0.0.1\nport {redis_port()}\nrequirepass {redis_password()}\ndir {REDIS}\n"
        "daemonize no\nprotected-mode yes\nsave 60 1\n"
    )
    config.chmod(0o600)


def celery_env() -> dict[str, str]:
    """The CeleryExecutor's settings; the result backend defaults to the metadata database."""
    if executor() != "CeleryExecutor":
        return {}
    return {
        "AIRFLOW__CELERY__BROKER_URL": f"redis://:{quote(redis_password())}@127.0.0.1:{redis_port()}/0",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": os.environ.get("AIRFLOW__CELERY__WORKER_CONCURRENCY", "2"),
        "AIRFLOW__CELERY__FLOWER_HOST": "127.0.0.1",
        "AIRFLOW__CELERY__FLOWER_PORT": str(FLOWER_PORT),
        "AIRFLOW__CELERY__FLOWER_BASIC_AUTH": f"{USER}:{password()}",
    }


def airflow_env() -> dict[str, str]:
    """The environment every Airflow process of the local deployment shares."""
    settings.disable_telemetry()
    env = dict(os.environ)
    # The warehouse (ORCHARD_CLICKHOUSE_*) reaches tasks through the `clickhouse_default` connection that
    # `prepare` writes into the metadata database, not an AIRFLOW_CONN_ variable: a variable would shadow
    # the connection, so editing it in the UI or the REST API would move nothing.
    db_url = os.environ.get("ORCHARD_AIRFLOW_DB_URL") or f"sqlite:///{HOME / 'airflow.db'}"
    env.update(
        {
            "AIRFLOW_HOME": str(HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": executor(),
            "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", "4"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{PORT}/execution/",
            "AIRFLOW__API__BASE_URL": f"http://localhost:{PORT}/",
            "AIRFLOW__API__PORT": str(PORT),
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(HOME / "passwords.json"),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            # Cosmos's cache (dbt's partial parse, profiles) per deployment: under the system temp dir every
            # deployment on the machine shared one per DAG, and dbt threw away each other's parse (other port,
            # other project path)
            "AIRFLOW__COSMOS__CACHE_DIR": os.environ.get("AIRFLOW__COSMOS__CACHE_DIR", str(HOME / "cosmos")),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # Catchup is on: start locally at the latest complete interval, not weeks of backlog.
            "ORCHARD_NIGHTLY_START_DATE": os.environ.get(
                "ORCHARD_NIGHTLY_START_DATE", (latest_complete_interval_end() - timedelta(days=1)).isoformat()
            ),
            "PYTHONPATH": str(ROOT / "include") + os.pathsep + env.get("PYTHONPATH", ""),
            **celery_env(),
        }
    )
    env.update(bi.airflow_env())  # BI hook: the nightly refreshes the local Superset while it runs
    return env


def password() -> str:
    """The login password: ORCHARD_AIRFLOW_PASSWORD, else one generated once and kept in AIRFLOW_HOME."""
    path = HOME / "passwords.json"
    wanted = os.environ.get("ORCHARD_AIRFLOW_PASSWORD")
    current = json.loads(path.read_text()).get(USER) if path.exists() else None
    value = wanted or current or secrets.token_urlsafe(12)
    if value != current:
        HOME.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({USER: value}))
        path.chmod(0o600)
    return value


def airflow(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "airflow"), *args], env=airflow_env(), check=check, **kwargs)


def orchard(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "orchard"), *args], env=airflow_env(), check=check)


def prepare() -> None:
    """Manifest, metadata database, and the objects from airflow_settings.yaml."""
    HOME.mkdir(parents=True, exist_ok=True)
    print("• dbt manifest")
    orchard("dbt", "manifest")
    print(
        f"• Airflow metadata database ({airflow_env()['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'].split(':')[0]})"
    )
    airflow("db", "migrate", stdout=subprocess.DEVNULL)
    print("• connections, pools and variables from airflow_settings.yaml")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "import_airflow_settings.py"),
            str(ROOT / "airflow_settings.yaml"),
        ],
        env=airflow_env(),
        check=True,
    )


def warehouse_up() -> bool:
    """Start the embedded warehouse unless something already answers; True if we started it."""
    ch = settings.ClickHouseSettings.from_env()
    try:
        urllib.request.urlopen(f"{ch.url}/ping", timeout=2).read()
        print(f"• warehouse already answering at {ch.url}")
        return False
    except OSError:
        pass
    print("• embedded warehouse")
    orchard("warehouse", "start", "--port", str(ch.port), *bi.warehouse_args())  # BI hook: read-only BI user
    return True


def _alive(pid: int) -> bool:
    try:  # a service this process started (`make run`) stays a zombie until reaped: reap it
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # started by another `up`: not ours to reap
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _pid(name: str) -> int | None:
    pid = lifecycle.read_pid(PIDS / f"{name}.pid")
    return pid if pid is not None and _alive(pid) else None


def up(_: argparse.Namespace) -> None:
    prepare()
    pwd = password()
    PIDS.mkdir(parents=True, exist_ok=True)
    if warehouse_up():
        (PIDS / "warehouse.started").touch()  # `down` stops only a warehouse that `up` started
    bi.up()  # BI hook: Superset with the dashboards, before Airflow so the nightly can refresh it
    LOGS.mkdir(parents=True, exist_ok=True)
    if "redis" in services():
        write_redis_config()
    for name, argv in services().items():
        if _pid(name):
            print(f"• {name} already running (pid {_pid(name)})")
            continue
        _start(name, argv)
    url = f"http://localhost:{PORT}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2).read()
            break
        except OSError:
            time.sleep(1)
    else:
        sys.exit(f"Airflow did not answer at {url} within 120 s: see {LOGS}/api-server.log")
    print(f"\nAirflow is up: {url}\n  login: {USER}  password: {pwd}")
    print(bi.login_lines())  # BI hook
    if "flower" in services():
        print(
            f"  Celery: workers {', '.join(CELERY_WORKERS)}; Flower at http://localhost:{FLOWER_PORT} (same login)"
        )
    print(f"  DAGs start paused: unpause orchard_nightly in the UI to schedule it.\n  logs: {LOGS}")
    print("  stop everything with `make down`")


def _start(name: str, argv: list[str]) -> None:
    """Start one service in its own process group, logging to LOGS/<name>.log, its pid in PIDS."""
    env = airflow_env()
    if name in CELERY_WORKERS:  # task instances name the worker (orchestration.workers)
        env |= {
            "ORCHARD_WORKER_NAME": name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "orchard.orchestration.workers.hostname",
        }
    log = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so `down` stops its workers too
    )
    (PIDS / f"{name}.pid").write_text(str(proc.pid))
    print(f"• {name} started (pid {proc.pid}, log {LOGS / f'{name}.log'})")
    if name == "redis":  # the scheduler and the workers need the broker from their first second
        _wait_for_port(redis_port(), proc, LOGS / "redis.log")


def _stop(*names: str) -> None:
    """SIGTERM the process groups of the named services all at once, then wait for them together and
    SIGKILL whichever still runs after 30 s: a deployment stops in the time of its slowest service, not
    the sum. Services not running are skipped; every pid file named goes."""
    signalled = {}
    for name in names:
        pid = _pid(name)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):  # gone since _pid looked
                os.killpg(pid, signal.SIGTERM)
                signalled[name] = pid
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while any(_alive(pid) for pid in signalled.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    for name, pid in signalled.items():
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            print(f"• {name} killed (still running {STOP_TIMEOUT_S:.0f} s after SIGTERM)")
        else:
            print(f"• {name} stopped")
    for name in names:
        (PIDS / f"{name}.pid").unlink(missing_ok=True)


def restart(args: argparse.Namespace) -> None:
    """Stop one service of a running deployment if it still runs (gracefully), then start it as `up` did:
    after a crash, or to restart the scheduler under running tasks. `warehouse` restarts the embedded
    warehouse `up` started."""
    if args.service == "warehouse":
        if (PIDS / "warehouse.started").exists():
            orchard("warehouse", "stop", check=False)
        if warehouse_up():
            (PIDS / "warehouse.started").touch()
        return
    argvs = services()
    if args.service not in argvs:
        sys.exit(f"unknown service {args.service!r}: restart one of warehouse, {', '.join(argvs)}")
    _stop(args.service)
    _start(args.service, argvs[args.service])


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{proc.args[0]} stopped at start; {log} ends:\n{lifecycle.tail(log, 20)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"{proc.args[0]} did not listen on port {port} within {timeout:.0f} s: see {log}")


def down(_: argparse.Namespace, stop_warehouse: bool = True) -> None:
    # whichever executor `up` had: first all that run or schedule tasks at once, then what they need to
    # shut down cleanly (a worker finishing its task reports to the api-server through the broker)
    names = list(services(celery=True))
    _stop(*(name for name in names if name not in STOPPED_LAST))
    _stop(*STOPPED_LAST)
    if stop_warehouse:
        bi.down()  # BI hook: Superset goes with the warehouse it reads
    if stop_warehouse and (PIDS / "warehouse.started").exists():
        orchard("warehouse", "stop", check=False)
        (PIDS / "warehouse.started").unlink()


def status(_: argparse.Namespace) -> None:
    for name in services():
        pid = _pid(name)
        print(f"{name:14} " + (f"running (pid {pid})" if pid else "stopped"))
    orchard("warehouse", "status", check=False)
    print(bi.status())  # BI hook


def latest_complete_interval_end(now: datetime | None = None) -> datetime:
    """The end of the latest complete nightly interval: the most recent 02:00 UTC."""
    now = now or datetime.now(UTC)
    tick = now.replace(hour=2, minute=0, second=0, microsecond=0)
    return tick if tick <= now else tick - timedelta(days=1)


def run(args: argparse.Namespace) -> None:
    """Run orchard_nightly once for the latest complete interval on the local deployment (scheduler,
    triggerer, LocalExecutor: what `make up` runs), then stop Airflow and print what the run did."""
    from orchard_dev.airflow_api import AirflowAPI

    if any(_pid(name) for name in services()):
        sys.exit(
            "Airflow is already running (`make up`): trigger orchard_nightly from the UI, or `make down` first."
        )
    _prepare_sample_data(args.scale)
    up(args)
    api = AirflowAPI(f"http://localhost:{PORT}", USER, password())
    try:
        run_id = _run_latest_interval(api, "orchard_nightly", args.timeout)
    finally:
        try:  # paused again as it was; Airflow is stopped below whatever happens
            api.api("PATCH", "/dags/orchard_nightly", {"is_paused": True})
        finally:
            down(args, stop_warehouse=args.stop_warehouse)
    ok = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_summary.py"), "orchard_nightly", run_id, str(LOGS)],
        env=airflow_env(),
    ).returncode
    if not args.stop_warehouse and (PIDS / "warehouse.started").exists():
        print("The warehouse keeps running for you to look at the results; `make down` stops it.")
    print(bi.login_lines())  # BI hook: the dashboards of this run stay up
    sys.exit(ok)


def _run_latest_interval(api, dag_id: str, timeout: float) -> str:
    """Unpause the DAG so the scheduler starts the run of the latest complete interval, follow it to the
    end and return its run id. If that run exists already, clear it so it runs again, as clearing it in
    the UI would: under WATCHER, Cosmos then skips the producer and each model task runs its own model."""
    api.wait_for_dag(dag_id)
    start = (latest_complete_interval_end() - timedelta(days=1)).isoformat()

    def interval_runs() -> list[dict]:
        return [r for r in api.runs(dag_id) if (r.get("logical_date") or "")[:19] == start[:19]]

    runs = interval_runs()
    if runs and runs[0]["state"] in ("success", "failed"):
        run_id = runs[0]["dag_run_id"]
        print(f"• {dag_id} ran for this interval before ({run_id}): clearing it to run again")
        api.api(
            "POST",
            f"/dags/{dag_id}/clearTaskInstances",
            {"dag_run_id": run_id, "dry_run": False, "only_failed": False, "reset_dag_runs": True},
        )
    api.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
    print(f"• {dag_id} for the interval starting {start} (watch it in the UI at {api.url})")
    done, began = -1, time.monotonic()
    while True:
        if runs := interval_runs():
            run = runs[0]
            tasks = api.task_instances(dag_id, run["dag_run_id"]).values()
            finished = sum(t["state"] in ("success", "failed", "skipped", "upstream_failed") for t in tasks)
            if finished != done:
                done = finished
                print(f"  {time.monotonic() - began:5.0f} s  {finished}/{len(tasks)} tasks finished")
            if run["state"] in ("success", "failed"):
                print(f"• {dag_id} {run['state']} after {time.monotonic() - began:.0f} s\n")
                return run["dag_run_id"]
        # a run cannot finish without its services, nor be waited for without end
        if stopped := [name for name in services() if not _pid(name)]:
            log = LOGS / f"{stopped[0]}.log"
            sys.exit(
                f"{', '.join(stopped)} stopped while {dag_id} ran; {log} ends:\n{lifecycle.tail(log, 20)}"
            )
        if time.monotonic() - began > timeout:
            sys.exit(
                f"{dag_id} did not finish within {timeout:.0f} s ({max(done, 0)} tasks finished): look at {api.url} "
                f"and {LOGS}; give it longer with --timeout or ORCHARD_RUN_TIMEOUT_S"
            )
        time.sleep(5)


def _prepare_sample_data(scale: float) -> None:
    """Sample source data for a machine without real sources: Instacart CSVs, and the shop database
    advanced to the end of the interval the run loads (the nightly itself never simulates its sources)."""
    from orchard.sources.instacart.settings import DEFAULT_DIR
    from orchard_dev.instacart_sample.generator import write_sample
    from orchard_dev.shop_sample.simulator import ShopSampleError, simulate

    if not (DEFAULT_DIR / "orders.csv").exists():
        print(f"• Instacart sample data at scale {scale} -> {DEFAULT_DIR}")
        write_sample(DEFAULT_DIR, scale, 42)
    # the app's days run midnight to midnight (UTC): the days that ended by the interval's end
    last_day = latest_complete_interval_end().date() - timedelta(days=1)
    print(f"• shop sample database up to {last_day}")
    try:
        simulate(settings.SHOP_DB_URL, until=last_day)
    except ShopSampleError as exc:  # a shop database the simulator did not build is left alone
        print(f"  not advanced: {exc}")


def env_cmd(_: argparse.Namespace) -> None:
    """Print the environment as shell exports (to run `airflow` commands against the local deployment)."""
    for key, value in airflow_env().items():
        if key.startswith(("AIRFLOW", "ORCHARD")):
            print(f"export {key}={json.dumps(value)}")


def env_number(name: str, default: str, low: float, high: float | None = None) -> float:
    """A numeric ORCHARD_* variable, or exit naming the variable, its value and what it takes."""
    raw = os.environ.get(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value > low and (high is None or value <= high)):  # also refuses nan and inf
        bounds = f"greater than {low:g}" + (f" and at most {high:g}" if high is not None else "")
        sys.exit(f"{name}={raw!r} is not a number {bounds}: set it to e.g. {default}, or unset it.")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the warehouse and Airflow, print URL and login").set_defaults(func=up)
    sub.add_parser("down", help="stop what `up` started").set_defaults(func=down)
    sub.add_parser("status", help="which services run").set_defaults(func=status)
    sub.add_parser("env", help="print the Airflow environment as shell exports").set_defaults(func=env_cmd)
    restart_parser = sub.add_parser(
        "restart", help="restart one service (or the warehouse) of a running `up`"
    )
    restart_parser.add_argument("service", help="warehouse, scheduler, triggerer, worker-1, ...")
    restart_parser.set_defaults(func=restart)
    run_parser = sub.add_parser("run", help="run orchard_nightly once and print a summary")
    run_parser.add_argument(
        "--scale", type=float, default=None, help="sample size, in (0, 1] (ORCHARD_SCALE)"
    )
    run_parser.add_argument("--stop-warehouse", action="store_true", help="stop the warehouse afterwards")
    run_parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for the run before stopping everything (default 3600)",
    )
    run_parser.set_defaults(func=run)
    args = parser.parse_args()
    if args.command == "run":  # checked before anything starts, so a typo costs nothing
        args.scale = args.scale or env_number("ORCHARD_SCALE", "0.01", 0, 1)
        args.timeout = args.timeout or env_number("ORCHARD_RUN_TIMEOUT_S", "3600", 0)
    args.func(args)


if __name__ == "__main__":
    main()
