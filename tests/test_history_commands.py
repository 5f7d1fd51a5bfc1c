"""`purge_history` and `prune_history`: an object's history purged to one version that says
who purged it and why; versions past the retention pruned, each object's latest kept."""

import io
from datetime import timedelta
from uuid import UUID

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import ChangeSet, Deployment, Version
from catalog.services.history import versions_of_object
from tests.factories import DeploymentFactory, FlowFactory
from tests.replay import database_fingerprint

pytestmark = pytest.mark.django_db

REASON = "an API token was pasted into the parameters"


def command(name: str, *arguments) -> str:
    out = io.StringIO()
    call_command(name, *arguments, stdout=out)
    return out.getvalue()


def edit(api_client, deployment: Deployment, **fields) -> None:
    response = api_client.patch(f"/api/deployments/{deployment.pk}", fields, format="json")
    assert response.status_code == 204


def everything_recorded() -> tuple[list, list]:
    return sorted(map(repr, Version.objects.values_list())), sorted(
        map(repr, ChangeSet.objects.values_list())
    )


def history(object_id: UUID, object_type: str = "deployment") -> list[dict]:
    return [
        {
            "number": version.number,
            "kind": version.kind,
            "name": version.name,
            "flow_name": version.flow_name,
            "has_after": version.after is not None,
            "by": (version.change_set.actor_kind, version.change_set.actor_name),
            "door": version.change_set.door,
            "reason": version.change_set.reason,
        }
        for version in versions_of_object(object_type, object_id)
    ]


@pytest.fixture
def edited(api_client) -> Deployment:
    """A deployment with three versions: made outside the doors, then edited twice."""
    deployment = DeploymentFactory(name="nightly", flow=FlowFactory(name="etl"))
    edit(api_client, deployment, parameters={"token": "s3cret"})
    edit(api_client, deployment, parameters={})
    return deployment


def purged_version(number: int, by: str = "alice", reason: str = REASON) -> dict:
    return {
        "number": number,
        "kind": "purged",
        "name": "nightly",
        "flow_name": "etl",
        "has_after": False,
        "by": ("operator", by),
        "door": "command",
        "reason": reason,
    }


# Purging --------------------------------------------------------------------------------


def purge(*selection: str, by: str = "alice") -> str:
    return command("purge_history", *selection, "--reason", REASON, "--by", by)


def test_it_purges_a_deployments_history_by_id(edited):
    out = purge("--deployment", str(edited.pk))
    assert out == (
        f"Purged 3 version(s) of the deployment {edited.pk}; its history is now one "
        "`purged` version.\n"
    )
    assert history(edited.pk) == [purged_version(4)]


def test_the_change_sets_a_purge_empties_go_and_shared_ones_stay(edited):
    first = versions_of_object("deployment", edited.pk).last().change_set_id
    purge("--deployment", str(edited.pk))
    # The first change set also holds the flow's version; the two edits' held only the
    # deployment's.
    assert list(ChangeSet.objects.order_by("at").values_list("id", "door")) == [
        (first, "other"),
        (versions_of_object("deployment", edited.pk).get().change_set_id, "command"),
    ]


def test_the_next_change_after_a_purge_records_a_version_again(api_client, edited):
    purge("--deployment", str(edited.pk))
    edit(api_client, edited, description="after the purge")
    newest = versions_of_object("deployment", edited.pk).first()
    assert (newest.number, newest.kind, newest.change_set.door) == (5, "changed", "api")
    assert '"description":"after the purge"' in newest.after


def test_a_deleted_deployments_history_is_purged_by_its_flow_and_name(api_client, edited):
    assert api_client.delete(f"/api/deployments/{edited.pk}").status_code == 204
    purge("--flow", "etl", "--name", "nightly", by="bob")
    assert history(edited.pk) == [purged_version(5, by="bob")]


def test_another_objects_history_is_purged_by_type_and_id(edited):
    flow = edited.flow
    out = command(
        "purge_history", "--object-type", "flow", "--id", str(flow.pk), "--reason", "r", "--by", "c"
    )
    assert out.startswith(f"Purged 1 version(s) of the flow {flow.pk};")
    assert [(v["kind"], v["name"], v["reason"]) for v in history(flow.pk, "flow")] == [
        ("purged", "etl", "r")
    ]


def test_it_is_recorded_as_the_user_running_it_by_default(edited, monkeypatch):
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LOGNAME", "ops-on-call")
    command("purge_history", "--deployment", str(edited.pk), "--reason", REASON)
    assert history(edited.pk) == [purged_version(4, by="ops-on-call")]


def test_a_name_two_deployments_had_is_refused_naming_both(api_client, edited):
    api_client.delete(f"/api/deployments/{edited.pk}")
    again = DeploymentFactory(name="nightly", flow=edited.flow)
    edit(api_client, again, description="the second of the name")
    first, second = sorted([edited.pk, again.pk])
    with pytest.raises(CommandError) as refusal:
        command("purge_history", "--flow", "etl", "--name", "nightly", "--reason", REASON)
    assert str(refusal.value) == (
        f"2 deployments were named etl/nightly ({first}, {second}): choose one with "
        "--deployment ID."
    )


