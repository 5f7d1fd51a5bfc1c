"""The change history across the catalog: every version of every object, read-only, with
the filters staff audit by (a date range, actor, door, object type, flow, tag, kind of
change), a search by name, flow name and actor, and exports of every version the filters
match, as CSV or JSON Lines, streamed."""

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ERROR_FLAG, ChangeList
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from catalog.admin import columns, filters
from catalog.admin.guarded import GuardedAdmin, RefusedListQuery
from catalog.admin.paginator import EstimatedCountPaginator
from catalog.admin.version_text import actor_text, kind_text
from catalog.models import ChangeSet, Flow, ObjectType, Version
from catalog.rules.datetimes import format_utc
from catalog.services.context import Door
from catalog.services.history import version_changes, with_before_text

EXPORT_FIELDS = [
    "at",
    "object_type",
    "object_id",
    "name",
    "flow_name",
    "version",
    "kind",
    "actor_kind",
    "actor_name",
    "door",
    "reason",
    "change_set",
    "restored_from",
    "changes",
]
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
# Rows read from the database at a time, and written to the client as one piece.
EXPORT_BATCH = 500
ACTORS_CACHE_KEY = "catalog:history-actors"
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# Filters ------------------------------------------------------------------------------


class DateRangeFilter(admin.ListFilter):
    """From one day to another (both included, UTC), typed in two date inputs."""

    title = "date (UTC)"
    template = "admin/catalog/version/date_range_filter.html"
    parameters = ("from", "to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.parameters:
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return list(self.parameters)

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        start, end = self.day("from"), self.day("to")
        if start is not None:
            queryset = queryset.filter(at__gte=start_of(start))
        if end is not None and end < date.max:
            queryset = queryset.filter(at__lt=start_of(end + timedelta(days=1)))
        return queryset

    def day(self, name: str) -> date | None:
        text = self.used_parameters.get(name, "").strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"“{text}” is not a date (YYYY-MM-DD).") from None

    def choices(self, changelist: ChangeList):
        kept = [
            (name, value)
            for name, values in changelist.filter_params.items()
            if name not in self.parameters
            for value in values
        ]
        yield {
            "from": self.used_parameters.get("from", ""),
            "to": self.used_parameters.get("to", ""),
            "kept": kept,
            "clear": changelist.get_query_string(remove=self.parameters),
            "selected": bool(self.used_parameters),
        }


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def first_actor_names() -> list[str]:
    """The first actors by name (at most CATALOG_ADMIN_FILTER_CHOICES). Cached briefly, as
    the tags are: on a large history the scan of the actor index costs more than a page."""
    names = cache.get(ACTORS_CACHE_KEY)
    if names is None:
        every_name = ChangeSet.objects.order_by("actor_name").values_list("actor_name", flat=True)
        names = list(every_name.distinct()[: settings.CATALOG_ADMIN_FILTER_CHOICES])
        cache.set(ACTORS_CACHE_KEY, names, filters.TAGS_CACHE_SECONDS)
    return names


class ActorFilter(admin.SimpleListFilter):
    title = "actor"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        names = first_actor_names()
        return filters.with_current([(name, columns.clipped(name)) for name in names], self.value())

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(change_set__actor_name=value) if value else queryset


class DoorFilter(admin.SimpleListFilter):
    title = "door"
    parameter_name = "door"

    def lookups(self, request, model_admin):
        return [(door.value, door.value) for door in Door]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(change_set__door=value) if value else queryset


class FlowNameFilter(admin.SimpleListFilter):
    """By the flow's name, which a deleted flow's deployments keep in their history."""

    title = "flow"
    parameter_name = "flow"

    def lookups(self, request, model_admin):
        names = Flow.objects.order_by("name").values_list("name", flat=True)
        shown = names[: settings.CATALOG_ADMIN_FILTER_CHOICES]
        return filters.with_current([(name, columns.clipped(name)) for name in shown], self.value())

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(flow_name=value) if value else queryset


class VersionTagFilter(filters.TagFilter):
    """The deployments' most used tags; a version matches when it had the tag then."""

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(tags__has_any_tags=[value]) if value else queryset


class RowsOnly(ChangeList):
    """The list's rows for an export: filtered, searched and ordered as the page, but
    neither counted nor cut into pages."""

    def get_results(self, request) -> None:
        self.result_count = self.full_result_count = 0
        self.result_list = []


# The list -----------------------------------------------------------------------------


