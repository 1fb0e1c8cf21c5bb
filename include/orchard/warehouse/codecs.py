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


class _Identity:
    def decompress(self, data: bytes) -> bytes:
        return data

    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _Lz4Decoder:
    def __init__(self) -> None:
        self._decoder = lz4.frame.LZ4FrameDecompressor()

    def decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            if self._decoder.eof:  # concatenated frames, as some clients send one per block
                self._decoder = lz4.frame.LZ4FrameDecompressor()
            out.append(self._decoder.decompress(data))
            data = self._decoder.unused_data if self._decoder.eof else b""
        return b"".join(out)


class _BrotliDecoder:
    def __init__(self) -> None:
        self._decoder = brotli.Decompressor()

    def decompress(self, data: bytes) -> bytes:
        return self._decoder.process(data)


def decoder(encoding: str | None):
    """A decompressor object with .decompress(chunk) for a request's Content-Encoding."""
    name = (encoding or "").strip().lower()
    if name in ("", "identity", "none"):
        return _Identity()
    if name in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return zlib.decompressobj()
    if name in ("zstd", "zstandard"):
        return zstandard.ZstdDecompressor().decompressobj()
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


def decode_stream(chunks: Iterator[bytes], encoding: str | None) -> Iterator[bytes]:
    """Decompress a body chunk by chunk; never holds more than one chunk."""
    dec = decoder(encoding)
    try:
        for chunk in chunks:
            out = dec.decompress(chunk)
            if out:
                yield out
        tail = getattr(dec, "flush", None)
        if tail is not None and not isinstance(dec, _Identity) and (rest := tail()):
            yield rest
    except (zlib.error, zstandard.ZstdError, brotli.error, RuntimeError) as exc:
        raise ClickHouseError(
            "CANNOT_DECOMPRESS", f"Cannot decompress {encoding} request body: {exc}"
        ) from None
