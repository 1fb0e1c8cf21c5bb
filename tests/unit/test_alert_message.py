"""What an alert message keeps of an error: no credentials, and only its first lines."""

from __future__ import annotations

import pytest

from orchard.alerting.message import first_lines, redact

pytestmark = pytest.mark.unit


def test_redact_removes_credentials_in_urls_and_key_values():
    text = redact("url http://bob:pw123@host:1/x password=abc123 token: t0k3n ok", ["zzz-secret"])
    assert "pw123" not in text and "abc123" not in text and "t0k3n" not in text and "ok" in text


def test_long_errors_are_cut_to_their_first_lines():
    text = first_lines("\n".join(f"line {i}" for i in range(50)))
    assert text.startswith("line 0") and "line 49" not in text and "more lines in the task log" in text
