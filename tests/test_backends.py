"""The PostgreSQL backend's health check: a healthy idle connection passes without a round
trip; one the server has dropped fails, so Django opens a new one before the request."""

import time

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql import base as postgresql_base

from tests.servers import postgres_conninfo

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        f"{connection.vendor!r} != 'postgresql'", reason="the backend is PostgreSQL's"
    ),
]


def test_a_healthy_idle_connection_is_usable_without_a_round_trip(monkeypatch):
    connection.ensure_connection()

    def round_trip(self):
        raise AssertionError("Django's check sent SELECT 1")

    monkeypatch.setattr(postgresql_base.DatabaseWrapper, "is_usable", round_trip)
    assert connection.is_usable()


def test_a_connection_the_server_dropped_is_not_usable():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(postgres_conninfo("postgres"), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while not connection.something_is_waiting() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not connection.is_usable()
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
