"""The admin's fleet calendar: a week (or a day) of every counted schedule's runs as a
heatmap of runs per hour in a zone the user picks, the busiest minutes, and a slot's
deployments a page at a time.

Wired by the deployment ModelAdmin's `get_urls()`: `calendar/`, `calendar/slot/`, and the
old `upcoming/` (`catalog_deployment_upcoming`), which redirects here. Reads go through
`calendar_data`; the arithmetic is `catalog.rules.fleet_calendar`'s.
"""

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from catalog.admin import calendar_data
from catalog.admin.calendar_data import Filters
from catalog.admin.fields import TagsField
from catalog.admin.widgets import TimezoneInput, timezone_datalist
from catalog.models import WorkPool
from catalog.rules import fleet_calendar, schedules
from catalog.rules.fleet_calendar import Window

TEMPLATE = "admin/catalog/deployment/calendar.html"
SLOT_TEMPLATE = "admin/catalog/deployment/calendar_slot.html"
DEPLOYMENTS_PER_PAGE = 50
DEFINITIONS_NAMED = 20
BUDGET_SETTING = "CATALOG_CALENDAR_BUDGET"
YEARS_AROUND = 100


class CalendarForm(forms.Form):
    view = forms.ChoiceField(choices=[("week", "Week"), ("day", "Day")], required=False)
    day = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The first day shown (today in the zone when empty).",
    )
    zone = forms.CharField(
        required=False,
        max_length=64,
        label="Time zone",
        widget=TimezoneInput(),
    )
    flow = forms.CharField(required=False, max_length=255, label="Flow name")
    work_pool = forms.ChoiceField(required=False, label="Work pool")
    work_queue = forms.CharField(required=False, max_length=255, label="Work queue name")
    tags = TagsField(required=False, label="Tags", help_text="Any of them; commas between.")
    tags.widget.attrs.update(size=24)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        pools = WorkPool.objects.order_by("name").values_list("name", flat=True)
        self.fields["work_pool"].choices = [("", "All work pools"), *((n, n) for n in pools)]

    def clean_day(self):
        """Within `YEARS_AROUND` years of today: past that a week's dates leave Python's
        calendar, and no schedule's runs there are worth a page."""
        day = self.cleaned_data["day"]
        today = timezone.now().date()
        if day is not None and abs((day - today).days) > YEARS_AROUND * 366:
            raise forms.ValidationError(f"Pick a day within {YEARS_AROUND} years of today.")
        return day

    def clean_tags(self) -> list[str]:
        tags, most = self.cleaned_data["tags"], settings.CATALOG_ADMIN_MAX_FILTER_TAGS
        if len(tags) > most:
            raise forms.ValidationError(
                f"Filter by at most {most} tags at once ({len(tags)} given; "
                "CATALOG_ADMIN_MAX_FILTER_TAGS)."
            )
        return tags

    def clean_zone(self) -> str:
        name = self.cleaned_data["zone"].strip() or "UTC"
        if name not in schedules.available_timezones():
            raise forms.ValidationError(f'Unknown time zone "{name}": pick an IANA zone name.')
        return name

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            data["flow"].strip(), data["work_pool"], data["work_queue"].strip(), tuple(data["tags"])
        )

    def window(self) -> Window:
        data = self.cleaned_data
        days = fleet_calendar.VIEW_DAYS[data["view"] or "week"]
        first = data["day"] or timezone.now().astimezone(schedules.zone(data["zone"])).date()
        return fleet_calendar.window_of(first, days, data["zone"])


def _allowed(request: HttpRequest, model_admin: admin.ModelAdmin) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    # The admin's own rule: the view or the change permission lets one see deployments.
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    return None


def _page_context(request: HttpRequest, model_admin: admin.ModelAdmin, title: str) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
    }


def upcoming_redirect_view(request: HttpRequest, model_admin: admin.ModelAdmin) -> HttpResponse:
    """The old "Upcoming runs" address: the calendar took its place."""
    target = reverse("admin:catalog_deployment_calendar")
    query = request.GET.urlencode()
    return HttpResponseRedirect(f"{target}?{query}" if query else target)


