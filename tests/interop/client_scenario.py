"""Drive a Prefect API with the real `prefect` client (3.9.1) and check every answer.

Run with the interop venv's python (scripts/interop-venv makes it), never the app's:

    PREFECT_API_URL=http://127.0.0.1:8000/api .venv-interop/bin/python \
        tests/interop/client_scenario.py

It prints `ok <check>` for each check that passes and ends with the line `{"checks": N}`.
On the first failure it prints `FAIL <check>: ...` (with the HTTP exchange when there is one)
and a traceback to stderr, and exits 1. It makes its own flow and deployments, with names
unique to the run, and deletes them all, so it can run again against the same server.

It was validated against a real Prefect 3.9.1 server (`prefect server start`), so a failure
against another server is that server's difference from Prefect.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import DeploymentScheduleCreate, DeploymentUpdate
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    DeploymentFilterName,
    DeploymentFilterTags,
)
from prefect.client.schemas.objects import ConcurrencyLimitStrategy, ConcurrencyOptions
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule, RRuleSchedule
from prefect.client.schemas.sorting import DeploymentSort
from prefect.exceptions import ObjectNotFound

# Names are unique to the run; INTEROP_RUN lets a caller know them (tests/test_interop.py).
RUN = os.environ.get("INTEROP_RUN") or uuid.uuid4().hex[:8]
FLOW_NAME = f"interop-flow-{RUN}"
FULL_NAME = f"interop-{RUN}-full"
MINIMAL_NAME = f"interop-{RUN}-minimal"
RUN_TAG = f"interop-{RUN}"

NEW_YORK = "America/New_York"
ANCHOR = datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
CRON = "30 9 1-7 * 1"
RRULE = "DTSTART:20200101T000000\nFREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=9;BYMINUTE=30"
PARAMETER_SCHEMA = {
    "title": "Parameters",
    "type": "object",
    "properties": {
        "name": {"title": "name", "position": 0, "type": "string"},
        "count": {"title": "count", "position": 1, "type": "integer", "default": 1},
    },
    "required": ["name"],
}
PARAMETERS = {"name": "interop", "count": 2}

checks = 0


class CheckFailed(AssertionError):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def expect_eq(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


async def expect_not_found(call: Callable[[], Any], what: str) -> None:
    try:
        result = await call()
    except ObjectNotFound:
        return
    raise CheckFailed(f"{what}: expected ObjectNotFound (HTTP 404), got {result!r}")


def describe_http(exc: BaseException) -> str:
    """The HTTP exchange behind an exception, if it has one."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        http_exc = getattr(exc, "http_exc", None) or exc
        if isinstance(http_exc, httpx.HTTPStatusError):
            request, response = http_exc.request, http_exc.response
            body = request.content.decode("utf-8", "replace")
            lines = [f"  request:  {request.method} {request.url}"]
            if body:
                lines.append(f"  sent:     {body[:2000]}")
            lines.append(f"  status:   {response.status_code}")
            lines.append(f"  answered: {response.text[:2000]}")
            return "\n".join(lines)
        if isinstance(exc, httpx.RequestError):
            return f"  request:  {exc.request.method} {exc.request.url} ({type(exc).__name__})"
        exc = exc.__cause__ or exc.__context__
    return ""


@contextmanager
def check(name: str):
    global checks
    try:
        yield
    except BaseException as exc:
        print(f"FAIL {name}: {type(exc).__name__}: {exc}", flush=True)
        detail = describe_http(exc)
        if detail:
            print(detail, flush=True)
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        raise SystemExit(1) from None
    checks += 1
    print(f"ok {name}", flush=True)


def by_slug(schedules) -> dict:
    return {schedule.slug: schedule for schedule in schedules}