@admin.register(Version)
class VersionAdmin(GuardedAdmin):
    list_display = [
        "when",
        "object_type",
        "flow_and_name",
        "number_shown",
        "kind_shown",
        "actor",
        "door",
        "reason",
    ]
    list_display_links = None
    list_filter = [
        DateRangeFilter,
        ActorFilter,
        DoorFilter,
        "object_type",
        FlowNameFilter,
        VersionTagFilter,
        "kind",
    ]
    search_fields = ["name", "flow_name", "change_set__actor_name"]
    search_help_text = "Name, flow name or actor."
    list_select_related = ["change_set"]
    sortable_by = ["when"]
    actions = None
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"title": "Change history", **(extra_context or {})}
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        export = self.admin_site.admin_view
        return [
            path(
                "export.csv",
                export(partial(self.export_view, lines=csv_lines, suffix="csv")),
                name="catalog_version_export_csv",
            ),
            path(
                "export.jsonl",
                export(partial(self.export_view, lines=json_lines, suffix="jsonl")),
                name="catalog_version_export_jsonl",
            ),
            *super().get_urls(),
        ]

    # Columns ----------------------------------------------------------------------------

    @admin.display(description="when (UTC)", ordering="at")
    def when(self, version: Version) -> str:
        return version.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="flow / name")
    def flow_and_name(self, version: Version) -> str:
        if version.object_type != ObjectType.DEPLOYMENT:
            return columns.clipped(version.name, columns.TEXT_WIDTH)
        label = columns.clipped(f"{version.flow_name}/{version.name}", columns.TEXT_WIDTH)
        history = reverse("admin:catalog_deployment_history", args=[version.object_id])
        return format_html('<a href="{}">{}</a>', history, label)

    @admin.display(description="version")
    def number_shown(self, version: Version) -> int:
        return version.number

    @admin.display(description="kind")
    def kind_shown(self, version: Version) -> str:
        return kind_text(version)

    @admin.display(description="actor")
    def actor(self, version: Version) -> str:
        return columns.clipped(actor_text(version.change_set), columns.TEXT_WIDTH)

    @admin.display(description="door")
    def door(self, version: Version) -> str:
        return version.change_set.door

    @admin.display(description="reason")
    def reason(self, version: Version) -> str:
        return columns.clipped(version.change_set.reason or "", columns.TEXT_WIDTH)

    # Exports ----------------------------------------------------------------------------

    def get_changelist(self, request, **kwargs):
        if getattr(request, "exporting", False):
            return RowsOnly
        return super().get_changelist(request, **kwargs)

    def export_view(self, request, *, lines: Callable, suffix: str):
        """Every version the list's query string matches, in the list's order."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        request.exporting = True
        try:
            versions = self.get_changelist_instance(request).queryset
        except RefusedListQuery as refusal:
            self.message_user(request, f"{refusal} Nothing was exported.", messages.ERROR)
            changelist = reverse("admin:catalog_version_changelist")
            return HttpResponseRedirect(f"{changelist}?{ERROR_FLAG}=1")
        rows = export_rows(with_before_text(versions))
        response = StreamingHttpResponse(lines(rows), content_type=EXPORT_TYPES[suffix])
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="change-history-{stamp}.{suffix}"'
        return response


def export_rows(versions: QuerySet) -> Iterator[list[dict]]:
    """The versions as export rows, a batch at a time."""
    batch = []
    for version in versions.iterator(chunk_size=EXPORT_BATCH):
        batch.append(export_row(version))
        if len(batch) == EXPORT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def export_row(version: Version) -> dict:
    change = version.change_set
    return {
        "at": format_utc(version.at),
        "object_type": version.object_type,
        "object_id": str(version.object_id),
        "name": version.name,
        "flow_name": version.flow_name,
        "version": version.number,
        "kind": version.kind,
        "actor_kind": change.actor_kind,
        "actor_name": change.actor_name,
        "door": change.door,
        "reason": change.reason,
        "change_set": str(change.id),
        "restored_from": version.restored_from,
        "changes": version_changes(version),
    }


def json_lines(batches: Iterable[list[dict]]) -> Iterator[str]:
    for batch in batches:
        yield "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in batch)


def csv_lines(batches: Iterable[list[dict]]) -> Iterator[str]:
    """A header, then a row a version; `changes` as JSON text, and a cell a spreadsheet
    would run as a formula written with a leading `'`."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(EXPORT_FIELDS)
    yield taken(text)
    for batch in batches:
        writer.writerows([csv_cell(row[name]) for name in EXPORT_FIELDS] for row in batch)
        yield taken(text)


def csv_cell(value) -> str | int:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def taken(text: io.StringIO) -> str:
    written = text.getvalue()
    text.seek(0)
    text.truncate()
    return written