def calendar_view(request: HttpRequest, model_admin: admin.ModelAdmin) -> HttpResponse:
    refused = _allowed(request, model_admin)
    if refused:
        return refused
    form = CalendarForm(request.GET)
    context = {**_page_context(request, model_admin, "Fleet calendar"), "form": form}
    context["timezone_datalist"] = timezone_datalist()
    if form.is_valid():
        context.update(calendar_context(form))
    return TemplateResponse(request, TEMPLATE, context)


# The calendar -------------------------------------------------------------------------------


def counted_window(form: CalendarForm) -> tuple[Window, list, calendar_data.Expansions, bool]:
    """The window, its definition groups (at most the setting's number) and expansions."""
    window, filters = form.window(), form.filters()
    most = settings.CATALOG_CALENDAR_MAX_DEFINITIONS
    groups = calendar_data.stored_definition_groups(filters, most)
    left_out = len(groups) > most
    groups = groups[:most]
    expansions = calendar_data.expansions_of(
        groups,
        window,
        settings.CATALOG_SCHEDULE_BUDGET,
        settings.CATALOG_CALENDAR_BUDGET,
        BUDGET_SETTING,
    )
    return window, groups, expansions, left_out


def calendar_context(form: CalendarForm) -> dict[str, Any]:
    window, groups, expansions, left_out = counted_window(form)
    schedules_of = {group.definition: group.schedules for group in groups}
    counted = fleet_calendar.tally(
        window, ((minutes, schedules_of[d]) for d, minutes in expansions.minutes.items())
    )
    slots = window.slots()
    counts = fleet_calendar.hour_counts(slots, counted)
    query = _query(form)
    return {
        "window": window,
        "view": form.cleaned_data["view"] or "week",
        "zone": window.zone_name,
        "last_day": window.first_day + timedelta(days=window.days - 1),
        "days": _days(window, slots, counts, query),
        "hour_labels": [f"{hour:02d}" for hour in range(24)],
        "busiest": [_busy_minute(window, busy, query) for busy in counted.busiest()],
        "hottest": max(counts, default=0),
        "totals": {
            "runs": counted.runs,
            "schedules": sum(schedules_of.values()),
            "definitions": len(groups),
            "computed": expansions.computed,
        },
        "too_costly": _named(expansions.too_costly),
        "out_of_page_budget": _named(expansions.out_of_page_budget),
        "definitions_left_out": left_out,
        "limits": {
            "schedule_budget": settings.CATALOG_SCHEDULE_BUDGET,
            "page_budget": settings.CATALOG_CALENDAR_BUDGET,
            "definitions": settings.CATALOG_CALENDAR_MAX_DEFINITIONS,
        },
        "navigation": _navigation(form, window),
        "slot_url": reverse("admin:catalog_deployment_calendar_slot"),
        "query": query,
    }


def _query(form: CalendarForm) -> dict[str, str]:
    """The form's values as query parameters, the day made explicit."""
    data = form.cleaned_data
    values = {
        "view": data["view"] or "week",
        "day": form.window().first_day.isoformat(),
        "zone": data["zone"],
        "flow": data["flow"],
        "work_pool": data["work_pool"],
        "work_queue": data["work_queue"],
        "tags": ", ".join(data["tags"]),
    }
    return {key: value for key, value in values.items() if value}


def _slot_link(query: dict, start: int, end: int) -> str:
    return urlencode({**query, "from": start, "to": end})


def _days(window: Window, slots: list, counts: list[int], query: dict) -> list[dict]:
    rows = fleet_calendar.heat_rows(window, slots, counts)
    hottest = max(counts, default=0) or 1
    days = []
    for index, cells in enumerate(rows):
        local_day = window.first_day + timedelta(days=index)
        hours = sum(len(cell.slots) for cell in cells)
        days.append(
            {
                "date": local_day,
                "hours": hours,
                "runs": sum(runs for cell in cells for _, runs in cell.slots),
                "cells": [_cell(cell, window, hottest, query) for cell in cells],
            }
        )
    return days


def _cell(cell, window: Window, hottest: int, query: dict) -> dict:
    return {
        "hour": cell.hour,
        "slots": [
            {
                "runs": runs,
                "heat": round(runs / hottest, 2),
                "label": _slot_label(window, slot),
                "link": _slot_link(query, slot.start, slot.end),
            }
            for slot, runs in cell.slots
        ],
    }


