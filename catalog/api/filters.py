"""Filters: Prefect's filter-body grammar, and query-string filters for plain REST clients.

Prefect's grammar arrives as JSON bodies (`POST /deployments/filter` and friends). Each
filter object is a pydantic model that refuses unknown keys (422, as Prefect does) and
turns itself into a Django `Q`. Inside an object, criteria join with its `operator`
(`and_` by default, or `or_`); an object with no criteria matches everything.
"""

import operator
from enum import StrEnum
from functools import reduce
from typing import Annotated, Any

from django.db.models import Q, QuerySet
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from catalog.api.query_limits import (
    MAX_OFFSET,
    FilterText,
    IdValues,
    TextValues,
)
from catalog.models import (
    Deployment,
    Flow,
    Variable,
    WorkPool,
    WorkQueue,
)
from catalog.models.related_ids import one_of
from catalog.rules.page_orders import total_order

MATCH_ALL = Q(pk__isnull=False)
MATCH_NONE = Q(pk__in=[])


class Operator(StrEnum):
    """How a filter's criteria join: all of them (`and_`) or any (`or_`)."""

    and_ = "and_"
    or_ = "or_"


def combine(conditions: list[Q], how: Operator = Operator.and_) -> Q:
    """Join conditions as Prefect does; no condition at all means "match everything"."""
    if not conditions:
        return MATCH_ALL
    return reduce(operator.and_ if how == Operator.and_ else operator.or_, conditions)


class FilterModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def conditions(self) -> list[Q]:
        raise NotImplementedError

    def as_q(self) -> Q:
        return combine(self.conditions())


class OperatorFilterModel(FilterModel):
    operator: Operator = Field(
        default=Operator.and_,
        description="Operator for combining filter criteria. Defaults to 'and_'.",
    )

    def as_q(self) -> Q:
        return combine(self.conditions(), self.operator)


def criteria_for(column: str) -> Any:
    return Field(default=None, description=f"Filter criteria for `{column}`")


def nested(*filters: FilterModel | None) -> list[Q]:
    return [item.as_q() for item in filters if item is not None]


# Deployments ---------------------------------------------------------------------------


class DeploymentFilterId(FilterModel):
    any_: IdValues | None = None
    not_any_: IdValues | None = None

    def conditions(self) -> list[Q]:
        found = [] if self.any_ is None else [Q(id__in=self.any_)]
        return found + ([~Q(id__in=self.not_any_)] if self.not_any_ else [])


class DeploymentFilterName(FilterModel):
    any_: TextValues | None = None
    like_: FilterText | None = None

    def conditions(self) -> list[Q]:
        found = [] if self.any_ is None else [Q(name__in=self.any_)]
        return found + ([Q(name__prefect_like=self.like_)] if self.like_ else [])


class DeploymentOrFlowNameFilter(FilterModel):
    like_: FilterText | None = None

    def conditions(self) -> list[Q]:
        if not self.like_:
            return []
        flows = Flow.objects.filter(name__prefect_like=self.like_)
        return [Q(name__prefect_like=self.like_) | one_of("flow_id", flows)]


class DeploymentFilterPaused(FilterModel):
    eq_: bool | None = None

    def conditions(self) -> list[Q]:
        return [] if self.eq_ is None else [Q(paused=self.eq_)]


class TagsFilter(OperatorFilterModel):
    all_: TextValues | None = None
    is_null_: bool | None = None

    def conditions(self) -> list[Q]:
        found = [Q(tags__has_all_tags=self.all_)] if self.all_ else []
        if self.is_null_ is not None:
            found.append(Q(tags=[]) if self.is_null_ else ~Q(tags=[]))
        return found


class DeploymentFilterTags(TagsFilter):
    any_: TextValues | None = None

    def conditions(self) -> list[Q]:
        found = super().conditions()
        return found + ([] if self.any_ is None else [Q(tags__has_any_tags=self.any_)])


