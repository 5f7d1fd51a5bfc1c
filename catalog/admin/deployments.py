"""The deployment list and form: the ops staff's main screen."""

import uuid
from datetime import UTC
from functools import partial

from django.conf import settings
from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import Prefetch, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from catalog.admin import columns, deployment_exports, filters, history
from catalog.admin.action_reports import report_action
from catalog.admin.audit import admin_context
from catalog.admin.audit_log import RowsOnly
from catalog.admin.forms import DeploymentForm, ScheduleInlineForm
from catalog.admin.guarded import GuardedAdmin, search_words
from catalog.admin.paginator import EstimatedCountPaginator, PagedChangeList
from catalog.admin.schedule_preview import (
    NEXT_RUNS_SHOWN,
    not_running_note,
    runs_html,
    schedule_preview_view,
    zone_of,
)
from catalog.admin.tag_filters import TagsFilter
from catalog.admin.widgets import json_panel, timezone_datalist
from catalog.models import Deployment, DeploymentSchedule, DeploymentStatus, Flow
from catalog.models.deployment_tags import DeploymentTag, tags_holding
from catalog.models.schedules import earliest_next_run
from catalog.rendering.deployment_json import deployment_instance_json
from catalog.rules import schedule_summaries
from catalog.rules.schedule_budget import page_budget
from catalog.services import deployments
from catalog.services import schedules as schedule_writes


