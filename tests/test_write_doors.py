"""API, admin and importer refuse the same bad inputs naming the same field; twins store alike."""

import copy
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.models import (
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    Variable,
    WorkPool,
)
from tests.factories import ConcurrencyLimitFactory, DeploymentFactory, FlowFactory
from tests.replay import database_fingerprint

pytestmark = pytest.mark.django_db

NAN, INF = float("nan"), float("inf")
SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}}
ENFORCED = {"enforce_parameter_schema": True, "parameter_openapi_schema": SCHEMA}
HOURLY = {"interval": 3600, "anchor_date": "2026-01-01T00:00:00Z"}
AT_NINE = {"cron": "0 9 * * *"}
DAILY = {"rrule": "FREQ=DAILY"}
# `{"x": "aaa…"}` of exactly this many bytes of compact JSON (`{"x":""}` is 8 bytes).
MAX_PARAMETERS = {"x": "a" * (524_288 - 8)}
TOO_LARGE_PARAMETERS = {"x": "a" * (524_289 - 8)}


def k_label(row) -> Any:
    return row.labels.get("k")


# The cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One rule: `bad` breaks it, `good` (its twin) keeps it. Each goes at `path` inside
    Prefect's JSON of one object (the part before the first "." of `id` names its kind;
    "schedule" means a deployment's schedule), around which `extra` holds what else the
    object needs. A twin must be stored as `stored` (by default `good` itself), read
    from the new row by `read` (a column name or a function; by default the column the
    path names).

    `detail`: the API refuses this input in Prefect's `{"detail": ...}` shape, without a
    `loc`; the detail must contain this text, which names the field.
    `route`: "create" makes a new object; "update" changes the fixture's concurrency
    limit (API PATCH, admin change form, importer record with its id); "schedules" sends
    the API's schedules to `POST /api/deployments/{id}/schedules`, the only API route
    where the field survives (the admin and the importer still make a new deployment).
    `doors`: the doors through which the input can be expressed at all.
    `api_message`: Prefect checks this rule in a validator of the whole body (or of the
    schedule), so its 422 names the object, not the field, with the field's problem in
    `msg`: a `loc` that leads to the field and a `msg` containing this text name it.
    """

    id: str
    path: tuple
    bad: Any
    good: Any
    extra: dict = field(default_factory=dict)
    stored: Any = ...
    read: str | Callable | None = None
    detail: str | None = None
    route: str = "create"
    doors: tuple = ("api", "admin", "importer")
    api_message: str | None = None

    @property
    def kind(self) -> str:
        return self.id.split(".")[0]

    @property
    def expected(self) -> Any:
        return self.good if self.stored is ... else self.stored


def schedule(name: str, key: str, bad, good, rule: dict | None = None, **options) -> Case:
    """A case about a deployment's one schedule: `key` is a field of the schedule rule
    (cron, interval, ...) when `rule` is given, else a field of the schedule entry."""
    if rule is not None:
        path = ("schedules", 0, "schedule", key)
        entry = {"schedule": {k: v for k, v in rule.items() if k != key}}
    else:
        path, entry = ("schedules", 0, key), {"schedule": dict(HOURLY)}
    return Case(f"schedule.{name}", path, bad, good, extra={"schedules": [entry]}, **options)


TAGS = [f"t{n}" for n in range(101)]

CASES = [
    # Deployments: API POST /api/deployments/, the admin's add form, an importer record.
    # Prefect's own server stores an empty deployment name (the scenario capture
    # dep_create_empty_name_201), so every door takes it; a name too long is its twin.
    Case("deployment.name-empty-as-prefect", ("name",), "n" * 256, ""),
    Case("deployment.name-too-long", ("name",), "n" * 256, "n" * 255),
    Case(
        "deployment.name-slash",
        ("name",),
        "a/b",
        "a-b",
        detail="Deployment names may not contain",
    ),
    Case("deployment.name-nul", ("name",), "a\x00b", "ab"),
    Case("deployment.version-too-long", ("version",), "v" * 256, "v" * 255),
    Case("deployment.version-nul", ("version",), "1\x00", "1"),
    Case("deployment.tags-too-many", ("tags",), TAGS, TAGS[:100]),
    Case("deployment.tag-too-long", ("tags",), ["x" * 256], ["x" * 255]),
    Case("deployment.tag-nul", ("tags",), ["a\x00"], ["a"]),
    Case("deployment.description-nul", ("description",), "a\x00b", "ab"),
    Case("deployment.entrypoint-nul", ("entrypoint",), "flows.py:m\x00", "flows.py:main"),
    Case("deployment.path-nul", ("path",), "/srv\x00", "/srv"),
    Case(
        "deployment.labels-nested",
        ("labels",),
        {"k": {"x": 1}},
        {"k": "v"},
        stored="v",
        read=k_label,
    ),
    Case("deployment.labels-nan", ("labels",), {"k": NAN}, {"k": 1.5}, stored=1.5, read=k_label),
    Case(
        "deployment.labels-nul", ("labels",), {"k": "v\x00"}, {"k": "v"}, stored="v", read=k_label
    ),
    Case("deployment.parameters-nan", ("parameters",), {"x": NAN}, {"x": 1.5}),
    Case("deployment.parameters-infinity", ("parameters",), {"x": INF}, {"x": 1.5}),
    Case("deployment.parameters-nul", ("parameters",), {"x": "a\x00"}, {"x": "a"}),
    Case("deployment.parameters-too-large", ("parameters",), TOO_LARGE_PARAMETERS, MAX_PARAMETERS),
    Case(
        "deployment.parameters-int-beyond-64-bits", ("parameters",), {"x": 2**64}, {"x": 2**64 - 1}
    ),
    Case(
        "deployment.parameters-off-schema",
        ("parameters",),
        {"x": "a"},
        {"x": 1},
        ENFORCED,
        api_message="Validation failed for field 'x'",
    ),
    Case("deployment.parameters-not-an-object", ("parameters",), [1], {}),
    Case("deployment.job_variables-not-an-object", ("job_variables",), [1], {}),
    Case("deployment.job_variables-nan", ("job_variables",), {"x": NAN}, {"x": 1.5}),
    Case("deployment.pull_steps-not-objects", ("pull_steps",), [1], [{"step": {}}]),
    Case(
        "deployment.parameter_openapi_schema-not-an-object",
        ("parameter_openapi_schema",),
        [1],
        {"type": "object", "properties": {}},
    ),
    Case(
        "deployment.parameter-schema-invalid",
        ("parameter_openapi_schema",),
        {"type": "bogus"},
        {"type": "object"},
        {"enforce_parameter_schema": True},
        api_message="not a valid json schema",
    ),
    Case(
        "deployment.storage-document-id-not-a-uuid",
        ("storage_document_id",),
        "not-a-uuid",
        "6f2c1e0a-5b4d-4c3e-9a8b-7d6e5f4a3b2c",
        stored=uuid.UUID("6f2c1e0a-5b4d-4c3e-9a8b-7d6e5f4a3b2c"),
    ),
    # The deprecated `concurrency_limit: N` makes the deployment's own limit; the admin
    # only links an existing limit, so N cannot be typed there.
    Case(
        "deployment.concurrency-limit-zero",
        ("concurrency_limit",),
        0,
        1,
        read=lambda row: row.global_concurrency_limit.limit,
        doors=("api", "importer"),
    ),
    Case(
        "deployment.concurrency-limit-beyond-32-bits",
        ("concurrency_limit",),
        2**31,
        2**31 - 1,
        read=lambda row: row.global_concurrency_limit.limit,
        doors=("api", "importer"),
    ),
    Case(
        "deployment.grace-period-59",
        ("concurrency_options", "grace_period_seconds"),
        59,
        60,
        {"concurrency_options": {"collision_strategy": "ENQUEUE"}},
    ),
    Case(
        "deployment.grace-period-86401",
        ("concurrency_options", "grace_period_seconds"),
        86401,
        86400,
        {"concurrency_options": {"collision_strategy": "ENQUEUE"}},
    ),
    Case(
        "deployment.collision-strategy-unknown",
        ("concurrency_options", "collision_strategy"),
        "QUEUE",
        "CANCEL_NEW",
    ),
    # Schedules: in POST /api/deployments/ (or the schedules route), the admin's inline,
    # an importer record's `schedules`.
    schedule("cron-invalid", "cron", "61 * * * *", "59 * * * *", rule={}),
    schedule(
        "cron-never-fires", "cron", "0 0 30 2 *", "0 0 28 2 *", rule={}, api_message="never fires"
    ),
    schedule("cron-hashed", "cron", "H 9 * * *", "0 9 * * *", rule={}),
    schedule(
        "timezone-unknown",
        "timezone",
        "Mars/Base",
        "Europe/Berlin",
        rule=AT_NINE,
        api_message="Invalid timezone",
    ),
    schedule("rrule-timezone-unknown", "timezone", "xxEurope/Parisxx", "Europe/Paris", rule=DAILY),
    schedule("interval-zero", "interval", 0, 1, rule=HOURLY),
    schedule("interval-nan", "interval", NAN, 60, rule=HOURLY),
    schedule(
        "anchor-date-not-a-date",
        "anchor_date",
        "not a date",
        "2026-01-01T00:00:00Z",
        rule=HOURLY,
        stored=datetime(2026, 1, 1, tzinfo=UTC),
    ),
    schedule(
        "anchor-date-out-of-range",
        "anchor_date",
        "0001-01-01T00:00:00+15:00",
        "0001-01-02T00:00:00+15:00",
        rule=HOURLY,
        stored=datetime(1, 1, 1, 9, tzinfo=UTC),
    ),
    schedule(
        "rrule-too-long",
        "rrule",
        "FREQ=DAILY;" + "BYHOUR=1;" * 800,
        "FREQ=DAILY;BYHOUR=1",
        rule={},
        stored="DTSTART:20200101T000000\nFREQ=DAILY;BYHOUR=1",
    ),
    schedule(
        "rrule-bogus",
        "rrule",
        "FREQ=BOGUS",
        "FREQ=DAILY",
        rule={},
        stored="DTSTART:20200101T000000\nFREQ=DAILY",
    ),
    schedule("max-runs-51", "max_scheduled_runs", 51, 50, route="schedules"),
    schedule("max-runs-0", "max_scheduled_runs", 0, 1, route="schedules"),
    schedule("parameters-nan", "parameters", {"x": NAN}, {"x": 1.5}),
    schedule("parameters-not-an-object", "parameters", [1], {}),
    schedule("slug-too-long", "slug", "s" * 256, "s" * 255),
    # Global concurrency limits: API POST /api/v2/concurrency_limits/ (PATCH for
    # updates), the admin's add (change) form, an importer bundle's `concurrency_limits`.
    Case("limit.slot-decay-infinity", ("slot_decay_per_second",), INF, 0.5),
    Case("limit.slot-decay-nan", ("slot_decay_per_second",), NAN, 0.5),
    Case("limit.slot-decay-negative", ("slot_decay_per_second",), -1, 0),
    Case("limit.limit-negative", ("limit",), -1, 0),
    Case("limit.limit-beyond-32-bits", ("limit",), 2**31, 2**31 - 1),
    Case("limit.active-slots-negative", ("active_slots",), -1, 0),
    Case("limit.name-slash", ("name",), "a/b", "a-b"),
    Case("limit.name-empty", ("name",), "", "x"),
    Case("limit.name-too-long", ("name",), "n" * 256, "n" * 255),
    Case("limit.update-slot-decay-infinity", ("slot_decay_per_second",), INF, 0.5, route="update"),
    Case("limit.update-slot-decay-nan", ("slot_decay_per_second",), NAN, 0.5, route="update"),
    Case("limit.update-slot-decay-negative", ("slot_decay_per_second",), -1, 0, route="update"),
    Case("limit.update-limit-negative", ("limit",), -1, 0, route="update"),
    Case("limit.update-limit-beyond-32-bits", ("limit",), 2**31, 2**31 - 1, route="update"),
    Case("limit.update-name-slash", ("name",), "a/b", "a-b", route="update"),
    # Flows: API POST /api/flows/, the admin's add form, an importer bundle's `flows`.
    Case("flow.name-slash", ("name",), "a/b", "a-b"),
    Case("flow.name-empty", ("name",), "", "x"),
    Case("flow.name-too-long", ("name",), "n" * 256, "n" * 255),
    Case("flow.name-nul", ("name",), "a\x00b", "ab"),
    Case("flow.tags-too-many", ("tags",), TAGS, TAGS[:100]),
    Case("flow.tag-too-long", ("tags",), ["x" * 256], ["x" * 255]),
    Case("flow.labels-nested", ("labels",), {"k": {"x": 1}}, {"k": "v"}),
    Case("flow.labels-nan", ("labels",), {"k": NAN}, {"k": 1.5}),
    # Work pools: API POST /api/work_pools/, the admin's add form, an importer bundle's
    # `work_pools`.
    Case(
        "pool.name-reserved",
        ("name",),
        "prefect-pool",
        "my-pool",
        detail="Work pools starting with 'Prefect' are reserved",
    ),
    Case("pool.name-slash", ("name",), "a/b", "a-b"),
    Case("pool.name-empty", ("name",), "", "x"),
    Case("pool.concurrency-limit-negative", ("concurrency_limit",), -1, 0),
    Case("pool.concurrency-limit-beyond-32-bits", ("concurrency_limit",), 2**31, 2**31 - 1),
    Case("pool.base-job-template-not-an-object", ("base_job_template",), [], {}),
    Case(
        "pool.base-job-template-nan",
        ("base_job_template",),
        {"job_configuration": {"x": NAN}, "variables": {"properties": {}}},
        {"job_configuration": {"x": 1.5}, "variables": {"properties": {}}},
    ),
    Case(
        "pool.base-job-template-undeclared-variable",
        ("base_job_template",),
        {"job_configuration": {"x": "{{ y }}"}, "variables": {"properties": {}}},
        {"job_configuration": {"x": "{{ y }}"}, "variables": {"properties": {"y": {}}}},
    ),
    Case("pool.storage-configuration-not-an-object", ("storage_configuration",), [], {}),
    Case("pool.type-too-long", ("type",), "t" * 256, "t" * 255),
    # Variables: API POST /api/variables/, the admin's add form, an importer bundle's
    # `variables` (which the importer may not know).
    Case("variable.name-upper-case", ("name",), "Bad", "good"),
    Case("variable.name-too-long", ("name",), "n" * 256, "n" * 255),
    Case("variable.value-too-large", ("value",), "a" * (5001 - 2), "a" * (5000 - 2)),
    Case("variable.value-int-beyond-64-bits", ("value",), 2**64, 2**64 - 1),
    Case("variable.value-nan", ("value",), {"x": NAN}, {"x": 1.5}),
    Case("variable.tags-too-many", ("tags",), TAGS, TAGS[:100]),
    Case("variable.tag-too-long", ("tags",), ["x" * 256], ["x" * 255]),
]

# The smallest valid object of each kind, as Prefect's JSON; a case puts its value in it.
BASES = {
    "deployment": {"name": "doors-new"},
    "schedule": {"name": "doors-new"},
    "limit": {"name": "doors-new-limit", "limit": 1},
    "flow": {"name": "doors-new-flow"},
    "pool": {"name": "doors-new-pool", "type": "process"},
    "variable": {"name": "doors_new_variable", "value": "v", "tags": []},
}
MODELS = {
    "deployment": Deployment,
    "schedule": DeploymentSchedule,
    "limit": ConcurrencyLimit,
    "flow": Flow,
    "pool": WorkPool,
    "variable": Variable,
}
API_ROUTES = {
    "deployment": "/api/deployments/",
    "schedule": "/api/deployments/",
    "limit": "/api/v2/concurrency_limits/",
    "flow": "/api/flows/",
    "pool": "/api/work_pools/",
    "variable": "/api/variables/",
}
BUNDLE_KEYS = {
    "deployment": "deployments",
    "schedule": "deployments",
    "limit": "concurrency_limits",
    "flow": "flows",
    "pool": "work_pools",
    "variable": "variables",
}
# Fields that Prefect's JSON nests and the catalog's row (and so the admin's form) does not.
COLUMNS = {
    ("concurrency_options", "grace_period_seconds"): "concurrency_grace_period_seconds",
    ("concurrency_options", "collision_strategy"): "concurrency_collision_strategy",
}


# Where each door names a field ----------------------------------------------------------


def places(case: Case) -> dict[str, Any]:
    """The mapping from a case's canonical path, e.g. `("schedules", 0, "schedule",
    "cron")`, to the place where each door names that field when it refuses the input.
    A door names the field when it names this place or a place inside it (the API's
    `["body", "tags", 0]` names `("tags",)`).

    - api: the `loc` of a 422 error, `["body", *path]` (on the schedules route the body
      is the list of schedules, so without the leading "schedules"). Items pydantic
      adds inside a union (`UNION_TAG`: "function-after[validate_timezone(),
      CronSchedule]", "RRuleSchedule") are left out before comparing; the 422 may list
      several errors and one must match, but not one of a union member the input is not
      (`relevant_errors`). Some refusals have Prefect's `{"detail": "..."}` shape and no
      `loc` (a deployment name with "/" is a 422, a work pool name starting with
      "prefect" a 403): for those the case states in `detail` a substring of the detail
      that names the field. Where Prefect validates a rule on the whole body (or
      schedule), the case states in `api_message` the text of `msg` that names the field,
      and a `loc` leading to the field counts.
    - admin: `(None, name)` for field `name` of the main form: the path's first key, or
      the column a nested key is stored in (`COLUMNS`: `concurrency_options.
      grace_period_seconds` is `concurrency_grace_period_seconds`); `(n, name)` for
      field `name` of inline form n of the `schedules` formset, which holds the rule's
      fields and the entry's alike (no "schedule" level).
    - importer: the path in the problem line `file: path: message`: the record's place
      in its bundle, then the path with list indexes in brackets
      (`deployments[0].schedules[0].schedule.cron`).
    """
    path = case.path
    api = ["body", *(path[1:] if case.route == "schedules" else path)]
    if path[0] == "schedules":
        admin = (path[1], path[-1])
    else:
        admin = (None, COLUMNS.get(path[:2], path[0]))
    importer = f"{BUNDLE_KEYS[case.kind]}[0]"
    for part in path:
        importer += f"[{part}]" if isinstance(part, int) else f".{part}"
    return {"api": api, "admin": admin, "importer": importer}


# Items pydantic adds to a `loc` inside a union: the member's tag.
UNION_TAG = re.compile(r"\[|^(Interval|Cron|RRule)Schedule$")
# Errors that show the input is not of this union member.
WRONG_MEMBER = {"extra_forbidden", "missing"}


def api_names_field(body: dict, case: Case) -> bool:
    want = places(case)["api"]
    for error in relevant_errors(body):
        loc = [part for part in error["loc"] if not is_union_tag(part)]
        if loc[: len(want)] == want:
            return True
        if case.api_message and case.api_message in error["msg"] and want[: len(loc)] == loc:
            return True
    return case.detail is not None and case.detail in str(body.get("detail", ""))


def relevant_errors(body: dict) -> list[dict]:
    """A 422's errors but those of a union member the input is not: a member with an
    `extra_forbidden` or `missing` error (an interval schedule's "cron: Extra inputs are
    not permitted" when the input is a cron schedule)."""
    errors = body.get("exception_detail") or []
    wrong = {member(error["loc"]) for error in errors if error["type"] in WRONG_MEMBER}
    return [error for error in errors if member(error["loc"]) not in wrong - {()}]


def is_union_tag(part) -> bool:
    return isinstance(part, str) and bool(UNION_TAG.search(part))


def member(loc: list) -> tuple:
    """The union member an error comes from: its `loc` up to the last union tag (`()`
    outside any union)."""
    tags = [n for n, part in enumerate(loc) if is_union_tag(part)]
    return tuple(loc[: tags[-1] + 1]) if tags else ()


def importer_names_field(message: str, source: str, case: Case) -> bool:
    start = f"{source}: {places(case)['importer']}"
    return any(
        line.startswith(start) and line[len(start) : len(start) + 1] in ":.["
        for line in message.splitlines()
    )


# Putting a value in an object -----------------------------------------------------------


def described(case: Case, value: Any) -> dict:
    """Prefect's JSON of the case's object with `value` at its path; for an update, only
    the keys sent."""
    base = {} if case.route == "update" else BASES[case.kind]
    obj = copy.deepcopy({**base, **case.extra})
    target = obj
    for key in case.path[:-1]:
        target = target[key] if isinstance(target, list) else target.setdefault(key, {})
    target[case.path[-1]] = value
    return obj


def as_text(value: Any) -> str:
    """A form field's text: strings as they are, numbers as JSON writes them (`NaN`)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def limit_json(limit: ConcurrencyLimit) -> dict:
    fields = ["name", "limit", "active", "active_slots", "denied_slots"]
    rates = ["slot_decay_per_second", "avg_slot_occupancy_seconds"]
    return {"id": str(limit.id), **{name: getattr(limit, name) for name in fields + rates}}


# The doors ------------------------------------------------------------------------------


@dataclass
class Rows:
    """The fixture's rows: the flow new deployments belong to, a deployment for the API's
    schedules route, and a concurrency limit for updates."""

    flow: Flow
    deployment: Deployment
    limit: ConcurrencyLimit


@pytest.fixture
def rows() -> Rows:
    flow = FlowFactory(name="doors-flow")
    deployment = DeploymentFactory(flow=flow, name="doors-existing")
    return Rows(flow, deployment, ConcurrencyLimitFactory(name="doors-limit", limit=5))


class Api:
    """Prefect's routes through DRF's test client, as a write key."""

    def __init__(self, request, rows: Rows) -> None:
        self.client = request.getfixturevalue("api_client")
        self.client.raise_request_exception = False
        self.rows = rows

    def send(self, case: Case, value: Any):
        body, method, path = described(case, value), "POST", API_ROUTES[case.kind]
        if case.route == "schedules":
            body, path = body["schedules"], f"/api/deployments/{self.rows.deployment.id}/schedules"
        elif case.route == "update":
            method, path = "PATCH", f"{path}{self.rows.limit.id}"
        elif case.kind in ("deployment", "schedule"):
            body["flow_id"] = str(self.rows.flow.id)
        return self.client.generic(method, path, json.dumps(body), content_type="application/json")

    def refusal(self, response, case: Case) -> str | None:
        """What is wrong with the answer as a refusal naming the field, if anything."""
        if not 400 <= response.status_code < 500:
            return f"API answered {response.status_code}, not a 4xx"
        body = response.json()
        if not api_names_field(body, case):
            return f"API refused without naming {places(case)['api']}: {summary(body)}"
        return None

    def acceptance(self, response) -> str | None:
        if 200 <= response.status_code < 300:
            return None
        return f"API answered {response.status_code}: {summary(response.json())}"


def summary(body: dict) -> str:
    """An API error body without the echoed request (which may be half a megabyte)."""
    if "exception_detail" in body:
        return str([(e["loc"], e["msg"][:120]) for e in relevant_errors(body)])[:1000]
    return str(body)[:1000]


class Admin:
    """The add (or change) form, posted by a logged-in superuser."""

    def __init__(self, request, rows: Rows) -> None:
        self.client = request.getfixturevalue("admin_client")
        self.client.raise_request_exception = False
        self.rows = rows

    def send(self, case: Case, value: Any):
        obj, kind = described(case, value), case.kind
        if case.route == "update":
            url = reverse("admin:catalog_concurrencylimit_change", args=[self.rows.limit.pk])
            return self.client.post(url, limit_form({**limit_json(self.rows.limit), **obj}))
        model = MODELS["deployment" if kind == "schedule" else kind]._meta.model_name
        form = deployment_form(obj, self.rows.flow) if model == "deployment" else FORMS[kind](obj)
        return self.client.post(reverse(f"admin:catalog_{model}_add"), form)

    def refusal(self, response, case: Case) -> str | None:
        if response.status_code != 200:
            return f"admin answered {response.status_code}, not the form again"
        n, name = places(case)["admin"]
        if n is None:
            errors = response.context["adminform"].form.errors
        else:
            errors = response.context["inline_admin_formsets"][0].formset.errors[n]
        if name not in errors:
            return f"admin refused without an error on {name!r} (form {n}): {dict(errors)}"
        return None

    def acceptance(self, response) -> str | None:
        if response.status_code == 302:
            return None
        if response.status_code != 200:
            return f"admin answered {response.status_code}"
        return f"admin refused it: {admin_errors(response)}"


def admin_errors(response) -> str:
    errors = [dict(response.context["adminform"].form.errors)]
    for inline in response.context["inline_admin_formsets"] or []:
        errors += [dict(e) for e in inline.formset.errors if e]
    return str(errors)[:1000]


def deployment_form(obj: dict, flow: Flow) -> dict:
    """The add form of a deployment with the given fields, its schedules in the inline."""
    options = obj.get("concurrency_options") or {}
    entries = obj.get("schedules", [])
    data = {
        "name": obj["name"],
        "flow": str(flow.pk),
        "version": obj.get("version") or "",
        "description": obj.get("description") or "",
        "tags": ", ".join(obj.get("tags", [])),
        "labels": as_json(obj.get("labels", {})),
        "status": "NOT_READY",
        "work_queue": "",
        "entrypoint": obj.get("entrypoint") or "",
        "path": obj.get("path") or "",
        "pull_steps": as_json(obj.get("pull_steps", [])),
        "job_variables": as_json(obj.get("job_variables", {})),
        "storage_document_id": obj.get("storage_document_id") or "",
        "infrastructure_document_id": "",
        "parameters": as_json(obj.get("parameters", {})),
        "parameter_openapi_schema": as_json(obj.get("parameter_openapi_schema", {})),
        "global_concurrency_limit": "",
        "concurrency_collision_strategy": options.get("collision_strategy", ""),
        "concurrency_grace_period_seconds": as_text(options.get("grace_period_seconds")),
        "schedules-TOTAL_FORMS": str(len(entries)),
        "schedules-INITIAL_FORMS": "0",
        "schedules-MIN_NUM_FORMS": "0",
        "schedules-MAX_NUM_FORMS": "1000",
    }
    if obj.get("enforce_parameter_schema", True):
        data["enforce_parameter_schema"] = "on"
    for n, entry in enumerate(entries):
        data.update(schedule_form(n, entry))
    return data


def schedule_form(n: int, entry: dict) -> dict:
    """Inline form n of the schedules formset for one entry of Prefect's `schedules`."""
    rule = entry["schedule"]
    fields = {
        "kind": next(kind for kind in ("interval", "cron", "rrule") if kind in rule),
        "interval": as_text(rule.get("interval")),
        "anchor_date": as_text(rule.get("anchor_date")),
        "cron": rule.get("cron", ""),
        "rrule": rule.get("rrule", ""),
        "timezone": rule.get("timezone") or "",
        "max_scheduled_runs": as_text(entry.get("max_scheduled_runs")),
        "parameters": as_json(entry.get("parameters", {})),
        "slug": entry.get("slug") or "",
    }
    if entry.get("active", True):
        fields["active"] = "on"
    if rule.get("day_or", True):
        fields["day_or"] = "on"
    return {f"schedules-{n}-{key}": value for key, value in fields.items()}


def limit_form(obj: dict) -> dict:
    data = {
        "name": obj["name"],
        "limit": as_text(obj["limit"]),
        "active_slots": as_text(obj.get("active_slots", 0)),
        "denied_slots": as_text(obj.get("denied_slots", 0)),
        "slot_decay_per_second": as_text(obj.get("slot_decay_per_second", 0.0)),
        "avg_slot_occupancy_seconds": as_text(obj.get("avg_slot_occupancy_seconds", 2.0)),
    }
    return {**data, "active": "on"} if obj.get("active", True) else data


def flow_form(obj: dict) -> dict:
    """The flow admin shows tags and labels as JSON text."""
    return {
        "name": obj["name"],
        "tags": as_json(obj.get("tags", [])),
        "labels": as_json(obj.get("labels", {})),
    }


def pool_form(obj: dict) -> dict:
    return {
        "name": obj["name"],
        "description": obj.get("description") or "",
        "type": obj["type"],
        "base_job_template": as_json(obj.get("base_job_template", {})),
        "concurrency_limit": as_text(obj.get("concurrency_limit")),
        "status": "",
        "default_queue": "",
        "storage_configuration": as_json(obj.get("storage_configuration", {})),
    }


def variable_form(obj: dict) -> dict:
    """The variable admin takes tags as comma-separated text and the value as JSON."""
    return {"name": obj["name"], "value": as_json(obj["value"]), "tags": ", ".join(obj["tags"])}


FORMS = {"limit": limit_form, "flow": flow_form, "pool": pool_form, "variable": variable_form}


class Importer:
    """`manage.py import_deployments` of a bundle file holding the one record."""

    def __init__(self, request, rows: Rows) -> None:
        self.path = request.getfixturevalue("tmp_path") / "import.json"
        self.rows = rows

    def send(self, case: Case, value: Any) -> str | None:
        """The import's CommandError message, or None when it was accepted."""
        record = described(case, value)
        if case.kind in ("deployment", "schedule"):
            record["flow_name"] = self.rows.flow.name
        elif case.route == "update":
            record = {**limit_json(self.rows.limit), **record}
        else:
            record = {"id": str(uuid.uuid4()), **record}
        self.path.write_text(json.dumps({BUNDLE_KEYS[case.kind]: [record]}))
        try:
            call_command("import_deployments", str(self.path), "--quiet")
        except CommandError as exc:
            return str(exc)
        return None

    def refusal(self, message: str | None, case: Case) -> str | None:
        if message is None:
            return "importer accepted it"
        if not importer_names_field(message, str(self.path), case):
            return f"importer refused without naming {places(case)['importer']}: {message[:1000]}"
        return None

    def acceptance(self, message: str | None) -> str | None:
        return None if message is None else f"importer refused it: {message[:1000]}"


DOORS = {"api": Api, "admin": Admin, "importer": Importer}


def stored_value(case: Case, rows: Rows) -> Any:
    """The twin's field, read back from the row the door wrote."""
    model = MODELS[case.kind]
    if case.route == "update":
        row = model.objects.get(pk=rows.limit.pk)
    else:
        fixture = {Flow: rows.flow, Deployment: rows.deployment, ConcurrencyLimit: rows.limit}
        mine = fixture.get(model)
        row = model.objects.exclude(pk=mine.pk).get() if mine else model.objects.get()
    read = case.read or COLUMNS.get(case.path[:2], case.path[-1])
    return read(row) if callable(read) else getattr(row, read)


# The test -------------------------------------------------------------------------------


PARAMS = [
    pytest.param(case, door, variant, id=f"{case.id}-{door}-{variant}")
    for case in CASES
    for door in case.doors
    for variant in ("invalid", "twin")
]


@pytest.mark.parametrize(("case", "door", "variant"), PARAMS)
def test_the_doors_agree(request, rows, case: Case, door: str, variant: str):
    through = DOORS[door](request, rows)
    if variant == "invalid":
        before = database_fingerprint()
        problems = [through.refusal(through.send(case, case.bad), case)]
        if database_fingerprint() != before:
            problems.append(f"{door} wrote to the database")
        assert problems == [None], "; ".join(filter(None, problems))
    else:
        problem = through.acceptance(through.send(case, case.good))
        assert problem is None, problem
        assert stored_value(case, rows) == case.expected
