"""`orchard sample instacart|shop`: write sample source data (the registry names these commands)."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import typer

from orchard import settings


def _fail(message: str) -> None:
    typer.secho(f"Error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def instacart(
    scale: float = typer.Option(
        None, "--scale", help="Fraction of the real dataset, in (0, 1]; 1 = 3.4M orders."
    ),
    out: Path = typer.Option(
        settings.DATA_DIR / "instacart", "--out", help="Directory to write the six Kaggle CSV files into."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed and scale give identical files."),
    drop: str = typer.Option(
        None, "--drop", help="Instead: write the daily drop of this day (YYYY-MM-DD) into OUT/<day>/."
    ),
    days: float = typer.Option(1.0, "--days", help="With --drop: how many days' worth of new orders."),
) -> None:
    """Write aisles, departments, products, orders and order_products__{prior,train} CSVs in Kaggle's layout,
    or (--drop) a day's new orders and lines for the sample already in --out."""
    from orchard_dev.instacart_sample.generator import SampleError, plan, write_sample

    if drop is not None:
        from orchard_dev.instacart_sample.drops import write_daily_drop

        day = _parse_day(drop, "--drop")
        try:
            written = write_daily_drop(out, day, days=days, seed=seed)
        except SampleError as exc:
            _fail(str(exc))
        typer.echo(
            f"Wrote {out / day.isoformat()}: " + ", ".join(f"{n:,} rows in {f}" for f, n in written.items())
        )
        return
    if scale is None:
        _fail("give --scale (a full extract) or --drop DAY (a daily drop of new orders)")
    try:
        n_chunks = len(plan(scale))
        started = time.monotonic()
        with typer.progressbar(length=n_chunks, label="Generating users", file=None) as bar:
            counts = write_sample(out, scale, seed, progress=lambda done, total: bar.update(1))
    except SampleError as exc:
        _fail(str(exc))
    typer.echo(
        f"Wrote {out}: {counts.users:,} users, {counts.orders:,} orders "
        f"({counts.prior_orders:,} prior / {counts.train_orders:,} train / {counts.test_orders:,} test), "
        f"{counts.prior_lines:,} prior and {counts.train_lines:,} train order lines "
        f"in {time.monotonic() - started:.1f} s"
    )


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        _fail(f"{option} {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-01")


def shop(
    until: str = typer.Option(..., "--until", help="Last day to simulate, YYYY-MM-DD (included)."),
    db: str = typer.Option(
        settings.SHOP_DB_URL,
        "--db",
        help="SQLAlchemy URL of the shop database (default: $ORCHARD_SHOP_DB_URL).",
    ),
    start: str | None = typer.Option(
        None, "--start", help="First day of a new database, YYYY-MM-DD (default: 30 days before --until)."
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Random seed of a new database (default 0); an existing one keeps its own."
    ),
) -> None:
    """Advance the shop app database day by day up to --until: signups, sessions, orders, shipping, stock."""
    from orchard_dev.shop_sample.simulator import ShopSampleError, safe_url, simulate

    until_day, start_day = _parse_day(until, "--until"), _parse_day(start, "--start")
    started = time.monotonic()
    try:
        result = simulate(db, until=until_day, start=start_day, seed=seed)
    except ShopSampleError as exc:
        _fail(str(exc))
    if not result.days_simulated:
        typer.echo(f"{safe_url(db)} is already simulated up to {result.until}: nothing to do")
        return
    rows = ", ".join(f"{n:,} {table}" for table, n in result.rows.items())
    typer.echo(
        f"Simulated {result.days_simulated} day(s) up to {result.until} into {safe_url(db)} "
        f"in {time.monotonic() - started:.1f} s; it now holds {rows}"
    )
