"""No credential is committed: tracked files hold placeholders only, and secrets come from the environment."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.unit

# Credentials in a shape their issuers use, wherever they appear (tests included: a real token is real there too).
TOKEN_SHAPES = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}"),
    "Slack webhook": re.compile(r"hooks\.slack\.com/services/T[0-9A-Z]{6,}/B[0-9A-Z]{6,}/[0-9A-Za-z]{16,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[0-9A-Za-z]{30,}"),
    "PyPI token": re.compile(r"\bpypi-[0-9A-Za-z_-]{50,}"),
}
# A password inside a URL, and a secret-named key with a value, in configuration (not in tests' fixtures).
URL_USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://([^/\s@'\"]+)@")
SECRET_KEY = re.compile(
    r"^\s*-?\s*[\"']?([A-Za-z_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY)[A-Za-z_]*)[\"']?\s*[:=]\s*(.*)$",
    re.I,
)
CONFIG_FILES = re.compile(r"(\.ya?ml|\.toml|\.ini|\.cfg|\.json|\.env[^/]*|Dockerfile|\.conf|\.xml)$")
# Known values, each with the reason it is not a secret.
ALLOWED = {
    (
        "docker-compose.yml",
        "POSTGRES_PASSWORD",
    ): "the compose network's own PostgreSQL, not published to the host",
}
# XXXXXXXXXX is Superset's mask for the password of a database URI (the password travels apart from it).
PLACEHOLDERS = {"", "change-me", "...", "password", "secret", "null", "none", "~", "''", '""', "xxxxxxxxxx"}


def _is_placeholder(value: str, user: str = "") -> bool:
    value = value.strip().strip("\"',").split(" #")[0].strip().strip("\"'")
    return (
        value.lower() in PLACEHOLDERS
        or value == user  # compose-network defaults such as airflow:airflow, overridden in production
        or value.startswith(("${", "$", "{{", "<", "%(", "{"))  # environment, templates, references
        or "env_var(" in value
    )


def url_password_is_placeholder(userinfo: str) -> bool:
    """user:password of a URL: no password, one from the environment (`${...}`), or a placeholder."""
    if ":" not in userinfo or "${" in userinfo:
        return True
    user, password = userinfo.split(":", 1)
    return _is_placeholder(password, user)


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in out.decode().split("\0") if name]


def findings() -> list[str]:
    found = []
    for path in tracked_files():
        try:
            text = path.read_text()
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue  # binary or deleted in the working tree
        rel = path.relative_to(ROOT)
        for number, line in enumerate(text.splitlines(), 1):
            for kind, shape in TOKEN_SHAPES.items():
                if shape.search(line):
                    found.append(f"{rel}:{number}: {kind}")
            if rel.parts[0] == "tests":
                continue  # test fixtures carry made-up passwords on purpose
            for userinfo in URL_USERINFO.findall(line):
                if not url_password_is_placeholder(userinfo):
                    found.append(f"{rel}:{number}: password in a URL")
            match = SECRET_KEY.match(line) if CONFIG_FILES.search(rel.name) else None
            if not match or (str(rel), match.group(1)) in ALLOWED:
                continue
            if not match.group(1).upper().endswith(("_FILE", "_PATH", "_DIR")) and not _is_placeholder(
                match.group(2)
            ):
                found.append(f"{rel}:{number}: {match.group(1)} has a value")
    return found


@pytest.mark.reliability(
    fault="a credential committed to the repository",
    behaviour="the scan of every tracked file for tokens, keys and passwords finds none",
)
def test_tracked_files_hold_no_credentials():
    assert findings() == [], "replace these with a placeholder (change-me) and read them from the environment"


def test_the_scan_recognises_what_it_looks_for(tmp_path):
    """The patterns catch real-shaped secrets and let placeholders through (so an empty scan means something)."""
    assert TOKEN_SHAPES["Slack webhook"].search(
        "https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/" + "x" * 24
    )
    assert TOKEN_SHAPES["AWS access key"].search("AKIA" + "ABCDEFGHIJKLMNOP")
    assert not url_password_is_placeholder(URL_USERINFO.findall("clickhouse://orchard:hunter2@db:8123/x")[0])
    assert url_password_is_placeholder(URL_USERINFO.findall("postgresql://shop:...@db:5432/shop")[0])
    assert url_password_is_placeholder(URL_USERINFO.findall("ch://${U:-o}:${P:-o}@h:8123/d")[0])
    assert not _is_placeholder(SECRET_KEY.match("REDIS_PASSWORD=hunter2").group(2))
    assert _is_placeholder(SECRET_KEY.match("REDIS_PASSWORD=change-me").group(2))
    assert _is_placeholder(SECRET_KEY.match("      password: \"{{ env_var('X') }}\"").group(2))


@pytest.mark.reliability(
    fault="an example settings file (`.env.example`, `airflow_settings.yaml`) holding a real value",
    behaviour="every password, secret and token in them is empty or `change-me`",
)
def test_example_files_hold_placeholders_only():
    for name in (".env.example", "airflow_settings.yaml"):
        for line in (ROOT / name).read_text().splitlines():
            match = SECRET_KEY.match(line.lstrip("# "))
            if match:
                assert match.group(2).strip().strip("\"'") in {"", "change-me"}, f"{name}: {line.strip()}"
