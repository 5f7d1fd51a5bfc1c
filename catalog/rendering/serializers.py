"""One serializer per resource; fields are listed in the order Prefect's API emits them."""

from django.db import models
from rest_framework import serializers

from catalog.models import (
    ConcurrencyLimit,
    Flow,
    Variable,
    WorkPool,
    WorkQueue,
)
from catalog.rules.datetimes import format_utc


class PrefectDateTimeField(serializers.DateTimeField):
    """A stored timestamp as Prefect writes it: UTC, `Z`, six-digit microseconds or none."""

    def to_representation(self, value):
        return format_utc(value)


class PrefectModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: PrefectDateTimeField,
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
