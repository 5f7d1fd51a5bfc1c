from django.contrib import admin

from catalog.models import (
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    WorkPool,
    WorkQueue,
)


class DeploymentScheduleInline(admin.StackedInline):
    model = DeploymentSchedule
    extra = 0


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["name", "flow", "paused", "status", "updated"]
    list_select_related = ["flow"]
    search_fields = ["name", "flow__name"]
    inlines = [DeploymentScheduleInline]
    readonly_fields = ["id", "created", "updated"]


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ["name", "created", "updated"]
    search_fields = ["name"]
    readonly_fields = ["id", "created", "updated"]


@admin.register(DeploymentSchedule)
class DeploymentScheduleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "deployment", "kind", "active", "updated"]
    list_select_related = ["deployment"]
    readonly_fields = ["id", "created", "updated"]


@admin.register(ConcurrencyLimit)
class ConcurrencyLimitAdmin(admin.ModelAdmin):
    list_display = ["name", "limit", "active", "active_slots"]
    search_fields = ["name"]
    readonly_fields = ["id", "created", "updated"]


@admin.register(WorkPool)
class WorkPoolAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "is_paused", "status"]
    search_fields = ["name"]
    readonly_fields = ["id", "created", "updated"]


@admin.register(WorkQueue)
class WorkQueueAdmin(admin.ModelAdmin):
    list_display = ["name", "work_pool", "priority", "is_paused"]
    list_select_related = ["work_pool"]
    search_fields = ["name", "work_pool__name"]
    readonly_fields = ["id", "created", "updated"]
