"""Deployments, and the JSON of each kept beside it."""

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from catalog.models.base import (
    TimestampedModel,
    choices_of,
    name_allowed_constraint,
    tag_count_constraint,
    validate_actor,
    validate_grace_period,
    validate_labels,
    validate_name,
    validate_object,
    validate_optional_object,
    validate_parameters,
    validate_pull_steps,
    validate_tags,
)
from catalog.models.flows import Flow
from catalog.models.limits import ConcurrencyLimit
from catalog.models.work_pools import WorkQueue
from catalog.rules import limits

FLOW_ID_LABEL = "prefect.flow.id"
NO_SCHEDULE = "none"

DeploymentStatus = models.TextChoices("DeploymentStatus", choices_of(limits.DEPLOYMENT_STATUSES))
CollisionStrategy = models.TextChoices("CollisionStrategy", choices_of(limits.COLLISION_STRATEGIES))


class DeploymentQuerySet(models.QuerySet):
    def with_related(self) -> "DeploymentQuerySet":
        """Everything the API renders, in two queries whatever the number of schedules."""
        newest_first = schedule_model().objects.order_by("-updated")
        return self.select_related(
            "work_queue__work_pool", "global_concurrency_limit"
        ).prefetch_related(models.Prefetch("schedules", queryset=newest_first))

    def with_tags(self, tags: list[str], *, match: str = "all") -> "DeploymentQuerySet":
        """Deployments with all the tags (`match="all"`) or any of them (`"any"`)."""
        lookup = "tags__has_any_tags" if match == "any" else "tags__has_all_tags"
        return self.filter(**{lookup: tags})

    def with_schedule_kind(self, kind: str) -> "DeploymentQuerySet":
        """Deployments with a schedule of that kind, or with none (`"none"`)."""
        if kind == NO_SCHEDULE:
            return self.filter(pk__in=deployments_counted(schedules=0))
        return self.filter(Exists(schedules_of_each().filter(kind=kind)))

    def with_active_schedule(self, active: bool = True) -> "DeploymentQuerySet":
        """Deployments with (or without) a schedule whose own `active` flag is on."""
        none_active = deployments_counted(active_schedules=0)
        return self.exclude(pk__in=none_active) if active else self.filter(pk__in=none_active)


def deployments_counted(**counts):
    """The ids of the deployments whose schedule counts, kept by triggers in
    `ScheduleCounts`, are these: a few rows of a partial index, not an anti-join."""
    counted = apps.get_model("catalog", "ScheduleCounts")
    return counted.objects.filter(**counts).values("deployment_id")


def schedules_of_each():
    return schedule_model().objects.filter(deployment=OuterRef("pk"))


def schedule_model():
    """`DeploymentSchedule`, which refers to this module's `Deployment` (not the reverse)."""
    return Deployment._meta.get_field("schedules").related_model


