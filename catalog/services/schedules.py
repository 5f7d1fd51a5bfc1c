"""Deployment schedules: their checks, and the writes of Prefect's schedule routes and of
the `schedules` of a deployment (replace, or Prefect's slug rules)."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog.models import Deployment, DeploymentSchedule
from catalog.rules import limits, schedule_runs, schedules
from catalog.rules.problems import Path, Problem
from catalog.rules.schedule_budget import page_budget
from catalog.services.checks import columns_of, problems_of, refuse, saved
from catalog.services.context import WriteContext
from catalog.services.errors import Conflict, Invalid, NotFound

SCHEDULE_NOT_FOUND = "Schedule not found."
SLUGS_TAKEN = "Schedule slugs must be unique within a deployment."
ENTRY_RULES = {
    "max_scheduled_runs": (("max_scheduled_runs",), limits.check_max_scheduled_runs),
    "parameters": (("parameters",), limits.check_json_object),
    "slug": (("slug",), limits.check_short_text),
}


# Checks ---------------------------------------------------------------------------------


def schedule_from(value: Any, *, at: Path = (), now: datetime | None = None):
    """A schedule as stored, from a parsed `Schedule` or from Prefect's schedule JSON,
    whose next runs can be found within the schedule budget."""
    try:
        if isinstance(value, schedules.Schedule):
            schedule = schedules.stored_form(value, now)
        else:
            schedule = schedules.stored_form(schedules.schedule_from_json(value, now=now), now)
        check_affordable(schedule, now)
    except schedules.ScheduleError as exc:
        where = (*at, "schedule") if exc.field == "schedule" else (*at, "schedule", exc.field)
        raise Invalid.at(where, exc.message, "schedule") from None
    return schedule


def check_affordable(schedule: schedules.Schedule, now: datetime | None = None) -> list[datetime]:
    """The budget and horizon of the settings on finding a schedule's next runs; answers
    the runs it found (`schedule_runs.check_runs_affordable`)."""
    return schedule_runs.check_runs_affordable(
        schedule,
        now or timezone.now(),
        budget=settings.CATALOG_SCHEDULE_BUDGET,
        horizon_years=settings.CATALOG_SCHEDULE_HORIZON_YEARS,
    )


def entry_problems(entry: Mapping[str, Any], *, at: Path = ()) -> list[Problem]:
    """The problems of a schedule's own fields (its rule is checked by `schedule_from`)."""
    return [problem.under(*at) for problem in problems_of(entry, ENTRY_RULES)]


def repeated_slug_problems(slugs: list[str | None], *, at: Path = ()) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for n, slug in enumerate(slugs):
        if slug is not None and slug in seen:
            message = f"slugs must be unique within a deployment, repeated: {slug}"
            problems.append(Problem((*at, n, "slug"), message, "slug_repeated"))
        seen.add(slug)
    return problems


def row_problems(row: DeploymentSchedule) -> list[Problem]:
    """Every rule of a schedule row as a form left it (the admin)."""
    problems = problems_of(columns_of(row, ENTRY_RULES), ENTRY_RULES)
    try:
        row.schedule = schedules.stored_form(schedules.checked_columns(row.rule_columns()))
        check_affordable(row.schedule)
    except schedules.ScheduleError as exc:
        problems.append(Problem(("schedule", exc.field), exc.message, "schedule"))
    return problems


# Rows -----------------------------------------------------------------------------------


def schedule_rows(
    deployment: Deployment, entries: list[Mapping], *, keep_max_runs: bool, at: Path = ()
) -> list[DeploymentSchedule]:
    """New schedule rows, stamped a microsecond apart in request order, so that reading
    them newest first gives the reverse of the request, as Prefect's batch inserts do.
    `at`: where the entries are in the write's JSON, for the problems' paths."""
    start = timezone.now()
    problems, rows = [], []
    with page_budget(settings.CATALOG_SCHEDULE_PAGE_BUDGET):
        for n, entry in enumerate(entries):
            problems += entry_problems(entry, at=(*at, n))
            rows.append(schedule_row(deployment, entry, start, n, keep_max_runs, at))
    refuse(problems)
    return rows


def schedule_row(
    deployment: Deployment, entry: Mapping, start: datetime, n: int, keep_max_runs: bool, at: Path
) -> DeploymentSchedule:
    """The `n`th new schedule row of a write, its rule within the schedule budgets."""
    stamp = start + timedelta(microseconds=n)
    active = entry.get("active")
    row = DeploymentSchedule(
        deployment=deployment,
        created=stamp,
        updated=stamp,
        active=True if active is None else active,
        max_scheduled_runs=entry.get("max_scheduled_runs") if keep_max_runs else None,
        parameters=entry.get("parameters") or {},
        slug=entry.get("slug"),
    )
    row.schedule = schedule_from(entry["schedule"], at=(*at, n), now=start)
    return row


def bulk_created(rows: list[DeploymentSchedule], conflict: Conflict | None = None) -> None:
    try:
        with transaction.atomic():
            DeploymentSchedule.objects.bulk_create(rows)
    except IntegrityError:
        raise (conflict or Conflict()) from None


