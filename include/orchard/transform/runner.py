"""Run one dbt command in-process with the profile Cosmos generates from `clickhouse_default`.

Used by the tasks Cosmos does not render: source freshness, validating an ad-hoc selector, `dbt docs generate`.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orchard import settings


class DbtCommandError(RuntimeError):
    """A dbt command failed; the message carries dbt's own error text."""


@contextmanager
def _env(extra: dict[str, str]):
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _messages(result: Any) -> str:
    """dbt's error messages from a dbtRunnerResult: the exception, or the failed nodes' messages."""
    if result.exception is not None:
        return str(result.exception)
    lines = []
    for node in getattr(result.result, "results", None) or []:
        if str(getattr(node, "status", "")).lower() in {"error", "fail", "runtime error"}:
            lines.append(f"{getattr(node.node, 'unique_id', '?')}: {node.message}")
    return "\n".join(lines) or "dbt reported a failure (see the task log)"


def run_dbt(
    args: list[str],
    *,
    target_path: Path | None = None,
    dbt_vars: dict | None = None,
    partial_parse_dir: Path | None = None,
) -> Any:
    """Invoke `dbt <args>` against Orchard's project; raise DbtCommandError with dbt's message on failure.

    `partial_parse_dir`: a Cosmos cache directory (cosmos_config.partial_parse_dir) to start from the
    partial_parse.msgpack kept there and to keep this run's in, as Cosmos's own dbt tasks do: a DAG's dbt tasks
    then parse the project once per run (about 4 s each on 2 cores) instead of once per task. dbt itself decides
    whether the saved parse still fits (same files, vars, profile and target; else it parses in full).
    """
    import json

    from dbt.cli.main import dbtRunner

    from orchard.transform.cosmos_config import profile_config

    config = profile_config()
    with (
        tempfile.TemporaryDirectory(prefix="orchard-dbt-") as tmp,
        config.ensure_profile(desired_profile_path=Path(tmp) / "profiles.yml") as (profile_path, env),
    ):
        target = Path(target_path or Path(tmp) / "target")
        if partial_parse_dir:
            _start_from_partial_parse(partial_parse_dir, target)
        full = [
            *args,
            "--project-dir",
            str(settings.DBT_PROJECT_DIR),
            "--profiles-dir",
            str(Path(profile_path).parent),
            "--profile",
            config.profile_name,
            "--target",
            config.target_name,
            "--target-path",
            str(target),
            "--log-path",
            str(Path(tmp) / "logs"),
        ]
        if dbt_vars:
            full += ["--vars", json.dumps(dbt_vars)]
        with _env({**settings.TELEMETRY_OFF, **env}):
            result = dbtRunner().invoke(full)
        if partial_parse_dir and result.success:
            _keep_partial_parse(target, partial_parse_dir)
    if not result.success:
        raise DbtCommandError(f"`dbt {' '.join(args)}` failed: {_messages(result)}")
    return result


def _start_from_partial_parse(cache_dir: Path, target: Path) -> None:
    """Put the cache's partial_parse.msgpack into dbt's target path, its paths pointing at the project
    (Cosmos's helpers: the file may come from one of Cosmos's temporary project copies)."""
    from cosmos import cache
    from cosmos.dbt.project import get_partial_parse_path
    from cosmos.fs import safe_copy

    saved = get_partial_parse_path(cache_dir)
    if not saved.exists():
        return
    target.mkdir(parents=True, exist_ok=True)
    try:
        safe_copy(saved, target / saved.name)
        cache.patch_partial_parse_content(target / saved.name, settings.DBT_PROJECT_DIR)
    except OSError:  # a cache being replaced under us: dbt parses in full
        (target / saved.name).unlink(missing_ok=True)


def _keep_partial_parse(target: Path, cache_dir: Path) -> None:
    """Keep this run's partial_parse.msgpack (and its manifest.json) in the cache, as Cosmos's tasks do."""
    from cosmos import cache

    parsed = target / "partial_parse.msgpack"
    if parsed.exists() and (target / "manifest.json").exists():
        cache._update_partial_parse_cache(parsed, cache_dir)


def list_selected(select: str) -> list[str]:
    """The unique ids a selector picks; refuse a selector dbt rejects or one that matches nothing."""
    if not select or not select.strip():
        raise DbtCommandError(
            "empty dbt selector: give a `select` param such as `tag:marts` or `+fct_orders`"
        )
    result = run_dbt(["ls", "--select", select, "--output", "json", "--output-keys", "unique_id", "--quiet"])
    import json

    ids = []
    for line in result.result or []:
        try:
            ids.append(json.loads(line)["unique_id"])
        except (TypeError, ValueError, KeyError):
            ids.append(str(line))
    if not ids:
        raise DbtCommandError(f"dbt selector {select!r} matches no node: check the model, tag or path name")
    return ids
