"""A tiny raw HTTP client for the warehouse tests: nothing hidden, every request on a new connection."""

from __future__ import annotations

import gzip
import http.client
import zlib
from urllib.parse import urlencode

import brotli
import lz4.frame
import zstandard

# Every body encoding the server takes, with how a client compresses a payload in it.
COMPRESSORS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "br": brotli.compress,
    "lz4": lz4.frame.compress,
}


class Http:
    """A tiny raw HTTP client: every request on a new connection, nothing hidden."""

    def __init__(self, port: int, password: str | None = None) -> None:
        self.port = port
        self.auth = {"X-ClickHouse-User": "default", "X-ClickHouse-Key": password} if password else {}

    def request(self, method="POST", params=None, body=None, headers=None, path="/"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        url = path + ("?" + urlencode(params) if params else "")
        conn.request(method, url, body=body, headers={**self.auth, **(headers or {})})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response, data

    def query(self, sql, **params):
        response, data = self.request("POST", {"query": sql, **params})
        assert response.status == 200, data
        return data.decode()