class DeploymentFilterWorkQueueName(FilterModel):
    any_: TextValues | None = None

    def conditions(self) -> list[Q]:
        if self.any_ is None:
            return []
        return [one_of("work_queue_id", WorkQueue.objects.filter(name__in=self.any_))]


class DeploymentFilterConcurrencyLimit(FilterModel):
    """Deprecated by Prefect: accepted, and ignored as Prefect ignores it."""

    ge_: int | None = None
    le_: int | None = None
    is_null_: bool | None = None

    def conditions(self) -> list[Q]:
        return []


class DeploymentFilter(OperatorFilterModel):
    id: DeploymentFilterId | None = criteria_for("Deployment.id")
    name: DeploymentFilterName | None = criteria_for("Deployment.name")
    flow_or_deployment_name: DeploymentOrFlowNameFilter | None = criteria_for(
        "Deployment.name` or `Flow.name"
    )
    paused: DeploymentFilterPaused | None = criteria_for("Deployment.paused")
    tags: DeploymentFilterTags | None = criteria_for("Deployment.tags")
    work_queue_name: DeploymentFilterWorkQueueName | None = criteria_for(
        "Deployment.work_queue_name"
    )
    concurrency_limit: DeploymentFilterConcurrencyLimit | None = Field(
        default=None,
        deprecated=True,
        description=(
            "DEPRECATED: Prefer `Deployment.concurrency_limit_id` over "
            "`Deployment.concurrency_limit`. If provided, will be ignored for "
            "backwards-compatibility. Will be removed after December 2024."
        ),
    )

    def conditions(self) -> list[Q]:
        return nested(
            self.id,
            self.name,
            self.flow_or_deployment_name,
            self.paused,
            self.tags,
            self.work_queue_name,
        )


# Flows ---------------------------------------------------------------------------------


class FlowFilterId(DeploymentFilterId):
    pass


class FlowFilterDeployment(OperatorFilterModel):
    is_null_: bool | None = None

    def conditions(self) -> list[Q]:
        if self.is_null_ is None:
            return []
        with_deployments = Q(id__in=Deployment.objects.values("flow_id"))
        return [~with_deployments if self.is_null_ else with_deployments]


class FlowFilterName(DeploymentFilterName):
    pass


class FlowFilterTags(TagsFilter):
    pass


class FlowFilter(OperatorFilterModel):
    id: FlowFilterId | None = criteria_for("Flow.id")
    deployment: FlowFilterDeployment | None = Field(
        default=None, description="Filter criteria for Flow deployments"
    )
    name: FlowFilterName | None = criteria_for("Flow.name")
    tags: FlowFilterTags | None = criteria_for("Flow.tags")

    def conditions(self) -> list[Q]:
        return nested(self.id, self.deployment, self.name, self.tags)


# Work pools and queues -----------------------------------------------------------------


class AnyIdFilter(FilterModel):
    any_: IdValues | None = None

    def conditions(self) -> list[Q]:
        return [] if self.any_ is None else [Q(id__in=self.any_)]


class WorkPoolFilterId(AnyIdFilter):
    pass


class WorkPoolFilterName(FilterModel):
    any_: TextValues | None = None

    def conditions(self) -> list[Q]:
        return [] if self.any_ is None else [Q(name__in=self.any_)]


class WorkPoolFilterType(FilterModel):
    any_: TextValues | None = None

    def conditions(self) -> list[Q]:
        return [] if self.any_ is None else [Q(type__in=self.any_)]


class WorkPoolFilter(OperatorFilterModel):
    id: WorkPoolFilterId | None = criteria_for("WorkPool.id")
    name: WorkPoolFilterName | None = criteria_for("WorkPool.name")
    type: WorkPoolFilterType | None = criteria_for("WorkPool.type")

    def conditions(self) -> list[Q]:
        return nested(self.id, self.name, self.type)


