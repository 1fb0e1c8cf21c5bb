"""Just enough SQL text handling for the HTTP layer: INSERT ... FORMAT headers, output formats,
read-only statements and multi-statement detection. The engine parses everything else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

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


def _spans(sql: str) -> Iterator[tuple[str, int, int]]:
    """The statement as ("code" | "quoted" | "comment", start, end) spans, as ClickHouse's lexer sees them:
    '...', "..." and `...` with backslash escapes and doubled quotes, $tag$...$tag$ heredocs, -- and
    `# ` line comments, and /* */ comments, which nest."""
    i, n, code = 0, len(sql), 0
    while i < n:
        ch = sql[i]
        kind, end = None, i
        if ch in "'\"`":
            kind, end = "quoted", _quote_end(sql, i)
        elif ch == "$" and not (i and _WORD.match(sql[i - 1])) and (heredoc := _HEREDOC.match(sql, i)):
            close = sql.find(heredoc.group(0), heredoc.end())
            kind, end = "quoted", n if close < 0 else close + len(heredoc.group(0))
        elif sql.startswith("--", i) or sql.startswith(("# ", "#!"), i) or sql.startswith("#\n", i):
            newline = sql.find("\n", i)
            kind, end = "comment", n if newline < 0 else newline
        elif sql.startswith("/*", i):
            kind, end = "comment", _block_comment_end(sql, i)
        if kind is None:
            i += 1
            continue
        if code < i:
            yield "code", code, i
        yield kind, i, end
        i = code = end
    if code < n:
        yield "code", code, n


def strip_comments(sql: str) -> str:
    """The statement with comments blanked out; quoted text is kept as it is."""
    return "".join(" " if kind == "comment" else sql[start:end] for kind, start, end in _spans(sql))


def code_only(sql: str) -> str:
    """The statement with comments blanked out and every quoted string or identifier emptied: its keywords."""
    parts = {"code": lambda start, end: sql[start:end], "comment": lambda start, end: " "}
    return "".join(parts.get(kind, lambda start, end: "''")(start, end) for kind, start, end in _spans(sql))


def split_statements(sql: str) -> list[str]:
    """The statements of a script, split at each `;` outside quotes and comments; empty ones dropped."""
    parts, begin = [], 0
    for kind, start, end in _spans(sql):
        if kind != "code":
            continue
        for at in (m.start() + start for m in re.finditer(";", sql[start:end])):
            parts.append(sql[begin:at])
            begin = at + 1
    parts.append(sql[begin:])
    return [part.strip() for part in parts if strip_comments(part).strip()]


def has_several_statements(sql: str) -> bool:
    """True when a statement follows a `;` outside quotes and comments."""
    return len(split_statements(sql)) > 1


_HEREDOC = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_WORD = re.compile(r"[\w$]")


def _block_comment_end(text: str, start: int) -> int:
    depth, i, n = 0, start, len(text)
    while i < n:
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


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


# The client's query id, carried in the statement's text: chDB gives each query an id of its own and
# takes none from the caller, so this is how the server finds the engine's query for a client's id.
QUERY_ID_MARK = "/* query_id: {} */"
QUERY_ID_PATTERN = r"/\\* query_id: ([^ ]*) \\*/"  # as an SQL string: finds the mark in system.processes


def tag(statement: str, query_id: str) -> str:
    """The statement with the client's query id in a comment: after it, so that error positions stay
    right, except for an INSERT, whose inline data runs to the end of the text."""
    mark = QUERY_ID_MARK.format(quote(query_id, safe=""))
    if first_keyword(statement) == "INSERT":
        return f"{mark} {statement}"
    return f"{statement.rstrip().removesuffix(';')}\n{mark}"


_KILL_QUERY = re.compile(
    r"\A\s*KILL\s+QUERY\s+(?:ON\s+CLUSTER\s+\S+\s+)?WHERE\s+(?P<condition>.*?)"
    r"(?P<tail>(?:\s+(?:SYNC|ASYNC|TEST))?(?:\s+FORMAT\s+\w+)?(?:\s+SETTINGS\s+.*)?)\s*;?\s*\Z",
    re.I | re.S,
)


def kill_query(statement: str) -> tuple[str, str] | None:
    """(condition, what follows it) of a `KILL QUERY WHERE ...` statement, or None for any other."""
    found = _KILL_QUERY.match(strip_comments(statement))
    return (found.group("condition"), found.group("tail")) if found else None


def split_top_level(text: str) -> list[str]:
    """Split a type list at the commas outside parentheses and quotes: "Decimal(9, 2), String"."""
    parts, depth, begin = [], 0, 0
    for kind, start, end in _spans(text):
        if kind != "code":
            continue
        for at in range(start, end):
            ch = text[at]
            depth += (ch == "(") - (ch == ")")
            if ch == "," and depth == 0:
                parts.append(text[begin:at])
                begin = at + 1
    parts.append(text[begin:])
    return [part.strip() for part in parts if part.strip()]


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
