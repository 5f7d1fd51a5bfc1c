"""One serializer per resource; fields are listed in the order Prefect's API emits them."""

from django.db import models
from rest_framework import serializers

from catalog.models import (
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    Variable,
    WorkPool,
    WorkQueue,
)
from catalog.rules.datetimes import format_utc
from catalog.rules.schedules import DEPLOYMENT_SCHEDULE_KEYS, schedule_to_json


class PrefectDateTimeField(serializers.DateTimeField):
    """A stored timestamp as Prefect writes it: UTC, `Z`, six-digit microseconds or none."""

    def to_representation(self, value):
        return format_utc(value)


class PrefectModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: PrefectDateTimeField,
    }


def actor_to_json(actor: dict | None) -> dict | None:
    """`created_by` / `updated_by` with Prefect's key order, whatever order jsonb kept."""
    if actor is None:
        return None
    return {
        "id": actor.get("id"),
        "type": actor.get("type"),
        "display_value": actor.get("display_value"),
    }


class FlowSerializer(PrefectModelSerializer):
    class Meta:
        model = Flow
        fields = ["id", "created", "updated", "name", "tags", "labels"]


class ConcurrencyLimitSerializer(PrefectModelSerializer):
    class Meta:
        model = ConcurrencyLimit
        fields = [
            "id",
            "created",
            "updated",
            "active",
            "name",
            "limit",
            "active_slots",
            "denied_slots",
            "slot_decay_per_second",
            "avg_slot_occupancy_seconds",
        ]


class DeploymentConcurrencyLimitSerializer(PrefectModelSerializer):
    """The global concurrency limit as embedded in a deployment: no slot statistics."""

    class Meta:
        model = ConcurrencyLimit
        fields = [
            name
            for name in ConcurrencyLimitSerializer.Meta.fields
            if name not in {"denied_slots", "avg_slot_occupancy_seconds"}
        ]


class DeploymentScheduleSerializer(PrefectModelSerializer):
    deployment_id = serializers.UUIDField(read_only=True)
    schedule = serializers.SerializerMethodField()

    class Meta:
        model = DeploymentSchedule
        fields = list(DEPLOYMENT_SCHEDULE_KEYS)

    def get_schedule(self, schedule: DeploymentSchedule) -> dict:
        return schedule_to_json(schedule.schedule)


class DeploymentSerializer(PrefectModelSerializer):
    """Prefect's `DeploymentResponse`: every key, always present, in the server's order."""

    flow_id = serializers.UUIDField(read_only=True)
    schedules = DeploymentScheduleSerializer(many=True, read_only=True)
    concurrency_limit = serializers.SerializerMethodField()
    global_concurrency_limit = DeploymentConcurrencyLimitSerializer(read_only=True)
    concurrency_options = serializers.SerializerMethodField()
    work_queue_name = serializers.CharField(read_only=True)
    work_queue_id = serializers.UUIDField(read_only=True)
    created_by = serializers.SerializerMethodField()
    updated_by = serializers.SerializerMethodField()
    work_pool_name = serializers.CharField(read_only=True)

    class Meta:
        model = Deployment
        fields = [
            "id",
            "created",
            "updated",
            "name",
            "version",
            "description",
            "flow_id",
            "paused",
            "schedules",
            "concurrency_limit",
            "global_concurrency_limit",
            "concurrency_options",
            "job_variables",
            "parameters",
            "tags",
            "labels",
            "work_queue_name",
            "work_queue_id",
            "last_polled",
            "parameter_openapi_schema",
            "path",
            "pull_steps",
            "entrypoint",
            "storage_document_id",
            "infrastructure_document_id",
            "created_by",
            "updated_by",
            "work_pool_name",
            "status",
            "enforce_parameter_schema",
        ]

    def get_concurrency_limit(self, deployment: Deployment) -> None:
        """Deprecated by Prefect and always null; the limit is `global_concurrency_limit`."""
        return None

    def get_concurrency_options(self, deployment: Deployment) -> dict | None:
        if deployment.concurrency_collision_strategy is None:
            return None
        return {
            "collision_strategy": deployment.concurrency_collision_strategy,
            "grace_period_seconds": deployment.concurrency_grace_period_seconds,
        }

    def get_created_by(self, deployment: Deployment) -> dict | None:
        return actor_to_json(deployment.created_by)

    def get_updated_by(self, deployment: Deployment) -> dict | None:
        return actor_to_json(deployment.updated_by)


def storage_configuration_to_json(configuration: dict | None) -> dict:
    configuration = configuration or {}
    return {
        "bundle_upload_step": configuration.get("bundle_upload_step"),
        "bundle_execution_step": configuration.get("bundle_execution_step"),
        "default_result_storage_block_id": configuration.get("default_result_storage_block_id"),
    }


class WorkPoolSerializer(PrefectModelSerializer):
    """Prefect's `WorkPoolResponse`. No flow runs live here, so `active_slots` is 0 for a
    pool with a concurrency limit and null otherwise, as Prefect reports an idle pool."""

    default_queue_id = serializers.UUIDField(read_only=True)
    storage_configuration = serializers.SerializerMethodField()
    active_slots = serializers.SerializerMethodField()

    class Meta:
        model = WorkPool
        fields = [
            "id",
            "created",
            "updated",
            "name",
            "description",
            "type",
            "base_job_template",
            "is_paused",
            "concurrency_limit",
            "status",
            "default_queue_id",
            "storage_configuration",
            "active_slots",
        ]

    def get_storage_configuration(self, pool: WorkPool) -> dict:
        return storage_configuration_to_json(pool.storage_configuration)

    def get_active_slots(self, pool: WorkPool) -> int | None:
        return None if pool.concurrency_limit is None else 0


class WorkQueueSerializer(PrefectModelSerializer):
    """Prefect's `WorkQueueResponse`."""

    work_pool_id = serializers.UUIDField(read_only=True)
    filter = serializers.SerializerMethodField()
    work_pool_name = serializers.CharField(source="work_pool.name", read_only=True)
    active_slots = serializers.SerializerMethodField()

    class Meta:
        model = WorkQueue
        fields = [
            "id",
            "created",
            "updated",
            "name",
            "description",
            "is_paused",
            "concurrency_limit",
            "priority",
            "work_pool_id",
            "filter",
            "last_polled",
            "work_pool_name",
            "status",
            "active_slots",
        ]

    def get_filter(self, queue: WorkQueue) -> None:
        """Deprecated by Prefect; always null."""
        return None

    def get_active_slots(self, queue: WorkQueue) -> int | None:
        return None if queue.concurrency_limit is None else 0


def page_of(results: list, count: int, limit: int, page: int) -> dict:
    """Prefect's pagination envelope."""
    pages = (count + limit - 1) // limit if limit > 0 else 0
    return {"results": results, "count": count, "limit": limit, "pages": pages, "page": page}


class VariableSerializer(PrefectModelSerializer):
    """Prefect's `Variable`."""

    class Meta:
        model = Variable
        fields = ["id", "created", "updated", "name", "value", "tags"]