def _slot_label(window: Window, slot) -> str:
    begin = slot.local_start
    finish = window.local(slot.end)
    return f"{begin:%a %Y-%m-%d %H:%M} {begin:%Z} to {finish:%H:%M} {finish:%Z}"


def _busy_minute(window: Window, busy, query: dict) -> dict:
    local = window.local(busy.minute)
    utc = window.moment(busy.minute)
    return {
        "runs": busy.runs,
        "local": f"{local:%a %Y-%m-%d %H:%M %Z}",
        "utc": f"{utc:%Y-%m-%d %H:%M} UTC",
        "link": _slot_link(query, busy.minute, busy.minute + 1),
    }


def _named(groups: list) -> dict:
    return {
        "count": len(groups),
        "schedules": sum(group.schedules for group in groups),
        "names": [_group_name(group) for group in groups[:DEFINITIONS_NAMED]],
    }


def _group_name(group) -> str:
    plural = "" if group.schedules == 1 else "s"
    return f"{group.definition.label()}: {group.schedules} schedule{plural}"


def _navigation(form: CalendarForm, window: Window) -> dict[str, str]:
    query = _query(form)
    step = timedelta(days=window.days)
    links = {}
    for name, day in (
        ("previous", window.first_day - step),
        ("next", window.first_day + step),
        ("today", None),
    ):
        moved = {**query, "day": day.isoformat()} if day else _without(query, "day")
        links[name] = urlencode(moved)
    links["week"] = urlencode({**query, "view": "week"})
    links["day"] = urlencode({**query, "view": "day"})
    return links


def _without(query: dict, key: str) -> dict:
    return {name: value for name, value in query.items() if name != key}


# A slot's deployments ---------------------------------------------------------------------


class SlotForm(CalendarForm):
    start = forms.IntegerField(min_value=0)
    end = forms.IntegerField(min_value=1)

    def __init__(self, data, *args, **kwargs) -> None:
        data = data.copy()
        data["start"], data["end"] = data.get("from"), data.get("to")
        super().__init__(data, *args, **kwargs)

    def clean(self):
        data = super().clean()
        if "start" in data and "end" in data and not data["start"] < data["end"]:
            raise forms.ValidationError("The slot must end after it starts.")
        return data


def slot_view(request: HttpRequest, model_admin: admin.ModelAdmin) -> HttpResponse:
    refused = _allowed(request, model_admin)
    if refused:
        return refused
    form = SlotForm(request.GET)
    context = {
        **_page_context(request, model_admin, "Deployments of a calendar slot"),
        "form": form,
    }
    if form.is_valid():
        context.update(slot_context(form, request.GET.get("page")))
    return TemplateResponse(request, SLOT_TEMPLATE, context)


def slot_context(form: SlotForm, page_number: str | None) -> dict[str, Any]:
    window, _, expansions, _ = counted_window(form)
    start = form.cleaned_data["start"]
    end = min(form.cleaned_data["end"], window.minutes)
    firing = calendar_data.definitions_firing(expansions, start, end)
    deployments = calendar_data.FiringDeployments(form.filters(), firing)
    page = Paginator(deployments, DEPLOYMENTS_PER_PAGE).get_page(page_number)
    listed = list(page.object_list)
    runs = calendar_data.runs_by_deployment(form.filters(), listed, expansions, start, end)
    query = _query(form)
    return {
        "window": window,
        "zone": window.zone_name,
        # Formatted here: the template's `date` filter would show them in the site's zone.
        "slot_start": f"{window.local(start):%a %Y-%m-%d %H:%M %Z}",
        "slot_end": f"{window.local(end):%H:%M %Z}",
        "slot_utc": f"{window.moment(start):%Y-%m-%d %H:%M} to {window.moment(end):%H:%M} UTC",
        "rows": [(deployment, runs[deployment.pk]) for deployment in listed],
        "page": page,
        "capped": deployments.capped,
        "exact_limit": calendar_data.SLOT_EXACT_LIMIT,
        "page_query": _slot_link(query, start, end),
        "calendar_query": urlencode(query),
        "too_costly": _named(expansions.too_costly),
        "out_of_page_budget": _named(expansions.out_of_page_budget),
    }
