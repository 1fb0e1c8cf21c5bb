"""What broke, for an alert on a refused load: the source, the file or table the load stopped at, and its
first bad rows, as the refusal (orchard.load.contracts.LoadRefused) recorded them before anything was written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

LOAD_TASK_PREFIX = "extract_load.load_"  # orchard.orchestration: one task per source, `load_<source>`
ROW_CHARS = 300  # a long row is cut: the alert is a pointer, the task log and the source hold the rest


@dataclass
class FailedLoad:
    source: str  # the registered source ("" when the task is not one of the load tasks)
    where: str  # the file or table the load stopped at
    reason: str  # the refusal's first line
    bad_rows: list[str] = field(default_factory=list)  # JSON text, first rows first

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        source = f" of {self.source}" if self.source else ""
        lines = [f"load{source} refused at {self.where} (the error above says why)"]
        if self.bad_rows:
            lines.append(f"  first bad rows ({len(self.bad_rows)}):")
            lines += [f"    {row}" for row in self.bad_rows]
        return "\n".join(lines)


def _refusal(exception: BaseException | None) -> BaseException | None:
    """The exception, or one it was raised from, that names where a load was refused."""
    seen: set[int] = set()
    while exception is not None and id(exception) not in seen:
        seen.add(id(exception))
        if getattr(exception, "where", ""):
            return exception
        exception = exception.__cause__ or exception.__context__
    return None


def for_task(context: dict[str, Any]) -> FailedLoad | None:
    """The refused load behind a task's failure, or None when the failure was something else."""
    exception = context.get("exception")
    refusal = _refusal(exception if isinstance(exception, BaseException) else None)
    if refusal is None:
        return None
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", "") or ""
    source = task_id.split(".")[-1].removeprefix("load_") if task_id.startswith(LOAD_TASK_PREFIX) else ""
    reason = (str(refusal).strip().splitlines() or [""])[0]
    rows = [row if len(row) <= ROW_CHARS else row[:ROW_CHARS] + "..." for row in getattr(refusal, "rows", [])]
    return FailedLoad(source=source, where=str(refusal.where), reason=reason, bad_rows=rows)
