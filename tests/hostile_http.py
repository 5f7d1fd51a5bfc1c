"""Hostile HTTP servers on loopback for `import_deployments --from-api`: each is a real
threaded `http.server` on a free 127.0.0.1 port whose POSTs a scenario answers. They
count what they saw (requests, headers) and what they sent, so a test can tell which
budget stopped the client. Used by tests/test_security_remote.py and bench/abuse_remote.py.
"""

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    """How one request is answered; the scenario calls one of its methods."""

    handler: BaseHTTPRequestHandler
    server: "HostileServer"

    def json(self, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(value).encode()
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", "application/json")
        for name, header in (headers or {}).items():
            self.handler.send_header(name, header)
        self.handler.send_header("Content-Length", str(len(body)))
        self.handler.end_headers()
        self.send(body)

    def redirect(self, location: str, status: int = 307) -> None:
        self.handler.send_response(status)
        self.handler.send_header("Location", location)
        self.handler.send_header("Content-Length", "0")
        self.handler.end_headers()

    def headers(self, length: int | None = None) -> None:
        self.handler.send_response(200)
        self.handler.send_header("Content-Type", "application/json")
        if length is None:
            self.handler.send_header("Transfer-Encoding", "chunked")
        else:
            self.handler.send_header("Content-Length", str(length))
        self.handler.end_headers()

    def chunked(self, pieces: Iterator[bytes]) -> None:
        """A chunked body made as it is sent, so the server never holds more than a piece."""
        self.headers()
        for piece in pieces:
            if self.server.stopping.is_set():
                return
            self.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.send(b"0\r\n\r\n")

    def drip(self, every: float, prefix: bytes = b"") -> None:
        """A status line, then `prefix`, then a byte every `every` seconds until cut off."""
        self.handler.wfile.write(prefix)
        while not self.server.stopping.wait(every):
            self.send(b" ")

    def silence(self) -> None:
        """Reads the request and never answers."""
        self.server.stopping.wait(60)

    def send(self, data: bytes) -> None:
        self.handler.wfile.write(data)
        self.handler.wfile.flush()
        with self.server.lock:
            self.server.bytes_sent += len(data)


Scenario = Callable[[Reply, int, Any], None]


@dataclass
class HostileServer:
    """`scenario(reply, number, body)` answers the `number`th POST (from 1)."""

    scenario: Scenario
    seen: list[Seen] = field(default_factory=list)
    bytes_sent: int = 0
    cut_off: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), ScenarioHandler)
        self.httpd.daemon_threads = True
        self.httpd.hostile = self

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.origin}/api"

    def __enter__(self) -> "HostileServer":
        serving = {"poll_interval": 0.05}
        threading.Thread(target=self.httpd.serve_forever, kwargs=serving, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def record(self, seen: Seen) -> int:
        with self.lock:
            self.seen.append(seen)
            return len(self.seen)

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]


class ScenarioHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        body = json.loads(raw) if raw else None
        hostile: HostileServer = self.server.hostile
        number = hostile.record(Seen(self.path, dict(self.headers), body))
        try:
            hostile.scenario(Reply(self, hostile), number, body)
        except (BrokenPipeError, ConnectionResetError):
            with hostile.lock:
                hostile.cut_off += 1
        self.close_connection = True

    # A client that turned a redirected POST into a GET is seen too.
    do_GET = do_POST

    def log_message(self, format: str, *args) -> None:
        pass


# Scenarios ----------------------------------------------------------------------------


def empty_listings(reply: Reply, number: int, body: Any) -> None:
    """A well-behaved server with nothing in it."""
    path = reply.handler.path.rstrip("/")
    reply.json({"results": [], "count": 0, "pages": 0} if path.endswith("/paginate") else [])


def flow(name: str) -> dict:
    return {"id": str(uuid.uuid4()), "name": name, "tags": [], "labels": {}}


def endless_pages(reply: Reply, number: int, body: Any) -> None:
    """Every flows page holds a new flow and says a billion pages remain."""
    reply.json({"results": [flow(f"flow-{number}")], "count": 10**9, "pages": 10**9})


def endless_offsets(reply: Reply, number: int, body: Any) -> None:
    """Flows and deployments are empty; concurrency limits fill every page, without end."""
    if reply.handler.path.endswith("/paginate"):
        reply.json({"results": [], "count": 0, "pages": 0})
        return
    limit = body["limit"]
    reply.json([{"id": str(uuid.uuid4()), "name": f"limit-{number}-{n}"} for n in range(limit)])


def repeated_page(reply: Reply, number: int, body: Any) -> None:
    """The same flows page, whatever page is asked, and ten pages said to remain."""
    same = {"id": "9b6a6e3c-4f43-4a1b-8b2e-5ad9d39a1f00", "name": "again", "tags": []}
    reply.json({"results": [same], "count": 10, "pages": 10})


def endless_body(reply: Reply, number: int, body: Any) -> None:
    """A chunked answer that never ends: 64 KiB pieces of a JSON string, made as sent."""
    piece = b"a" * 65536

    def pieces() -> Iterator[bytes]:
        yield b'{"results": ["'
        while True:
            yield piece

    reply.chunked(pieces())


def declared_huge(reply: Reply, number: int, body: Any) -> None:
    """Says a terabyte follows, then sends nothing."""
    reply.headers(length=10**12)
    reply.silence()


def slow_drip(every: float) -> Scenario:
    """Headers at once, then a byte of the body every `every` seconds, forever."""

    def scenario(reply: Reply, number: int, body: Any) -> None:
        reply.headers()
        reply.send(b"ffffffff\r\n")
        reply.drip(every)

    return scenario


def slow_headers(every: float) -> Scenario:
    """A status line, then a header whose value grows by a byte every `every` seconds."""

    def scenario(reply: Reply, number: int, body: Any) -> None:
        reply.drip(every, prefix=b"HTTP/1.1 200 OK\r\nX-Slow: ")

    return scenario


def silent(reply: Reply, number: int, body: Any) -> None:
    reply.silence()


def redirect_to(location: str, status: int = 307) -> Scenario:
    def scenario(reply: Reply, number: int, body: Any) -> None:
        reply.redirect(location, status)

    return scenario


def redirect_once_within(reply: Reply, number: int, body: Any) -> None:
    """Sends every request once to the same path with a trailing slash (307, as Django)."""
    path = reply.handler.path
    if path.endswith("/"):
        empty_listings(reply, number, body)
    else:
        reply.redirect(path + "/")


def wait_for(condition: Callable[[], bool], seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def slow_pages(delay: float) -> Scenario:
    """Endless pages, each answered after `delay` seconds: quick enough for the request
    timeout, never done within the import's."""

    def scenario(reply: Reply, number: int, body: Any) -> None:
        if not reply.server.stopping.wait(delay):
            endless_pages(reply, number, body)

    return scenario


def failing(reply: Reply, number: int, body: Any) -> None:
    """A 500 whose text would paint the terminal and break the error line."""
    body = b"\x1b[31mboom\r\nsecond line\x07" + b"x" * 5000
    reply.handler.send_response(500)
    reply.handler.send_header("Content-Length", str(len(body)))
    reply.handler.end_headers()
    reply.send(body)


def busy(times: int, status: int = 503, retry_after: str | None = None) -> Scenario:
    """The first `times` requests answered `status` with the body Prefect's server sends
    when its database is locked (and `Retry-After` if given); then an empty server."""

    def scenario(reply: Reply, number: int, body: Any) -> None:
        if number > times:
            empty_listings(reply, number, body)
            return
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        reply.json({"exception_message": "Service Unavailable"}, status, headers)

    return scenario
