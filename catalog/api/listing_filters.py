"""Query-string filters for `GET /api/deployments/`, the plain REST listing.

A filter on a flow's, work pool's or work queue's name looks those few rows up first and
filters deployments by their ids (`catalog.models.related_ids`), so that PostgreSQL picks
the index that leads with `flow_id` or `work_queue_id`.
"""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from catalog.api.query_limits import BoundedCharField, BoundedMultipleValueField
from catalog.models import Deployment, DeploymentStatus, Flow, ScheduleKind, WorkQueue
from catalog.models.related_ids import one_of
from catalog.rules.datetimes import DatetimeError, check_utc_range


class MultipleValueFilter(django_filters.Filter):
    field_class = BoundedMultipleValueField


class TextFilter(django_filters.CharFilter):
    field_class = BoundedCharField


class InstantField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 datetime that has a UTC instant Python can hold."""

    def to_python(self, value):
        moment = super().to_python(value)
        try:
            if moment is not None:
                check_utc_range(moment)
        except DatetimeError as exc:
            raise forms.ValidationError(str(exc)) from None
        return moment


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = InstantField


class DeploymentFilterSet(django_filters.FilterSet):
    flow = django_filters.UUIDFilter(field_name="flow_id")
    flow_name = TextFilter(method="filter_flow_name")
    name = TextFilter(field_name="name")
    name_contains = TextFilter(field_name="name", lookup_expr="icontains")
    tag = MultipleValueFilter(method="filter_tags")
    tag_match = django_filters.ChoiceFilter(
        choices=[("all", "all"), ("any", "any")], method="ignore", empty_label=None
    )
    paused = django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")], coerce=lambda value: value == "true"
    )
    status = django_filters.ChoiceFilter(choices=DeploymentStatus.choices)
    work_pool = TextFilter(method="filter_work_pool")
    work_queue = TextFilter(method="filter_work_queue")
    schedule_kind = django_filters.ChoiceFilter(
        choices=ScheduleKind.choices, method="filter_schedule_kind"
    )
    updated_after = InstantFilter(field_name="updated", lookup_expr="gte")
    updated_before = InstantFilter(field_name="updated", lookup_expr="lt")
    ordering = django_filters.OrderingFilter(fields=["name", "created", "updated"], field_labels={})

    class Meta:
        model = Deployment
        fields: list[str] = []

    def ignore(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset

    def filter_tags(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        return queryset.with_tags(value, match=self.form.cleaned_data.get("tag_match") or "all")

    def filter_schedule_kind(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.with_schedule_kind(value)

    def filter_flow_name(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(one_of("flow_id", Flow.objects.filter(name=value)))

    def filter_work_pool(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        queues = WorkQueue.objects.filter(work_pool__name=value)
        return queryset.filter(one_of("work_queue_id", queues))

    def filter_work_queue(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(one_of("work_queue_id", WorkQueue.objects.filter(name=value)))
