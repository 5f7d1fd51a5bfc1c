"""List filters staff triage by, each a small `SimpleListFilter` over a derived value."""

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from catalog.admin.columns import clipped
from catalog.admin.paginator import table_estimate
from catalog.models import NO_SCHEDULE, Deployment, ScheduleKind, WorkPool, WorkQueue
from catalog.models.related_ids import one_of

TAGS_CACHE_KEY = "catalog:deployment-tags"
TAGS_CACHE_SECONDS = 60


def catalog_tags() -> list[str]:
    """The tags most deployments use (at most CATALOG_ADMIN_FILTER_CHOICES), sorted.
    Cached briefly: on a large catalog the scan costs more than a list page, and a tag
    list a minute old still filters right."""
    tags = cache.get(TAGS_CACHE_KEY)
    if tags is None:
        tags = most_used_tags(settings.CATALOG_ADMIN_FILTER_CHOICES)
        cache.set(TAGS_CACHE_KEY, tags, TAGS_CACHE_SECONDS)
    return tags


# Past this many deployments, PostgreSQL counts the tags of a sample of about this many.
TAG_SAMPLE_ROWS = 10_000


def most_used_tags(limit: int) -> list[str]:
    """Counted over every deployment, or on PostgreSQL past TAG_SAMPLE_ROWS over a sample
    of the table's pages (the same sample while the table stays the same): the tags a
    filter offers need not be exact, and a count of every tag of a million deployments
    costs seconds. A tag left out is still reached from a row's tag link."""
    table = Deployment._meta.db_table
    if connection.vendor == "postgresql":
        sample = tag_sample()
        each_tag = f"SELECT tag FROM {table} {sample}, jsonb_array_elements_text(tags) AS tag"
    else:
        each_tag = f"SELECT tag.value AS tag FROM {table}, json_each({table}.tags) tag"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tag FROM ({each_tag}) AS tags GROUP BY tag "
            "ORDER BY COUNT(*) DESC, tag LIMIT %s",
            [limit],
        )
        return sorted(row[0] for row in cursor.fetchall())


def tag_sample() -> str:
    rows = table_estimate(Deployment.objects.all())
    if rows <= TAG_SAMPLE_ROWS:
        return ""
    return f"TABLESAMPLE SYSTEM ({100 * TAG_SAMPLE_ROWS / rows:.4f}) REPEATABLE (17)"


def with_current(choices: list[tuple[str, str]], value: str | None) -> list[tuple[str, str]]:
    """The choices, and the chosen value when it is not among them (a tag followed from a
    row, a flow past the first choices), so the filter shows what the list is filtered by."""
    if value is None or any(key == value for key, _ in choices):
        return choices
    return [*choices, (value, clipped(value))]


def forget_catalog_tags() -> None:
    cache.delete(TAGS_CACHE_KEY)


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return with_current([(tag, clipped(tag)) for tag in catalog_tags()], self.value())

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
        names = WorkPool.objects.values_list("name", flat=True)
        choices = [(name, clipped(name)) for name in names[: settings.CATALOG_ADMIN_FILTER_CHOICES]]
        return with_current(choices, self.value())

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        """The pool's queues looked up first (`one_of`), so that PostgreSQL reads the
        deployments from the (work_queue, name, id) index."""
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(
            one_of("work_queue_id", WorkQueue.objects.filter(work_pool__name=value))
        )


class WorkQueueFilter(admin.SimpleListFilter):
    title = "work queue"
    parameter_name = "work_queue"

    def lookups(self, request, model_admin):
        queues = WorkQueue.objects.select_related("work_pool").order_by("work_pool__name", "name")
        shown = queues[: settings.CATALOG_ADMIN_FILTER_CHOICES]
        return with_current([(str(queue.pk), clipped(str(queue))) for queue in shown], self.value())

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(work_queue_id=value) if value else queryset


class BoundedRelatedFilter(admin.RelatedFieldListFilter):
    """Django's filter by a related row, offering the first CATALOG_ADMIN_FILTER_CHOICES
    rows (in the related admin's order) rather than every row of the table."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin) or ()
        rows = field.related_model._default_manager.order_by(*ordering)
        choices = [
            (row.pk, clipped(str(row))) for row in rows[: settings.CATALOG_ADMIN_FILTER_CHOICES]
        ]
        chosen = self.lookup_val[-1] if self.lookup_val else None
        if chosen is not None and not any(str(pk) == chosen for pk, _ in choices):
            choices += [(row.pk, clipped(str(row))) for row in rows.filter(pk=chosen)]
        return choices


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
