"""The catalog's tables, mirroring Prefect's: flows, deployments and their schedules,
global concurrency limits, work pools, work queues and variables; and the API keys that
let clients write to them.

Rules the database can hold are constraints here; schedule rules live in
`catalog.rules.schedules` and are applied by `DeploymentSchedule.clean()` and every write path.
"""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import Q
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from catalog.api import request_models as actions
from catalog.models.lookups import JsonArrayLength
from catalog.rules import schedules

BANNED_NAME_CHARACTERS = "/%&><"
DEFAULT_AGENT_POOL = "default-agent-pool"
DEFAULT_QUEUE = "default"
FLOW_ID_LABEL = "prefect.flow.id"


def has_no_banned_characters(field: str) -> Q:
    condition = Q()
    for character in BANNED_NAME_CHARACTERS:
        condition &= ~Q(**{f"{field}__contains": character})
    return condition


def name_allowed_constraint(*, may_be_empty: bool = False) -> models.CheckConstraint:
    condition = has_no_banned_characters("name")
    return models.CheckConstraint(
        condition=condition if may_be_empty else condition & ~Q(name=""),
        name="%(app_label)s_%(class)s_name_allowed",
    )


def optional_limit_constraint() -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(concurrency_limit__isnull=True) | Q(concurrency_limit__gte=0),
        name="%(app_label)s_%(class)s_limit_not_negative",
    )


def validate_name(value: str) -> None:
    banned = sorted({character for character in value if character in BANNED_NAME_CHARACTERS})
    if banned:
        raise ValidationError(
            "Name may not contain %(characters)s.",
            code="banned_characters",
            params={"characters": " ".join(banned)},
        )


def validate_string_list(value) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Enter a list of strings.", code="not_a_string_list")


def validate_tags(value) -> None:
    validate_string_list(value)
    if len(value) > actions.MAX_TAGS:
        raise ValidationError(
            "Enter at most %(limit)s tags (%(count)s given).",
            code="too_many_tags",
            params={"limit": actions.MAX_TAGS, "count": len(value)},
        )
    for tag in value:
        if len(tag) > actions.MAX_TAG_LENGTH:
            raise ValidationError(
                "Tag %(start)s… is longer than %(limit)s characters.",
                code="tag_too_long",
                params={"start": tag[:20], "limit": actions.MAX_TAG_LENGTH},
            )


def tag_count_constraint() -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=LessThanOrEqual(JsonArrayLength("tags"), actions.MAX_TAGS),
        name="%(app_label)s_%(class)s_tag_count",
    )


def validate_object(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Enter a JSON object.", code="not_an_object")


def validate_optional_object(value) -> None:
    if value is not None:
        validate_object(value)


def validate_labels(value) -> None:
    validate_object(value)
    for key, label in value.items():
        if not isinstance(label, str | int | float | bool):
            raise ValidationError(
                "Label %(key)s must be a string, number or boolean.",
                code="bad_label",
                params={"key": key},
            )


def validate_pull_steps(value) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(step, dict) for step in value):
        raise ValidationError("Enter a list of JSON objects.", code="not_an_object_list")


def validate_actor(value) -> None:
    """`created_by` / `updated_by`: `{"id", "type", "display_value"}`, each nullable."""
    if value is None:
        return
    if not isinstance(value, dict) or set(value) - {"id", "type", "display_value"}:
        raise ValidationError(
            'Enter an object with "id", "type" and "display_value".', code="bad_actor"
        )


