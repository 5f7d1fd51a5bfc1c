"""Admin forms. After Django's own checks each form asks the write core
(`catalog.services`) whether the object it built breaks a rule, and shows each problem
next to its field: the admin refuses exactly what the API and the importer refuse."""

from django import forms

from catalog.admin.audit import reason_field
from catalog.admin.fields import PrettyJSONField, TagsField
from catalog.admin.schedule_preview import schedule_from_fields
from catalog.admin.widgets import TimezoneInput
from catalog.models import (
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    ScheduleKind,
    Variable,
    WorkPool,
    WorkQueue,
)
from catalog.rules import schedules
from catalog.rules.datetimes import format_datetime
from catalog.rules.problems import Path, Problem, path_text
from catalog.services import deployments, flows, limits, variables, work_pools
from catalog.services import schedules as schedule_rules
from catalog.services.checks import columns_of


class CoreCheckedForm(forms.ModelForm):
    """A model form whose object the write core checks once Django has built it. Each
    field shows one error: the first found, by Django or by the core."""

    # Where Prefect's path of a value and the form's field name differ.
    fields_of_paths: dict[Path, str] = {}

    def core_problems(self) -> list[Problem]:
        raise NotImplementedError

    def _post_clean(self):
        super()._post_clean()
        for problem in self.core_problems():
            self.add_problem(problem)

    def _update_errors(self, errors):
        if hasattr(errors, "error_dict"):
            kept = {field: e for field, e in errors.error_dict.items() if field not in self.errors}
            errors.error_dict = kept
        super()._update_errors(errors)

    def add_problem(self, problem: Problem) -> None:
        field, inner = self.field_of(problem.path)
        field = field if field in self.fields else None
        if (field or forms.forms.NON_FIELD_ERRORS) in self.errors:
            return
        message = f"{problem.message} (at {path_text(inner)})" if inner else problem.message
        self.add_error(field, message)

    def field_of(self, path: Path) -> tuple[str | None, Path]:
        """The form field holding `path`, and the rest of the path inside its value."""
        for length in range(len(path), 0, -1):
            if path[:length] in self.fields_of_paths:
                return self.fields_of_paths[path[:length]], path[length:]
        if path and isinstance(path[0], str):
            return path[0], path[1:]
        return None, ()


# Deployments ----------------------------------------------------------------------------