class Deployment(TimestampedModel):
    # Indexed with the id below, in the order of the newest or last changed first.
    created = models.DateTimeField(default=timezone.now, editable=False)
    updated = models.DateTimeField(default=timezone.now, editable=False)
    # Prefect's server accepts an empty deployment name, and so does the catalog.
    name = models.CharField(
        max_length=limits.NAME_MAX_LENGTH, blank=True, validators=[validate_name]
    )
    version = models.CharField(max_length=limits.NAME_MAX_LENGTH, null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    # The unique (flow, name) index and (flow, name, id) below lead with the flow and serve
    # lookups by flow alone.
    flow = models.ForeignKey(
        Flow, on_delete=models.CASCADE, related_name="deployments", db_index=False
    )
    paused = models.BooleanField(default=False)
    global_concurrency_limit = models.ForeignKey(
        ConcurrencyLimit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deployments",
    )
    concurrency_collision_strategy = models.CharField(
        max_length=16, choices=CollisionStrategy.choices, null=True, blank=True
    )
    concurrency_grace_period_seconds = models.PositiveIntegerField(
        null=True, blank=True, validators=[validate_grace_period]
    )
    job_variables = models.JSONField(default=dict, blank=True, validators=[validate_object])
    parameters = models.JSONField(default=dict, blank=True, validators=[validate_parameters])
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags])
    labels = models.JSONField(default=dict, blank=True, validators=[validate_labels])
    # Indexed by (work_queue, name, id) below, which also serves lookups by queue alone.
    work_queue = models.ForeignKey(
        WorkQueue,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deployments",
        db_index=False,
    )
    last_polled = models.DateTimeField(null=True, blank=True)
    parameter_openapi_schema = models.JSONField(
        default=dict, null=True, blank=True, validators=[validate_optional_object]
    )
    path = models.TextField(null=True, blank=True)
    pull_steps = models.JSONField(
        default=list, null=True, blank=True, validators=[validate_pull_steps]
    )
    entrypoint = models.TextField(null=True, blank=True)
    storage_document_id = models.UUIDField(null=True, blank=True)
    infrastructure_document_id = models.UUIDField(null=True, blank=True)
    created_by = models.JSONField(null=True, blank=True, validators=[validate_actor])
    updated_by = models.JSONField(null=True, blank=True, validators=[validate_actor])
    status = models.CharField(
        max_length=16, choices=DeploymentStatus.choices, default=DeploymentStatus.NOT_READY
    )
    enforce_parameter_schema = models.BooleanField(default=True)
    # What the last import wrote and the state it left (see `catalog.importing`): when
    # both still match, re-importing the same record can skip it without reading it closely.
    import_fingerprint = models.CharField(max_length=100, null=True, blank=True, editable=False)

    objects = DeploymentQuerySet.as_manager()

    class Meta:
        # A total order (name, then id) that the indexes below serve, so a page of a large
        # list is read in index order instead of sorting the whole table; a filter on a
        # flow or a queue reads the index that leads with it in each order of the API's
        # sorts (name, newest, last changed), one on the paused flag or the status by name.
        # Each order ends with the id as `catalog.rules.page_orders` breaks ties.
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="catalog_deployment_name_id"),
            models.Index(fields=["-created", "id"], name="catalog_deployment_new"),
            models.Index(fields=["-updated", "id"], name="catalog_deployment_upd"),
            models.Index(fields=["flow", "name", "id"], name="catalog_deployment_flow_name"),
            models.Index(fields=["flow", "-created", "id"], name="catalog_deployment_flow_new"),
            models.Index(fields=["flow", "-updated", "id"], name="catalog_deployment_flow_upd"),
            models.Index(fields=["work_queue", "name", "id"], name="catalog_deployment_queue_name"),
            models.Index(
                fields=["work_queue", "-created", "id"], name="catalog_deployment_queue_new"
            ),
            models.Index(
                fields=["work_queue", "-updated", "id"], name="catalog_deployment_queue_upd"
            ),
            models.Index(fields=["paused", "name", "id"], name="catalog_deployment_paused_name"),
            # Paused deployments are few: their newest or last-changed page, at any offset,
            # is read from these small partial indexes rather than by sorting them all.
            models.Index(
                fields=["-created", "id"],
                condition=Q(paused=True),
                name="catalog_deployment_paused_new",
            ),
            models.Index(
                fields=["-updated", "id"],
                condition=Q(paused=True),
                name="catalog_deployment_paused_upd",
            ),
            models.Index(fields=["status", "name", "id"], name="catalog_deployment_status_name"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "name"], name="%(app_label)s_%(class)s_unique_flow_name"
            ),
            name_allowed_constraint(may_be_empty=True),
            tag_count_constraint(),
            models.CheckConstraint(
                condition=Q(concurrency_grace_period_seconds__isnull=True)
                | Q(
                    concurrency_grace_period_seconds__gte=limits.GRACE_PERIOD_SECONDS.start,
                    concurrency_grace_period_seconds__lte=limits.GRACE_PERIOD_SECONDS.stop - 1,
                    concurrency_collision_strategy__isnull=False,
                ),
                name="%(app_label)s_%(class)s_grace_period_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name or "(unnamed)"

    @property
    def work_queue_name(self) -> str | None:
        return self.work_queue.name if self.work_queue_id else None

    @property
    def work_pool_name(self) -> str | None:
        return self.work_queue.work_pool.name if self.work_queue_id else None

    def labels_with_flow_id(self) -> dict:
        """Prefect's labels: the flow's, then `prefect.flow.id`, then the deployment's own."""
        return labels_with_flow_id(self.flow, self.labels)


def labels_with_flow_id(flow: Flow, own: dict | None) -> dict:
    """Prefect's labels of a deployment: its flow's, then `prefect.flow.id`, then its own."""
    return {**(flow.labels or {}), FLOW_ID_LABEL: str(flow.id), **(own or {})}


class DeploymentJson(models.Model):
    """The API's JSON of a deployment, kept so that reads need not render it again.

    Database triggers (`catalog.rendering.json_cache`) create a row with each deployment,
    and on every change that shows in the JSON (the deployment, its schedules, its queue,
    pool or concurrency limit) clear `body` and advance `version`; a read that finds no
    body renders one and keeps it only if `version` has not moved meanwhile. Whatever
    writes, the ORM, the importer's COPY or raw SQL, the triggers see it.
    """

    deployment = models.OneToOneField(
        Deployment,
        primary_key=True,
        on_delete=models.DO_NOTHING,  # the triggers delete the row with its deployment
        db_constraint=False,
        related_name="+",
    )
    version = models.BigIntegerField(default=0)
    body = models.TextField(null=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"JSON of deployment {self.deployment_id} (version {self.version})"
