"""An HTTP client for reading a server the operator names but need not trust: http(s)
only, credentials never sent to another origin, every answer bounded in bytes while it
streams, every request and the whole import bounded in time, a busy server's answers
retried a bounded number of times. Each refusal is one line."""

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from catalog.importing.records import ImportFailed

SCHEMES = {"http": 80, "https": 443}
REDIRECTS = {301, 302, 303, 307, 308}
# Redirects that keep the method and the body; the others would turn the POST into a GET.
BODY_KEEPING_REDIRECTS = {307, 308}
# The answers Prefect's own client retries: a server that is busy or restarting. Prefect's
# server answers 503 when its database is locked or unreachable for a moment.
RETRIED = {408, 429, 502, 503}
CHUNK_BYTES = 64 * 1024
ERROR_DETAIL_BYTES = 300


@dataclass(frozen=True)
class RemoteLimits:
    """The budgets of one `--from-api` import (README.md, "Importing from a live server");
    their defaults are the settings'."""

    max_pages: int
    max_response_bytes: int
    max_total_bytes: int
    max_redirects: int
    request_timeout: float
    total_timeout: float
    retries: int
    retry_seconds: float

    @classmethod
    def from_settings(cls) -> "RemoteLimits":
        return cls(
            max_pages=settings.CATALOG_REMOTE_MAX_PAGES,
            max_response_bytes=settings.CATALOG_REMOTE_MAX_RESPONSE_BYTES,
            max_total_bytes=settings.CATALOG_REMOTE_MAX_TOTAL_BYTES,
            max_redirects=settings.CATALOG_REMOTE_MAX_REDIRECTS,
            request_timeout=settings.CATALOG_REMOTE_REQUEST_TIMEOUT,
            total_timeout=settings.CATALOG_REMOTE_TOTAL_TIMEOUT,
            retries=settings.CATALOG_REMOTE_RETRIES,
            retry_seconds=settings.CATALOG_REMOTE_RETRY_SECONDS,
        )


def refuse(line: str) -> ImportFailed:
    return ImportFailed([line])


