"""Deployment schedules: one row a schedule, its rule in the columns of its kind."""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models.base import (
    TimestampedModel,
    choices_of,
    validate_max_scheduled_runs,
    validate_object,
)
from catalog.models.deployments import Deployment
from catalog.rules import limits, schedule_runs, schedules
from catalog.rules.schedule_budget import TOO_COSTLY, ScheduleBudgetExceeded

ScheduleKind = models.TextChoices("ScheduleKind", choices_of(schedules.SCHEDULE_KINDS))


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
    cron = models.CharField(max_length=limits.NAME_MAX_LENGTH, null=True, blank=True)
    day_or = models.BooleanField(default=True)
    rrule = models.TextField(null=True, blank=True)
    timezone = models.CharField(max_length=64, null=True, blank=True)
    active = models.BooleanField(default=True)
    max_scheduled_runs = models.PositiveIntegerField(
        null=True, blank=True, validators=[validate_max_scheduled_runs]
    )
    parameters = models.JSONField(default=dict, blank=True, validators=[validate_object])
    slug = models.CharField(max_length=limits.NAME_MAX_LENGTH, null=True, blank=True)

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
        return schedules.schedule_from_columns(self.rule_columns())

    @schedule.setter
    def schedule(self, value: schedules.Schedule) -> None:
        for name, column in schedules.schedule_columns(value).items():
            setattr(self, name, column)

    def rule_columns(self) -> dict:
        return {name: getattr(self, name) for name in schedules.SCHEDULE_RULE_COLUMNS}

    def local_anchor_date(self) -> datetime | None:
        if self.anchor_date is None:
            return None
        return self.schedule.anchor_date

    def clean(self) -> None:
        """Check the schedule's fields with the shared schedule rules."""
        super().clean()
        try:
            self.schedule = schedules.checked_columns(self.rule_columns())
        except schedules.ScheduleError as exc:
            field = exc.field if exc.field in {f.name for f in self._meta.fields} else None
            raise ValidationError({field: exc.message} if field else exc.message) from None

    def next_runs(self, after: datetime, n: int) -> list[datetime]:
        """Raises `ScheduleBudgetExceeded` past `CATALOG_SCHEDULE_BUDGET` steps (a row
        stored before the budget existed may be that costly)."""
        return schedule_runs.next_runs(self.schedule, after, n, settings.CATALOG_SCHEDULE_BUDGET)

    def shown_next_runs(self, after: datetime, n: int) -> list[datetime] | str:
        """The next runs, or why they cannot be shown: `TOO_COSTLY` when the budget cannot
        find them, `OUT_OF_CALENDAR` past the years Python's calendar holds (a form's row
        whose save was refused for it)."""
        try:
            return self.next_runs(after, n)
        except ScheduleBudgetExceeded:
            return TOO_COSTLY
        except OverflowError:
            return schedule_runs.OUT_OF_CALENDAR


def earliest_next_run(rows, after: datetime) -> datetime | str | None:
    """The earliest next run of the active rows, or `TOO_COSTLY` when one of them is."""
    earliest = None
    for row in rows:
        runs = row.shown_next_runs(after, 1) if row.active else []
        if runs == TOO_COSTLY:
            return runs
        if runs and (earliest is None or runs[0] < earliest):
            earliest = runs[0]
    return earliest
