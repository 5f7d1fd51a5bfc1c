"""Datetimes with offsets PostgreSQL cannot parse (beyond ±15:59) still work."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from catalog.models import Deployment, DeploymentSchedule
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db
FAR_EAST = timezone(timedelta(hours=20, minutes=3))


def test_a_listing_filter_with_a_large_offset_is_answered(api_client):
    DeploymentFactory(name="recent")
    response = api_client.get("/api/deployments/", {"updated_after": "2000-01-01T00:00:00+20:03"})
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["recent"]


def test_an_orm_query_with_a_large_offset_compares_instants():
    deployment = DeploymentFactory()
    moment = deployment.updated.astimezone(FAR_EAST)
    assert Deployment.objects.filter(updated=moment).get() == deployment


def test_an_anchor_date_with_a_large_offset_is_stored_and_echoed(api_client):
    deployment = DeploymentFactory()
    body = [{"schedule": {"interval": 3600, "anchor_date": "2026-01-01T09:00:00+20:03"}}]
    response = api_client.post(f"/api/deployments/{deployment.id}/schedules", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()[0]["schedule"]["anchor_date"] == "2026-01-01T09:00:00+20:03"
    stored = DeploymentSchedule.objects.get(deployment=deployment)
    assert stored.anchor_date == datetime(2026, 1, 1, 9, tzinfo=FAR_EAST).astimezone(UTC)


@pytest.mark.parametrize("bound", ["0001-01-01T00:00:00+15:00", "9999-12-31T23:59:59-15:00"])
def test_a_filter_with_no_instant_in_range_is_a_400_naming_it(api_client, bound):
    response = api_client.get("/api/deployments/", {"updated_after": bound})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "updated_after: Input should be a valid datetime, dates out of range"
    }


def test_an_anchor_date_with_no_instant_in_range_is_a_422(api_client):
    deployment = DeploymentFactory()
    body = [{"schedule": {"interval": 60, "anchor_date": "0001-01-01T00:00:00+15:00"}}]
    response = api_client.post(f"/api/deployments/{deployment.id}/schedules", body, format="json")
    assert response.status_code == 422
