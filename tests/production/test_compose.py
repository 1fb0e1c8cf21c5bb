"""docker-compose.yml as Debian's docker-compose 1.29 reads it (`config` needs no engine): every profile
validates with .env.example, every service has a health check, every image is pinned, and the `celery`
and `cluster` profiles hold what the README promises."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
PROFILES = [[], ["celery"], ["cluster"], ["celery", "cluster"]]
PINNED = re.compile(r"^[\w./-]+:\d+\.\d+[\w.-]*$")  # name:MAJOR.MINOR..., never a bare major or latest


def compose(*args: str, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed: run `make services` (scripts/install_test_services.sh)")
    # --env-file: the example's values, never a developer's own .env
    command = [binary, "--env-file", str(env_file), "-f", str(COMPOSE), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    """Every service as docker-compose resolves it (anchors merged, variables substituted)."""
    done = compose("--profile", "celery", "--profile", "cluster", "config")
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)["services"]


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.lstrip().startswith("#")}


@pytest.mark.parametrize("profiles", PROFILES, ids=lambda p: "+".join(p) or "default")
def test_each_profile_validates(profiles):
    args = [arg for name in profiles for arg in ("--profile", name)]
    done = compose(*args, "config", "-q")
    assert done.returncode == 0, done.stderr


def test_every_variable_has_a_safe_placeholder_in_env_example():
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", COMPOSE.read_text()))
    example = env_example()
    assert used, "the compose file reads no variables?"
    assert used <= set(example), f"missing from .env.example: {sorted(used - set(example))}"
    for key, value in example.items():
        if re.search(r"PASSWORD|SECRET", key):
            assert value == "change-me", f"{key} in .env.example must be the placeholder change-me"


def test_every_long_running_service_has_a_health_check(services):
    # one-shot jobs (others wait for them to complete) have no health to check
    jobs = {
        name
        for service in services.values()
        for name, dep in (service.get("depends_on") or {}).items()
        if dep.get("condition") == "service_completed_successfully"
    }
    assert "airflow-init" in jobs
    unchecked = sorted(
        n for n, s in services.items() if n not in jobs and not s.get("healthcheck", {}).get("test")
    )
    assert unchecked == []


def test_every_image_is_pinned(services):
    for name, service in services.items():
        image = service.get("image", "")
        if "build" in service:  # built from this repository: its tag is Orchard's version
            assert image and not image.endswith(":latest"), name
            continue
        assert PINNED.match(image), f"{name}: image {image!r} is not pinned to a version"


def test_celery_profile_has_redis_two_workers_and_flower(services):
    celery = {n: s for n, s in services.items() if "celery" in s.get("profiles", [])}
    workers = sorted(n for n, s in celery.items() if "celery worker" in s["command"])
    assert workers == ["airflow-worker-1", "airflow-worker-2"]
    assert {"redis", "flower"} <= set(celery)
    assert "celery flower" in celery["flower"]["command"]
    hostnames = {re.search(r"--celery-hostname (\S+)", celery[w]["command"])[1] for w in workers}
    assert len(hostnames) == 2, "two workers need two Celery hostnames"
    for worker in workers:
        assert celery[worker]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert celery[worker]["environment"]["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert not any(
        "celery" in s.get("profiles", []) for n, s in services.items() if n.startswith("clickhouse")
    )


def test_celery_executor_is_one_variable(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        re.sub(r"(?m)^ORCHARD_EXECUTOR=.*$", "ORCHARD_EXECUTOR=CeleryExecutor", ENV_EXAMPLE.read_text())
    )
    done = compose("--profile", "celery", "config", env_file=env_file)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)["services"]
    for name in ("airflow-scheduler", "airflow-worker-1", "airflow-worker-2", "airflow-apiserver"):
        assert resolved[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name


def test_cluster_profile_has_keeper_and_two_shards_of_two_replicas(services):
    nodes = {
        n: s
        for n, s in services.items()
        if "cluster" in s.get("profiles", []) and s["image"].startswith("clickhouse/clickhouse-server:")
    }
    placement = sorted(
        (s["environment"]["ORCHARD_CH_SHARD"], s["environment"]["ORCHARD_CH_REPLICA"]) for s in nodes.values()
    )
    assert placement == [
        ("1", "clickhouse-s1r1"),
        ("1", "clickhouse-s1r2"),
        ("2", "clickhouse-s2r1"),
        ("2", "clickhouse-s2r2"),
    ]
    for name, node in nodes.items():
        assert node["environment"]["ORCHARD_CH_REPLICA"] == name
        assert node["depends_on"]["clickhouse-keeper"]["condition"] == "service_healthy"
        assert any(v.endswith("/config.d/orchard-cluster.xml:ro") for v in node["volumes"]), name
    assert services["clickhouse-keeper"]["image"].startswith("clickhouse/clickhouse-keeper:")

    # the cluster config names the same nodes, shard by shard, and the keeper the compose file runs
    config = ET.parse(ROOT / "docker" / "clickhouse" / "cluster.xml").getroot()
    shards = [
        [replica.findtext("host") for replica in shard.findall("replica")]
        for shard in config.findall("remote_servers/orchard/shard")
    ]
    assert shards == [["clickhouse-s1r1", "clickhouse-s1r2"], ["clickhouse-s2r1", "clickhouse-s2r2"]]
    assert config.findtext("zookeeper/node/host") == "clickhouse-keeper"
    assert config.find("remote_servers/orchard/secret").get("from_env") == "CLICKHOUSE_CLUSTER_SECRET"
    keeper = ET.parse(ROOT / "docker" / "clickhouse" / "keeper.xml").getroot()
    assert keeper.findtext("keeper_server/tcp_port") == config.findtext("zookeeper/node/port")