def schedules_replace(deployment: Deployment, entries: list[Mapping]) -> None:
    """Drop every schedule and make the given ones (those with a schedule)."""
    wanted = [entry for entry in entries if entry.get("schedule") is not None]
    rows = schedule_rows(deployment, wanted, keep_max_runs=False, at=("schedules",))
    deployment.schedules.all().delete()
    bulk_created(rows)


def schedules_create(
    *, deployment: Deployment, entries: list[Mapping], context: WriteContext
) -> list[DeploymentSchedule]:
    """`POST /deployments/{id}/schedules`: rows in request order; slugs must be new."""
    rows = schedule_rows(deployment, entries, keep_max_runs=True)
    # Prefect names the slug rule only where the database names the constraint.
    conflict = Conflict(SLUGS_TAKEN) if connection.vendor == "postgresql" else Conflict()
    bulk_created(rows, conflict)
    return rows


def schedule_apply(row: DeploymentSchedule, update: Mapping[str, Any]) -> None:
    """Prefect writes every field given as non-null, and `parameters` always."""
    refuse(entry_problems(update))
    if update.get("active") is not None:
        row.active = update["active"]
    if update.get("schedule") is not None:
        row.schedule = schedule_from(update["schedule"])
    if update.get("max_scheduled_runs") is not None:
        row.max_scheduled_runs = update["max_scheduled_runs"]
    if update.get("slug") is not None:
        row.slug = update["slug"]
    row.parameters = update.get("parameters") or {}
    saved(row)


def schedule_update(
    *, deployment: Deployment, schedule_id: UUID, update: Mapping[str, Any], context: WriteContext
) -> None:
    row = deployment.schedules.filter(id=schedule_id).first()
    if row is None:
        raise NotFound("schedule", SCHEDULE_NOT_FOUND)
    schedule_apply(row, update)


def schedule_delete(*, deployment: Deployment, schedule_id: UUID, context: WriteContext) -> None:
    deleted, _ = deployment.schedules.filter(id=schedule_id).delete()
    if not deleted:
        raise NotFound("schedule", SCHEDULE_NOT_FOUND)


def schedule_save(*, row: DeploymentSchedule, context: WriteContext) -> None:
    """A schedule as a form left it (the admin): every rule checked, then saved."""
    refuse(row_problems(row))
    saved(row)


def schedules_set_active(*, deployments, active: bool, context: WriteContext) -> int:
    """Every schedule of the deployments on or off; how many schedules changed."""
    rows = DeploymentSchedule.objects.filter(deployment__in=deployments).exclude(active=active)
    return rows.update(active=active, updated=timezone.now())


# Prefect's slug rules for `schedules` in a deployment's PATCH ----------------------------


def plan_schedule_changes(deployment: Deployment, entries: list[Mapping]):
    """When every stored schedule has a slug: refuse entries without one; otherwise update
    the schedules named by slug (or by `replaces`) and add the rest. Returns None when the
    whole list should instead replace the stored schedules."""
    existing = list(deployment.schedules.all())
    all_existing_slugged = bool(existing) and all(row.slug is not None for row in existing)
    if not all_existing_slugged:
        return None
    if not all(entry.get("slug") is not None for entry in entries):
        raise slug_rule(
            "Please provide a slug for each schedule in your request to ensure schedules are "
            "updated correctly."
        )
    current = {row.slug: row for row in existing}
    renames = check_renames(entries, current)
    to_update, to_create = [], []
    for entry in entries:
        target = entry.get("replaces") or entry["slug"]
        if target in current:
            to_update.append((current[target], entry))
        elif entry.get("schedule") is not None:
            to_create.append(entry)
        else:
            raise slug_rule(
                "Unable to create new deployment schedules without a schedule configuration."
            )
    return to_update, to_create, renames


def slug_rule(message: str) -> Invalid:
    return Invalid.at(("schedules",), message, "schedule_slugs")


def check_renames(entries: list[Mapping], current: dict) -> set[str]:
    renamed: dict[str, str] = {}
    for entry in entries:
        replaces = entry.get("replaces")
        if replaces:
            if replaces in renamed:
                raise slug_rule(
                    f"Multiple schedules have 'replaces' targeting the same slug: {replaces}"
                )
            renamed[replaces] = entry.get("slug") or ""
    for entry in entries:
        replaces, slug = entry.get("replaces"), entry.get("slug")
        if replaces and slug in current and slug not in renamed:
            raise slug_rule(
                f"Cannot rename schedule from '{replaces}' to '{slug}': "
                f"a schedule with slug '{slug}' already exists."
            )
    return set(renamed)


def apply_slugged_changes(deployment: Deployment, to_update, to_create, renames) -> None:
    # Renamed rows first lose their old slug, so that the new one never collides with it.
    renamed_rows = [row for row, entry in to_update if entry.get("replaces")]
    DeploymentSchedule.objects.filter(id__in=[row.id for row in renamed_rows]).update(slug=None)
    for row in renamed_rows:
        row.slug = None
    for row, entry in to_update:
        schedule_apply(row, entry)
    bulk_created(schedule_rows(deployment, to_create, keep_max_runs=False, at=("schedules",)))
