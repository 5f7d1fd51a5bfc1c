"""Read replicas for read-heavy API traffic (`DATABASE_REPLICA_URLS`).

When `ReadReplicaMiddleware` lets a request read from a replica, its reads go to one
replica, picked for the whole request. Everything else runs on the primary: every write,
every read inside a transaction, every read after the request's first write, and every
request outside the middleware (management commands, the importer). Migrations run on the
primary only; the replicas receive the schema by replication.

A write on a database named outright (`.using("default")`) bypasses the router, so
bookkeeping such as an API key's last-used time leaves the request's reads where they are.

A replica that cannot be reached is left out for `CATALOG_REPLICA_RETRY_SECONDS`, and the
reads go to another replica or to the primary: checked when the request picks it, and
when a query on it fails because its connection broke (`ReadReplicaMiddleware` then
answers the request again from the primary).
"""

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, Error, connections

PRIMARY = DEFAULT_DB_ALIAS


@dataclass
class RequestDatabases:
    """Where the current request reads from, and whether it has written."""

    replica: str | None = None
    wrote: bool = False
    replica_failed: bool = False


current_request_databases: ContextVar[RequestDatabases | None] = ContextVar(
    "current_request_databases", default=None
)


@contextmanager
def request_databases() -> Iterator[RequestDatabases]:
    databases = RequestDatabases()
    token = current_request_databases.set(databases)
    try:
        yield databases
    finally:
        current_request_databases.reset(token)


def read_from_a_replica() -> None:
    """Sends the current request's reads to a replica that answers, until it writes."""
    databases = current_request_databases.get()
    if databases is None:
        return
    candidates = replicas_in_service()
    random.shuffle(candidates)
    databases.replica = next(filter(answers, candidates), None)


# When each replica that failed may be tried again (time.monotonic()), in this process.
replicas_failed_until: dict[str, float] = {}


def replicas_in_service() -> list[str]:
    now = time.monotonic()
    return [
        alias
        for alias in settings.CATALOG_READ_REPLICAS
        if replicas_failed_until.get(alias, 0.0) <= now
    ]


def answers(alias: str) -> bool:
    """Whether the replica's connection is up, or can be opened; one that cannot is
    taken out of service for a while."""
    if alias not in connections.settings:
        return True  # a replica named in CATALOG_READ_REPLICAS alone, as tests do: unchecked
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except Error:
        take_out_of_service(alias)
        return False
    return True


def configured(aliases: list[str]) -> list[str]:
    return [alias for alias in aliases if alias in connections.settings]


def take_out_of_service(alias: str) -> None:
    replicas_failed_until[alias] = time.monotonic() + settings.CATALOG_REPLICA_RETRY_SECONDS
    with suppress(Error):  # the connection is already gone
        connections[alias].close()


def noting_a_broken_replica(alias: str, databases: RequestDatabases):
    """An execute wrapper for a replica's connection: a query that fails because the
    connection broke (the replica stopped, restarted or was cut off) marks the request for
    an answer from the primary. A query that fails otherwise (a deadline) does not."""

    def wrapper(execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        except Error:
            if not connections[alias].is_usable():
                databases.replica_failed = True
            raise

    return wrapper


def in_primary_transaction() -> bool:
    return connections[PRIMARY].in_atomic_block


class ReadReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        databases = current_request_databases.get()
        if databases is None or databases.replica is None or databases.wrote:
            return PRIMARY
        return PRIMARY if in_primary_transaction() else databases.replica

    def db_for_write(self, model, **hints) -> str:
        databases = current_request_databases.get()
        if databases is not None:
            databases.wrote = True
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # Replicas hold the primary's rows, so rows read from either may be related.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name=None, **hints) -> bool:
        return db not in settings.CATALOG_READ_REPLICAS