def printable(text: str, limit: int = 200) -> str:
    """`text` as one short line a terminal shows as it is: no control characters."""
    flat = " ".join(text.split())
    safe = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def origin_of(url: str) -> Origin:
    """The scheme, host and port `url` names; refused unless it is a plain http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise refuse(f"--from-api takes an http:// or https:// URL, not {printable(url)!r}")
    try:
        port = parts.port
    except ValueError:
        raise refuse(f"--from-api URL {printable(url)!r} has a malformed port") from None
    if not parts.hostname:
        raise refuse(f"--from-api URL {printable(url)!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise refuse("--from-api URL must not carry credentials; use --api-key or --basic-auth")
    scheme = parts.scheme.lower()
    return Origin(scheme, parts.hostname, port or SCHEMES[scheme])


class Answer(NamedTuple):
    status: int
    location: str | None
    content: bytes
    retry_after: float | None = None


def seconds_to_wait(header: str | None) -> float | None:
    """A `Retry-After` header's wait: seconds, or an HTTP date from now; None if absent
    or unreadable."""
    if header is None:
        return None
    value = header.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class BoundedClient:
    """POSTs JSON to one origin, counting pages, bytes and time against `limits`."""

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str],
        limits: RemoteLimits,
        address: str | None = None,
    ) -> None:
        """`address`: connect there, not to what the host's name resolves to then (a
        caller that checked the address pins it; TLS still verifies the host's name)."""
        self.origin = origin_of(url)
        self.address = address
        self.base = url.rstrip("/")
        self.headers = headers
        self.limits = limits
        self.deadline = time.monotonic() + limits.total_timeout
        self.pages_read = 0
        self.bytes_read = 0
        self.past_deadline = False

    def post(self, path: str, body: bytes) -> bytes:
        """The content of a 2xx answer to a POST of `body` to `path`."""
        if self.pages_read >= self.limits.max_pages:
            raise refuse(
                f"{self.base}: stopped after {self.limits.max_pages:,} pages, the most one "
                "import reads (CATALOG_REMOTE_MAX_PAGES)"
            )
        self.pages_read += 1
        url = self.base + path
        for retry in range(self.limits.retries + 1):
            url, answer = self.followed(url, body)
            if answer.status not in RETRIED or retry == self.limits.retries:
                break
            self.wait_to_retry(url, answer, retry)
        return self.accepted(url, answer)

    def followed(self, url: str, body: bytes) -> tuple[str, Answer]:
        """The answer to a POST of `body` to `url`, and its URL, after redirects."""
        for _ in range(self.limits.max_redirects + 1):
            answer = self.exchange(url, body)
            if answer.status not in REDIRECTS:
                return url, answer
            url = self.redirect_target(url, answer)
        raise refuse(
            f"{url}: more than {self.limits.max_redirects} redirects (CATALOG_REMOTE_MAX_REDIRECTS)"
        )

    def wait_to_retry(self, url: str, answer: Answer, retry: int) -> None:
        """Waits as long as the server asks (`Retry-After`), or else twice as long as
        before, unless the wait would end past the import's deadline."""
        seconds = answer.retry_after
        if seconds is None:
            seconds = self.limits.retry_seconds * 2**retry
        if time.monotonic() + seconds >= self.deadline:
            raise refuse(
                f"{url}: HTTP {answer.status}, and a retry in {seconds:g} s would end past "
                f"the import's {self.limits.total_timeout:g} s (CATALOG_REMOTE_TOTAL_TIMEOUT)"
            )
        time.sleep(seconds)

    def accepted(self, url: str, answer: Answer) -> bytes:
        if 200 <= answer.status < 300:
            return answer.content
        detail = printable(answer.content.decode("utf-8", "replace"))
        if answer.status in RETRIED and self.limits.retries:
            raise refuse(
                f"{url}: HTTP {answer.status} again after {self.limits.retries} retries "
                f"(CATALOG_REMOTE_RETRIES): {detail}"
            )
        raise refuse(f"{url}: HTTP {answer.status}: {detail}")

    def redirect_target(self, url: str, answer: Answer) -> str:
        """Where a redirect leads, if it stays with this origin and keeps the POST."""
        if not answer.location:
            raise refuse(f"{url}: HTTP {answer.status} redirect without a Location")
        target = urljoin(url, answer.location)
        scheme = urlsplit(target).scheme.lower()
        if scheme not in SCHEMES:
            raise refuse(
                f"{url}: redirected to a {printable(scheme, 20)!r} URL; only http(s) is followed"
            )
        try:
            origin = origin_of(target)
        except ImportFailed:
            origin = None
        if origin != self.origin:
            raise refuse(
                f"{url}: redirected to another origin ({printable(str(origin or target))}); "
                f"not followed, so the credentials stay with {self.origin}"
            )
        if answer.status not in BODY_KEEPING_REDIRECTS:
            raise refuse(
                f"{url}: HTTP {answer.status} redirect to {printable(target)} would turn the "
                "POST into a GET; give that URL to --from-api"
            )
        return target

    def exchange(self, url: str, body: bytes) -> Answer:
        """One request and its bounded answer, cut off at the import's deadline."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self.timed_out(url)
        connection = self.connection(url, min(self.limits.request_timeout, remaining))
        watchdog = threading.Timer(remaining, self.cut, args=(connection,))
        watchdog.daemon = True
        watchdog.start()
        try:
            answer = self.answer(connection, url, body)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self.failure(url, exc) from None
        finally:
            watchdog.cancel()
            connection.close()
        if self.past_deadline:
            raise self.timed_out(url)
        return answer

    def connection(self, url: str, timeout: float) -> http.client.HTTPConnection:
        if self.origin.scheme == "https":
            connection = http.client.HTTPSConnection(
                self.origin.host,
                self.origin.port,
                timeout=timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                self.origin.host, self.origin.port, timeout=timeout
            )
        if self.address is not None:
            connection._create_connection = self.pinned_connect
        return connection

    def pinned_connect(self, host_and_port, *args, **kwargs) -> socket.socket:
        return socket.create_connection((self.address, host_and_port[1]), *args, **kwargs)

    def answer(self, connection: http.client.HTTPConnection, url: str, body: bytes) -> Answer:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", target or "/", body=body, headers=self.headers)
        response = connection.getresponse()
        if response.status in REDIRECTS:
            return Answer(response.status, response.getheader("Location"), b"")
        if not 200 <= response.status < 300:
            wait = seconds_to_wait(response.getheader("Retry-After"))
            return Answer(response.status, None, response.read(ERROR_DETAIL_BYTES), wait)
        return Answer(response.status, None, self.read_bounded(response, url))

    def read_bounded(self, response: http.client.HTTPResponse, url: str) -> bytes:
        """The body, read a chunk at a time and refused as soon as it passes a budget."""
        limit = self.limits.max_response_bytes
        if response.length is not None and response.length > limit:
            raise self.too_big(url)
        content = bytearray()
        while chunk := response.read1(min(CHUNK_BYTES, limit + 1 - len(content))):
            content += chunk
            self.count_bytes(url, len(chunk))
            if len(content) > limit:
                raise self.too_big(url)
        return bytes(content)

    def count_bytes(self, url: str, size: int) -> None:
        self.bytes_read += size
        if self.bytes_read > self.limits.max_total_bytes:
            raise refuse(
                f"{url}: the server sent more than {self.limits.max_total_bytes:,} bytes in "
                "all, the most one import reads (CATALOG_REMOTE_MAX_TOTAL_BYTES)"
            )

    def too_big(self, url: str) -> ImportFailed:
        return refuse(
            f"{url}: the answer is larger than {self.limits.max_response_bytes:,} bytes "
            "(CATALOG_REMOTE_MAX_RESPONSE_BYTES)"
        )

    def cut(self, connection: http.client.HTTPConnection) -> None:
        """Called by the watchdog at the deadline: ends the blocked read on the socket."""
        self.past_deadline = True
        if connection.sock is not None:
            # The plain socket's shutdown, also under TLS, so no TLS state is torn down
            # while the reading thread is inside it.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection.sock, socket.SHUT_RDWR)

    def timed_out(self, url: str) -> ImportFailed:
        return refuse(
            f"{url}: the import took longer than {self.limits.total_timeout:g} s "
            "(CATALOG_REMOTE_TOTAL_TIMEOUT)"
        )

    def failure(self, url: str, exc: Exception) -> ImportFailed:
        if self.past_deadline:
            return self.timed_out(url)
        if isinstance(exc, TimeoutError):
            return refuse(
                f"{url}: no answer within {self.limits.request_timeout:g} s "
                "(CATALOG_REMOTE_REQUEST_TIMEOUT)"
            )
        reason = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
        return refuse(f"{url}: cannot read: {printable(reason)}")
