"""What a query may reach outside the warehouse: files only under the allowed folders, other hosts
only when the operator lists them, nothing at all for read-only users.

chDB 26.9 confines nothing itself: `file()`, a table named by a path (its default database overlays
the filesystem), `INTO OUTFILE`, `url()` and `remote()` reach the whole machine and network, and
`user_files_path` / `remote_url_allow_hosts` in a config file are ignored. So every statement is
checked on the engine's own parse tree (`EXPLAIN AST`) before it runs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from orchard.warehouse import sql
from orchard.warehouse.errors import ClickHouseError

# Table functions that only compute or read the warehouse itself.
LOCAL_TABLE_FUNCTIONS = {
    "numbers", "numbers_mt", "zeros", "zeros_mt", "generaterandom", "generate_series", "generateseries",
    "values", "null", "input", "view", "viewifpermitted", "viewexplain", "merge", "format", "loop",
    "mergetreeindex", "mergetreeanalyzeindexes", "mergetreeprojection", "dictionary", "primes", "fuzzjson",
    "fuzzquery", "file",
}  # fmt: skip
# Table functions and engines that reach another host; allowed only towards the operator's hosts.
HOST_FUNCTIONS = {"url", "remote", "remotesecure", "s3"}
# Table and database engines that keep their data in the warehouse (file() is checked apart).
LOCAL_ENGINES = {
    "memory", "log", "tinylog", "stripelog", "null", "set", "join", "buffer", "merge", "dictionary",
    "view", "materializedview", "generaterandom", "atomic", "ordinary", "file",
}  # fmt: skip
DICTIONARY_SOURCES = {"clickhouse", "null"}
_TABLE_POSITIONS = {"TableExpression", "InsertQuery", "CreateQuery", "AttachQuery", "BackupQuery"}
_NUMERIC_RANGE = re.compile(r"\{\d+\.\.\d+\}")
_GLOB = re.compile(r"[*?{\[]")
_INTO_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.I)


@dataclass
class Node:
    depth: int
    kind: str
    name: str
    parent: Node | None
    children: list[Node] = field(default_factory=list)


def parse_ast(dump: str) -> list[Node]:
    """The lines of `EXPLAIN AST` as a tree: one Node per line, children by indentation."""
    nodes: list[Node] = []
    stack: list[Node] = []
    for line in dump.splitlines():
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip(" "))
        text = re.sub(r"\s*\(children \d+\)\s*$", "", line.strip())
        kind, _, name = text.partition(" ")
        if kind in ("Storage", "Columns", "Dictionary") and name.startswith(
            ("definition", "lifetime", "layout")
        ):
            kind, name = f"{kind} {name.split()[0]}", ""
        while stack and stack[-1].depth >= depth:
            stack.pop()
        node = Node(depth, kind, re.sub(r"\s*\(alias .*\)$", "", name.strip()), stack[-1] if stack else None)
        if node.parent is not None:
            node.parent.children.append(node)
        nodes.append(node)
        stack.append(node)
    return nodes


def _string_literal(node: Node | None) -> str | None:
    """A string Literal's value, or None for anything else (numbers, expressions, escapes)."""
    if (
        node is None
        or node.kind != "Literal"
        or len(node.name) < 2
        or node.name[0] != "'"
        or node.name[-1] != "'"
    ):
        return None
    value = node.name[1:-1]
    return None if "\\" in value or "'" in value else value


def _arguments(node: Node) -> list[Node]:
    return node.children[0].children if node.children and node.children[0].kind == "ExpressionList" else []