CHOOSE = (
    "Choose one object: --deployment ID, --flow NAME --name NAME, or --object-type TYPE --id ID."
)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], CHOOSE),
        (["--deployment", "{id}", "--flow", "etl", "--name", "nightly"], CHOOSE),
        (["--flow", "etl"], "--flow and --name go together: " + CHOOSE),
        (["--id", "{id}"], "--object-type and --id go together: " + CHOOSE),
        (["--deployment", "nightly"], "--deployment: 'nightly' is not an id."),
        (
            ["--flow", "etl", "--name", "weekly"],
            "No deployment etl/weekly, now or in the history: nothing was purged.",
        ),
        (
            ["--deployment", "00000000-0000-4000-8000-000000000000"],
            "No history of the deployment 00000000-0000-4000-8000-000000000000: "
            "nothing was purged.",
        ),
        (
            ["--deployment", "{id}", "--reason", "  "],
            "--reason: say why the history is purged; the purge keeps it.",
        ),
        (
            ["--deployment", "{id}", "--reason", "bell\x07"],
            "--reason: The reason is refused: control characters are not allowed.",
        ),
        (["--deployment", "{id}", "--by", " "], "--by: it is empty."),
        (["--deployment", "{id}", "--by", "x" * 256], "--by: it is longer than 255 characters."),
    ],
)
def test_a_purge_it_cannot_do_is_refused_and_changes_nothing(edited, arguments, message):
    arguments = [argument.format(id=edited.pk) for argument in arguments]
    for option, value in (("--reason", REASON), ("--by", "alice")):
        if option not in arguments:
            arguments += [option, value]
    before = database_fingerprint(), everything_recorded()
    with pytest.raises(CommandError) as refusal:
        command("purge_history", *arguments)
    assert str(refusal.value) == message
    assert (database_fingerprint(), everything_recorded()) == before


def test_a_purge_needs_a_reason(edited):
    with pytest.raises(CommandError, match="the following arguments are required: --reason"):
        command("purge_history", "--deployment", str(edited.pk))


# Pruning --------------------------------------------------------------------------------


def aged(days: int) -> None:
    """Every version and change set recorded so far, moved `days` into the past."""
    past = timezone.now() - timedelta(days=days)
    Version.objects.update(at=past)
    ChangeSet.objects.update(at=past)


def numbers_of(object_id: UUID) -> list[int]:
    return [version.number for version in versions_of_object("deployment", object_id)]


def test_it_prunes_old_versions_but_each_objects_latest(api_client, edited):
    aged(40)
    edit(api_client, edited, description="recent")
    out = command("prune_history", "--older-than-days", "30")
    assert out == "Deleted 3 version(s) older than 30 day(s).\n"
    assert numbers_of(edited.pk) == [4]


def test_an_old_latest_version_stays_however_old(edited):
    aged(400)
    assert command("prune_history", "--older-than-days", "30").startswith("Deleted 2 version(s)")
    assert numbers_of(edited.pk) == [3]
    assert versions_of_object("flow", edited.flow_id).count() == 1


def test_versions_newer_than_the_days_stay(edited):
    assert command("prune_history", "--older-than-days", "30").startswith("Deleted 0 version(s)")
    assert numbers_of(edited.pk) == [3, 2, 1]


def test_a_deleted_objects_versions_all_go_once_the_deletion_is_old(api_client, edited):
    api_client.delete(f"/api/deployments/{edited.pk}")
    aged(40)
    command("prune_history", "--older-than-days", "30")
    assert numbers_of(edited.pk) == []
    assert versions_of_object("flow", edited.flow_id).count() == 1


def test_a_recent_deletion_stays_with_nothing_before_it(api_client, edited):
    aged(40)
    api_client.delete(f"/api/deployments/{edited.pk}")
    command("prune_history", "--older-than-days", "30")
    assert [v["kind"] for v in history(edited.pk)] == ["deleted"]


def test_change_sets_left_empty_go(api_client, edited):
    aged(40)
    edit(api_client, edited, description="recent")
    command("prune_history", "--older-than-days", "30")
    # The factory's change set keeps the flow's only version; the first two edits' go.
    assert sorted(ChangeSet.objects.values_list("door", flat=True)) == ["api", "other"]
    assert not ChangeSet.objects.filter(versions__isnull=True).exists()


def test_it_prunes_across_windows_of_ids(api_client, monkeypatch):
    monkeypatch.setattr("catalog.services.history.PRUNE_WINDOW", 3)
    monkeypatch.setattr("catalog.services.history.BATCH", 2)
    deployments = DeploymentFactory.create_batch(3)
    for n in range(3):
        for deployment in deployments:
            edit(api_client, deployment, description=f"edit {n}")
    api_client.delete(f"/api/deployments/{deployments[0].pk}")
    aged(40)
    assert command("prune_history", "--older-than-days", "1").startswith("Deleted 11 version(s)")
    assert [numbers_of(d.pk) for d in deployments] == [[], [4], [4]]
    assert not ChangeSet.objects.filter(versions__isnull=True).exists()


def test_it_prunes_to_the_retention_setting_by_default(settings, edited):
    settings.CATALOG_HISTORY_RETENTION_DAYS = 30
    aged(31)
    assert command("prune_history") == "Deleted 2 version(s) older than 30 day(s).\n"


def test_without_a_retention_setting_it_needs_the_days(settings, edited):
    settings.CATALOG_HISTORY_RETENTION_DAYS = None
    aged(400)
    with pytest.raises(CommandError) as refusal:
        command("prune_history")
    assert str(refusal.value) == (
        "CATALOG_HISTORY_RETENTION_DAYS is not set, so the history is kept forever; "
        "give --older-than-days N to prune it anyway."
    )
    assert numbers_of(edited.pk) == [3, 2, 1]


@pytest.mark.parametrize("days", ["-1", "36501"])
def test_days_out_of_range_are_refused(days):
    with pytest.raises(CommandError, match=f"Days to keep must be 0 to 36,500, not {int(days):,}"):
        command("prune_history", "--older-than-days", days)
