"""Schemathesis drives every operation of the catalog's own OpenAPI schema with generated
requests, valid and invalid: no answer is a 5xx, and every answer has a documented status,
content type and body shape.

The examples per operation are bounded (SCHEMATHESIS_EXAMPLES, default 30) so the suite
stays quick; the requests made and the statuses seen are printed at the end of the run.
"""

import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import ApiKeyFactory, DeploymentFactory, DeploymentScheduleFactory

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "30"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# What every run saw, by operation and status; printed by tests/conftest.py.
STATUSES: Counter = Counter()


schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def connections_kept_between_requests():
    """As Django's test client does: the test's transaction holds its connection, which
    the end of a request would otherwise close (schemathesis calls the WSGI app itself)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def credentials(db) -> dict[str, str]:
    """A write key, and rows for the generated ids to sometimes miss and sometimes not."""
    DeploymentScheduleFactory(deployment=DeploymentFactory(name="schemathesis"))
    return {"Authorization": f"Bearer {ApiKeyFactory(name='schemathesis').secret}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_documented(case, credentials):
    response = case.call(headers=credentials)
    STATUSES[(f"{case.method} {case.path}", response.status_code)] += 1
    case.validate_response(response, checks=CHECKS)
