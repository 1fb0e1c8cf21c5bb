"""Streaming HTTP body codecs: the Content-Encodings ClickHouse accepts and sends."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import brotli
import lz4.frame
import zstandard

from orchard.warehouse.errors import ClickHouseError

# Response encodings we can produce, in our order of preference when a client accepts several.
RESPONSE_ENCODINGS = ("lz4", "zstd", "gzip", "deflate", "br")


# Decoded bytes produced per step: a small compressed body that inflates hugely (a "zip bomb") is
# never held in memory at once, and the per-request limit stops it early.
OUT_STEP = 1 << 20
_ZSTD_FEED = 4096  # zstd inflates up to ~32000x per block and has no output cap: feed it little at once


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def finished(self) -> bool:
        return True

    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _ZlibDecoder:
    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._decoder = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            if self._decoder.eof:  # gzip allows several members one after the other
                self._decoder = zlib.decompressobj(self._wbits)
            out = self._decoder.decompress(data, OUT_STEP)
            data = self._decoder.unconsumed_tail or (self._decoder.unused_data if self._decoder.eof else b"")
            if out:
                yield out

    def finished(self) -> bool:
        return self._decoder.eof


class _ZstdDecoder:
    def __init__(self) -> None:
        self._decoder = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        for start in range(0, len(view), _ZSTD_FEED):
            piece = bytes(view[start : start + _ZSTD_FEED])
            while piece:
                if self._decoder.eof:  # concatenated frames
                    self._decoder = zstandard.ZstdDecompressor().decompressobj()
                out = self._decoder.decompress(piece)
                piece = self._decoder.unused_data if self._decoder.eof else b""
                if out:
                    yield out

    def finished(self) -> bool:
        return self._decoder.eof


class _Lz4Decoder:
    def __init__(self) -> None:
        self._decoder = lz4.frame.LZ4FrameDecompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data or self._decoder.needs_input is False:
            if self._decoder.eof:  # concatenated frames, as some clients send one per block
                if not data:
                    return
                self._decoder = lz4.frame.LZ4FrameDecompressor()
            out = self._decoder.decompress(data, max_length=OUT_STEP)
            data = self._decoder.unused_data if self._decoder.eof else b""
            if out:
                yield out

    def finished(self) -> bool:
        return self._decoder.eof


class _BrotliDecoder:
    def __init__(self) -> None:
        self._decoder = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        out = self._decoder.process(data, output_buffer_limit=OUT_STEP)
        while True:
            if out:
                yield out
            if self._decoder.can_accept_more_data():
                return
            out = self._decoder.process(b"", output_buffer_limit=OUT_STEP)

    def finished(self) -> bool:
        return self._decoder.is_finished()


def decoder(encoding: str | None):
    """A decompressor for a request's Content-Encoding: .feed(chunk) yields bounded pieces,
    .finished() says whether the compressed stream ended properly."""
    name = (encoding or "").strip().lower()
    if name in ("", "identity", "none"):
        return _Identity()
    if name in ("gzip", "x-gzip"):
        return _ZlibDecoder(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return _ZlibDecoder(zlib.MAX_WBITS)
    if name in ("zstd", "zstandard"):
        return _ZstdDecoder()
    if name in ("br", "brotli"):
        return _BrotliDecoder()
    if name == "lz4":
        return _Lz4Decoder()
    raise ClickHouseError(
        "UNKNOWN_COMPRESSION_METHOD",
        f"Unknown Content-Encoding '{encoding}': use gzip, deflate, zstd, br or lz4",
    )


class _Lz4Encoder:
    def __init__(self) -> None:
        self._encoder = lz4.frame.LZ4FrameCompressor()
        self._started = False

    def compress(self, data: bytes) -> bytes:
        head = b""
        if not self._started:
            head, self._started = self._encoder.begin(), True
        return head + self._encoder.compress(data)

    def flush(self) -> bytes:
        head = b"" if self._started else self._encoder.begin()
        self._started = True
        return head + self._encoder.flush()


class _ZstdEncoder:
    def __init__(self) -> None:
        self._encoder = zstandard.ZstdCompressor(level=3).compressobj()

    def compress(self, data: bytes) -> bytes:
        return self._encoder.compress(data)

    def flush(self) -> bytes:
        return self._encoder.flush()


class _BrotliEncoder:
    def __init__(self) -> None:
        self._encoder = brotli.Compressor(quality=4)

    def compress(self, data: bytes) -> bytes:
        return self._encoder.process(data)

    def flush(self) -> bytes:
        return self._encoder.finish()


def encoder(name: str | None):
    """A compressor with .compress(chunk) and .flush() for a response Content-Encoding."""
    if not name:
        return _Identity()
    if name == "gzip":
        return zlib.compressobj(3, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    if name == "deflate":
        return zlib.compressobj(3)
    if name == "zstd":
        return _ZstdEncoder()
    if name == "br":
        return _BrotliEncoder()
    if name == "lz4":
        return _Lz4Encoder()
    raise ValueError(name)


def choose_response_encoding(accept_encoding: str | None) -> str | None:
    """The first encoding in the client's Accept-Encoding that we can produce."""
    for part in (accept_encoding or "").split(","):
        name = part.split(";")[0].strip().lower()
        if name in RESPONSE_ENCODINGS:
            return name
    return None


def decode_stream(chunks: Iterator[bytes], encoding: str | None, limit: int) -> Iterator[bytes]:
    """Decompress a body chunk by chunk in bounded pieces; fail on a stream that ends early or
    inflates past `limit` bytes."""
    dec = decoder(encoding)
    total = 0
    try:
        for chunk in chunks:
            for out in dec.feed(chunk):
                total += len(out)
                if total > limit:
                    raise ClickHouseError(
                        "LIMIT_EXCEEDED",
                        f"The decompressed request body is over {limit} bytes: send the data in several "
                        "requests, or start the warehouse with a larger --max-body",
                        code=290,
                    )
                yield out
    except (zlib.error, zstandard.ZstdError, brotli.error, RuntimeError) as exc:
        raise ClickHouseError(
            "CANNOT_DECOMPRESS", f"Cannot decompress {encoding} request body: {exc}"
        ) from None
    if not dec.finished():
        raise ClickHouseError(
            "CANNOT_DECOMPRESS",
            f"The {encoding} request body ends before its compressed stream does: it was cut off. "
            "Only blocks already complete may have been written (as on a ClickHouse server)",
        )
