"""HTTP/1.1 connections of the embedded warehouse, framed by h11.

One thread per connection (chDB calls block). h11 parses request heads and chunked bodies, keeps
connections alive and frames responses, whole or streamed in chunks; this module moves bytes between h11
and the socket. A Content-Length body, once its request is accepted, is read straight from the socket:
h11's receive buffer copies each byte twice more, which made receiving a 228 MiB insert cost the server
0.15 s of CPU instead of 0.06. The next request on that connection then starts in a fresh h11 parser, fed
the bytes received past the body. A body that ends early is never taken for a whole one: it fails with
ClickHouse's code 33, and the client, even one that half-closed its socket, still gets the answer.
"""

from __future__ import annotations

import http
import socket
import socketserver
import sys
import time
from collections.abc import Iterator

import h11

from orchard.warehouse.auth import redact
from orchard.warehouse.errors import ClickHouseError

STALL_TIMEOUT = 55  # seconds a socket may stall: a client that stops mid-body or stops reading
RECV_SIZE = 1 << 20  # bytes asked of the socket per read
MAX_HEAD = (1 << 20) + (64 << 10)  # a request line and headers (ClickHouse takes URLs up to 1 MiB)
SERVER_NAME = b"orchard-warehouse"


class Headers:
    """A request's headers by case-insensitive name; of a repeated header, the first."""

    def __init__(self, items: list[tuple[bytes, bytes]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in items:  # h11 gives names lower-cased
            self._values.setdefault(name.decode("latin-1"), value.decode("latin-1"))

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name.lower(), default)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._values


class ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class HttpConnection(socketserver.BaseRequestHandler):
    """Serves one client connection's requests one after the other. A subclass answers each in
    `respond()`: `self.method`, `self.path` and `self.headers` describe it, `body()` reads its body, and
    `send_whole()` or `start_stream()` / `write()` / `end_stream()` answer it."""

    verbose = False

    def setup(self) -> None:
        self.sock: socket.socket = self.request
        self.sock.settimeout(STALL_TIMEOUT)
        # Small writes (chunk headers, short answers) must not wait for ACKs of the previous block (Nagle).
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.h11 = new_parser()
        # A Content-Length body read past h11 (None: h11 reads the body): how many of its bytes are still
        # unread, and what arrived after it (the start of the next request) and whether the client closed.
        self.body_left: int | None = None
        self.after_body = b""
        self.peer_closed = False
        self.close_connection = False
        self.method = self.path = ""
        self.headers = Headers([])
        self.status = 0

    def handle(self) -> None:
        try:
            while self.serve_one():
                self.next_cycle()
        except (TimeoutError, OSError, h11.LocalProtocolError):
            pass  # the client stalled or went away: nothing left to answer

    def respond(self) -> None:
        raise NotImplementedError

    def bad_request(self, exc: h11.RemoteProtocolError) -> None:
        """Answer a request h11 could not parse (before anything was sent)."""
        error = ClickHouseError("BAD_ARGUMENTS", f"Malformed HTTP request: {exc}")
        status = exc.error_status_hint if exc.error_status_hint != 400 else error.http_status
        self.send_whole(status, {"X-ClickHouse-Exception-Code": str(error.code)}, error.body().encode())

    def serve_one(self) -> bool:
        """Answer the next request; whether the connection stays open for another."""
        self.close_connection = False
        try:
            event = self.next_event()
        except h11.RemoteProtocolError as exc:
            if self.h11.our_state is h11.IDLE:
                self.close_connection = True
                self.bad_request(exc)
            return False
        if not isinstance(event, h11.Request):
            return False  # the client closed the connection between requests
        self.method = event.method.decode("ascii")
        self.path = event.target.decode("latin-1")
        self.headers = Headers(event.headers)
        self.status = 0
        self.respond()
        if self.verbose:
            self.log_line(f'"{self.method} {self.path}" {self.status}')
        request_read = self.h11.their_state is h11.DONE if self.body_left is None else self.body_left == 0
        return not self.close_connection and request_read and self.h11.our_state is h11.DONE

    def next_cycle(self) -> None:
        """Ready the connection for its next request."""
        if self.body_left is None:
            self.h11.start_next_cycle()
            return
        # h11 still holds the last body as unread: the next request starts in a fresh parser.
        self.h11 = new_parser()
        if self.after_body:
            self.h11.receive_data(self.after_body)
        if self.peer_closed:
            self.h11.receive_data(b"")  # h11's sign for the end of the stream
        self.body_left, self.after_body, self.peer_closed = None, b"", False

    def next_event(self):
        while (event := self.h11.next_event()) is h11.NEED_DATA:
            self.h11.receive_data(self.sock.recv(RECV_SIZE))
        return event

    # -- the request body ----------------------------------------------------------------------------

    def body(self) -> Iterator[bytes]:
        """The request body as it arrives. A body that ends before its end (the client died, or lied
        about the length) raises code 33, a stall code 209: never taken for a complete one."""
        if self.h11.they_are_waiting_for_100_continue:
            self.send(h11.InformationalResponse(status_code=100, headers=[]))
        if "Transfer-Encoding" not in self.headers:
            # h11 accepted the head, so its Content-Length is one valid number (or absent: no body).
            yield from self.content_length_body(int(self.headers.get("Content-Length") or 0))
            return
        while True:  # a chunked body (h11 takes no other Transfer-Encoding): h11 reads its framing
            try:
                event = self.next_event()
            except h11.RemoteProtocolError as exc:
                raise body_error(exc) from None
            except TimeoutError:
                raise stalled() from None
            if isinstance(event, h11.Data):
                yield event.data
            elif isinstance(event, h11.EndOfMessage):
                return

    def content_length_body(self, length: int) -> Iterator[bytes]:
        """A Content-Length body straight from the socket, in pieces of up to RECV_SIZE bytes, each read
        into a bytes object of its own (no further copy). h11 keeps what it had received past the head as
        unread: that part is taken from it, and whatever follows the body is the next request's start."""
        buffered, self.peer_closed = self.h11.trailing_data
        first, self.after_body = buffered[:length], buffered[length:]
        self.body_left = length - len(first)
        if first:
            yield first
        while self.body_left:
            try:
                piece = b"" if self.peer_closed else self.sock.recv(min(RECV_SIZE, self.body_left))
            except TimeoutError:
                raise stalled() from None
            if not piece:
                self.peer_closed = True
                raise truncated_body(f"{self.body_left} bytes short of its Content-Length")
            self.body_left -= len(piece)
            yield piece

    def finish_reading(self) -> None:
        """Before an answer: take what is left of the body if it has already arrived; a body still on
        its way (an answer that comes before it was read) closes the connection after the answer."""
        if self.body_left is not None:  # read past h11: whole, or the connection cannot be reused
            self.close_connection = self.close_connection or self.body_left > 0
            return
        try:
            while self.h11.their_state is h11.SEND_BODY:
                event = self.h11.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    break
        except h11.RemoteProtocolError:
            pass
        if self.h11.their_state is not h11.DONE:
            self.close_connection = True

    # -- responses -----------------------------------------------------------------------------------

    def response(self, status: int, headers: dict[str, str]) -> h11.Response:
        self.finish_reading()
        self.status = status
        fields = [("Server", SERVER_NAME), *headers.items()]
        fields.append(("Connection", "close") if self.close_connection else ("Keep-Alive", "timeout=10"))
        return h11.Response(status_code=status, headers=fields, reason=http.HTTPStatus(status).phrase)

    def send_whole(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        """A whole response, with its Content-Length."""
        self.send(self.response(status, {**headers, "Content-Length": str(len(payload))}))
        if payload and self.method != "HEAD":
            self.send(h11.Data(data=payload))
        self.send(h11.EndOfMessage())

    def start_stream(self, status: int, headers: dict[str, str]) -> None:
        """The head of a response whose body follows in write() calls (chunked)."""
        self.send(self.response(status, headers))

    def write(self, data: bytes) -> None:
        if data:
            self.send(h11.Data(data=data))

    def end_stream(self) -> None:
        self.send(h11.EndOfMessage())

    def send(self, event) -> None:
        """One event's bytes in one system call where the socket takes them: no copy of a large block."""
        views = [memoryview(piece) for piece in self.h11.send_with_data_passthrough(event) if piece]
        while views:
            sent = self.sock.sendmsg(views)
            while sent:
                if sent >= len(views[0]):
                    sent -= len(views.pop(0))
                else:
                    views[0], sent = views[0][sent:], 0

    # -- logging -------------------------------------------------------------------------------------

    def log_line(self, text: str) -> None:
        when = time.strftime("%d/%b/%Y %H:%M:%S")
        sys.stderr.write(f"[{when}] {self.client_address[0]} {redact(text)}\n")


def new_parser() -> h11.Connection:
    return h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)


def body_error(exc: h11.RemoteProtocolError) -> ClickHouseError:
    """What a chunked body h11 could not read fails with."""
    if "peer closed connection" not in str(exc) and "unexpectedly closed" not in str(exc):
        return ClickHouseError("BAD_ARGUMENTS", f"Malformed request body: {exc}")
    return truncated_body("before its last chunk (the zero-length one)")


def stalled() -> ClickHouseError:
    return ClickHouseError(
        "SOCKET_TIMEOUT",
        f"The client sent nothing for {STALL_TIMEOUT} s in the middle of the request body",
        code=209,
    )


def truncated_body(where: str) -> ClickHouseError:
    return ClickHouseError(
        "CANNOT_READ_ALL_DATA",
        f"The request body ended {where}: the client stopped sending. The query failed; of an INSERT, "
        "only blocks already complete may have been written (as on a ClickHouse server)",
        code=33,
    )