class TimestampedModel(models.Model):
    """A UUID primary key and Prefect's `created`/`updated` timestamps.

    `save()` moves `updated` to now unless `touch=False`, which imports use to keep the
    timestamps they were given.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        abstract = True

    def save(self, *args, touch: bool = True, **kwargs) -> None:
        if touch and not self._state.adding:
            self.updated = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "updated"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.check_json_shapes()

    def check_json_shapes(self) -> None:
        """Run JSON fields' validators on "empty" values too (`[]` where an object belongs),
        which `clean_fields()` skips for fields that may be blank."""
        errors = {}
        for field in self._meta.concrete_fields:
            value = getattr(self, field.attname)
            if isinstance(field, models.JSONField) and value in field.empty_values:
                try:
                    for validator in field.validators:
                        validator(value)
                except ValidationError as exc:
                    errors[field.name] = exc.messages
        if errors:
            raise ValidationError(errors)


class Flow(TimestampedModel):
    name = models.CharField(max_length=255, unique=True, validators=[validate_name])
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags])
    labels = models.JSONField(
        default=dict, null=True, blank=True, validators=[validate_optional_object]
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            name_allowed_constraint(),
            tag_count_constraint(),
        ]

    def __str__(self) -> str:
        return self.name


class ConcurrencyLimit(TimestampedModel):
    """A global concurrency limit (Prefect's `concurrency_limit_v2`)."""

    active = models.BooleanField(default=True)
    name = models.CharField(max_length=255, unique=True, validators=[validate_name])
    limit = models.PositiveIntegerField()
    active_slots = models.PositiveIntegerField(default=0)
    denied_slots = models.PositiveIntegerField(default=0)
    slot_decay_per_second = models.FloatField(default=0.0, validators=[MinValueValidator(0.0)])
    avg_slot_occupancy_seconds = models.FloatField(default=2.0, validators=[MinValueValidator(0.0)])
    # The deployment a `concurrency_limit: N` made this limit for (`deployment:<id>`);
    # deleting that deployment deletes its own limit, never a shared one.
    owner = models.OneToOneField(
        "Deployment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="own_concurrency_limit",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(limit__gte=0), name="%(app_label)s_%(class)s_limit_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(active_slots__gte=0) & Q(denied_slots__gte=0),
                name="%(app_label)s_%(class)s_slots_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(slot_decay_per_second__gte=0) & Q(avg_slot_occupancy_seconds__gte=0),
                name="%(app_label)s_%(class)s_rates_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def name_for_deployment(deployment_id: uuid.UUID) -> str:
        return f"deployment:{deployment_id}"


class WorkStatus(models.TextChoices):
    READY = "READY"
    NOT_READY = "NOT_READY"
    PAUSED = "PAUSED"


class WorkPool(TimestampedModel):
    name = models.CharField(max_length=255, unique=True, validators=[validate_name])
    description = models.TextField(null=True, blank=True)
    type = models.CharField(max_length=255, default="prefect-agent")
    base_job_template = models.JSONField(default=dict, blank=True, validators=[validate_object])
    is_paused = models.BooleanField(default=False)
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=16,
        choices=WorkStatus.choices,
        null=True,
        blank=True,
        default=WorkStatus.NOT_READY,
    )
    default_queue = models.ForeignKey(
        "WorkQueue", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    storage_configuration = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ["name"]
        constraints = [
            name_allowed_constraint(),
            optional_limit_constraint(),
        ]

    def __str__(self) -> str:
        return self.name


class WorkQueue(TimestampedModel):
    name = models.CharField(max_length=255, validators=[validate_name])
    description = models.TextField(null=True, blank=True, default="")
    is_paused = models.BooleanField(default=False)
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    priority = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    work_pool = models.ForeignKey(WorkPool, on_delete=models.CASCADE, related_name="queues")
    last_polled = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=WorkStatus.choices, default=WorkStatus.NOT_READY
    )

    class Meta:
        ordering = ["work_pool__name", "priority", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["work_pool", "name"], name="%(app_label)s_%(class)s_unique_pool_name"
            ),
            name_allowed_constraint(),
            models.CheckConstraint(
                condition=Q(priority__gte=1), name="%(app_label)s_%(class)s_priority_positive"
            ),
            optional_limit_constraint(),
        ]

    def __str__(self) -> str:
        return f"{self.work_pool.name} / {self.name}"


class DeploymentStatus(models.TextChoices):
    """Whether a worker has polled for the deployment's runs lately."""

    READY = "READY"
    NOT_READY = "NOT_READY"


class CollisionStrategy(models.TextChoices):
    ENQUEUE = "ENQUEUE"
    CANCEL_NEW = "CANCEL_NEW"


class DeploymentQuerySet(models.QuerySet):
    def with_related(self) -> "DeploymentQuerySet":
        """Everything the API renders, in two queries whatever the number of schedules."""
        return self.select_related(
            "work_queue__work_pool", "global_concurrency_limit"
        ).prefetch_related(
            models.Prefetch("schedules", queryset=DeploymentSchedule.objects.order_by("-updated"))
        )


