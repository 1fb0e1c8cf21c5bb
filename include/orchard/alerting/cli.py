"""`orchard alerts`: read the local alert log that alerts fall back to when no channel is configured."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from orchard import settings

app = typer.Typer(help="On-call alerts: read the local alert log.", no_args_is_help=True)


@app.callback()
def alerts() -> None:
    """On-call alerts: read the local alert log (where alerts go when no channel is configured)."""


def _show(line: str) -> None:
    try:
        alert = json.loads(line)
    except json.JSONDecodeError:
        return
    where = alert.get("task_id") or ", ".join(alert.get("failed_tasks") or [])
    typer.echo(f"{alert.get('created_at', '')}  {alert.get('kind', '')}  {alert.get('dag_id', '')}  {where}")
    typer.echo(f"    run {alert.get('run_id', '')}  logical date {alert.get('logical_date', '')}")
    for error_line in (alert.get("error") or "").splitlines()[:3]:
        typer.echo(f"    {error_line}")
    if alert.get("log_url"):
        typer.echo(f"    log: {alert['log_url']}")


@app.command()
def tail(
    lines: int = typer.Option(10, "--lines", "-n", help="How many of the latest alerts to show."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new alerts as they arrive."),
    path: Path = typer.Option(
        None, help="Alert log to read (default: ORCHARD_ALERT_LOG or .orchard/alerts)."
    ),
) -> None:
    """Show the latest alerts from the local alert log."""
    path = path or settings.ALERT_LOG
    if not path.exists():
        typer.echo(f"No alerts yet: {path} does not exist (alerts land there when no channel is configured).")
        if not follow:
            return
        while not path.exists():
            time.sleep(1)
    with path.open(encoding="utf-8") as handle:
        for line in handle.readlines()[-lines:] if lines > 0 else []:
            _show(line)
        while follow:
            line = handle.readline()
            if line:
                _show(line)
            else:
                time.sleep(1)
