"""Who may use the warehouse: the admin (`default`) and read-only users, their passwords checked in
constant time, and the log redaction that keeps those passwords out of every log line."""

from __future__ import annotations

import hmac
import ipaddress
import re
from dataclasses import dataclass

from orchard.warehouse.errors import ClickHouseError


@dataclass(frozen=True)
class User:
    name: str
    password: str
    readonly: bool = False


_SECRET_PARAM = re.compile(r"(?i)\b(password|key)=[^&\s\"]*")


def redact(text: str) -> str:
    """A log line without the passwords a client put in its URL."""
    return _SECRET_PARAM.sub(r"\1=[hidden]", text)


class Users:
    """The configured users: the default user, plus optional read-only ones."""

    def __init__(self, users: list[User]) -> None:
        self._users = {user.name: user for user in users}

    def authenticate(self, name: str, password: str) -> User:
        user = self._users.get(name)
        # Compare in constant time, and as long for an unknown user as for a known one.
        expected = (user.password if user else "\0").encode()
        if not hmac.compare_digest(expected, password.encode()) or user is None:
            raise ClickHouseError(
                "AUTHENTICATION_FAILED",
                f"{name}: Authentication failed: password is incorrect, or there is no user with such name",
            )
        return user

    @property
    def default_has_password(self) -> bool:
        return bool(self._users["default"].password)


def parse_readonly_users(specs: list[str]) -> list[User]:
    users = []
    for spec in specs:
        name, sep, password = spec.partition(":")
        if not sep or not name:
            raise SystemExit(f"Read-only user '{spec}' must be given as NAME:PASSWORD")
        if not password:
            raise SystemExit(
                f"Read-only user '{name}' has an empty password: give it one, as {name}:PASSWORD"
            )
        if name == "default":
            raise SystemExit("A read-only user cannot be called 'default': that is the admin user")
        users.append(User(name, password, readonly=True))
    return users


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_user_password(password: str | None, passwordless: bool) -> str:
    """The admin password: the one given, none only when asked for, else the generated one."""
    from orchard import settings

    if passwordless:
        return ""
    return password or settings.generated_warehouse_password(settings.STATE_DIR)