@dataclass(frozen=True)
class Confinement:
    """The operator's allowances: folders file() may use (the first is the user-files folder, where
    relative paths start) and hosts that url()/remote()/s3() may reach."""

    file_roots: tuple[Path, ...]
    allowed_hosts: frozenset[str] = frozenset()

    @property
    def user_files(self) -> Path:
        return self.file_roots[0]

    def check_text(self, statement: str, user: str) -> None:
        """Refuse INTO OUTFILE before the engine sees the statement: `EXPLAIN AST ... INTO OUTFILE 'f'`
        writes the parse tree to that file (for INSERT ... SELECT, whose INTO OUTFILE the parser gives to
        the EXPLAIN), so the check on the tree would come too late."""
        if _INTO_OUTFILE.search(sql.code_only(statement)):
            raise self._outfile_denied(user)

    def _outfile_denied(self, user: str) -> ClickHouseError:
        return _denied(
            user,
            "INTO OUTFILE is not allowed over HTTP: the result comes back in the response. To write a "
            f"file, use INSERT INTO FUNCTION file('name', 'Format') under {self.user_files}",
        )

    def check(self, ast_dump: str, user: str, read_only: bool, writes_allowed: bool = True) -> None:
        """Raise ClickHouseError if the statement reaches outside what the operator allowed.

        read_only: the user is a read-only user (no files, no hosts, no KILL); writes_allowed: False for
        GET requests and read-only users (chDB's `readonly` lets INSERT INTO FUNCTION through)."""
        nodes = parse_ast(ast_dump)
        if not nodes:
            return
        top = nodes[0]
        if top.kind == "InsertQuery" and not writes_allowed:
            raise ClickHouseError("READONLY", f"{user}: Cannot execute query in readonly mode", code=164)
        if top.kind == "BackupQuery":
            raise _denied(user, "BACKUP and RESTORE are not available in the embedded warehouse")
        if top.kind == "KillQueryQuery" and read_only:
            raise _denied(user, "a read-only user cannot kill queries")
        # A string right under the statement is INTO OUTFILE's file, except in CREATE (its COMMENT).
        if top.kind != "CreateQuery" and any(child.kind == "Literal" for child in top.children):
            raise self._outfile_denied(user)
        for node in nodes:
            if node.kind == "TableIdentifier" and ("/" in node.name or node.name.startswith("~")):
                self._check_path(node.name, user, read_only)  # the default database reads such paths
            elif node.kind == "FunctionWithKeyValueArguments" and node.name.lower() not in DICTIONARY_SOURCES:
                raise _denied(
                    user, f"dictionary source {node.name} is not available in the embedded warehouse"
                )
            elif node.kind == "Function":
                self._check_function(node, user, read_only)

    def _check_function(self, node: Node, user: str, read_only: bool) -> None:
        name = node.name.lower()
        parent = node.parent.kind if node.parent else ""
        is_engine = parent == "Storage definition" and node.parent.children[0] is node
        if name == "file":
            if read_only:
                raise _denied(user, "a read-only user cannot read or write files")
            args = _arguments(node)
            index = 1 if is_engine else 0
            if is_engine and len(args) < 2:
                return  # File(Format) keeps its data in the warehouse's own folder
            self._check_path_argument(args[index] if len(args) > index else None, user)
        elif name in HOST_FUNCTIONS:
            self._check_host(node, user, read_only)
        elif is_engine:
            if not (name.endswith("mergetree") or name in LOCAL_ENGINES):
                raise _denied(user, f"engine {node.name} is not available in the embedded warehouse")
        elif parent in _TABLE_POSITIONS and name not in LOCAL_TABLE_FUNCTIONS:
            raise _denied(user, f"table function {node.name} is not available in the embedded warehouse")

    def _check_path_argument(self, arg: Node | None, user: str) -> None:
        path = _string_literal(arg)
        if path is None:
            raise _denied(user, "a file path must be a plain string literal (no quotes or backslashes in it)")
        self._check_path(path, user, read_only=False)

    def _check_path(self, path: str, user: str, read_only: bool) -> None:
        if read_only:
            raise _denied(user, "a read-only user cannot read or write files")
        if not self.allows_path(path):
            folders = ", ".join(str(root) for root in self.file_roots)
            raise ClickHouseError(
                "PATH_ACCESS_DENIED",
                f"File path {path} is not inside the warehouse's user files ({folders}): put the file "
                "there, or start the warehouse with --allow-files DIR",
                code=291,
            )

    def allows_path(self, path: str) -> bool:
        """True if every file the path (with its globs) can name lies inside an allowed folder."""
        plain = _NUMERIC_RANGE.sub("0", path)
        if path.startswith("~") or ".." in plain:
            return False
        glob = _GLOB.search(plain)
        fixed = plain[: glob.start()] if glob else plain
        base = self.user_files / fixed  # an absolute path replaces the user-files folder
        if glob:  # the folder the glob starts in; the glob cannot climb out of it (no "..")
            base = base if fixed.endswith("/") else base.parent
        real = Path(os.path.realpath(base))
        return any(real == root or real.is_relative_to(root) for root in self.file_roots)

    def _check_host(self, node: Node, user: str, read_only: bool) -> None:
        if read_only:
            raise _denied(user, "a read-only user cannot reach other hosts")
        args = _arguments(node)
        target = _string_literal(args[0]) if args else None
        host = None
        if target is not None:
            host = urlsplit(target).hostname if "://" in target else target.rsplit(":", 1)[0].strip("[]")
        if not self.allowed_hosts or host is None or host.lower() not in self.allowed_hosts:
            raise _denied(
                user,
                f"{node.name}() may not reach {host or 'that host'}: the embedded warehouse reaches no other "
                "host unless started with --allow-host HOST",
            )


def _denied(user: str, why: str) -> ClickHouseError:
    return ClickHouseError("ACCESS_DENIED", f"{user}: Not enough privileges: {why}", code=497)


def default_confinement(data_path: Path, extra_folders: list[Path], hosts: list[str]) -> Confinement:
    """The user-files folder under the data path (created) plus the operator's folders and hosts."""
    user_files = Path(data_path).resolve() / "user_files"
    user_files.mkdir(parents=True, exist_ok=True)
    roots = (user_files, *(Path(os.path.realpath(folder)) for folder in extra_folders))
    return Confinement(roots, frozenset(host.lower() for host in hosts))
