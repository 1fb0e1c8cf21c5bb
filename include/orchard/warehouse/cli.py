"""`orchard warehouse ...`: run the embedded ClickHouse-compatible warehouse."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from orchard import settings

app = typer.Typer(help="The embedded warehouse: ClickHouse's HTTP interface over chDB.", no_args_is_help=True)

PathOption = typer.Option(settings.WAREHOUSE_PATH, "--path", help="Data directory of the warehouse.")
HostOption = typer.Option("127.0.0.1", "--host", help="Address to listen on (non-loopback needs a password).")
PortOption = typer.Option(
    int(os.environ.get("ORCHARD_CLICKHOUSE_PORT", settings.DEFAULT_PORT)), "--port", help="HTTP port."
)
PasswordOption = typer.Option(
    os.environ.get("ORCHARD_CLICKHOUSE_PASSWORD", ""),
    "--password",
    help="Password of the default user (default: $ORCHARD_CLICKHOUSE_PASSWORD, else the one generated "
    "in the state directory). On the command line it is visible to local users: prefer the variable.",
    show_default=False,
)
NoPasswordOption = typer.Option(False, "--no-password", help="Serve without a password (loopback only).")
AllowFilesOption = typer.Option([], "--allow-files", help="A folder file() may use besides user_files.")
AllowHostOption = typer.Option([], "--allow-host", help="A host url()/remote()/s3() may reach.")
ReadonlyOption = typer.Option(
    [], "--readonly-user", help="Add a read-only user, as NAME:PASSWORD (repeatable)."
)


def _secrets_env(password: str, readonly_users: list[str]) -> dict[str, str]:
    """Credentials for the child: lifecycle.spawn moves them into an owner-only file for the server."""
    env_users = [u for u in os.environ.get("ORCHARD_WAREHOUSE_READONLY_USERS", "").split(",") if u]
    return {
        "ORCHARD_CLICKHOUSE_PASSWORD": password,
        "ORCHARD_WAREHOUSE_READONLY_USERS": ",".join(readonly_users + env_users),
    }


@app.command()
def serve(
    path: Path = PathOption,
    host: str = HostOption,
    port: int = PortOption,
    password: str = PasswordOption,
    readonly_user: list[str] = ReadonlyOption,
    no_password: bool = NoPasswordOption,
    allow_files: list[Path] = AllowFilesOption,
    allow_host: list[str] = AllowHostOption,
    verbose: bool = typer.Option(False, "--verbose", help="Log every request."),
) -> None:
    """Serve the warehouse in the foreground until Ctrl-C or SIGTERM."""
    from orchard.warehouse import credentials
    from orchard.warehouse.server import serve as run_server

    env_users = [u for u in os.environ.get(credentials.READONLY_USERS_ENV, "").split(",") if u]
    run_server(
        path,
        host,
        port,
        password or None,
        readonly_user + env_users,
        verbose,
        passwordless=no_password or credentials.passwordless_requested(),
        allow_files=allow_files,
        allow_hosts=allow_host,
    )


@app.command()
def start(
    path: Path = PathOption,
    host: str = HostOption,
    port: int = PortOption,
    password: str = PasswordOption,
    readonly_user: list[str] = ReadonlyOption,
    no_password: bool = NoPasswordOption,
    allow_files: list[Path] = AllowFilesOption,
    allow_host: list[str] = AllowHostOption,
) -> None:
    """Start the warehouse in the background and wait until it answers."""
    from orchard.warehouse import lifecycle

    extra = ["--no-password"] if no_password else []
    extra += [arg for folder in allow_files for arg in ("--allow-files", str(folder))]
    extra += [arg for one in allow_host for arg in ("--allow-host", one)]
    try:
        pid = lifecycle.start(path, host, port, *extra, env=_secrets_env(password, readonly_user))
    except lifecycle.WarehouseStartError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Warehouse running (pid {pid}) on http://{host}:{port}, data in {path}")


@app.command()
def stop() -> None:
    """Stop the background warehouse (SIGTERM, then wait for a clean shutdown)."""
    from orchard.warehouse import lifecycle

    pid = lifecycle.stop()
    typer.echo(f"Warehouse stopped (pid {pid})" if pid else "No background warehouse was running")


@app.command()
def status(host: str = HostOption, port: int = PortOption) -> None:
    """Say whether the background warehouse runs and answers; exit 1 if it does not answer."""
    from orchard.warehouse import lifecycle

    state = lifecycle.status(host, port)
    if state.answering:
        who = f"pid {state.pid}" if state.running else "not started by `orchard warehouse start`"
        typer.echo(f"Warehouse answering on http://{host}:{port} ({who})")
        return
    typer.echo(f"No warehouse answers on http://{host}:{port}. Start one with `orchard warehouse start`.")
    raise typer.Exit(1)
