"""Admin forms: JSON shown indented and checked, tags as a list, schedules validated by the
shared rules in `catalog.rules.schedules`, with each error next to its field."""

import json
import re
from datetime import UTC, datetime

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from catalog.models import Deployment, DeploymentSchedule, ScheduleKind, Variable
from catalog.rules import parameters as parameter_schemas
from catalog.rules import schedules
from catalog.rules.datetimes import DatetimeError, format_datetime, parse_datetime
from catalog.rules.text import text_problem, unstorable


class PrettyJSONField(forms.JSONField):
    """JSON shown indented, with non-ASCII characters as they are."""

    widget = forms.Textarea(attrs={"rows": 6, "cols": 80, "class": "vLargeTextField json"})

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)

    def validate(self, value):
        super().validate(value)
        found = unstorable(value)
        if found:
            where, problem = found
            raise forms.ValidationError(f"{problem} (at {where})" if where else problem)


class TagsField(forms.CharField):
    """Tags edited as one list: separated by commas or new lines, order kept, no repeats."""

    widget = forms.TextInput(attrs={"size": 80, "placeholder": "etl, nightly"})

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list):
            return value
        tags = [tag.strip() for tag in re.split(r"[,\n]", value or "")]
        return list(dict.fromkeys(tag for tag in tags if tag))

    def validate(self, value):
        super().validate(value)
        for tag in value:
            problem = text_problem(tag)
            if problem:
                raise forms.ValidationError(problem)


class LongSelect(forms.Select):
    """A select rendered in one pass: the IANA list has ~600 zones, and the template-per-
    option rendering of Django's Select costs ~0.1 s for each schedule on the form."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        chosen = "" if value is None else str(value)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option, mark_safe(" selected") if str(option) == chosen else "", label)
                for option, label in self.choices
            ),
        )
        return format_html("<select{}>{}</select>", flatatt(attrs), options)


def timezone_choices() -> list[tuple[str, str]]:
    return [("", "(default for the kind)")] + [(z, z) for z in schedules.timezone_choices()]


class DeploymentForm(forms.ModelForm):
    tags = TagsField(required=False, help_text="Separate tags with commas.")

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

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("enforce_parameter_schema") and "parameters" not in self.errors:
            self.check_parameters_against_schema(cleaned)
        return cleaned

    def check_parameters_against_schema(self, cleaned: dict) -> None:
        schema = cleaned.get("parameter_openapi_schema")
        parameters = cleaned.get("parameters")
        if not isinstance(schema, dict) or not isinstance(parameters, dict):
            return
        try:
            parameter_schemas.check_parameters_preprocessed(parameters, schema)
        except parameter_schemas.ParameterSchemaError as exc:
            self.add_error("parameters", str(exc))


class ScheduleInlineForm(forms.ModelForm):
    """One schedule: pick the kind, fill its fields. Interval accepts seconds, ISO 8601
    durations ("PT1H") or "HH:MM:SS"; the anchor keeps the UTC offset it is given."""

    interval = forms.CharField(
        required=False, help_text="Seconds, an ISO 8601 duration (PT1H) or HH:MM:SS."
    )
    anchor_date = forms.CharField(
        required=False,
        help_text="ISO 8601 with its offset, e.g. 2026-01-05T09:00:00-05:00 (UTC if none).",
        widget=forms.TextInput(attrs={"size": 32}),
    )
    timezone = forms.ChoiceField(required=False, choices=timezone_choices, widget=LongSelect)
    parameters = PrettyJSONField(required=False, initial=dict)

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
        widgets = {"rrule": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        row = self.instance
        if row.pk and row.kind == ScheduleKind.INTERVAL:
            self.initial["interval"] = f"{row.interval:g}"
            self.initial["anchor_date"] = format_datetime(row.local_anchor_date())

    def clean_parameters(self):
        return self.cleaned_data.get("parameters") or {}

    def clean(self):
        cleaned = super().clean()
        if self.errors or not cleaned.get("kind") or cleaned.get("DELETE"):
            return cleaned
        try:
            schedule = self.schedule_from(cleaned)
        except schedules.ScheduleError as exc:
            field = exc.field if exc.field in self.fields else None
            self.add_error(field, exc.message)
            return cleaned
        self.instance.schedule = schedule
        return cleaned

    def schedule_from(self, cleaned: dict) -> schedules.Schedule:
        kind, zone = cleaned["kind"], cleaned.get("timezone") or None
        if kind == ScheduleKind.INTERVAL:
            return schedules.make_interval_schedule(
                interval=required(cleaned.get("interval"), "interval"),
                anchor_date=self.anchor_from(cleaned.get("anchor_date")),
                timezone=zone or "UTC",
            )
        if kind == ScheduleKind.CRON:
            return schedules.make_cron_schedule(
                cron=required(cleaned.get("cron"), "cron"),
                timezone=zone,
                day_or=cleaned.get("day_or", True),
            )
        rrule = required(cleaned.get("rrule"), "rrule")
        schedule = schedules.make_rrule_schedule(rrule=rrule, timezone=zone or "UTC")
        return schedules.RRuleSchedule(
            schedules.normalize_rrule(schedule.rrule, schedule.timezone), schedule.timezone
        )

    def anchor_from(self, text: str | None):
        if not text:
            return datetime.now(UTC)
        try:
            return parse_datetime(text.strip())
        except DatetimeError as exc:
            raise schedules.ScheduleError(str(exc), "anchor_date") from None

    def _post_clean(self):
        # clean() set the schedule's columns on the row from the parsed schedule; keep the
        # raw form text out of them. The model's own clean() checks the row again.
        cleaned = self.cleaned_data
        for name in ("interval", "anchor_date", "cron", "rrule", "timezone", "day_or", "kind"):
            cleaned.pop(name, None)
        super()._post_clean()


def required(value, field: str):
    if value in (None, ""):
        raise schedules.ScheduleError("This field is required for this kind of schedule.", field)
    return value


class VariableForm(forms.ModelForm):
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
