"""The API's routes, mounted at `/api/` with Prefect's paths and trailing slashes: only
the create routes (`flows/`, `deployments/`, `variables/`, …) end in a slash."""

import uuid

from django.urls import path, re_path, register_converter

from catalog.api import views


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
    path(DEPLOYMENT, views.DeploymentDetailView.as_view(), name="deployment-detail"),
    path("health", views.HealthView.as_view(), name="health"),
    path("version", views.ApiVersionView.as_view(), name="version"),
    path("ready", views.ReadyView.as_view(), name="ready"),
    path("hello", views.HelloView.as_view(), name="hello"),
    path("admin/version", views.ServerVersionView.as_view(), name="admin-version"),
    path("csrf-token", views.CsrfTokenView.as_view(), name="csrf-token"),
    # Flows
    path("flows/", views.FlowCreateView.as_view(), name="flow-create"),
    path("flows/filter", views.FlowFilterView.as_view(), name="flow-filter"),
    path("flows/count", views.FlowCountView.as_view(), name="flow-count"),
    path("flows/paginate", views.FlowPaginateView.as_view(), name="flow-paginate"),
    path("flows/name/<str:name>", views.FlowByNameView.as_view(), name="flow-by-name"),
    path("flows/<prefect_uuid:id>", views.FlowDetailView.as_view(), name="flow-detail"),
    # Deployments
    path("deployments/", views.DeploymentCollectionView.as_view(), name="deployment-list"),
    path("deployments/filter", views.DeploymentFilterView.as_view(), name="deployment-filter"),
    path("deployments/count", views.DeploymentCountView.as_view(), name="deployment-count"),
    path(
        "deployments/paginate", views.DeploymentPaginateView.as_view(), name="deployment-paginate"
    ),
    path(
        "deployments/bulk_delete",
        views.DeploymentBulkDeleteView.as_view(),
        name="deployment-bulk-delete",
    ),
    path(
        "deployments/get_scheduled_flow_runs",
        views.ScheduledFlowRunsView.as_view(),
        name="deployment-scheduled-runs",
    ),
    path(
        "deployments/name/<str:flow_name>/<str:deployment_name>",
        views.DeploymentByNameView.as_view(),
        name="deployment-by-name",
    ),
    path(
        f"{DEPLOYMENT}/pause_deployment",
        views.DeploymentPauseView.as_view(),
        name="deployment-pause",
    ),
    path(
        f"{DEPLOYMENT}/resume_deployment",
        views.DeploymentResumeView.as_view(),
        name="deployment-resume",
    ),
    path(
        f"{DEPLOYMENT}/schedules",
        views.DeploymentSchedulesView.as_view(),
        name="deployment-schedules",
    ),
    path(
        f"{DEPLOYMENT}/schedules/<prefect_uuid:schedule_id>",
        views.DeploymentScheduleDetailView.as_view(),
        name="deployment-schedule-detail",
    ),
    # Global concurrency limits
    path(
        "v2/concurrency_limits/",
        views.ConcurrencyLimitCreateView.as_view(),
        name="concurrency-limit-create",
    ),
    path(
        "v2/concurrency_limits/filter",
        views.ConcurrencyLimitFilterView.as_view(),
        name="concurrency-limit-filter",
    ),
    path(
        "v2/concurrency_limits/<str:id_or_name>",
        views.ConcurrencyLimitDetailView.as_view(),
        name="concurrency-limit-detail",
    ),
    # Work pools and queues
    path("work_pools/", views.WorkPoolCreateView.as_view(), name="work-pool-create"),
    path("work_pools/filter", views.WorkPoolFilterView.as_view(), name="work-pool-filter"),
    path("work_pools/<str:name>", views.WorkPoolDetailView.as_view(), name="work-pool-detail"),
    path(
        "work_pools/<str:work_pool_name>/queues/filter",
        views.WorkQueueFilterView.as_view(),
        name="work-queue-filter",
    ),
    # Variables
    path("variables/", views.VariableCreateView.as_view(), name="variable-create"),
    path("variables/filter", views.VariableFilterView.as_view(), name="variable-filter"),
    path("variables/count", views.VariableCountView.as_view(), name="variable-count"),
    path("variables/name/<str:name>", views.VariableByNameView.as_view(), name="variable-by-name"),
    path("variables/<prefect_uuid:id>", views.VariableDetailView.as_view(), name="variable-detail"),
    re_path(r"^(?P<unmatched>.*)$", views.api_not_found, name="api-not-found"),
]