class WorkQueueFilterName(FilterModel):
    any_: TextValues | None = None
    startswith_: TextValues | None = None

    def conditions(self) -> list[Q]:
        found = [] if self.any_ is None else [Q(name__in=self.any_)]
        if self.startswith_ is not None:
            prefixes = [Q(name__prefect_startswith=prefix) for prefix in self.startswith_]
            found.append(reduce(operator.or_, prefixes, MATCH_NONE))
        return found


class WorkQueueFilterId(AnyIdFilter):
    pass


class WorkQueueFilter(OperatorFilterModel):
    id: WorkQueueFilterId | None = criteria_for("WorkQueue.id")
    name: WorkQueueFilterName | None = criteria_for("WorkQueue.name")

    def conditions(self) -> list[Q]:
        return nested(self.id, self.name)


# Runs: the catalog keeps no flow or task runs ------------------------------------------


class RunFilter(BaseModel):
    """A flow-run or task-run filter. The catalog holds no runs, so "deployments (or
    flows) with a run matching this" matches nothing, whatever the criteria."""

    model_config = ConfigDict(extra="allow")

    def as_q(self) -> Q:
        return MATCH_NONE


# Whole filter bodies -------------------------------------------------------------------


def nulls_take_defaults(schema: dict) -> None:
    """The schema of a body whose null keys `optional_object_body` drops before
    validation: each key may be null, which means its default."""
    for name, field_schema in schema.get("properties", {}).items():
        schema["properties"][name] = nullable(field_schema)


def nullable(field_schema: dict) -> dict:
    if {"type": "null"} in field_schema.get("anyOf", []):
        return field_schema
    annotations = {
        key: field_schema.pop(key)
        for key in ("title", "description", "default")
        if key in field_schema
    }
    return {"anyOf": [field_schema, {"type": "null"}], **annotations}


