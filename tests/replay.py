"""Helpers for replaying requests captured from a real Prefect server and comparing the
answers by shape: ids and UTC timestamps masked, key order kept."""

import copy
import json
import re
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.test import Client

from catalog.models import ApiKey, ChangeSet, DeploymentJson, PendingChange, Version
from tests.factories import ApiKeyFactory

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
    "value",
}


def scenario_capture(directory: Path) -> tuple[list[dict], list[dict], set[str]]:
    """A scenario captured by scripts/capture_prefect_reference.py: its steps, the answers
    the real server gave, and the cases it refused."""
    steps = json.loads((directory / "scenario.json").read_text())
    lines = (directory / "captured.jsonl").read_text().splitlines()
    captured = [json.loads(line) for line in lines]
    refusals = {step["case"] for step in captured if step["status"] >= 300}
    return steps, captured, refusals


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


NOT_FINGERPRINTED = (ApiKey, DeploymentJson, ChangeSet, Version, PendingChange)


def database_fingerprint() -> list:
    """Every row of every catalog table, so that any change at all shows; but for API
    keys, whose last-used time any request may move, the kept JSON, a cache any read may
    fill, and the change history: the first write through a door records what the tests'
    factories wrote outside every door (`tests/test_history.py` checks that a refused
    write records nothing of its own)."""
    return [
        sorted(map(repr, model.objects.values_list()))
        for model in apps.get_app_config("catalog").get_models()
        if model not in NOT_FINGERPRINTED
    ]


def writer_client() -> Client:
    """A client sending a new write key, as the Prefect client sends PREFECT_API_KEY."""
    key = ApiKeyFactory()
    return Client(raise_request_exception=False, headers={"Authorization": f"Bearer {key.secret}"})


def bound(template: Any, variables: dict[str, Any]) -> Any:
    """The template with `{name}` placeholders filled in, as the capture script did."""
    if isinstance(template, str):
        whole = re.fullmatch(r"\{(\w+)\}", template)
        if whole and whole.group(1) in variables:
            return variables[whole.group(1)]
        return re.sub(
            r"\{(\w+)\}",
            lambda match: str(variables.get(match.group(1), match.group(0))),
            template,
        )
    if isinstance(template, list):
        return [bound(item, variables) for item in template]
    if isinstance(template, dict):
        return {key: bound(value, variables) for key, value in template.items()}
    return template


def generated(body: Any, generate: dict | None) -> Any:
    """Large values the scenario builds at run time (`{"a.b": {"repeat", "times"}}`)."""
    body = copy.deepcopy(body)
    for dotted, recipe in (generate or {}).items():
        *parents, last = dotted.split(".")
        target = body
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = recipe["repeat"] * recipe["times"]
    return body


def pick(document: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        document = document[int(key)] if isinstance(document, list) else document[key]
    return document


def send(client: Client, step: dict, variables: dict) -> tuple[int, dict, str]:
    path = bound(step["path"], variables)
    headers = {
        f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (step.get("headers") or {}).items()
    }
    if "raw_body" in step:
        data = step["raw_body"]
    elif step.get("body") is not None:
        body = generated(bound(step["body"], variables), step.get("generate"))
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    else:
        data = None
    if data is None:
        # `generic` sends no body at all, as the capture did (`post` would send multipart).
        response = client.generic(step["method"], path, **headers)
    else:
        method = getattr(client, step["method"].lower())
        response = method(path, data=data, content_type="application/json", **headers)
    kept = {name: response[name] for name in ("allow", "location") if response.has_header(name)}
    return response.status_code, kept, response.content.decode()


def replay_steps(steps: list[dict], refusals: set[str]) -> dict[str, tuple]:
    """Run the steps in order in a transaction that is rolled back afterwards; each answer
    is `(status, headers, text, unchanged)`. Around each step in `refusals` (the requests
    Prefect refused) the database is fingerprinted, so `unchanged` tells whether it moved."""
    answers, variables = {}, {}
    with transaction.atomic():
        client = writer_client()
        for step in steps:
            before = database_fingerprint() if step["case"] in refusals else None
            status, headers, text = send(client, step, variables)
            unchanged = before is None or before == database_fingerprint()
            answers[step["case"]] = (status, headers, text, unchanged)
            for name, dotted in (step.get("bind") or {}).items():
                variables[name] = pick(json.loads(text), dotted)
        transaction.set_rollback(True)
    return answers


def expected_location(captured: dict) -> str:
    return re.sub(r"^https?://[^/]+", "", captured["headers"]["location"])
