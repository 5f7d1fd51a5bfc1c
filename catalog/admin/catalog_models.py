"""Lists for the catalog's other tables, each with the filters and search staff need."""

import json

from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.utils.text import Truncator

from catalog.admin.forms import PrettyJSONField, VariableForm
from catalog.models import (
    ConcurrencyLimit,
    DeploymentSchedule,
    Flow,
    Variable,
    WorkPool,
    WorkQueue,
)
from catalog.rules import schedules

READ_ONLY = ["id", "created", "updated"]
JSON_AS_TEXT = {models.JSONField: {"form_class": PrettyJSONField}}


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    formfield_overrides = JSON_AS_TEXT
    list_display = ["name", "tags", "deployment_count", "created", "updated"]
    search_fields = ["name", "=id"]
    list_filter = ["created", "updated"]
    readonly_fields = READ_ONLY

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(number_of_deployments=Count("deployments"))

    @admin.display(description="deployments", ordering="number_of_deployments")
    def deployment_count(self, flow: Flow) -> int:
        return flow.number_of_deployments


@admin.register(DeploymentSchedule)
class DeploymentScheduleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "deployment", "kind", "summary", "active", "timezone", "updated"]
    list_select_related = ["deployment"]
    list_filter = ["kind", "active", "timezone", "day_or"]
    search_fields = ["slug", "deployment__name", "cron", "rrule", "=id"]
    autocomplete_fields = ["deployment"]
    readonly_fields = READ_ONLY

    @admin.display(description="schedule")
    def summary(self, row: DeploymentSchedule) -> str:
        return schedules.describe(row.schedule)


@admin.register(ConcurrencyLimit)
class ConcurrencyLimitAdmin(admin.ModelAdmin):
    list_display = ["name", "limit", "active", "active_slots", "denied_slots", "linked", "owner"]
    list_filter = ["active"]
    search_fields = ["name", "=id"]
    readonly_fields = [*READ_ONLY, "owner"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("owner")
            .annotate(number_linked=Count("deployments"))
        )

    @admin.display(description="deployments", ordering="number_linked")
    def linked(self, limit: ConcurrencyLimit) -> int:
        return limit.number_linked


@admin.register(WorkPool)
class WorkPoolAdmin(admin.ModelAdmin):
    formfield_overrides = JSON_AS_TEXT
    list_display = ["name", "type", "is_paused", "status", "concurrency_limit", "queue_count"]
    list_filter = ["type", "is_paused", "status"]
    search_fields = ["name", "description", "=id"]
    autocomplete_fields = ["default_queue"]
    readonly_fields = READ_ONLY

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(number_of_queues=Count("queues"))

    @admin.display(description="queues", ordering="number_of_queues")
    def queue_count(self, pool: WorkPool) -> int:
        return pool.number_of_queues


@admin.register(WorkQueue)
class WorkQueueAdmin(admin.ModelAdmin):
    list_display = ["name", "work_pool", "priority", "is_paused", "status", "concurrency_limit"]
    list_select_related = ["work_pool"]
    list_filter = ["work_pool", "is_paused", "status"]
    search_fields = ["name", "work_pool__name", "=id"]
    autocomplete_fields = ["work_pool"]
    readonly_fields = READ_ONLY


@admin.register(Variable)
class VariableAdmin(admin.ModelAdmin):
    form = VariableForm
    list_display = ["name", "value_json", "tags", "updated"]
    list_filter = ["updated"]
    search_fields = ["name", "tags", "=id"]
    search_help_text = "Name, tags, or a variable id."
    readonly_fields = READ_ONLY

    @admin.display(description="value")
    def value_json(self, variable: Variable) -> str:
        return Truncator(json.dumps(variable.value, ensure_ascii=False)).chars(80)
