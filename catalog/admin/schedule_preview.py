"""A schedule's next runs as the deployment page shows them: rendered for the saved
schedule, and previewed as the user types (`schedule_preview_view`, which the page's
catalog/static/catalog/schedule_inline.js asks). Both read the form's fields with the
catalog's one schedule parser (`catalog.rules.schedules`) and find the runs within the
budget of every schedule evaluation (`CATALOG_SCHEDULE_BUDGET`, and the horizon and page
budget a save checks), so the preview refuses exactly what a save refuses."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from catalog.rules import schedules
from catalog.rules.datetimes import DatetimeError, parse_datetime
from catalog.rules.schedule_budget import page_budget
from catalog.services.schedules import check_affordable

NEXT_RUNS_SHOWN = 10
NOT_SCHEDULED = "these runs will not be scheduled"
# The longest text the preview reads from a field: an rrule may be this long, no other
# field comes near it.
MAX_FIELD_LENGTH = schedules.MAX_RRULE_LENGTH
PREVIEWED_FIELDS = ("kind", "interval", "anchor_date", "cron", "day_or", "rrule", "timezone")


# Reading the form's fields ----------------------------------------------------------------


def schedule_from_fields(values: Mapping[str, Any], now: datetime | None = None):
    """The schedule a form's fields describe (kind, interval, anchor_date, cron, day_or,
    rrule, timezone as the form cleans them). A blank zone is the kind's default; a blank
    anchor is `now`. Raises `ScheduleError` naming the field at fault."""
    kind = values.get("kind")
    if kind not in schedules.SCHEDULE_KINDS:
        raise schedules.ScheduleError("Choose interval, cron or rrule.", "kind")
    zone = values.get("timezone") or schedules.default_timezone(kind)
    if kind == "interval":
        return schedules.make_interval_schedule(
            interval=required(values.get("interval"), "interval"),
            anchor_date=anchor_from(values.get("anchor_date"), now),
            timezone=zone,
        )
    if kind == "cron":
        return schedules.make_cron_schedule(
            cron=required(values.get("cron"), "cron"),
            timezone=zone,
            day_or=values.get("day_or", True),
        )
    rrule = required(values.get("rrule"), "rrule")
    return schedules.make_rrule_schedule(rrule=rrule, timezone=zone)


def required(value, field: str):
    if value in (None, ""):
        raise schedules.ScheduleError("This field is required for this kind of schedule.", field)
    return value


def anchor_from(text: str | None, now: datetime | None = None) -> datetime:
    if not text:
        return now or datetime.now(UTC)
    try:
        return parse_datetime(text.strip())
    except DatetimeError as exc:
        raise schedules.ScheduleError(str(exc), "anchor_date") from None


# What the page shows ----------------------------------------------------------------------


def not_running_note(*, active: bool, paused: bool) -> str | None:
    """Why the runs listed will not happen, if they will not."""
    if not active and paused:
        return f"inactive, and the deployment is paused: {NOT_SCHEDULED}"
    if not active:
        return f"inactive: {NOT_SCHEDULED}"
    if paused:
        return f"deployment paused: {NOT_SCHEDULED}"
    return None


def run_times(runs: list[datetime]) -> list[dict[str, str]]:
    """Each run in its schedule's zone and in UTC, as the page prints them."""
    return [{"local": shown(run), "utc": shown(run.astimezone(UTC))} for run in runs]


def shown(moment: datetime) -> str:
    clock = "%H:%M:%S" if moment.second else "%H:%M"
    return moment.strftime(f"%a %Y-%m-%d {clock} %Z")


def zone_of(schedule: schedules.Schedule) -> str:
    return schedule.timezone or "UTC"


def runs_html(zone: str, runs: list[datetime] | str, note: str | None) -> SafeString:
    """The saved schedule's next runs, as the preview shows them (schedule_inline.js
    draws the same markup from the preview's answer)."""
    parts = [format_html('<p class="schedule-not-running">{}</p>', note)] if note else []
    if isinstance(runs, str):
        parts.append(format_html('<p class="schedule-preview-error">{}</p>', runs))
    elif not runs:
        parts.append(format_html('<p class="schedule-no-runs">{}</p>', "no further runs"))
    else:
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((t["local"], t["utc"]) for t in run_times(runs))
        )
        parts.append(
            format_html(
                '<table class="schedule-runs-table"><thead><tr><th>{}</th><th>UTC</th></tr>'
                "</thead><tbody>{}</tbody></table>",
                zone,
                rows,
            )
        )
    return format_html_join("", "{}", ((part,) for part in parts))


# The preview ------------------------------------------------------------------------------


def preview(values: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The next runs (within the horizon) of the schedule `values` describe, found by the
    very check a save makes, within its budgets."""
    schedule = schedules.stored_form(schedule_from_fields(values, now), now)
    with page_budget(settings.CATALOG_SCHEDULE_PAGE_BUDGET):
        runs = check_affordable(schedule, now)
    return {"zone": zone_of(schedule), "runs": run_times(runs[:NEXT_RUNS_SHOWN])}


def fields_of(query: Mapping[str, str]) -> dict[str, Any]:
    """The preview's fields from its query string, as the form would clean them."""
    values: dict[str, Any] = {name: query.get(name, "").strip() for name in PREVIEWED_FIELDS}
    values["day_or"] = flag(query.get("day_or"), default=True)
    if values["timezone"]:
        schedules.validate_timezone(values["timezone"])
    return values


def flag(text: str | None, *, default: bool) -> bool:
    if text is None or text == "":
        return default
    return text.lower() in {"1", "true", "on", "yes"}


def too_long(query: Mapping[str, str]) -> str | None:
    for name in PREVIEWED_FIELDS:
        if len(query.get(name, "")) > MAX_FIELD_LENGTH:
            return f"{name}: at most {MAX_FIELD_LENGTH:,} characters."
    return None


@require_GET
def schedule_preview_view(request, model_admin):
    """GET ?kind=&interval=&anchor_date=&cron=&day_or=&rrule=&timezone=&active=&paused=:
    200 {"zone", "runs": [{"local", "utc"}], "note"}, or 400 {"error", "field"} saying
    what is wrong; 403 for staff who may not see deployments."""
    if not model_admin.has_view_or_change_permission(request):
        return JsonResponse({"error": "You may not view deployments.", "field": None}, status=403)
    query = request.GET
    problem = too_long(query)
    if problem:
        return JsonResponse({"error": problem, "field": None}, status=400)
    try:
        body = preview(fields_of(query), timezone.now())
    except schedules.ScheduleError as exc:
        return JsonResponse({"error": exc.message, "field": exc.field}, status=400)
    active = flag(query.get("active"), default=True)
    body["note"] = not_running_note(active=active, paused=flag(query.get("paused"), default=False))
    return JsonResponse(body)
