"""ClickHouse exceptions as the HTTP interface reports them: code, name, message and HTTP status."""

from __future__ import annotations

import re

# Codes of the errors the server raises itself (the engine's own errors carry their code).
CODES = {
    "BAD_ARGUMENTS": 36,
    "SYNTAX_ERROR": 62,
    "UNKNOWN_FORMAT": 73,
    "UNKNOWN_SETTING": 115,
    "READONLY": 164,
    "UNKNOWN_USER": 192,
    "REQUIRED_PASSWORD": 194,
    "SESSION_NOT_FOUND": 372,
    "SESSION_IS_LOCKED": 373,
    "INVALID_SESSION_TIMEOUT": 374,
    "HTTP_LENGTH_REQUIRED": 381,
    "QUERY_WAS_CANCELLED": 394,
    "CANNOT_DECOMPRESS": 271,
    "AUTHENTICATION_FAILED": 516,
    "UNKNOWN_COMPRESSION_METHOD": 638,
    "UNSUPPORTED_METHOD": 1,
}

# As ClickHouse's exceptionCodeToHTTPStatus maps them; everything else is 500.
_STATUS_BY_NAME = {
    **dict.fromkeys(["REQUIRED_PASSWORD"], 401),
    **dict.fromkeys(
        ["UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"],
        403,
    ),
    **dict.fromkeys(
        [
            "BAD_ARGUMENTS",
            "CANNOT_COMPILE_REGEXP",
            "CANNOT_PARSE_TEXT",
            "CANNOT_PARSE_ESCAPE_SEQUENCE",
            "CANNOT_PARSE_QUOTED_STRING",
            "CANNOT_PARSE_DATE",
            "CANNOT_PARSE_DATETIME",
            "CANNOT_PARSE_NUMBER",
            "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
            "CANNOT_PARSE_IPV4",
            "CANNOT_PARSE_IPV6",
            "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
            "CANNOT_PARSE_UUID",
            "DUPLICATE_COLUMN",
            "ILLEGAL_COLUMN",
            "UNKNOWN_ELEMENT_IN_AST",
            "UNKNOWN_TYPE_OF_AST_NODE",
            "THERE_IS_NO_COLUMN",
            "TOO_DEEP_AST",
            "TOO_BIG_AST",
            "UNEXPECTED_AST_STRUCTURE",
            "SYNTAX_ERROR",
            "INCORRECT_DATA",
            "TYPE_MISMATCH",
            "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        ],
        400,
    ),
    **dict.fromkeys(
        [
            "UNKNOWN_TABLE",
            "UNKNOWN_FUNCTION",
            "UNKNOWN_IDENTIFIER",
            "UNKNOWN_TYPE",
            "UNKNOWN_STORAGE",
            "UNKNOWN_DATABASE",
            "UNKNOWN_SETTING",
            "UNKNOWN_DIRECTION_OF_SORTING",
            "UNKNOWN_AGGREGATE_FUNCTION",
            "UNKNOWN_FORMAT",
            "UNKNOWN_DATABASE_ENGINE",
            "UNKNOWN_TYPE_OF_QUERY",
            "UNKNOWN_ROLE",
        ],
        404,
    ),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "CANNOT_SCHEDULE_TASK": 503,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}

_ENGINE_ERROR = re.compile(
    r"Code: (\d+)\. DB::Exception: (.*?)(?: \(([A-Z_0-9]+)\))?(?: \(version [^)]*\))?\s*$", re.S
)


class ClickHouseError(Exception):
    """An error to report the way ClickHouse does: `Code: N. DB::Exception: message. (NAME)`."""

    def __init__(self, name: str, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.code = code if code is not None else CODES.get(name, 1000)

    @property
    def http_status(self) -> int:
        return _STATUS_BY_NAME.get(self.name, 500)

    def body(self) -> str:
        message = self.message.rstrip()
        if not message.endswith("."):
            message += "."
        return f"Code: {self.code}. DB::Exception: {message} ({self.name}) (version {ENGINE_VERSION})\n"

    @classmethod
    def from_engine(cls, exc: BaseException) -> ClickHouseError:
        """Turn a chDB exception text into a ClickHouseError with its code and name."""
        text = str(exc)
        for prefix in (
            "Streaming query failed: ",
            "Streaming insert append failed: ",
            "Streaming insert finish failed: ",
        ):
            text = text.replace(prefix, "")
        found = _ENGINE_ERROR.search(text)
        if not found:
            return cls("UNKNOWN_EXCEPTION", text.strip() or type(exc).__name__, code=1002)
        code, message, name = found.groups()
        return cls(name or "UNKNOWN_EXCEPTION", message.strip().rstrip("."), code=int(code))


ENGINE_VERSION = "26.9.2.1"