def check_full_schedules(schedules, where: str) -> None:
    slugs = by_slug(schedules)
    expect_eq(sorted(slugs, key=str), ["first-monday", "hourly", "mwf"], f"{where} slugs")

    hourly = slugs["hourly"]
    expect(isinstance(hourly.schedule, IntervalSchedule), f"{where} hourly: {hourly.schedule!r}")
    expect_eq(hourly.schedule.interval, timedelta(seconds=3600), f"{where} hourly interval")
    expect_eq(hourly.schedule.anchor_date, ANCHOR, f"{where} hourly anchor_date")
    expect_eq(
        hourly.schedule.anchor_date.utcoffset(), timedelta(hours=-5), f"{where} anchor offset"
    )
    expect_eq(hourly.schedule.timezone, NEW_YORK, f"{where} hourly timezone")
    expect_eq(hourly.active, True, f"{where} hourly active")
    expect_eq(hourly.parameters, {"count": 10}, f"{where} hourly parameters")

    monday = slugs["first-monday"]
    expect(isinstance(monday.schedule, CronSchedule), f"{where} cron: {monday.schedule!r}")
    expect_eq(monday.schedule.cron, CRON, f"{where} cron")
    expect_eq(monday.schedule.day_or, False, f"{where} cron day_or")
    expect_eq(monday.schedule.timezone, NEW_YORK, f"{where} cron timezone")
    expect_eq(monday.active, True, f"{where} cron active")

    mwf = slugs["mwf"]
    expect(isinstance(mwf.schedule, RRuleSchedule), f"{where} rrule: {mwf.schedule!r}")
    expect_eq(mwf.schedule.rrule, RRULE, f"{where} rrule")
    expect_eq(mwf.schedule.timezone, NEW_YORK, f"{where} rrule timezone")
    expect_eq(mwf.active, False, f"{where} rrule active")


