"""The API's routes, mounted at `/api/` with Prefect's paths and trailing slashes: only
the create routes (`flows/`, `deployments/`, `variables/`, …) end in a slash."""

import uuid

from django.urls import path, re_path, register_converter

from catalog.api.views import (
    automations,
    collections,
    deployments,
    empty_store,
    flows,
    history,
    limits,
    runs,
    schedules,
    service,
    variables,
    work_pools,
    work_queues,
)


class PrefectUUIDConverter:
    """Starlette's `uuid` convertor: any case, hyphens optional; anything else is no route."""

    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value: uuid.UUID) -> str:
        return str(value)


register_converter(PrefectUUIDConverter, "prefect_uuid")

DEPLOYMENT = "deployments/<prefect_uuid:id>"

urlpatterns = [
    # The most requested route comes first: Django tries the patterns in order.
    path(DEPLOYMENT, deployments.DeploymentDetailView.as_view(), name="deployment-detail"),
    path("health", service.HealthView.as_view(), name="health"),
    path("version", service.ApiVersionView.as_view(), name="version"),
    path("ready", service.ReadyView.as_view(), name="ready"),
    path("hello", service.HelloView.as_view(), name="hello"),
    path("admin/version", service.ServerVersionView.as_view(), name="admin-version"),
    path("csrf-token", service.CsrfTokenView.as_view(), name="csrf-token"),
    # Flows
    path("flows/", flows.FlowCreateView.as_view(), name="flow-create"),
    path("flows/filter", flows.FlowFilterView.as_view(), name="flow-filter"),
    path("flows/count", flows.FlowCountView.as_view(), name="flow-count"),
    path("flows/paginate", flows.FlowPaginateView.as_view(), name="flow-paginate"),
    path("flows/name/<str:name>", flows.FlowByNameView.as_view(), name="flow-by-name"),
    path("flows/<prefect_uuid:id>", flows.FlowDetailView.as_view(), name="flow-detail"),
    # Deployments
    path("deployments/", deployments.DeploymentCollectionView.as_view(), name="deployment-list"),
    path(
        "deployments/filter", deployments.DeploymentFilterView.as_view(), name="deployment-filter"
    ),
    path("deployments/count", deployments.DeploymentCountView.as_view(), name="deployment-count"),
    path(
        "deployments/paginate",
        deployments.DeploymentPaginateView.as_view(),
        name="deployment-paginate",
    ),
    path(
        "deployments/bulk_delete",
        deployments.DeploymentBulkDeleteView.as_view(),
        name="deployment-bulk-delete",
    ),
    path(
        "deployments/get_scheduled_flow_runs",
        deployments.ScheduledFlowRunsView.as_view(),
        name="deployment-scheduled-runs",
    ),
    path(
        "deployments/name/<str:flow_name>/<str:deployment_name>",
        deployments.DeploymentByNameView.as_view(),
        name="deployment-by-name",
    ),
    path(
        f"{DEPLOYMENT}/pause_deployment",
        deployments.DeploymentPauseView.as_view(),
        name="deployment-pause",
    ),
    path(
        f"{DEPLOYMENT}/resume_deployment",
        deployments.DeploymentResumeView.as_view(),
        name="deployment-resume",
    ),
    path(
        f"{DEPLOYMENT}/schedules",
        schedules.DeploymentSchedulesView.as_view(),
        name="deployment-schedules",
    ),
    path(
        f"{DEPLOYMENT}/schedules/<prefect_uuid:schedule_id>",
        schedules.DeploymentScheduleDetailView.as_view(),
        name="deployment-schedule-detail",
    ),
    path(
        f"{DEPLOYMENT}/create_flow_run",
        runs.CreateFlowRunView.as_view(),
        name="deployment-create-flow-run",
    ),
    # A deployment's change history: the catalog's own routes
    path(
        f"{DEPLOYMENT}/history",
        history.DeploymentHistoryView.as_view(),
        name="deployment-history",
    ),
    path(
        f"{DEPLOYMENT}/history/<int:version>/restore",
        history.DeploymentRestoreView.as_view(),
        name="deployment-restore",
    ),
    # Global concurrency limits
    path(
        "v2/concurrency_limits/",
        limits.ConcurrencyLimitCreateView.as_view(),
        name="concurrency-limit-create",
    ),
    path(
        "v2/concurrency_limits/filter",
        limits.ConcurrencyLimitFilterView.as_view(),
        name="concurrency-limit-filter",
    ),
    path(
        "v2/concurrency_limits/<str:id_or_name>",
        limits.ConcurrencyLimitDetailView.as_view(),
        name="concurrency-limit-detail",
    ),
    # Work pools and queues
    path("work_pools/", work_pools.WorkPoolCreateView.as_view(), name="work-pool-create"),
    path("work_pools/filter", work_pools.WorkPoolFilterView.as_view(), name="work-pool-filter"),
    path("work_pools/<str:name>", work_pools.WorkPoolDetailView.as_view(), name="work-pool-detail"),
    path(
        "work_pools/<str:work_pool_name>/queues/filter",
        work_pools.WorkQueueFilterView.as_view(),
        name="work-queue-filter",
    ),
    path(
        "work_pools/<str:work_pool_name>/queues",
        work_pools.WorkPoolQueueCreateView.as_view(),
        name="work-pool-queue-create",
    ),
    path(
        "work_pools/<str:work_pool_name>/queues/<str:name>",
        work_pools.WorkPoolQueueDetailView.as_view(),
        name="work-pool-queue-detail",
    ),
    path(
        "work_pools/<str:work_pool_name>/workers/filter",
        work_pools.WorkersFilterView.as_view(),
        name="worker-filter",
    ),
    path(
        "work_queues/filter",
        work_queues.WorkQueuesFilterView.as_view(),
        name="work-queues-filter",
    ),
    path(
        "work_queues/name/<str:name>",
        work_queues.WorkQueueByNameView.as_view(),
        name="work-queue-by-name",
    ),
    path(
        "work_queues/<prefect_uuid:id>",
        work_queues.WorkQueueDetailView.as_view(),
        name="work-queue-detail",
    ),
    path(
        "work_queues/<prefect_uuid:id>/status",
        work_queues.WorkQueueStatusView.as_view(),
        name="work-queue-status",
    ),
    # What the catalog does not keep: automations, and the collection registry's views
    path("automations/", automations.AutomationCreateView.as_view(), name="automation-create"),
    path(
        "automations/related-to/<str:resource_id>",
        automations.AutomationsRelatedToView.as_view(),
        name="automations-related-to",
    ),
    path(
        "automations/owned-by/<str:resource_id>",
        automations.AutomationsOwnedByView.as_view(),
        name="automations-owned-by",
    ),
    path(
        "collections/views/<str:view>",
        collections.CollectionViewView.as_view(),
        name="collection-view",
    ),
    # Variables
    path("variables/", variables.VariableCreateView.as_view(), name="variable-create"),
    path("variables/filter", variables.VariableFilterView.as_view(), name="variable-filter"),
    path("variables/count", variables.VariableCountView.as_view(), name="variable-count"),
    path(
        "variables/name/<str:name>", variables.VariableByNameView.as_view(), name="variable-by-name"
    ),
    path(
        "variables/<prefect_uuid:id>",
        variables.VariableDetailView.as_view(),
        name="variable-detail",
    ),
    # What the catalog does not keep, answered as from Prefect's empty store
    path("flow_runs/filter", empty_store.FlowRunFilterView.as_view(), name="flow-run-filter"),
    path("flow_runs/count", empty_store.FlowRunCountView.as_view(), name="flow-run-count"),
    path("flow_runs/paginate", empty_store.FlowRunPaginateView.as_view(), name="flow-run-paginate"),
    path(
        "flow_runs/<prefect_uuid:id>",
        empty_store.FlowRunDetailView.as_view(),
        name="flow-run-detail",
    ),
    path("task_runs/filter", empty_store.TaskRunFilterView.as_view(), name="task-run-filter"),
    path("task_runs/count", empty_store.TaskRunCountView.as_view(), name="task-run-count"),
    path("task_runs/paginate", empty_store.TaskRunPaginateView.as_view(), name="task-run-paginate"),
    path(
        "task_runs/<prefect_uuid:id>",
        empty_store.TaskRunDetailView.as_view(),
        name="task-run-detail",
    ),
    path(
        "block_documents/filter",
        empty_store.BlockDocumentFilterView.as_view(),
        name="block-document-filter",
    ),
    path(
        "block_documents/count",
        empty_store.BlockDocumentCountView.as_view(),
        name="block-document-count",
    ),
    path(
        "block_documents/<prefect_uuid:id>",
        empty_store.BlockDocumentDetailView.as_view(),
        name="block-document-detail",
    ),
    path(
        "block_types/slug/<str:slug>/block_documents/name/<str:block_document_name>",
        empty_store.BlockDocumentByNameView.as_view(),
        name="block-document-by-name",
    ),
    path("block_types/filter", empty_store.BlockTypeFilterView.as_view(), name="block-type-filter"),
    path("artifacts/filter", empty_store.ArtifactFilterView.as_view(), name="artifact-filter"),
    path("artifacts/count", empty_store.ArtifactCountView.as_view(), name="artifact-count"),
    path(
        "artifacts/latest/filter",
        empty_store.LatestArtifactFilterView.as_view(),
        name="latest-artifact-filter",
    ),
    path(
        "artifacts/latest/count",
        empty_store.LatestArtifactCountView.as_view(),
        name="latest-artifact-count",
    ),
    path(
        "artifacts/<prefect_uuid:id>",
        empty_store.ArtifactDetailView.as_view(),
        name="artifact-detail",
    ),
    path(
        "automations/filter", empty_store.AutomationFilterView.as_view(), name="automation-filter"
    ),
    path("automations/count", empty_store.AutomationCountView.as_view(), name="automation-count"),
    path(
        "automations/<prefect_uuid:id>",
        empty_store.AutomationDetailView.as_view(),
        name="automation-detail",
    ),
    path(
        "concurrency_limits/",
        empty_store.TagLimitCreateView.as_view(),
        name="tag-concurrency-limit-create",
    ),
    path(
        "concurrency_limits/filter",
        empty_store.TagLimitFilterView.as_view(),
        name="tag-concurrency-limit-filter",
    ),
    path(
        "concurrency_limits/tag/<str:tag>",
        empty_store.TagLimitByTagView.as_view(),
        name="tag-concurrency-limit-by-tag",
    ),
    path(
        "concurrency_limits/<prefect_uuid:id>",
        empty_store.TagLimitDetailView.as_view(),
        name="tag-concurrency-limit-detail",
    ),
    re_path(r"^(?P<unmatched>.*)$", service.api_not_found, name="api-not-found"),
]
