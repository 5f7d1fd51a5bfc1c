"""Writers racing on PostgreSQL, through a live server and real threads: no duplicates,
no 500s, no lost rows.

SQLite takes one writer at a time (IMMEDIATE transactions), and Django's test server
shares one in-memory SQLite connection between threads, so these races exist, and are
tested, on PostgreSQL only.
"""

import json
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from django.db import connection
from django.urls import reverse

from catalog.importing.run import import_paths
from catalog.models import Deployment, DeploymentSchedule
from tests.factories import ApiKeyFactory, DeploymentFactory, DeploymentScheduleFactory, FlowFactory
from tests.servers import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        f"{connection.vendor!r} != 'postgresql'",
        reason="races need concurrent writers; SQLite serialises them by design",
    ),
]
THREADS = 8


@pytest.fixture
def call() -> Callable[..., tuple[int, object]]:
    """`call(method, url, body)` over HTTP, with a write key."""
    key = ApiKeyFactory(name="racer").secret
    return lambda method, url, body=None: request(method, url, body, key)


def request(method: str, url: str, body, key: str) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(url, data=data, method=method)
    call.add_header("Content-Type", "application/json")
    call.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(call, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_concurrent_upserts_of_one_deployment_make_one_row(call, live_server):
    flow = FlowFactory()
    url = f"{live_server.url}/api/deployments/"

    def upsert(n: int):
        body = {"name": "raced", "flow_id": str(flow.id), "description": f"writer {n}"}
        return call("POST", url, body)

    results = at_once(upsert, THREADS)
    statuses = [status for status, _ in results]
    assert set(statuses) <= {200, 201}, results
    assert len({body["id"] for _, body in results}) == 1
    assert Deployment.objects.filter(flow=flow, name="raced").count() == 1
    stored = Deployment.objects.get(flow=flow, name="raced").description
    assert stored in {f"writer {n}" for n in range(THREADS)}


def test_concurrent_upserts_with_schedules_leave_one_set(call, live_server):
    flow = FlowFactory()
    url = f"{live_server.url}/api/deployments/"

    def upsert(n: int):
        schedules = [
            {"schedule": {"cron": f"{n} 9 * * *"}, "slug": "morning"},
            {"schedule": {"interval": 3600 + n}, "slug": "hourly"},
        ]
        body = {"name": "raced", "flow_id": str(flow.id), "schedules": schedules}
        return call("POST", url, body)

    results = at_once(upsert, THREADS)
    assert {status for status, _ in results} <= {200, 201}, results
    deployment = Deployment.objects.get(flow=flow, name="raced")
    assert sorted(deployment.schedules.values_list("slug", flat=True)) == ["hourly", "morning"]


def test_concurrent_patches_of_one_schedule_lose_nothing_else(call, live_server):
    deployment = DeploymentFactory()
    rows = [DeploymentScheduleFactory(deployment=deployment, slug=f"s{n}") for n in range(3)]
    target = rows[0]
    url = f"{live_server.url}/api/deployments/{deployment.id}/schedules/{target.id}"

    def patch(n: int):
        return call("PATCH", url, {"schedule": {"cron": f"{n} 6 * * *"}, "active": n % 2 == 0})

    results = at_once(patch, THREADS)
    assert {status for status, _ in results} == {204}, results
    target.refresh_from_db()
    assert target.cron in {f"{n} 6 * * *" for n in range(THREADS)}
    assert target.active == (int(target.cron.split()[0]) % 2 == 0)
    assert deployment.schedules.count() == 3


def test_concurrent_schedule_creates_with_one_slug_make_one_row(call, live_server):
    deployment = DeploymentFactory()
    url = f"{live_server.url}/api/deployments/{deployment.id}/schedules"

    def create(n: int):
        return call("POST", url, [{"schedule": {"interval": 60 * (n + 1)}, "slug": "only"}])

    results = at_once(create, THREADS)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409}, results
    assert deployment.schedules.filter(slug="only").count() == 1


def test_concurrent_patches_of_different_fields_all_land(call, live_server):
    deployment = DeploymentFactory(description="", version="0")
    url = f"{live_server.url}/api/deployments/{deployment.id}"
    fields = ["description", "version", "path", "entrypoint"]

    def patch(n: int):
        return call("PATCH", url, {fields[n]: f"value {n}"})

    results = at_once(patch, len(fields))
    assert {status for status, _ in results} == {204}, results
    deployment.refresh_from_db()
    assert [getattr(deployment, field) for field in fields] == [
        f"value {n}" for n in range(len(fields))
    ]


def test_an_admin_save_during_an_import_loses_neither(call, live_server, admin_user, tmp_path):
    from django.test import Client

    flow = FlowFactory(name="imported-flow")
    edited = DeploymentFactory(flow=flow, name="edited-in-admin", description="before")
    records = [{"name": f"bulk-{n}", "flow_name": flow.name, "tags": ["bulk"]} for n in range(2000)]
    records.append({"name": edited.name, "flow_name": flow.name, "tags": ["from-import"]})
    path = tmp_path / "bulk.json"
    path.write_text(json.dumps(records))
    client = Client()
    client.force_login(admin_user)
    change = reverse("admin:catalog_deployment_change", args=[edited.pk])
    form = client.get(change).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}

    def work(n: int):
        if n == 0:
            return import_paths([path]).summary()
        return client.post(change, {**data, "description": "after", **inline_management()})

    imported, saved = at_once(work, 2)
    assert imported == "created=2000 updated=1 unchanged=0 errors=0", imported
    assert saved.status_code == 302, saved
    edited.refresh_from_db()
    assert edited.description == "after"
    assert edited.tags == ["from-import"]
    assert Deployment.objects.filter(flow=flow).count() == 2001
    assert DeploymentSchedule.objects.filter(deployment__flow=flow).count() == 0


def inline_management() -> dict:
    return {
        "schedules-TOTAL_FORMS": "0",
        "schedules-INITIAL_FORMS": "0",
        "schedules-MIN_NUM_FORMS": "0",
        "schedules-MAX_NUM_FORMS": "1000",
    }


def test_concurrent_creates_of_one_flow_give_one_flow(call, live_server):
    url = f"{live_server.url}/api/flows/"
    results = at_once(lambda n: call("POST", url, {"name": "raced-flow"}), THREADS)
    assert {status for status, _ in results} <= {200, 201}, results
    assert len({body["id"] for _, body in results}) == 1
