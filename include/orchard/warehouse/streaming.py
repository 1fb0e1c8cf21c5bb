"""Result streaming and body plumbing: chDB blocks as one valid HTTP body, a prefetching thread
between the engine and the socket, and the small generators that reshape byte chunks."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator

from orchard.warehouse.errors import ClickHouseError

READ_SIZE = 1 << 20  # body bytes handed to the engine per call


# Formats whose streamed blocks concatenate into one valid result.
_CONCATENABLE = {
    name.lower()
    for name in (
        "Native", "TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw", "CSV", "JSONEachRow", "JSONLines",
        "NDJSON", "JSONCompactEachRow", "JSONStringsEachRow", "JSONCompactStringsEachRow", "RowBinary",
        "Values", "LineAsString", "TSKV", "Raw", "CustomSeparated",
    )
}  # fmt: skip
_TEXT_WITH_HEADER = {
    name.lower()
    for name in (
        "TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw", "CSV", "JSONCompactEachRow",
        "JSONCompactStringsEachRow", "CustomSeparated",
    )
}  # fmt: skip


def stream_header_cutter(fmt: str):
    """How to drop the header chDB repeats on each streamed block; None if the format cannot stream."""
    name = fmt.lower()
    if name in _CONCATENABLE:
        return lambda first: 0
    for suffix, lines in (("withnamesandtypes", 2), ("withnames", 1)):
        base = name.removesuffix(suffix)
        if base != name and base in _TEXT_WITH_HEADER:
            return lambda first, lines=lines: _line_header_length(first, lines)
        if base != name and base == "rowbinary":
            return lambda first, lines=lines: _rowbinary_header_length(first, lines)
    return None


def _line_header_length(first: bytes, lines: int) -> int:
    end = 0
    for _ in range(lines):
        end = first.index(b"\n", end) + 1
    return end


def _rowbinary_header_length(first: bytes, lists: int) -> int:
    def varint(pos: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = first[pos]
            value |= (byte & 0x7F) << shift
            pos += 1
            if byte < 0x80:
                return value, pos
            shift += 7

    count, pos = varint(0)
    for _ in range(count * lists):
        length, pos = varint(pos)
        pos += length
    return pos


def stream_blocks(conn, handle, header_length) -> Iterator[bytes]:
    """Result chunks, the first whole and the rest without the repeated header. Closing the
    generator early (the client went away) cancels the engine's query."""
    finished = False
    header = None
    try:
        while True:
            try:
                chunk = conn.fetch_block(handle)
            except ClickHouseError:
                finished = True
                raise
            data = chunk.bytes() if chunk is not None else b""
            if chunk is None or (not data and chunk.rows_read() == 0):
                finished = True
                return
            if header is not None and chunk.rows_read() == 0:
                continue  # an empty block after the first adds nothing (the first carries the header)
            if header is None:
                header = data[: header_length(data)]
            elif header and data.startswith(header):
                data = data[len(header) :]
            yield data
    finally:
        if not finished:
            with contextlib.suppress(Exception):
                conn.cancel_stream(handle)


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(chunks: Iterator[bytes], depth: int = 4) -> Iterator[bytes]:
    """Run a chunk generator on its own thread, a few chunks ahead of the consumer.

    Reading the socket, decoding and the engine's work then overlap with the other side of the
    request. The generator runs and is closed on that one thread (chDB calls stay on one thread);
    closing the returned generator early stops and closes the source.
    """
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    break
            else:
                put(done)
        except BaseException as exc:  # re-raised on the consumer's thread
            put(_Raised(exc))
        finally:
            chunks.close()

    producer = threading.Thread(target=produce, name="prefetch", daemon=True)
    producer.start()
    try:
        while (item := ahead.get()) is not done:
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        producer.join()


# Native over HTTP with a client_protocol_version: each block starts with a BlockInfo (field 1
# is_overflows = false, field 2 bucket_num = -1, end). From 54454 on, columns carry a custom-serialization
# flag as well, which chDB's Native output has not.
NATIVE_BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"
NATIVE_LOW_CARDINALITY = 54405
NATIVE_CUSTOM_SERIALIZATION = 54454


def native_block_info(chunks: Iterator[bytes], version: int) -> Iterator[bytes]:
    """Native blocks as a client of `version` reads them: each chunk is one engine block (a streamed
    result) or a result small enough for one (DESCRIBE, SHOW)."""
    try:
        for chunk in chunks:
            yield NATIVE_BLOCK_INFO + chunk if version and chunk else chunk
    finally:
        chunks.close()


def single(payload: bytes) -> Iterator[bytes]:
    yield payload


def prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def rechunk(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Group small decoded pieces into ~1 MiB ones: fewer, larger calls into the engine."""
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= READ_SIZE:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def read_limited(chunks: Iterator[bytes], limit: int) -> bytes:
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > limit:
            raise ClickHouseError("QUERY_IS_TOO_LARGE", f"Query is too large (over {limit} bytes)", code=393)
    return bytes(data)