class DeploymentForm(CoreCheckedForm):
    tags = TagsField(required=False, help_text="Separate tags with commas.")
    # Not a column: the history keeps it with the save's version (`catalog.admin.audit`).
    change_reason = reason_field()
    fields_of_paths = {
        ("concurrency_options", "collision_strategy"): "concurrency_collision_strategy",
        ("concurrency_options", "grace_period_seconds"): "concurrency_grace_period_seconds",
        ("work_pool_name",): "work_queue",
        ("work_queue_name",): "work_queue",
    }

    class Meta:
        model = Deployment
        fields = [
            "name",
            "flow",
            "version",
            "description",
            "tags",
            "labels",
            "paused",
            "status",
            "work_queue",
            "entrypoint",
            "path",
            "pull_steps",
            "job_variables",
            "storage_document_id",
            "infrastructure_document_id",
            "parameters",
            "parameter_openapi_schema",
            "enforce_parameter_schema",
            "global_concurrency_limit",
            "concurrency_collision_strategy",
            "concurrency_grace_period_seconds",
        ]
        field_classes = {
            name: PrettyJSONField
            for name in (
                "parameters",
                "job_variables",
                "pull_steps",
                "labels",
                "parameter_openapi_schema",
            )
        }
        # Short text on one line (the model's text columns would be large boxes).
        widgets = {
            name: forms.TextInput(attrs={"class": "vTextField single-line"})
            for name in ("entrypoint", "path")
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A blank box is "no value", as Prefect's null: Django's text fields would store
        # "" and a save that changed nothing would change `null` into `""`.
        for name in NULLABLE_TEXT:
            if name in self.fields:
                self.fields[name].empty_value = None

    def core_problems(self) -> list[Problem]:
        return deployments.deployment_form_problems(self.instance)


NULLABLE_TEXT = ("version", "description", "entrypoint", "path")


class ScheduleInlineForm(CoreCheckedForm):
    """One schedule: pick the kind, fill its fields (the page shows only the kind's, with
    their help). Interval accepts seconds, ISO 8601 durations ("PT1H") or "HH:MM:SS"; the
    anchor keeps the UTC offset it is given; the zone is typed, with the IANA names offered."""

    interval = forms.CharField(
        required=False, help_text="Seconds, an ISO 8601 duration (PT1H) or HH:MM:SS."
    )
    anchor_date = forms.CharField(
        required=False,
        help_text="ISO 8601 with its offset, e.g. 2026-01-05T09:00:00-05:00 (UTC if none).",
        widget=forms.TextInput(attrs={"size": 32}),
    )
    timezone = forms.CharField(
        required=False,
        max_length=64,
        widget=TimezoneInput,
        help_text="An IANA zone, e.g. America/New_York: type part of it to search. Blank: UTC.",
    )
    parameters = PrettyJSONField(required=False, initial=dict)
    # Problems of the rule name the rule's field: `schedule.cron` is the form's `cron`.
    fields_of_paths = {("schedule", name): name for name in schedules.SCHEDULE_RULE_COLUMNS}

    class Meta:
        model = DeploymentSchedule
        fields = [
            "kind",
            "interval",
            "anchor_date",
            "cron",
            "day_or",
            "rrule",
            "timezone",
            "active",
            "max_scheduled_runs",
            "parameters",
            "slug",
        ]
        widgets = {
            "rrule": forms.Textarea(
                attrs={"rows": 3, "class": "vLargeTextField", "spellcheck": "false"}
            ),
            "cron": forms.TextInput(attrs={"class": "vTextField", "spellcheck": "false"}),
        }
        help_texts = {
            "cron": "Five fields: minute hour day-of-month month day-of-week, in the schedule's"
            " zone; e.g. <code>30 9 * * 1-5</code> is 09:30 on weekdays.",
            "day_or": "How the day-of-month and day-of-week fields combine. Checked (Prefect's"
            " default): a day matching either runs (OR, as standard cron). Unchecked: only a"
            " day matching both (AND), so <code>30 9 1-7 * 1</code> is the first Monday.",
            "rrule": "An RFC 5545 rule in the schedule's zone, e.g."
            " <code>FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9</code> (Mondays and Wednesdays at 09:00),"
            " or with a start on its own line: <code>DTSTART:20260105T093000</code> then"
            " <code>RRULE:FREQ=DAILY</code>.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        row = self.instance
        if row.pk and row.kind == ScheduleKind.INTERVAL:
            self.initial["interval"] = f"{row.interval:g}"
            self.initial["anchor_date"] = format_datetime(row.local_anchor_date())

    def clean_parameters(self):
        return self.cleaned_data.get("parameters") or {}

    def clean_timezone(self) -> str:
        """A zone the catalog knows, else an error naming it (the input lets any text in)."""
        zone = self.cleaned_data.get("timezone", "").strip()
        try:
            schedules.validate_timezone(zone)
        except schedules.ScheduleError as exc:
            raise forms.ValidationError(exc.message) from None
        return zone

    def clean(self):
        cleaned = super().clean()
        if self.errors or not cleaned.get("kind") or cleaned.get("DELETE"):
            return cleaned
        try:
            schedule = schedule_from_fields(cleaned)
        except schedules.ScheduleError as exc:
            field = exc.field if exc.field in self.fields else None
            self.add_error(field, exc.message)
            return cleaned
        self.instance.schedule = schedules.stored_form(schedule)
        return cleaned

    def _post_clean(self):
        # clean() set the schedule's columns on the row from the parsed schedule; keep the
        # raw form text out of them. The model's own clean() checks the row again.
        cleaned = self.cleaned_data
        for name in ("interval", "anchor_date", "cron", "rrule", "timezone", "day_or"):
            cleaned.pop(name, None)
        super()._post_clean()

    def core_problems(self) -> list[Problem]:
        if self.errors or self.cleaned_data.get("DELETE") or not self.instance.kind:
            return []
        return schedule_rules.row_problems(self.instance)


class DeploymentScheduleForm(CoreCheckedForm):
    """A schedule on its own page, its rule in the columns of its kind."""

    fields_of_paths = ScheduleInlineForm.fields_of_paths

    class Meta:
        model = DeploymentSchedule
        fields = [
            "deployment",
            *schedules.SCHEDULE_RULE_COLUMNS,
            "active",
            "max_scheduled_runs",
            "parameters",
            "slug",
        ]
        field_classes = {"parameters": PrettyJSONField}

    def core_problems(self) -> list[Problem]:
        if not self.instance.kind:
            return []
        return schedule_rules.row_problems(self.instance)


# The catalog's other tables ---------------------------------------------------------------


class FlowForm(CoreCheckedForm):
    class Meta:
        model = Flow
        fields = ["name", "tags", "labels"]
        field_classes = {"tags": PrettyJSONField, "labels": PrettyJSONField}

    def core_problems(self) -> list[Problem]:
        return flows.flow_problems(columns_of(self.instance, flows.FLOW_RULES))


class ConcurrencyLimitForm(CoreCheckedForm):
    class Meta:
        model = ConcurrencyLimit
        fields = [
            "active",
            "name",
            "limit",
            "active_slots",
            "denied_slots",
            "slot_decay_per_second",
            "avg_slot_occupancy_seconds",
        ]

    def core_problems(self) -> list[Problem]:
        return limits.limit_problems(columns_of(self.instance, limits.LIMIT_RULES))


class WorkPoolForm(CoreCheckedForm):
    class Meta:
        model = WorkPool
        fields = [
            "name",
            "description",
            "type",
            "base_job_template",
            "is_paused",
            "concurrency_limit",
            "status",
            "default_queue",
            "storage_configuration",
        ]
        field_classes = {
            "base_job_template": PrettyJSONField,
            "storage_configuration": PrettyJSONField,
        }

    def core_problems(self) -> list[Problem]:
        values = columns_of(self.instance, work_pools.POOL_RULES)
        return work_pools.pool_problems(values, renamed=self.renames_pool())

    def renames_pool(self) -> bool:
        return self.instance._state.adding or "name" in self.changed_data


class WorkQueueForm(CoreCheckedForm):
    class Meta:
        model = WorkQueue
        fields = [
            "name",
            "description",
            "is_paused",
            "concurrency_limit",
            "priority",
            "work_pool",
            "last_polled",
            "status",
        ]

    def core_problems(self) -> list[Problem]:
        return work_pools.queue_problems(columns_of(self.instance, work_pools.QUEUE_RULES))


class VariableForm(CoreCheckedForm):
    """A variable: its value is any JSON, checked by the model's rules (at most 5,000
    bytes); an empty box is null."""

    tags = TagsField(required=False, help_text="Separate tags with commas.")

    class Meta:
        model = Variable
        fields = ["name", "value", "tags"]
        field_classes = {"value": PrettyJSONField}
        help_texts = {
            "name": "Lowercase letters, numbers, dashes and underscores.",
            "value": 'Any JSON value: "text", 42, 1.5, true, null, {"key": "value"} or [1, 2].',
        }

    def core_problems(self) -> list[Problem]:
        return variables.variable_problems(columns_of(self.instance, variables.VARIABLE_RULES))