class Deployment(TimestampedModel):
    name = models.CharField(max_length=255, blank=True, validators=[validate_name])
    version = models.CharField(max_length=255, null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    # The unique (flow, name) index leads with the flow and serves lookups by flow alone.
    flow = models.ForeignKey(
        Flow, on_delete=models.CASCADE, related_name="deployments", db_index=False
    )
    paused = models.BooleanField(default=False, db_index=True)
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
        null=True,
        blank=True,
        validators=[MinValueValidator(60), MaxValueValidator(86400)],
    )
    job_variables = models.JSONField(default=dict, blank=True, validators=[validate_object])
    parameters = models.JSONField(default=dict, blank=True, validators=[validate_object])
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags])
    labels = models.JSONField(default=dict, blank=True, validators=[validate_labels])
    work_queue = models.ForeignKey(
        WorkQueue, on_delete=models.SET_NULL, null=True, blank=True, related_name="deployments"
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
    # What the last import wrote and the state it left (see `catalog.importing.core`): when both
    # still match, re-importing the same record can skip it without reading it closely.
    import_fingerprint = models.CharField(max_length=100, null=True, blank=True, editable=False)

    objects = DeploymentQuerySet.as_manager()

    class Meta:
        # A total order (name, then id) that the index below serves, so a page of a large
        # list is read in index order instead of sorting the whole table.
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name", "id"], name="catalog_deployment_name_id")]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "name"], name="%(app_label)s_%(class)s_unique_flow_name"
            ),
            name_allowed_constraint(may_be_empty=True),
            tag_count_constraint(),
            models.CheckConstraint(
                condition=Q(concurrency_grace_period_seconds__isnull=True)
                | Q(
                    concurrency_grace_period_seconds__gte=60,
                    concurrency_grace_period_seconds__lte=86400,
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
        merged = dict(self.flow.labels or {})
        merged[FLOW_ID_LABEL] = str(self.flow_id)
        merged.update(self.labels or {})
        return merged


class DeploymentJson(models.Model):
    """The API's JSON of a deployment, kept so that reads need not render it again.

    Database triggers (`catalog.rendering.json_cache`) create a row with each deployment, and on
    every change that shows in the JSON (the deployment, its schedules, its queue, pool
    or concurrency limit) clear `body` and advance `version`; a read that finds no body
    renders one and keeps it only if `version` has not moved meanwhile. Whatever writes,
    the ORM, the importer's COPY or raw SQL, the triggers see it.
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


class ScheduleKind(models.TextChoices):
    INTERVAL = "interval"
    CRON = "cron"
    RRULE = "rrule"


# The columns that together hold a schedule's rule (see `schedule_columns`).
SCHEDULE_RULE_COLUMNS = (
    "kind",
    "interval",
    "anchor_date",
    "anchor_utc_offset",
    "cron",
    "day_or",
    "rrule",
    "timezone",
)


def schedule_columns(schedule: schedules.Schedule) -> dict:
    """The columns of a schedule row that hold `schedule`."""
    columns = {
        "kind": schedule.kind,
        "interval": None,
        "anchor_date": None,
        "anchor_utc_offset": None,
        "cron": None,
        "day_or": True,
        "rrule": None,
        "timezone": schedule.timezone,
    }
    if isinstance(schedule, schedules.IntervalSchedule):
        columns["interval"] = schedule.interval
        columns["anchor_date"] = schedule.anchor_date
        columns["anchor_utc_offset"] = int(schedule.anchor_date.utcoffset().total_seconds())
    elif isinstance(schedule, schedules.CronSchedule):
        columns["cron"], columns["day_or"] = schedule.cron, schedule.day_or
    else:
        columns["rrule"] = schedule.rrule
    return columns


class DeploymentSchedule(TimestampedModel):
    """One schedule of a deployment; `kind` says which of interval, cron or rrule is set."""

    # Schedules are always read through their deployment (whose foreign key and slug are
    # indexed), never by time alone: no index on their timestamps to slow bulk writes.
    created = models.DateTimeField(default=timezone.now, editable=False)
    updated = models.DateTimeField(default=timezone.now, editable=False)
    # The unique (deployment, slug) index leads with the deployment and serves its lookups.
    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, related_name="schedules", db_index=False
    )
    kind = models.CharField(max_length=8, choices=ScheduleKind.choices)
    interval = models.FloatField(null=True, blank=True, help_text="Seconds between runs.")
    anchor_date = models.DateTimeField(null=True, blank=True)
    # Prefect echoes the anchor with the UTC offset it was given, so the offset is kept.
    anchor_utc_offset = models.IntegerField(
        null=True, blank=True, help_text="Seconds east of UTC the anchor was given in."
    )
    cron = models.CharField(max_length=255, null=True, blank=True)
    day_or = models.BooleanField(default=True)
    rrule = models.TextField(null=True, blank=True)
    timezone = models.CharField(max_length=64, null=True, blank=True)
    active = models.BooleanField(default=True)
    max_scheduled_runs = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    parameters = models.JSONField(default=dict, blank=True, validators=[validate_object])
    slug = models.CharField(max_length=255, null=True, blank=True)

    class Meta:
        ordering = ["-updated"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "slug"], name="%(app_label)s_%(class)s_unique_slug"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind=ScheduleKind.INTERVAL,
                        interval__gt=0,
                        anchor_date__isnull=False,
                        cron__isnull=True,
                        rrule__isnull=True,
                    )
                    | Q(
                        kind=ScheduleKind.CRON,
                        cron__isnull=False,
                        interval__isnull=True,
                        rrule__isnull=True,
                    )
                    | Q(
                        kind=ScheduleKind.RRULE,
                        rrule__isnull=False,
                        interval__isnull=True,
                        cron__isnull=True,
                    )
                ),
                name="%(app_label)s_%(class)s_one_kind",
            ),
            models.CheckConstraint(
                condition=Q(max_scheduled_runs__isnull=True) | Q(max_scheduled_runs__gt=0),
                name="%(app_label)s_%(class)s_max_runs_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.slug or str(self.id)

    @property
    def schedule(self) -> schedules.Schedule:
        if self.kind == ScheduleKind.INTERVAL:
            return schedules.IntervalSchedule(
                self.interval, self.local_anchor_date(), self.timezone
            )
        if self.kind == ScheduleKind.CRON:
            return schedules.CronSchedule(self.cron, self.timezone, self.day_or)
        return schedules.RRuleSchedule(self.rrule, self.timezone)

    @schedule.setter
    def schedule(self, value: schedules.Schedule) -> None:
        for name, column in schedule_columns(value).items():
            setattr(self, name, column)

    def local_anchor_date(self) -> datetime | None:
        if self.anchor_date is None:
            return None
        offset = timedelta(seconds=self.anchor_utc_offset or 0)
        return self.anchor_date.astimezone(dt_timezone(offset))

    def clean(self) -> None:
        """Check the schedule's fields with the shared schedule rules."""
        super().clean()
        try:
            self.schedule = self.validated_schedule()
        except schedules.ScheduleError as exc:
            field = exc.field if exc.field in {f.name for f in self._meta.fields} else None
            raise ValidationError({field: exc.message} if field else exc.message) from None

    def validated_schedule(self) -> schedules.Schedule:
        if self.kind == ScheduleKind.INTERVAL:
            if self.anchor_date is None:
                raise schedules.ScheduleError("This field is required.", "anchor_date")
            return schedules.make_interval_schedule(
                interval=self.interval, anchor_date=self.local_anchor_date(), timezone=self.timezone
            )
        if self.kind == ScheduleKind.CRON:
            return schedules.make_cron_schedule(
                cron=self.cron, timezone=self.timezone, day_or=self.day_or
            )
        if self.kind == ScheduleKind.RRULE:
            return schedules.make_rrule_schedule(rrule=self.rrule, timezone=self.timezone)
        raise schedules.ScheduleError("Choose interval, cron or rrule.", "kind")

    def next_runs(self, after: datetime, n: int) -> list[datetime]:
        return schedules.next_runs(self.schedule, after, n)


def validate_variable_name(value: str) -> None:
    try:
        actions.check_variable_name(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="bad_variable_name") from None


def validate_variable_value(value) -> None:
    try:
        actions.check_variable_value(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="bad_variable_value") from None


class Variable(TimestampedModel):
    """A Prefect variable: a named JSON value (any JSON, null included) with tags."""

    # Prefect accepts the empty name, so blank is allowed here too.
    name = models.CharField(
        max_length=actions.MAX_VARIABLE_NAME_LENGTH,
        unique=True,
        blank=True,
        validators=[validate_variable_name],
    )
    value = models.JSONField(null=True, blank=True, validators=[validate_variable_value])
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags])

    class Meta:
        ordering = ["name"]
        constraints = [
            # Prefect's pattern; `re.match` lets one trailing newline through, so this does.
            models.CheckConstraint(
                condition=Q(name__regex=r"^[-_a-z0-9]*\n?$"),
                name="%(app_label)s_%(class)s_name_allowed",
            ),
            tag_count_constraint(),
        ]

    def __str__(self) -> str:
        return self.name


