"""The admin's "Upcoming runs" page: every run of the active schedules of unpaused
deployments over the next seven days, filterable by tag, work pool and flow, drawn as a
timeline with the minutes where many runs start at once marked as hot spots.

Wired by the deployment ModelAdmin's `get_urls()`:
`path("upcoming/", self.admin_site.admin_view(partial(upcoming_runs_view, model_admin=self)),
name="catalog_deployment_upcoming")`. The page loads its rows in a constant number of
queries; run times and the chart come from the ORM-free `catalog.admin.timeline`.
"""

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from catalog.admin import timeline as upcoming
from catalog.models import DeploymentSchedule, Flow, WorkPool
from catalog.rules.schedule_budget import page_budget
from catalog.rules.schedules import SCHEDULE_RULE_COLUMNS

WINDOW = timedelta(days=7)
HOT_SPOTS_LISTED = 20
TEMPLATE = "admin/catalog/deployment/upcoming_runs.html"
SCHEDULE_FIELDS = [
    "slug",
    *SCHEDULE_RULE_COLUMNS,
    "deployment",
    "deployment__name",
    "deployment__flow",
    "deployment__flow__name",
]


class UpcomingRunsFilterForm(forms.Form):
    tag = forms.CharField(required=False, max_length=255, help_text="Deployments with this tag.")
    work_pool = forms.ModelChoiceField(
        queryset=WorkPool.objects.only("name").order_by("name"),
        to_field_name="name",
        required=False,
        empty_label="All work pools",
    )
    flow = forms.ModelChoiceField(
        queryset=Flow.objects.only("name").order_by("name"),
        required=False,
        empty_label="All flows",
    )

    def schedule_lookups(self) -> dict[str, Any]:
        """`DeploymentSchedule` lookups for the cleaned filters."""
        data = self.cleaned_data
        lookups: dict[str, Any] = {}
        if data["tag"]:
            lookups["deployment__tags__has_all_tags"] = [data["tag"]]
        if data["work_pool"]:
            lookups["deployment__work_queue__work_pool__name"] = data["work_pool"].name
        if data["flow"]:
            lookups["deployment__flow_id"] = data["flow"].pk
        return lookups


def upcoming_runs_view(request: HttpRequest, model_admin: admin.ModelAdmin) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    # The admin's own rule: the view or the change permission lets one see deployments.
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = UpcomingRunsFilterForm(request.GET)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Upcoming runs",
        "form": form,
        **(upcoming_runs_context(form.schedule_lookups()) if form.is_valid() else {}),
    }
    return TemplateResponse(request, TEMPLATE, context)


def upcoming_runs_context(lookups: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    start = upcoming.truncate_to_minute(now or timezone.now())
    end = start + WINDOW
    entries, schedules_in_all = schedule_entries(lookups, settings.CATALOG_UPCOMING_MAX_SCHEDULES)
    with page_budget(settings.CATALOG_UPCOMING_BUDGET, "CATALOG_UPCOMING_BUDGET"):
        window = upcoming.collect_runs(entries, start, end, budget=settings.CATALOG_SCHEDULE_BUDGET)
    spots = upcoming.hot_spots(window.runs)
    summaries = upcoming.deployment_summaries(entries, window.runs)
    return {
        "start": start,
        "end": end,
        "window": window,
        # Safe: timeline_svg escapes every piece of text it writes.
        "timeline": mark_safe(upcoming.timeline_svg(window.runs, start, end, spots)),
        "hot_spots": spots[:HOT_SPOTS_LISTED],
        "hot_spot_count": len(spots),
        "summaries": summaries,
        "limits": {
            "runs": upcoming.MAX_RUNS,
            "per_schedule": upcoming.MAX_RUNS_PER_SCHEDULE,
            "hot_spot": upcoming.HOT_SPOT_THRESHOLD,
            "schedule_budget": settings.CATALOG_SCHEDULE_BUDGET,
            "page_budget": settings.CATALOG_UPCOMING_BUDGET,
            "schedules": settings.CATALOG_UPCOMING_MAX_SCHEDULES,
        },
        "counts": {
            "deployments": len(summaries),
            "schedules": len(entries),
            "schedules_in_all": schedules_in_all,
            "runs": len(window.runs),
        },
    }


def schedule_entries(
    lookups: dict[str, Any], most: int
) -> tuple[list[upcoming.ScheduleEntry], int]:
    """The first `most` active schedules of unpaused deployments by deployment name, in one
    query, and how many there are in all (a second query, only when there are more)."""
    matching = DeploymentSchedule.objects.filter(active=True, deployment__paused=False, **lookups)
    rows = list(
        matching.select_related("deployment__flow")
        .only(*SCHEDULE_FIELDS)
        .order_by("deployment__name", "slug")[: most + 1]
    )
    in_all = matching.count() if len(rows) > most else len(rows)
    return [schedule_entry(row) for row in rows[:most]], in_all


def schedule_entry(row: DeploymentSchedule) -> upcoming.ScheduleEntry:
    return upcoming.ScheduleEntry(
        deployment_id=row.deployment_id,
        deployment_name=str(row.deployment),
        flow_name=row.deployment.flow.name,
        schedule_slug=row.slug or str(row.id),
        schedule=row.schedule,
    )