class FilterBody(BaseModel):
    """A filter route's body: unknown keys are ignored, null keys take their defaults."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=nulls_take_defaults)


class DeploymentSort(StrEnum):
    """The orders deployments can be listed in."""

    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"

    def order_by(self) -> list[str]:
        """The sort, with the id to break ties so that pages never overlap."""
        column = {
            "CREATED_DESC": "-created",
            "UPDATED_DESC": "-updated",
            "NAME_ASC": "name",
            "NAME_DESC": "-name",
        }[self.value]
        return total_order([column])


class FlowSort(StrEnum):
    """The orders flows can be listed in."""

    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"

    def order_by(self) -> list[str]:
        return DeploymentSort(self.value).order_by()


class DeploymentsQuery(FilterBody):
    """The filters of `/deployments/filter`, `/count`, `/paginate` and `/bulk_delete`."""

    flows: FlowFilter | None = None
    flow_runs: RunFilter | None = None
    task_runs: RunFilter | None = None
    deployments: DeploymentFilter | None = None
    work_pools: WorkPoolFilter | None = None
    work_pool_queues: WorkQueueFilter | None = None

    def apply(self, queryset: QuerySet) -> QuerySet:
        conditions = nested(self.deployments, self.flow_runs, self.task_runs)
        flows = MATCH_ALL if self.flows is None else self.flows.as_q()
        if flows != MATCH_ALL:
            conditions.append(one_of("flow_id", Flow.objects.filter(flows)))
        queues = queues_matching(self.work_pools, self.work_pool_queues)
        if queues is not None:
            conditions.append(one_of("work_queue_id", queues))
        return queryset.filter(*conditions)


def queues_matching(pools: WorkPoolFilter | None, queues: WorkQueueFilter | None):
    if pools is None and queues is None:
        return None
    matching = WorkQueue.objects.all()
    if queues is not None:
        matching = matching.filter(queues.as_q())
    if pools is not None:
        matching = matching.filter(work_pool__in=WorkPool.objects.filter(pools.as_q()))
    return matching


class FlowsQuery(FilterBody):
    """The filters of `/flows/filter`, `/count` and `/paginate`."""

    flows: FlowFilter | None = None
    flow_runs: RunFilter | None = None
    task_runs: RunFilter | None = None
    deployments: DeploymentFilter | None = None
    work_pools: WorkPoolFilter | None = None

    def apply(self, queryset: QuerySet) -> QuerySet:
        conditions = nested(self.flows, self.flow_runs, self.task_runs)
        if self.deployments is not None or self.work_pools is not None:
            deployments = DeploymentsQuery(deployments=self.deployments, work_pools=self.work_pools)
            matching = deployments.apply(Deployment.objects.all()).values("flow_id")
            conditions.append(Q(id__in=matching))
        return queryset.filter(*conditions)


NonNegative = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
PageNumber = Annotated[int, Field(ge=1, le=MAX_OFFSET // 200)]
# `check_limit` reads the limit before the model does, to answer with Prefect's own
# errors; the model only lists it, for the schema.
Limit = Annotated[
    SkipValidation[Annotated[int, Field(ge=0, le=200)]],
    Field(description="Defaults to 200, the most allowed, if not provided."),
]


class DeploymentsFilterBody(DeploymentsQuery):
    offset: NonNegative = 0
    sort: DeploymentSort = DeploymentSort.NAME_ASC
    limit: Limit = 200


class DeploymentsPageBody(DeploymentsQuery):
    page: PageNumber = 1
    sort: DeploymentSort = DeploymentSort.NAME_ASC
    limit: Limit = 200


class DeploymentsBulkDeleteBody(FilterBody):
    deployments: DeploymentFilter | None = None
    limit: Annotated[int, Field(ge=1, le=50)] = 50


class FlowsFilterBody(FlowsQuery):
    offset: NonNegative = 0
    sort: FlowSort = FlowSort.NAME_ASC
    limit: Limit = 200


class FlowsPageBody(FlowsQuery):
    page: PageNumber = 1
    sort: FlowSort = FlowSort.NAME_ASC
    limit: Limit = 200


class WorkPoolsFilterBody(FilterBody):
    work_pools: WorkPoolFilter | None = None
    offset: NonNegative = 0
    limit: Limit = 200


class WorkQueuesFilterBody(FilterBody):
    work_queues: WorkQueueFilter | None = None
    offset: NonNegative = 0
    limit: Limit = 200


class OffsetBody(FilterBody):
    offset: NonNegative = 0
    limit: Limit = 200


# Variables -----------------------------------------------------------------------------


class VariableFilterId(AnyIdFilter):
    pass


class VariableFilterName(DeploymentFilterName):
    pass


class VariableFilterTags(TagsFilter):
    """`all_` and `is_null_` only: Prefect's variable filter has no `any_`."""


class VariableFilter(OperatorFilterModel):
    id: VariableFilterId | None = criteria_for("Variable.id")
    name: VariableFilterName | None = criteria_for("Variable.name")
    tags: VariableFilterTags | None = criteria_for("Variable.tags")

    def conditions(self) -> list[Q]:
        return nested(self.id, self.name, self.tags)


class VariableSort(StrEnum):
    """Prefect's `VariableSort`, in its order (422 messages list the members)."""

    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    NAME_DESC = "NAME_DESC"
    NAME_ASC = "NAME_ASC"

    def order_by(self) -> list[str]:
        return DeploymentSort(self.value).order_by()


class VariablesQuery(FilterBody):
    """The filter of `/variables/filter` and `/variables/count`."""

    variables: VariableFilter | None = None

    def apply(self, queryset: QuerySet[Variable]) -> QuerySet[Variable]:
        return queryset.filter(*nested(self.variables))


class VariablesFilterBody(VariablesQuery):
    offset: NonNegative = 0
    sort: VariableSort = VariableSort.NAME_ASC
    limit: Limit = 200
