"""The precompiled dbt manifest Cosmos renders DAGs from: build it (`dbt parse`), and refuse a missing or
stale one with a message saying how to build it, so DAG parsing never silently falls back to `dbt ls`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import orjson

from orchard import settings

# Files whose change makes the manifest out of date.
PROJECT_SOURCES = ("models", "macros", "snapshots", "seeds", "tests", "analyses")
PROJECT_FILES = ("dbt_project.yml", "packages.yml", "selectors.yml")


class ManifestError(RuntimeError):
    """The manifest is missing, stale or unreadable; the message says how to rebuild it."""


def newest_source(project_dir: Path) -> tuple[float, Path | None]:
    """The newest modification time among the project's files, and which file it is."""
    newest, newest_path = 0.0, None
    candidates = [project_dir / name for name in PROJECT_FILES]
    for folder in PROJECT_SOURCES:
        root = project_dir / folder
        if root.is_dir():
            for dirpath, _dirs, files in os.walk(root):
                candidates += [Path(dirpath) / f for f in files]
    for path in candidates:
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            continue
        if mtime > newest:
            newest, newest_path = mtime, path
    return newest, newest_path


def check_manifest(manifest_path: Path | None = None, project_dir: Path | None = None) -> Path:
    """Return the manifest path if it exists and is newer than every project file; else raise ManifestError."""
    manifest_path = manifest_path or settings.DBT_MANIFEST_PATH
    project_dir = project_dir or settings.DBT_PROJECT_DIR
    fix = "Build it with `orchard dbt manifest` (runs `dbt parse`; `make run` and `make up` do it for you)."
    if not manifest_path.exists():
        raise ManifestError(f"dbt manifest not found at {manifest_path}. {fix}")
    newest, path = newest_source(project_dir)
    if newest > manifest_path.stat().st_mtime:
        raise ManifestError(f"dbt manifest {manifest_path} is older than {path}: it is stale. {fix}")
    return manifest_path


def orjson_enabled() -> bool:
    """Parse manifests with orjson unless `[cosmos] enable_orjson_parser` (Airflow config) says no."""
    from airflow.configuration import conf

    return conf.getboolean("cosmos", "enable_orjson_parser", fallback=True)


def load_manifest(manifest_path: Path | None = None) -> dict[str, Any]:
    """The manifest, refused with the fix if it is missing or stale."""
    return read_manifest(check_manifest(manifest_path))


def ops_database(manifest: dict[str, Any]) -> str:
    """The database of dbt's own results (`dbt_node_results`, the ops marts): where the project's
    generate_schema_name puts the `ops` schema, read from the manifest so Python never repeats that rule."""
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and "ops" in node.get("tags", []):
            return node["schema"]
    raise ManifestError(
        "no model tagged `ops` in the manifest: the ops marts are missing from the dbt project"
    )


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        return orjson.loads(path.read_bytes()) if orjson_enabled() else json.loads(path.read_text())
    except (json.JSONDecodeError, orjson.JSONDecodeError) as exc:
        raise ManifestError(
            f"dbt manifest {path} is not valid JSON ({exc}). Rebuild it with `orchard dbt manifest`."
        ) from None


PARSE_PROFILE = """orchard:
  target: {target}
  outputs:
    {target}:
      type: clickhouse
      driver: http
      host: {host}
      port: {port}
      user: {user}
      password: ""
      schema: {schema}
      threads: 1
"""


def build_manifest(project_dir: Path | None = None, target: str | None = None) -> Path:
    """Run `dbt parse` in-process. Parsing needs the adapter type and the target's schema (node databases
    depend on it), not a connection: no warehouse, password or Airflow connection is required."""
    import tempfile

    from dbt.cli.main import dbtRunner

    project_dir = project_dir or settings.DBT_PROJECT_DIR
    target = target or settings.DBT_AIRFLOW_TARGET
    if not (project_dir / "dbt_project.yml").exists():
        raise ManifestError(f"no dbt project at {project_dir} (dbt_project.yml missing)")
    ch = settings.ClickHouseSettings.from_env()
    with tempfile.TemporaryDirectory(prefix="orchard-parse-") as tmp:
        profile = PARSE_PROFILE.format(
            target=target, host=ch.host, port=ch.port, user=ch.user, schema=ch.database
        )
        (Path(tmp) / "profiles.yml").write_text(profile)
        target_path = (
            settings.DBT_MANIFEST_PATH.parent
            if project_dir == settings.DBT_PROJECT_DIR
            else project_dir / "target"
        )
        args = [
            "parse",
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            tmp,
            "--target-path",
            str(target_path),
        ]
        args += ["--profile", "orchard", "--target", target, "--log-path", tmp]
        result = dbtRunner().invoke(args)
    if not result.success:
        raise ManifestError(
            f"`dbt parse` of {project_dir} failed: {result.exception or 'see the dbt output above'}"
        )
    return target_path / "manifest.json"
