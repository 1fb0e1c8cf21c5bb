"""Multipart forms, parsed by python-multipart as the body arrives: the query and its parameters
(clickhouse-connect sends long ones this way) and files, the external data of a query."""

from __future__ import annotations

from collections.abc import Iterator

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from orchard.warehouse.errors import ClickHouseError


def is_form(content_type: str | None) -> bool:
    # Only multipart bodies are forms: like ClickHouse, a urlencoded body (curl --data-binary's default
    # content type) is the query itself.
    return parse_options_header(content_type or "")[0] == b"multipart/form-data"


def read_form(
    content_type: str, body: Iterator[bytes], limit: int
) -> tuple[dict[str, str], dict[str, bytes]]:
    """The form's fields (text) and files (bytes, a temporary table each), by name."""
    boundary = parse_options_header(content_type)[1].get(b"boundary")
    if not boundary:
        raise ClickHouseError("BAD_ARGUMENTS", "A multipart/form-data body without a boundary")
    parts: list[tuple[dict[bytes, bytes], bytearray]] = []
    name, value = bytearray(), bytearray()
    ended = []

    def header_end() -> None:
        parts[-1][0][bytes(name).lower()] = bytes(value)
        name.clear()
        value.clear()

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": lambda: parts.append(({}, bytearray())),
            "on_header_field": lambda data, start, end: name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: value.extend(data[start:end]),
            "on_header_end": header_end,
            "on_part_data": lambda data, start, end: parts[-1][1].extend(data[start:end]),
            "on_end": lambda: ended.append(True),
        },
    )
    size = 0
    try:
        for chunk in body:
            size += len(chunk)
            if size > limit:
                raise ClickHouseError(
                    "QUERY_IS_TOO_LARGE", f"Query is too large (over {limit} bytes)", code=393
                )
            parser.write(chunk)
    except MultipartParseError as exc:
        raise ClickHouseError("BAD_ARGUMENTS", f"Malformed multipart form: {exc}") from None
    if not ended:
        raise ClickHouseError(
            "CANNOT_READ_ALL_DATA", "The multipart form ended before its closing boundary", code=33
        )
    fields, files = {}, {}
    for headers, data in parts:
        disposition = parse_options_header(headers.get(b"content-disposition"))[1]
        if b"name" not in disposition:
            continue
        key = disposition[b"name"].decode("utf-8", errors="replace")
        if b"filename" in disposition:
            files[key] = bytes(data)
            continue
        try:
            fields[key] = data.decode()
        except UnicodeDecodeError as exc:
            raise ClickHouseError(
                "SYNTAX_ERROR", f"The form field {key} is not valid UTF-8 (byte {exc.start})"
            ) from None
    return fields, files
