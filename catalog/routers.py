"""Read replicas for read-heavy API traffic (`DATABASE_REPLICA_URLS`).

When `ReadReplicaMiddleware` lets a request read from a replica, its reads go to one
replica, picked for the whole request. Everything else runs on the primary: every write,
every read inside a transaction, every read after the request's first write, and every
request outside the middleware (management commands, the importer). Migrations run on the
primary only; the replicas receive the schema by replication.

A write on a database named outright (`.using("default")`) bypasses the router, so
bookkeeping such as an API key's last-used time leaves the request's reads where they are.
"""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

PRIMARY = DEFAULT_DB_ALIAS


@dataclass
class RequestDatabases:
    """Where the current request reads from, and whether it has written."""

    replica: str | None = None
    wrote: bool = False


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
    """Sends the current request's reads to a replica, until it writes."""
    databases = current_request_databases.get()
    if databases is not None and settings.CATALOG_READ_REPLICAS:
        databases.replica = random.choice(settings.CATALOG_READ_REPLICAS)


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