async def scenario(client) -> None:
    with check("api_healthcheck"):
        result = await client.api_healthcheck()
        expect(result is None, f"api_healthcheck() returned {result!r}, not None (healthy)")

    with check("api_version"):
        version = await client.api_version()
        expect(isinstance(version, str), f"/admin/version answered {version!r}, not a string")
        expect_eq(version.split(".")[0], "3", f"major version of {version!r}")
        await client.raise_for_api_version_mismatch()

    with check("create_flow_from_name"):
        flow_id = await client.create_flow_from_name(FLOW_NAME)
        expect(isinstance(flow_id, uuid.UUID), f"flow id {flow_id!r}")
        flow = await client.read_flow(flow_id)
        expect_eq(flow.name, FLOW_NAME, "flow name")

    with check("create_deployment full"):
        full_id = await client.create_deployment(
            flow_id=flow_id,
            name=FULL_NAME,
            version="1.0.0",
            description="created by client_scenario.py",
            schedules=[
                DeploymentScheduleCreate(
                    schedule=IntervalSchedule(
                        interval=timedelta(seconds=3600), anchor_date=ANCHOR, timezone=NEW_YORK
                    ),
                    active=True,
                    parameters={"count": 10},
                    slug="hourly",
                ),
                DeploymentScheduleCreate(
                    schedule=CronSchedule(cron=CRON, timezone=NEW_YORK, day_or=False),
                    active=True,
                    slug="first-monday",
                ),
                DeploymentScheduleCreate(
                    schedule=RRuleSchedule(rrule=RRULE, timezone=NEW_YORK),
                    active=False,
                    slug="mwf",
                ),
            ],
            tags=[RUN_TAG, "interop"],
            parameters=PARAMETERS,
            parameter_openapi_schema=PARAMETER_SCHEMA,
            enforce_parameter_schema=True,
            concurrency_limit=2,
            concurrency_options=ConcurrencyOptions(
                collision_strategy=ConcurrencyLimitStrategy.ENQUEUE, grace_period_seconds=300
            ),
            path="/srv",
            entrypoint="flows/interop.py:interop_flow",
            job_variables={"env": {"INTEROP": "1"}},
        )
        expect(isinstance(full_id, uuid.UUID), f"deployment id {full_id!r}")

    with check("create_deployment minimal"):
        minimal_id = await client.create_deployment(flow_id=flow_id, name=MINIMAL_NAME)
        expect(isinstance(minimal_id, uuid.UUID), f"deployment id {minimal_id!r}")
        expect(minimal_id != full_id, "the minimal deployment got the full one's id")

    with check("create_deployment again (upsert)"):
        again = await client.create_deployment(flow_id=flow_id, name=MINIMAL_NAME)
        expect_eq(again, minimal_id, "id of a second create with the same flow and name")

    with check("read_deployment full"):
        full = await client.read_deployment(full_id)
        expect_eq(full.id, full_id, "id")
        expect_eq(full.name, FULL_NAME, "name")
        expect_eq(full.flow_id, flow_id, "flow_id")
        expect_eq(full.version, "1.0.0", "version")
        expect_eq(full.description, "created by client_scenario.py", "description")
        expect_eq(full.paused, False, "paused")
        expect_eq(full.tags, [RUN_TAG, "interop"], "tags")
        expect_eq(full.labels.get("prefect.flow.id"), str(flow_id), "labels['prefect.flow.id']")
        expect_eq(full.parameters, PARAMETERS, "parameters")
        expect_eq(full.parameter_openapi_schema, PARAMETER_SCHEMA, "parameter_openapi_schema")
        expect_eq(full.enforce_parameter_schema, True, "enforce_parameter_schema")
        expect_eq(full.path, "/srv", "path")
        expect_eq(full.entrypoint, "flows/interop.py:interop_flow", "entrypoint")
        expect_eq(full.job_variables, {"env": {"INTEROP": "1"}}, "job_variables")
        expect(full.global_concurrency_limit is not None, "global_concurrency_limit is null")
        expect_eq(full.global_concurrency_limit.limit, 2, "global_concurrency_limit.limit")
        expect(full.concurrency_options is not None, "concurrency_options is null")
        expect_eq(
            full.concurrency_options.collision_strategy,
            ConcurrencyLimitStrategy.ENQUEUE,
            "concurrency_options.collision_strategy",
        )
        expect_eq(
            full.concurrency_options.grace_period_seconds,
            300,
            "concurrency_options.grace_period_seconds",
        )
        check_full_schedules(full.schedules, "schedules")

    with check("read_deployment minimal"):
        minimal = await client.read_deployment(str(minimal_id))
        expect_eq(minimal.name, MINIMAL_NAME, "name")
        expect_eq(minimal.flow_id, flow_id, "flow_id")
        expect_eq(minimal.schedules, [], "schedules")
        expect_eq(minimal.tags, [], "tags")
        expect_eq(minimal.parameters, {}, "parameters")
        expect_eq(minimal.paused, False, "paused")
        expect_eq(minimal.global_concurrency_limit, None, "global_concurrency_limit")
        expect_eq(minimal.concurrency_options, None, "concurrency_options")
        expect_eq(minimal.labels.get("prefect.flow.id"), str(flow_id), "prefect.flow.id label")
        # The client sends description=None as the string "None", and Prefect keeps it.
        expect_eq(minimal.description, "None", "description")

    with check("read_deployment_by_name"):
        named = await client.read_deployment_by_name(f"{FLOW_NAME}/{FULL_NAME}")
        expect_eq(named.id, full_id, "id of the deployment read by name")
        expect_eq(named.name, FULL_NAME, "name")

    with check("read_deployments tags all_"):
        found = await client.read_deployments(
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[RUN_TAG]))
        )
        expect_eq([d.id for d in found], [full_id], f"ids tagged {RUN_TAG}")
        found = await client.read_deployments(
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[RUN_TAG, "interop"]))
        )
        expect_eq([d.id for d in found], [full_id], f"ids tagged {RUN_TAG} and interop")
        found = await client.read_deployments(
            deployment_filter=DeploymentFilter(
                tags=DeploymentFilterTags(all_=[RUN_TAG, f"no-such-tag-{RUN}"])
            )
        )
        expect_eq(found, [], "deployments having a tag nobody has")

    with check("read_deployments name any_"):
        found = await client.read_deployments(
            deployment_filter=DeploymentFilter(
                name=DeploymentFilterName(any_=[MINIMAL_NAME, f"no-such-{RUN}"])
            )
        )
        expect_eq([d.id for d in found], [minimal_id], f"ids named {MINIMAL_NAME}")

    ours = DeploymentFilter(id=DeploymentFilterId(any_=[full_id, minimal_id]))

    with check("read_deployments id any_ NAME_ASC"):
        found = await client.read_deployments(
            deployment_filter=ours, sort=DeploymentSort.NAME_ASC, limit=10
        )
        expect_eq([d.name for d in found], [FULL_NAME, MINIMAL_NAME], "names, NAME_ASC")
        found = await client.read_deployments(
            deployment_filter=ours, sort=DeploymentSort.NAME_ASC, limit=1, offset=1
        )
        expect_eq([d.name for d in found], [MINIMAL_NAME], "names, NAME_ASC limit 1 offset 1")

    with check("read_deployments id any_ NAME_DESC"):
        found = await client.read_deployments(
            deployment_filter=ours, sort=DeploymentSort.NAME_DESC, limit=10
        )
        expect_eq([d.name for d in found], [MINIMAL_NAME, FULL_NAME], "names, NAME_DESC")
        found = await client.read_deployments(
            deployment_filter=ours, sort=DeploymentSort.NAME_DESC, limit=1
        )
        expect_eq([d.name for d in found], [MINIMAL_NAME], "names, NAME_DESC limit 1")

    with check("read_deployments id any_ CREATED_DESC"):
        found = await client.read_deployments(
            deployment_filter=ours, sort=DeploymentSort.CREATED_DESC, limit=10
        )
        expect_eq([d.id for d in found], [minimal_id, full_id], "ids, CREATED_DESC")
        found = await client.read_deployments(
            deployment_filter=ours, sort=DeploymentSort.CREATED_DESC, limit=1
        )
        expect_eq([d.id for d in found], [minimal_id], "ids, CREATED_DESC limit 1")

    with check("update_deployment"):
        await client.update_deployment(
            full_id,
            DeploymentUpdate(description="updated by client_scenario.py", tags=[RUN_TAG, "new"]),
        )
        updated = await client.read_deployment(full_id)
        expect_eq(updated.description, "updated by client_scenario.py", "description")
        expect_eq(updated.tags, [RUN_TAG, "new"], "tags")
        expect_eq(updated.version, "1.0.0", "version (not in the update)")
        expect_eq(updated.parameters, PARAMETERS, "parameters (not in the update)")
        expect_eq(updated.global_concurrency_limit.limit, 2, "global_concurrency_limit.limit")
        check_full_schedules(updated.schedules, "schedules (not in the update)")

    with check("pause_deployment"):
        await client.pause_deployment(full_id)
        paused = await client.read_deployment(full_id)
        expect_eq(paused.paused, True, "paused after pause_deployment")
        # Pausing leaves each schedule's own `active` alone.
        check_full_schedules(paused.schedules, "schedules after pause")

    with check("resume_deployment"):
        await client.resume_deployment(full_id)
        resumed = await client.read_deployment(full_id)
        expect_eq(resumed.paused, False, "paused after resume_deployment")
        check_full_schedules(resumed.schedules, "schedules after resume")

    with check("read_deployment_schedules"):
        schedules = await client.read_deployment_schedules(full_id)
        expect(
            all(s.deployment_id == full_id for s in schedules), "a schedule of another deployment"
        )
        check_full_schedules(schedules, "read_deployment_schedules")
        original_ids = {s.id for s in schedules}
        minimal_schedules = await client.read_deployment_schedules(minimal_id)
        expect_eq(minimal_schedules, [], "schedules of the minimal deployment")

    with check("create_deployment_schedules"):
        created = await client.create_deployment_schedules(
            full_id,
            [
                DeploymentScheduleCreate(
                    schedule=CronSchedule(cron="0 6 * * *", timezone="UTC"),
                    active=True,
                    max_scheduled_runs=3,
                    slug="daily",
                )
            ],
        )
        expect_eq(len(created), 1, "number of schedules created")
        new = created[0]
        expect(new.id not in original_ids, "the new schedule has an old schedule's id")
        expect_eq(new.deployment_id, full_id, "deployment_id")
        expect_eq(new.schedule.cron, "0 6 * * *", "cron")
        expect_eq(new.schedule.day_or, True, "day_or (default)")
        expect_eq(new.max_scheduled_runs, 3, "max_scheduled_runs")
        expect_eq(new.slug, "daily", "slug")
        schedules = await client.read_deployment_schedules(full_id)
        expect_eq({s.id for s in schedules}, original_ids | {new.id}, "schedule ids read back")
        read_new = next(s for s in schedules if s.id == new.id)
        expect(isinstance(read_new.schedule, CronSchedule), f"read back {read_new.schedule!r}")
        expect_eq(read_new.schedule.cron, "0 6 * * *", "cron read back")
        expect_eq(read_new.active, True, "active read back")
        expect_eq(read_new.max_scheduled_runs, 3, "max_scheduled_runs read back")

    with check("update_deployment_schedule"):
        await client.update_deployment_schedule(
            full_id, new.id, active=False, schedule=IntervalSchedule(interval=600)
        )
        schedules = await client.read_deployment_schedules(full_id)
        expect_eq({s.id for s in schedules}, original_ids | {new.id}, "schedule ids read back")
        changed = next(s for s in schedules if s.id == new.id)
        expect_eq(changed.active, False, "active after the update")
        expect(isinstance(changed.schedule, IntervalSchedule), f"schedule {changed.schedule!r}")
        expect_eq(changed.schedule.interval, timedelta(seconds=600), "interval")
        expect_eq(changed.schedule.timezone, "UTC", "timezone")
        expect(changed.schedule.anchor_date is not None, "anchor_date is missing")
        expect_eq(changed.slug, "daily", "slug (not in the update)")
        expect_eq(changed.max_scheduled_runs, 3, "max_scheduled_runs (not in the update)")
        check_full_schedules([s for s in schedules if s.id != new.id], "the schedules not updated")

    with check("delete_deployment_schedule"):
        await client.delete_deployment_schedule(full_id, new.id)
        schedules = await client.read_deployment_schedules(full_id)
        expect_eq({s.id for s in schedules}, original_ids, "schedule ids after the delete")
        check_full_schedules(schedules, "schedules after the delete")
        await expect_not_found(
            lambda: client.delete_deployment_schedule(full_id, new.id),
            "delete_deployment_schedule of a deleted schedule",
        )

    with check("delete_deployment"):
        await client.delete_deployment(full_id)
        await expect_not_found(lambda: client.read_deployment(full_id), "read after delete")
        await expect_not_found(
            lambda: client.read_deployment_by_name(f"{FLOW_NAME}/{FULL_NAME}"),
            "read_deployment_by_name after delete",
        )
        found = await client.read_deployments(deployment_filter=ours)
        expect_eq([d.id for d in found], [minimal_id], "ids left after delete")

    with check("read_deployment missing id"):
        await expect_not_found(
            lambda: client.read_deployment(uuid.uuid4()), "read_deployment of a random id"
        )

    with check("read_deployment_by_name missing"):
        await expect_not_found(
            lambda: client.read_deployment_by_name(f"{FLOW_NAME}/no-such-deployment-{RUN}"),
            "read_deployment_by_name of a missing name",
        )

    with check("delete_deployment missing id"):
        await expect_not_found(
            lambda: client.delete_deployment(uuid.uuid4()), "delete_deployment of a random id"
        )
        await expect_not_found(
            lambda: client.delete_deployment(full_id), "delete_deployment a second time"
        )

    with check("delete_deployment minimal"):
        await client.delete_deployment(minimal_id)
        await expect_not_found(lambda: client.read_deployment(minimal_id), "read after delete")
        found = await client.read_deployments(deployment_filter=ours)
        expect_eq(found, [], "deployments left")

    with check("delete_flow"):
        await client.delete_flow(flow_id)
        await expect_not_found(lambda: client.delete_flow(flow_id), "delete_flow a second time")
        # read_flow does not turn a 404 into ObjectNotFound: it raises the HTTP error itself.
        try:
            gone = await client.read_flow(flow_id)
        except httpx.HTTPStatusError as exc:
            expect_eq(exc.response.status_code, 404, "status of read_flow after delete")
        else:
            raise CheckFailed(f"read_flow after delete: expected HTTP 404, got {gone!r}")


async def main() -> None:
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        # Without it the client would start a temporary server of its own and test that.
        print("FAIL setup: PREFECT_API_URL is not set (e.g. http://127.0.0.1:8000/api)")
        raise SystemExit(2)
    async with get_client() as client:
        with check("client targets PREFECT_API_URL"):
            expect_eq(str(client.api_url).rstrip("/"), api_url.rstrip("/"), "client.api_url")
        await scenario(client)
    print(json.dumps({"checks": checks}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