class ScheduleFormSet(BaseInlineFormSet):
    """Each schedule's form knows its deployment (whether it is paused) without a query."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.instance.deployment = self.instance
        return form


class ScheduleInline(admin.StackedInline):
    model = DeploymentSchedule
    form = ScheduleInlineForm
    formset = ScheduleFormSet
    extra = 0
    fields = [
        ("kind", "active", "slug"),
        ("interval", "anchor_date"),
        ("cron", "day_or"),
        "rrule",
        ("timezone", "max_scheduled_runs"),
        "parameters",
        "next_runs",
    ]
    readonly_fields = ["next_runs"]

    class Media:
        js = ["catalog/schedule_inline.js"]

    @admin.display(description=f"next {NEXT_RUNS_SHOWN} runs (in the schedule's zone and UTC)")
    def next_runs(self, row: DeploymentSchedule) -> str:
        """The saved schedule's runs; the page's script previews them as the fields change."""
        url = reverse("admin:catalog_deployment_schedule_preview")
        shown = "-"
        if not row._state.adding:
            note = not_running_note(active=row.active, paused=row.deployment.paused)
            runs = row.shown_next_runs(timezone.now(), NEXT_RUNS_SHOWN)
            shown = runs_html(zone_of(row.schedule), runs, note)
        return format_html(
            '<div class="schedule-runs" data-preview-url="{}" aria-live="polite">{}</div>',
            url,
            shown,
        )


def rendered_within_page_budget(view, request, *args):
    """The view's page rendered (where its run times are found) within one shared budget
    for all its schedules, `CATALOG_SCHEDULE_PAGE_BUDGET`."""
    with page_budget(settings.CATALOG_SCHEDULE_PAGE_BUDGET):
        response = view(request, *args)
        if hasattr(response, "render"):
            response.render()
        return response


@admin.register(Deployment)
class DeploymentAdmin(GuardedAdmin):
    form = DeploymentForm
    inlines = [ScheduleInline]
    # The columns ops read most, all within a 1400 px window beside the filters
    # (deployment_list.css); status and the schedules' count are in the filters and tooltips.
    list_display = [
        "name",
        "flow_cell",
        "schedule_summary",
        "state",
        "work_pool_and_queue",
        "tag_links",
        "next_run",
        "updated_cell",
    ]
    list_select_related = ["flow", "work_queue__work_pool"]
    list_filter = [
        "paused",
        "status",
        ("flow", filters.BoundedRelatedFilter),
        filters.WorkPoolFilter,
        filters.WorkQueueFilter,
        TagsFilter,
        filters.ScheduleKindFilter,
        filters.ActiveScheduleFilter,
        filters.ConcurrencyLimitedFilter,
        "updated",
    ]
    search_fields = ["name", "flow__name", "description", "tags", "entrypoint"]
    search_help_text = "Name, flow name, description, tags, entrypoint, or a deployment id."
    autocomplete_fields = ["flow", "work_queue", "global_concurrency_limit"]
    readonly_fields = [
        "id",
        "created",
        "updated",
        "last_polled",
        "created_by_display",
        "updated_by_display",
        "api_json",
    ]
    fieldsets = [
        (
            "Identity",
            {"fields": ["id", "name", "flow", "version", "description", "tags", "labels"]},
        ),
        (
            "Execution",
            {
                "fields": [
                    ("paused", "status", "last_polled"),
                    "work_queue",
                    ("entrypoint", "path"),
                    "pull_steps",
                    "job_variables",
                    ("storage_document_id", "infrastructure_document_id"),
                ]
            },
        ),
        (
            "Parameters",
            {"fields": ["parameters", "parameter_openapi_schema", "enforce_parameter_schema"]},
        ),
        (
            "Concurrency",
            {
                "fields": [
                    "global_concurrency_limit",
                    ("concurrency_collision_strategy", "concurrency_grace_period_seconds"),
                ]
            },
        ),
        (
            "Provenance",
            {"fields": [("created", "created_by_display"), ("updated", "updated_by_display")]},
        ),
        ("As the API returns it", {"classes": ["collapse"], "fields": ["api_json"]}),
    ]
    actions = [
        "pause",
        "resume",
        "activate_schedules",
        "deactivate_schedules",
        "mark_ready",
        "mark_not_ready",
        "export_prefect_json",
        "export_prefect_yaml",
    ]
    # 50 rows keep a page of a 100,000-row catalog well under 300 ms (bench/admin_list.py).
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    date_hierarchy = None

    def changelist_view(self, request, extra_context=None):
        context = {**(extra_context or {}), "can_export": self.has_change_permission(request)}
        return rendered_within_page_budget(super().changelist_view, request, context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "timezone_datalist": timezone_datalist()}
        return rendered_within_page_budget(
            super().changeform_view, request, object_id, form_url, extra_context
        )

    def get_queryset(self, request) -> QuerySet:
        schedules_newest_first = DeploymentSchedule.objects.order_by("-updated")
        return (
            super()
            .get_queryset(request)
            .select_related("flow", "work_queue__work_pool", "global_concurrency_limit")
            .prefetch_related(Prefetch("schedules", queryset=schedules_newest_first))
        )

    def search(self, request, queryset, search_term):
        """A deployment id finds that deployment. Otherwise every word must appear in the
        name, flow name, description, tags or entrypoint (without the join to flows that
        Django's own search makes, which keeps PostgreSQL from using the trigram indexes).
        The term is within the search budget here (`GuardedAdmin.get_search_results`)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(id=uuid.UUID(term)), False
        except ValueError:
            pass
        for word in search_words(term):
            queryset = queryset.filter(text_matches(word))
        return queryset, False

    def get_urls(self):
        from catalog.admin import calendar_view as calendar
        from catalog.admin.imports import export_view, import_view

        def view(function):
            return self.admin_site.admin_view(partial(function, model_admin=self))

        calendar_urls = [
            path("calendar/", view(calendar.calendar_view), name="catalog_deployment_calendar"),
            path(
                "calendar/slot/", view(calendar.slot_view), name="catalog_deployment_calendar_slot"
            ),
            path(
                "upcoming/",
                view(calendar.upcoming_redirect_view),
                name="catalog_deployment_upcoming",
            ),
        ]
        preview = path(
            "schedule-preview/",
            view(schedule_preview_view),
            name="catalog_deployment_schedule_preview",
        )
        restore = path(
            "<uuid:object_id>/history/<int:number>/restore/",
            self.admin_site.admin_view(partial(history.restore_view, model_admin=self)),
            name="catalog_deployment_restore",
        )
        export = path(
            "export/<str:format_name>/",
            view(deployment_exports.export_matching_view),
            name="catalog_deployment_export",
        )
        imports = [
            path("import/", view(import_view), name="catalog_deployment_import"),
            path("import/export/", view(export_view), name="catalog_deployment_import_export"),
        ]
        return [*calendar_urls, preview, restore, export, *imports, *super().get_urls()]

    def history_view(self, request, object_id, extra_context=None):
        """The catalog's change history of the deployment, deleted or not."""
        return history.deployment_history_view(request, object_id, model_admin=self)

    # Columns ----------------------------------------------------------------------------

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, deployment: Deployment) -> str:
        """Django's row checkbox, written directly: its widget template costs ~1 ms a row."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" '
            'aria-label="Select this object for an action - {}">',
            helpers.ACTION_CHECKBOX_NAME,
            deployment.pk,
            deployment,
        )

    @admin.display(description="flow", ordering="flow__name")
    def flow_cell(self, deployment: Deployment) -> str:
        return columns.clip_cell(deployment.flow.name, "flow")

    @admin.display(description="schedule")
    def schedule_summary(self, deployment: Deployment) -> str:
        """The newest active schedule (else the newest), and how many more there are."""
        rows = sorted(deployment.schedules.all(), key=lambda row: not row.active)
        if not rows:
            return "-"
        summary = schedule_summaries.describe(rows[0].schedule)
        if not rows[0].active:
            summary = f"inactive: {summary}"
        if len(rows) > 1:
            summary = f"{summary} (+{len(rows) - 1} more)"
        active = sum(row.active for row in rows)
        title = f"{summary}; {active} of {len(rows)} active"
        return columns.clip_cell(summary, "schedule", title, width=columns.TEXT_WIDTH)

    @admin.display(description="state", ordering="paused")
    def state(self, deployment: Deployment) -> str:
        return columns.state_badge(deployment.paused)

    @admin.display(description="pool / queue", ordering="work_queue__work_pool__name")
    def work_pool_and_queue(self, deployment: Deployment) -> str:
        if deployment.work_queue_id is None:
            return "-"
        text = f"{deployment.work_pool_name} / {deployment.work_queue_name}"
        return columns.clip_cell(text, "pool")

    @admin.display(description="tags")
    def tag_links(self, deployment: Deployment) -> str:
        return columns.tag_cell(deployment.tags)

    @admin.display(description="next run (UTC)")
    def next_run(self, deployment: Deployment) -> str:
        if deployment.paused:
            return "paused"
        upcoming = earliest_next_run(deployment.schedules.all(), timezone.now())
        if upcoming is None or isinstance(upcoming, str):
            return upcoming or "-"
        return upcoming.astimezone(UTC).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="updated (UTC)", ordering="updated")
    def updated_cell(self, deployment: Deployment) -> str:
        return deployment.updated.astimezone(UTC).strftime("%Y-%m-%d %H:%M")

    # Read-only panels -------------------------------------------------------------------

    @admin.display(description="created by")
    def created_by_display(self, deployment: Deployment) -> str:
        return describe_actor(deployment.created_by)

    @admin.display(description="updated by")
    def updated_by_display(self, deployment: Deployment) -> str:
        return describe_actor(deployment.updated_by)

    @admin.display(description="GET /api/deployments/{id}")
    def api_json(self, deployment: Deployment) -> str:
        if deployment._state.adding:
            return "-"
        return json_panel(deployment_instance_json(deployment))

    # Saving: every write through the write core ------------------------------------------

    def save_model(self, request, deployment: Deployment, form, change: bool) -> None:
        deployments.deployment_save(
            deployment=deployment, created=not change, context=admin_context(request)
        )
        filters.forget_catalog_tags()

    def save_formset(self, request, form, formset, change: bool) -> None:
        context = admin_context(request)
        rows = formset.save(commit=False)
        for row in formset.deleted_objects:
            schedule_writes.schedule_delete(
                deployment=row.deployment, schedule_id=row.id, context=context
            )
        for row in rows:
            schedule_writes.schedule_save(row=row, context=context)
        formset.save_m2m()

    def delete_model(self, request, deployment: Deployment) -> None:
        deployments.deployment_delete(deployment_id=deployment.pk, context=admin_context(request))
        filters.forget_catalog_tags()

    def delete_queryset(self, request, queryset) -> None:
        deployments.deployments_delete(deployments=queryset, context=admin_context(request))
        filters.forget_catalog_tags()

    # Actions ----------------------------------------------------------------------------

    def set_on_selected(self, request, queryset, already: str, **values) -> None:
        changed = deployments.deployments_update(
            deployments=queryset, values=values, context=admin_context(request)
        )
        self.report_changed(request, changed, queryset, already)

    def report_changed(self, request, changed: int, queryset, already: str) -> None:
        selected = queryset.count()
        report_action(
            self, request, changed=changed, selected=selected, noun="deployment", already=already
        )

    @admin.action(description="Pause selected deployments", permissions=["change"])
    def pause(self, request, queryset):
        self.set_on_selected(request, queryset, "paused", paused=True)

    @admin.action(description="Resume selected deployments", permissions=["change"])
    def resume(self, request, queryset):
        self.set_on_selected(request, queryset, "running", paused=False)

    @admin.action(description="Activate all schedules of selected", permissions=["change"])
    def activate_schedules(self, request, queryset):
        self.set_schedules_active(request, queryset, active=True)

    @admin.action(description="Deactivate all schedules of selected", permissions=["change"])
    def deactivate_schedules(self, request, queryset):
        self.set_schedules_active(request, queryset, active=False)

    def set_schedules_active(self, request, queryset, *, active: bool) -> None:
        changed = deployments.deployments_set_schedules_active(
            deployments=queryset, active=active, context=admin_context(request)
        )
        already = "with every schedule active" if active else "with no active schedule"
        self.report_changed(request, changed, queryset, already)

    @admin.action(description="Mark selected as ready", permissions=["change"])
    def mark_ready(self, request, queryset):
        self.set_on_selected(request, queryset, "ready", status=DeploymentStatus.READY)

    @admin.action(description="Mark selected as not ready", permissions=["change"])
    def mark_not_ready(self, request, queryset):
        self.set_on_selected(request, queryset, "not ready", status=DeploymentStatus.NOT_READY)

    @admin.action(description="Export selected as Prefect JSON", permissions=["change"])
    def export_prefect_json(self, request, queryset):
        """The bundle `manage.py export_deployments` writes, which `import_deployments`
        takes back: flows, limits, work pools, then the deployments as the API renders them.
        Variables are left out, as the command leaves them out unless asked, and a message
        says so. An export changes nothing, so it leaves no history entry."""
        return deployment_exports.export_response(request, self, queryset, "json")

    @admin.action(description="Export selected as prefect.yaml", permissions=["change"])
    def export_prefect_yaml(self, request, queryset):
        """A prefect.yaml of the selected deployments, which `import_deployments` (and
        `prefect deploy`, given the flows' code) takes back."""
        return deployment_exports.export_response(request, self, queryset, "yaml")

    def get_changelist(self, request, **kwargs):
        if getattr(request, "exporting", False):
            return RowsOnly
        return PagedChangeList


def text_matches(word: str) -> Q:
    """The deployments whose name, flow name, description, entrypoint or one of whose
    tags holds `word`. The flows and the tags that hold it are looked up first: lists,
    unlike subqueries, let PostgreSQL OR their indexes with the trigram indexes, and let
    a page be read in name order a flow and a tag at a time (`catalog.models.pages`)."""
    in_flow_names = list(Flow.objects.filter(name__icontains=word).values_list("id", flat=True))
    return (
        Q(name__icontains=word)
        | Q(description__icontains=word)
        | Q(entrypoint__icontains=word)
        | Q(flow_id__in=in_flow_names)
        | tags_match(word)
    )


def tags_match(word: str) -> Q:
    """The deployments with a tag that holds `word`. With more distinct tags than can be
    listed, the tags' JSON text is searched instead (its trigram index serves it), which
    finds the same deployments for an ASCII word with no quote nor backslash (a match
    across two tags would hold a quote; SQLite keeps other characters escaped); else the
    tag rows are."""
    tags = tags_holding(word)
    if tags is not None:
        return Q(tags__has_any_tags=tags) if tags else Q()
    if word.isascii() and '"' not in word and "\\" not in word:
        return Q(tags__icontains=word)
    return Q(pk__in=DeploymentTag.objects.filter(tag__icontains=word).values("deployment_id"))


def describe_actor(actor: dict | None) -> str:
    if not actor:
        return "-"
    return f"{actor.get('display_value') or actor.get('id')} ({actor.get('type') or 'unknown'})"
