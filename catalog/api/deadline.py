"""The request deadline: every web request ends within `CATALOG_REQUEST_DEADLINE_SECONDS`,
well before gunicorn kills a silent worker (`GUNICORN_TIMEOUT`) and its client gets an HTML
500. Past the deadline the request answers 503 (`catalog.api.middleware`). Three guards:

- PostgreSQL: connections opened while serving a request run with `statement_timeout` set
  to the deadline. Management commands and migrations open their own connections outside
  any request, so a million-row import is never cut short.
- SQLite: a progress handler aborts a statement of a request past its deadline, and a
  connection opened by a request waits for another writer's lock no longer than that.
- Python: in the main thread (gunicorn's sync workers) an interval timer raises
  `DeadlineExceeded` when the deadline passes. While a query runs it raises nothing, since
  an exception out of the database driver would leave the connection unusable: it cancels
  the PostgreSQL query instead, and SQLite's progress handler stops its own.

Each query a request makes after its deadline is refused, in any thread.
"""

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import pq

logger = logging.getLogger(__name__)

# SQLite virtual machine steps between two looks at the clock: about 0.1 ms of work.
SQLITE_STEPS_BETWEEN_CHECKS = 10_000
# How soon the timer looks again when it found a query running at the deadline.
RETRY_SECONDS = 0.2

current = threading.local()


class DeadlineExceeded(Exception):
    """Raised in a request that ran past its deadline."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"The request ran past its deadline of {seconds} s.")
        self.seconds = seconds


@dataclass
class Deadline:
    seconds: int
    expires_at: float
    queries_running: int = 0
    stopped: bool = False

    @classmethod
    def starting_now(cls, seconds: int) -> "Deadline":
        return cls(seconds=seconds, expires_at=time.monotonic() + seconds)

    def has_passed(self) -> bool:
        return time.monotonic() >= self.expires_at


def current_deadline() -> Deadline | None:
    return getattr(current, "deadline", None)


@contextmanager
def request_deadline(seconds: int) -> Iterator[Deadline]:
    """Runs the block as a request with `seconds` to finish."""
    deadline = Deadline.starting_now(seconds)
    current.deadline = deadline
    timed = start_the_timer(deadline)
    try:
        yield deadline
    finally:
        deadline.stopped = True
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
        current.deadline = None


def stop_the_timer() -> Deadline | None:
    """Stops the current request's timer (before an error answer is built); its deadline."""
    deadline = current_deadline()
    if deadline is not None:
        deadline.stopped = True
    return deadline


def ran_past_its_deadline(exception: Exception) -> bool:
    """Whether `exception` ended a request because its deadline passed: the timer's own
    exception, or a statement cancelled or interrupted after it."""
    if isinstance(exception, DeadlineExceeded):
        return True
    deadline = current_deadline()
    return (
        isinstance(exception, OperationalError) and deadline is not None and deadline.has_passed()
    )


# The Python timer ----------------------------------------------------------------------


def start_the_timer(deadline: Deadline) -> bool:
    """SIGALRM at the deadline, in the main thread only (signals reach no other), and only
    while no other timer runs; whether it was set."""
    if not can_set_a_timer():
        return False
    handle_alarms()
    signal.setitimer(signal.ITIMER_REAL, deadline.seconds)
    return True


def can_set_a_timer() -> bool:
    if threading.current_thread() is not threading.main_thread():
        return False
    return signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# The handler SIGALRM had before ours, which gets the alarms no request set.
handler_before = {}


def handle_alarms() -> None:
    """Installs `on_alarm` once: installing a handler costs more than a request's timer."""
    if signal.getsignal(signal.SIGALRM) is not on_alarm:
        handler_before["handler"] = signal.signal(signal.SIGALRM, on_alarm)


def on_alarm(signum, frame) -> None:
    deadline = current_deadline()
    if deadline is None:
        previous = handler_before.get("handler")
        if callable(previous):
            previous(signum, frame)
    elif not deadline.stopped:
        deadline_reached(deadline)


def deadline_reached(deadline: Deadline) -> None:
    if deadline.queries_running or any_postgres_command_running():
        cancel_postgres_commands()
        signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
        return
    deadline.stopped = True
    raise DeadlineExceeded(deadline.seconds)


def busy_postgres_connections() -> list:
    """This thread's PostgreSQL connections with a command under way (a query, a commit)."""
    raw_connections = [
        wrapper.connection
        for wrapper in connections.all(initialized_only=True)
        if wrapper.vendor == "postgresql" and wrapper.connection is not None
    ]
    return [raw for raw in raw_connections if not raw.closed and command_under_way(raw)]


def command_under_way(raw) -> bool:
    return raw.pgconn.transaction_status == pq.TransactionStatus.ACTIVE


def any_postgres_command_running() -> bool:
    return bool(busy_postgres_connections())


def cancel_postgres_commands() -> None:
    for raw in busy_postgres_connections():
        try:
            raw.cancel()
        except Exception:  # a cancel that cannot be sent leaves statement_timeout to act
            logger.warning("Could not cancel a query past the request deadline", exc_info=True)


# The databases' own guards ---------------------------------------------------------------


def guard_new_connection(sender, connection: BaseDatabaseWrapper, **kwargs) -> None:
    """`connection_created`: a deadline for each database connection, fitted to its vendor.
    The query guard goes first among the execute wrappers: others come and go as a stack."""
    if guard_query not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, guard_query)
    deadline = current_deadline()
    if connection.vendor == "sqlite":
        connection.connection.set_progress_handler(
            sqlite_past_the_deadline, SQLITE_STEPS_BETWEEN_CHECKS
        )
        if deadline is not None:
            wait_for_locks_until_the_deadline(connection, deadline.seconds)
    elif connection.vendor == "postgresql" and deadline is not None:
        time_out_statements(connection, deadline.seconds)


def guard_query(execute, sql, params, many, context):
    """Django's execute wrapper: refuses a query of a request past its deadline, and counts
    the queries running so that the timer never raises inside the driver."""
    deadline = current_deadline()
    if deadline is None:
        return execute(sql, params, many, context)
    if deadline.has_passed():
        raise DeadlineExceeded(deadline.seconds)
    deadline.queries_running += 1
    try:
        return execute(sql, params, many, context)
    finally:
        deadline.queries_running -= 1


def sqlite_past_the_deadline() -> bool:
    """SQLite's progress handler: True aborts the statement ("interrupted"). Outside a
    request (commands, migrations) there is no deadline."""
    deadline = current_deadline()
    return deadline is not None and deadline.has_passed()


def time_out_statements(connection: BaseDatabaseWrapper, seconds: int) -> None:
    """Sets the session's statement_timeout, on the driver's connection: Django's query
    log and query counts see only the request's own queries."""
    milliseconds = int(seconds * 1000)
    connection.connection.execute(f"SET statement_timeout = {milliseconds}")


def wait_for_locks_until_the_deadline(connection: BaseDatabaseWrapper, seconds: int) -> None:
    """SQLite waits for another writer's lock without running the progress handler: a web
    request's connection waits no longer than the deadline (commands keep their 20 s)."""
    connection.connection.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
