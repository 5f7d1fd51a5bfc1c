"""Helpers for replaying requests captured from a real Prefect server and comparing the
answers by shape: ids and UTC timestamps masked, key order kept."""

import json
import re
from typing import Any

from django.apps import apps
from django.db import connection

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
UTC_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")
# JSON a user supplies, whose keys jsonb orders itself on PostgreSQL.
USER_JSON = {
    "labels",
    "parameters",
    "job_variables",
    "parameter_openapi_schema",
    "pull_steps",
    "base_job_template",
}


def masked(text: str) -> str:
    return UTC_TIMESTAMP.sub("<time>", UUID.sub("<uuid>", text))


def shape(value: Any, key: str | None = None, in_user_json: bool = False) -> Any:
    """A body with ids and UTC timestamps masked, as nested pairs so key order counts.
    On PostgreSQL the keys inside user JSON are sorted, since jsonb orders them."""
    in_user_json = in_user_json or key in USER_JSON
    if isinstance(value, dict):
        pairs = [(k, shape(v, k, in_user_json)) for k, v in value.items()]
        unordered = in_user_json and connection.vendor == "postgresql"
        return sorted(pairs) if unordered else pairs
    if isinstance(value, list):
        return [shape(item, None, in_user_json) for item in value]
    return masked(value) if isinstance(value, str) else value


def body_shape(text: str) -> Any:
    try:
        return shape(json.loads(text))
    except json.JSONDecodeError:
        return masked(text)


def database_fingerprint() -> list:
    """Every row of every catalog table, so that any change at all shows."""
    return [
        sorted(map(repr, model.objects.values_list()))
        for model in apps.get_app_config("catalog").get_models()
    ]
