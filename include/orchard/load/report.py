"""What one load did: rows per table, new columns, quarantined rows, duration (printable)."""

from __future__ import annotations

from dataclasses import dataclass, field


class LoadError(RuntimeError):
    """A load was refused or failed; the message names the problem and the fix."""


@dataclass
class LoadReport:
    source: str
    database: str
    load_ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    new_columns: dict[str, list[str]] = field(default_factory=dict)
    new_tables: list[str] = field(default_factory=list)
    quarantined: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    skipped_unchanged: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    interval: tuple[str, str] | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_quarantined(self) -> int:
        return sum(self.quarantined.values())

    def format(self) -> str:
        span = f" for {self.interval[0]} .. {self.interval[1]}" if self.interval else ""
        lines = [
            f"Loaded {self.source} into {self.database}{span} in {self.duration_s:.1f} s"
            f" (load {', '.join(self.load_ids) or 'none: nothing new'})"
        ]
        tables = sorted(set(self.rows) | set(self.quarantined) | set(self.new_columns))
        width = max([len(t) for t in tables] + [5])
        lines.append(f"  {'table':<{width}}  {'rows':>12}  {'quarantined':>11}  new columns")
        for table in tables:
            new = ", ".join(self.new_columns.get(table, []))
            if table in self.new_tables:
                new = "(new table)"
            lines.append(
                f"  {table:<{width}}  {self.rows.get(table, 0):>12,}  {self.quarantined.get(table, 0):>11,}  {new}"
            )
        lines.append(f"  {'total':<{width}}  {self.total_rows:>12,}  {self.total_quarantined:>11,}")
        if self.skipped_unchanged:
            skipped = sum(self.skipped_unchanged.values())
            lines.append(f"  {skipped:,} rows already loaded unchanged were skipped")
        if self.total_quarantined:
            why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.quarantine_reasons.items()))
            lines.append(f"  quarantined rows are in {self.database}._quarantine ({why})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()
