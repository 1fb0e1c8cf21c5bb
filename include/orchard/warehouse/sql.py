"""Just enough SQL text handling for the HTTP layer: INSERT ... FORMAT headers, output formats,
read-only statements and multi-statement detection. The engine parses everything else."""

from __future__ import annotations

import re

# `INSERT INTO <target> [...] FORMAT <name>` followed by the data (inline or in the body).
INSERT_FORMAT = re.compile(
    rb"\A\s*(INSERT\s+INTO\s.*?)\s+FORMAT\s+([A-Za-z][A-Za-z0-9_]*)[ \t]*(?:\r?\n|\Z)", re.I | re.S
)
_TRAILING_FORMAT = re.compile(
    r"\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*(?:SETTINGS\s+[^;]*)?;?\s*\Z", re.I | re.S
)
_FIRST_WORD = re.compile(r"\A[\s(]*([A-Za-z]+)")
READ_ONLY_STATEMENTS = {
    "SELECT",
    "WITH",
    "SHOW",
    "DESCRIBE",
    "DESC",
    "EXISTS",
    "EXPLAIN",
    "SET",
    "USE",
    "CHECK",
}


def split_insert(head: bytes) -> tuple[str, str, int] | None:
    """(statement without FORMAT, format name, offset where the data starts), or None."""
    found = INSERT_FORMAT.match(head)
    if not found:
        return None
    return found.group(1).decode(), found.group(2).decode(), found.end()


def output_format(sql: str, default: str) -> str:
    found = _TRAILING_FORMAT.search(strip_comments(sql))
    return found.group(1) if found else default


def first_keyword(sql: str) -> str:
    found = _FIRST_WORD.match(strip_comments(sql))
    return found.group(1).upper() if found else ""


def is_read_only(sql: str) -> bool:
    return first_keyword(sql) in READ_ONLY_STATEMENTS


def strip_comments(sql: str) -> str:
    """The statement with comments blanked out; quoted text is kept as it is."""
    out, i, n = [], 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            end = _quote_end(sql, i)
            out.append(sql[i:end])
            i = end
        elif sql.startswith("--", i) or ch == "#":
            end = sql.find("\n", i)
            i = n if end < 0 else end
            out.append(" ")
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def split_statements(sql: str) -> list[str]:
    """The statements of a script, split at each `;` outside quotes and comments; empty ones dropped."""
    parts, start, i, n = [], 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            i = _quote_end(sql, i)
        elif sql.startswith("--", i) or ch == "#":
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            if ch == ";":
                parts.append(sql[start:i])
                start = i + 1
            i += 1
    parts.append(sql[start:])
    return [part.strip() for part in parts if strip_comments(part).strip()]


def has_several_statements(sql: str) -> bool:
    """True when a statement follows a `;` outside quotes and comments."""
    return len(split_statements(sql)) > 1


def _quote_end(text: str, start: int) -> int:
    quote, i, n = text[start], start + 1, len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            if i + 1 < n and text[i + 1] == quote:  # doubled quote inside a literal
                i += 2
                continue
            return i + 1
        i += 1
    return n


def quote_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
