"""List filters staff triage by, each a small `SimpleListFilter` over a derived value."""

from django.contrib import admin
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import NO_SCHEDULE, Deployment, ScheduleKind, WorkQueue

TAGS_CACHE_KEY = "catalog:deployment-tags"
TAGS_CACHE_SECONDS = 60


def catalog_tags() -> list[str]:
    """Every tag used by a deployment, sorted. Cached briefly: on a large catalog the
    scan costs more than a list page, and a tag list a minute old still filters right."""
    tags = cache.get(TAGS_CACHE_KEY)
    if tags is None:
        tags = distinct_tags()
        cache.set(TAGS_CACHE_KEY, tags, TAGS_CACHE_SECONDS)
    return tags


def distinct_tags() -> list[str]:
    table = Deployment._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT DISTINCT tag FROM {table}, jsonb_array_elements_text(tags) AS tag"
            )
        else:
            cursor.execute(f"SELECT DISTINCT tag.value FROM {table}, json_each({table}.tags) tag")
        return sorted(row[0] for row in cursor.fetchall())


def forget_catalog_tags() -> None:
    cache.delete(TAGS_CACHE_KEY)


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [(tag, tag) for tag in catalog_tags()]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.with_tags([value]) if value else queryset


class ScheduleKindFilter(admin.SimpleListFilter):
    title = "schedule kind"
    parameter_name = "schedule_kind"

    def lookups(self, request, model_admin):
        return [*ScheduleKind.choices, (NO_SCHEDULE, "No schedule")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == NO_SCHEDULE or value in ScheduleKind.values:
            return queryset.with_schedule_kind(value)
        return queryset


class ActiveScheduleFilter(admin.SimpleListFilter):
    """A schedule's `active` flag, which is not the deployment's `paused` flag."""

    title = "has an active schedule"
    parameter_name = "active_schedule"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.with_active_schedule(self.value() == "yes")
        return queryset


class ConcurrencyLimitedFilter(admin.SimpleListFilter):
    title = "concurrency-limited"
    parameter_name = "limited"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(global_concurrency_limit__isnull=self.value() == "no")
        return queryset


class WorkPoolFilter(admin.SimpleListFilter):
    title = "work pool"
    parameter_name = "work_pool"

    def lookups(self, request, model_admin):
        from catalog.models import WorkPool

        return [(name, name) for name in WorkPool.objects.values_list("name", flat=True)]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(work_queue__work_pool__name=value) if value else queryset


class WorkQueueFilter(admin.SimpleListFilter):
    title = "work queue"
    parameter_name = "work_queue"

    def lookups(self, request, model_admin):
        queues = WorkQueue.objects.select_related("work_pool").order_by("work_pool__name", "name")
        return [(str(queue.pk), str(queue)) for queue in queues]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(work_queue_id=value) if value else queryset


class ApiKeyStateFilter(admin.SimpleListFilter):
    """Whether a key works now: valid, expired or revoked."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("valid", "valid"), ("expired", "expired"), ("revoked", "revoked")]

    def queryset(self, request, keys: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "valid":
            return keys.filter(revoked__isnull=True).exclude(expires__lte=now)
        if self.value() == "expired":
            return keys.filter(revoked__isnull=True, expires__lte=now)
        if self.value() == "revoked":
            return keys.filter(revoked__isnull=False)
        return keys