API_KEY_TAG = "pcat_"
# The tag and the first characters of the secret: enough for staff to tell keys apart.
API_KEY_PREFIX_LENGTH = len(API_KEY_TAG) + 7
LAST_USED_RESOLUTION = timedelta(minutes=1)
API_KEY_NAME_TAKEN = "A key that is not revoked already has this name."


def api_key_digest(raw_key: str) -> str:
    # A key is 256 random bits, so a fast hash is as safe as a slow one, and it can be
    # looked up through a unique index.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyAccess(models.TextChoices):
    READ = "read", "read only"
    WRITE = "write", "read and write"


class ApiKeyQuerySet(models.QuerySet):
    def revoke(self, now: datetime) -> int:
        """Revoke the keys not revoked yet; returns how many were."""
        return self.filter(revoked__isnull=True).update(revoked=now)


class ApiKey(models.Model):
    """A credential for the API, sent as `Authorization: Bearer <key>` (what the Prefect
    client sends from PREFECT_API_KEY). Only the key's SHA-256 digest is stored.

    A read-only key reads; a write key writes anything, unless it acts for a user, whose
    model permissions it then needs as well.
    """

    name = models.CharField(max_length=100, help_text="Who or what uses it, e.g. ci-deploy.")
    prefix = models.CharField(
        max_length=API_KEY_PREFIX_LENGTH,
        editable=False,
        help_text="The key's first characters, to recognise it by.",
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    access = models.CharField(max_length=5, choices=ApiKeyAccess.choices, default=ApiKeyAccess.READ)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="The key acts for this user: its writes also need the user's model "
        "permissions, and it stops working when the user is deactivated.",
    )
    created = models.DateTimeField(default=timezone.now, editable=False)
    expires = models.DateTimeField(
        null=True, blank=True, help_text="Empty: the key works until it is revoked."
    )
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(revoked__isnull=True),
                name="%(app_label)s_%(class)s_unique_name_while_valid",
                violation_error_message=API_KEY_NAME_TAKEN,
            ),
            models.CheckConstraint(
                condition=~Q(name=""), name="%(app_label)s_%(class)s_name_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(digest__regex=r"^[0-9a-f]{64}$"),
                name="%(app_label)s_%(class)s_digest_is_sha256",
            ),
            models.CheckConstraint(
                condition=Q(prefix__startswith=API_KEY_TAG),
                name="%(app_label)s_%(class)s_prefix_tagged",
            ),
            models.CheckConstraint(
                condition=Q(access__in=ApiKeyAccess.values),
                name="%(app_label)s_%(class)s_access_known",
            ),
            models.CheckConstraint(
                condition=Q(expires__isnull=True) | Q(expires__gt=models.F("created")),
                name="%(app_label)s_%(class)s_expires_after_created",
                violation_error_message="The expiry must be after the key's creation.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def issue(self) -> str:
        """Give the key a new secret and return it: it is stored only as its digest."""
        raw_key = API_KEY_TAG + secrets.token_urlsafe(32)
        self.prefix = raw_key[:API_KEY_PREFIX_LENGTH]
        self.digest = api_key_digest(raw_key)
        return raw_key

    def refusal(self, now: datetime) -> str | None:
        """Why the key may not be used at `now`, if it may not."""
        if self.revoked is not None:
            return "API key revoked."
        if self.expires is not None and self.expires <= now:
            return "API key expired."
        if self.user is not None and not self.user.is_active:
            return "API key of an inactive user."
        return None

    def mark_used(self, now: datetime) -> None:
        """Record a use, at most once a minute: a write on every request would cost more
        than the lookup itself."""
        if self.last_used is None or now - self.last_used >= LAST_USED_RESOLUTION:
            # Named outright, so the router does not count it as the request's write.
            ApiKey.objects.using(DEFAULT_DB_ALIAS).filter(pk=self.pk).update(last_used=now)
            self.last_used = now


def api_key_create(
    *,
    name: str,
    access: str = ApiKeyAccess.READ,
    user=None,
    expires: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key, saved, and its secret, which nothing keeps."""
    key = ApiKey(name=name, access=access, user=user, expires=expires)
    raw_key = key.issue()
    key.full_clean()
    key.save()
    return key, raw_key
