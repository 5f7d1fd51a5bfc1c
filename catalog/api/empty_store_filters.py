"""The bodies of the filter routes of what the catalog does not keep (flow runs, task
runs, block documents and types, artifacts, automations, tag concurrency limits),
checked as Prefect checks them where that is cheap: each key's type, the sort orders,
the offset, page and limit. The filters on flows, deployments, work pools and queues are
the catalog's own, as strict as Prefect's; the others take any object, since nothing
they could name is kept."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from catalog.api.filters import (
    DeploymentFilter,
    FilterBody,
    FlowFilter,
    Limit,
    NonNegative,
    PageNumber,
    WorkPoolFilter,
    WorkQueueFilter,
)


class UnkeptFilter(BaseModel):
    """A filter on what the catalog does not keep: any object, matching nothing."""

    model_config = ConfigDict(extra="allow")


class FlowRunSort(StrEnum):
    ID_DESC = "ID_DESC"
    START_TIME_ASC = "START_TIME_ASC"
    START_TIME_DESC = "START_TIME_DESC"
    EXPECTED_START_TIME_ASC = "EXPECTED_START_TIME_ASC"
    EXPECTED_START_TIME_DESC = "EXPECTED_START_TIME_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    NEXT_SCHEDULED_START_TIME_ASC = "NEXT_SCHEDULED_START_TIME_ASC"
    END_TIME_DESC = "END_TIME_DESC"


class TaskRunSort(StrEnum):
    ID_DESC = "ID_DESC"
    EXPECTED_START_TIME_ASC = "EXPECTED_START_TIME_ASC"
    EXPECTED_START_TIME_DESC = "EXPECTED_START_TIME_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    NEXT_SCHEDULED_START_TIME_ASC = "NEXT_SCHEDULED_START_TIME_ASC"
    END_TIME_DESC = "END_TIME_DESC"
    DURATION_DESC = "DURATION_DESC"
    DURATION_ASC = "DURATION_ASC"


class BlockDocumentSort(StrEnum):
    NAME_DESC = "NAME_DESC"
    NAME_ASC = "NAME_ASC"
    BLOCK_TYPE_AND_NAME_ASC = "BLOCK_TYPE_AND_NAME_ASC"


class ArtifactSort(StrEnum):
    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    ID_DESC = "ID_DESC"
    KEY_DESC = "KEY_DESC"
    KEY_ASC = "KEY_ASC"


class AutomationSort(StrEnum):
    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"


# Flow runs and task runs ----------------------------------------------------------------


class TaskRunsQuery(FilterBody):
    flows: FlowFilter | None = None
    flow_runs: UnkeptFilter | None = None
    task_runs: UnkeptFilter | None = None
    deployments: DeploymentFilter | None = None


class FlowRunsQuery(TaskRunsQuery):
    work_pools: WorkPoolFilter | None = None
    work_pool_queues: WorkQueueFilter | None = None


class FlowRunsFilterBody(FlowRunsQuery):
    sort: FlowRunSort = FlowRunSort.ID_DESC
    offset: NonNegative = 0
    limit: Limit = 200


class FlowRunsPageBody(FlowRunsQuery):
    sort: FlowRunSort = FlowRunSort.ID_DESC
    page: PageNumber = 1
    limit: Limit = 200


class TaskRunsFilterBody(TaskRunsQuery):
    sort: TaskRunSort = TaskRunSort.ID_DESC
    offset: NonNegative = 0
    limit: Limit = 200


class TaskRunsPageBody(TaskRunsQuery):
    sort: TaskRunSort = TaskRunSort.ID_DESC
    page: PageNumber = 1
    limit: Limit = 200


# Blocks ---------------------------------------------------------------------------------


class BlockDocumentsQuery(FilterBody):
    block_documents: UnkeptFilter | None = None
    block_types: UnkeptFilter | None = None
    block_schemas: UnkeptFilter | None = None


class BlockDocumentsFilterBody(BlockDocumentsQuery):
    include_secrets: bool = False
    sort: BlockDocumentSort = BlockDocumentSort.NAME_ASC
    offset: NonNegative = 0
    limit: Limit = 200


class BlockTypesFilterBody(FilterBody):
    block_types: UnkeptFilter | None = None
    block_schemas: UnkeptFilter | None = None
    offset: NonNegative = 0
    limit: Limit = 200


# Artifacts ------------------------------------------------------------------------------


class ArtifactsQuery(FilterBody):
    artifacts: UnkeptFilter | None = None
    flow_runs: UnkeptFilter | None = None
    task_runs: UnkeptFilter | None = None
    flows: FlowFilter | None = None
    deployments: DeploymentFilter | None = None


class ArtifactsFilterBody(ArtifactsQuery):
    sort: ArtifactSort = ArtifactSort.ID_DESC
    offset: NonNegative = 0
    limit: Limit = 200


# Automations and tag concurrency limits ------------------------------------------------


class AutomationsQuery(FilterBody):
    automations: UnkeptFilter | None = None


class AutomationsFilterBody(AutomationsQuery):
    sort: AutomationSort = AutomationSort.NAME_ASC
    offset: NonNegative = 0
    limit: Limit = 200


class TagLimitsFilterBody(FilterBody):
    offset: NonNegative = 0
    limit: Limit = 200
