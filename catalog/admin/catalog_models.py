"""Lists for the catalog's other tables, each with the filters and search staff need.
Saves and deletes go through the write core, as every other door's do."""

import json

from django.contrib import admin
from django.db.models import Count
from django.utils.text import Truncator

from catalog.admin import columns, filters
from catalog.admin.audit import admin_context
from catalog.admin.forms import (
    ConcurrencyLimitForm,
    DeploymentScheduleForm,
    FlowForm,
    VariableForm,
    WorkPoolForm,
    WorkQueueForm,
)
from catalog.admin.guarded import GuardedAdmin
from catalog.models import (
    ConcurrencyLimit,
    DeploymentSchedule,
    Flow,
    Variable,
    WorkPool,
    WorkQueue,
)
from catalog.rules import schedule_summaries
from catalog.services import flows, limits, variables, work_pools
from catalog.services import schedules as schedule_writes

READ_ONLY = ["id", "created", "updated"]


class CoreAdmin(GuardedAdmin):
    """A list whose saves and deletes are the write core's: `save` and `delete` name the
    core's functions for one row of this model."""

    def save_model(self, request, obj, form, change: bool) -> None:
        self.save(obj, form, admin_context(request))

    def delete_model(self, request, obj) -> None:
        self.delete(obj, admin_context(request))

    def delete_queryset(self, request, queryset) -> None:
        context = admin_context(request)
        for obj in queryset:
            self.delete(obj, context)

    def save(self, obj, form, context) -> None:
        raise NotImplementedError

    def delete(self, obj, context) -> None:
        obj.delete()


@admin.register(Flow)
class FlowAdmin(CoreAdmin):
    form = FlowForm
    list_display = ["name", "tag_list", "deployment_count", "created", "updated"]
    search_fields = ["name", "=id"]
    list_filter = ["created", "updated"]
    readonly_fields = READ_ONLY
    ordering = ["name"]  # the count's GROUP BY drops the model's own ordering

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(number_of_deployments=Count("deployments"))

    @admin.display(description="deployments", ordering="number_of_deployments")
    def deployment_count(self, flow: Flow) -> int:
        return flow.number_of_deployments

    @admin.display(description="tags")
    def tag_list(self, flow: Flow) -> str:
        return columns.tag_texts(flow.tags)

    def save(self, flow, form, context) -> None:
        flows.flow_save(flow=flow, context=context)

    def delete(self, flow, context) -> None:
        flows.flow_delete(flow=flow, context=context)


@admin.register(DeploymentSchedule)
class DeploymentScheduleAdmin(CoreAdmin):
    form = DeploymentScheduleForm
    list_display = ["__str__", "deployment", "kind", "summary", "active", "timezone", "updated"]
    list_select_related = ["deployment"]
    list_filter = ["kind", "active", "timezone", "day_or"]
    search_fields = ["slug", "deployment__name", "cron", "rrule", "=id"]
    autocomplete_fields = ["deployment"]
    readonly_fields = READ_ONLY

    @admin.display(description="schedule")
    def summary(self, row: DeploymentSchedule) -> str:
        return columns.clipped(schedule_summaries.describe(row.schedule), columns.TEXT_WIDTH)

    def save(self, row, form, context) -> None:
        schedule_writes.schedule_save(row=row, context=context)

    def delete(self, row, context) -> None:
        schedule_writes.schedule_delete(
            deployment=row.deployment, schedule_id=row.id, context=context
        )


@admin.register(ConcurrencyLimit)
class ConcurrencyLimitAdmin(CoreAdmin):
    form = ConcurrencyLimitForm
    list_display = ["name", "limit", "active", "active_slots", "denied_slots", "linked", "owner"]
    list_filter = ["active"]
    search_fields = ["name", "=id"]
    readonly_fields = [*READ_ONLY, "owner"]
    ordering = ["name"]  # the count's GROUP BY drops the model's own ordering

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

    def save(self, limit, form, context) -> None:
        limits.concurrency_limit_save(limit=limit, context=context)

    def delete(self, limit, context) -> None:
        limits.concurrency_limit_delete(limit=limit, context=context)


@admin.register(WorkPool)
class WorkPoolAdmin(CoreAdmin):
    form = WorkPoolForm
    list_display = ["name", "type", "is_paused", "status", "concurrency_limit", "queue_count"]
    list_filter = ["type", "is_paused", "status"]
    search_fields = ["name", "description", "=id"]
    autocomplete_fields = ["default_queue"]
    readonly_fields = READ_ONLY
    ordering = ["name"]  # the count's GROUP BY drops the model's own ordering

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(number_of_queues=Count("queues"))

    @admin.display(description="queues", ordering="number_of_queues")
    def queue_count(self, pool: WorkPool) -> int:
        return pool.number_of_queues

    def save(self, pool, form, context) -> None:
        work_pools.work_pool_save(pool=pool, renamed=form.renames_pool(), context=context)

    def delete(self, pool, context) -> None:
        work_pools.work_pool_delete(pool=pool, context=context)


@admin.register(WorkQueue)
class WorkQueueAdmin(CoreAdmin):
    form = WorkQueueForm
    list_display = ["name", "work_pool", "priority", "is_paused", "status", "concurrency_limit"]
    list_select_related = ["work_pool"]
    list_filter = [("work_pool", filters.BoundedRelatedFilter), "is_paused", "status"]
    search_fields = ["name", "work_pool__name", "=id"]
    autocomplete_fields = ["work_pool"]
    readonly_fields = READ_ONLY

    def save(self, queue, form, context) -> None:
        work_pools.work_queue_save(queue=queue, context=context)


@admin.register(Variable)
class VariableAdmin(CoreAdmin):
    form = VariableForm
    list_display = ["name", "value_json", "tag_list", "updated"]
    list_filter = ["updated"]
    search_fields = ["name", "tags", "=id"]
    search_help_text = "Name, tags, or a variable id."
    readonly_fields = READ_ONLY

    @admin.display(description="value")
    def value_json(self, variable: Variable) -> str:
        return Truncator(json.dumps(variable.value, ensure_ascii=False)).chars(80)

    @admin.display(description="tags")
    def tag_list(self, variable: Variable) -> str:
        return columns.tag_texts(variable.tags)

    def save(self, variable, form, context) -> None:
        variables.variable_save(variable=variable, context=context)

    def delete(self, variable, context) -> None:
        variables.variable_delete(variable=variable, context=context)
