"""How many schedules each deployment has, and how many of them are active, kept beside
it by database triggers so that the admin's "has an active schedule" and "no schedule"
filters read a small index instead of an anti-join over every schedule.

Whatever writes schedules or deployments (the ORM, the importer's COPY, raw SQL), the
triggers recount the deployments it touched, in the writing transaction. Each recount
reads that deployment's schedules through the unique (deployment, slug) index, so a write
costs in proportion to the deployments it touches, never to the catalog's size.
`install_schedule_count_triggers` runs after every `migrate` and recounts every
deployment once.
"""

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Q

from catalog.models.deployments import Deployment
from catalog.models.triggers import (
    create_triggers,
    postgres_statement_trigger,
    sqlite_row_trigger,
)


class ScheduleCounts(models.Model):
    deployment = models.OneToOneField(
        Deployment,
        primary_key=True,
        on_delete=models.DO_NOTHING,  # the triggers delete the row with its deployment
        db_constraint=False,
        related_name="+",
    )
    schedules = models.IntegerField(default=0)
    active_schedules = models.IntegerField(default=0)

    class Meta:
        default_permissions = ()
        verbose_name_plural = "schedule counts"
        # Partial: they hold only the deployments the filters look for, however large
        # the catalog, and a write to any other deployment leaves them alone.
        indexes = [
            models.Index(
                fields=["deployment"],
                condition=Q(schedules=0),
                name="catalog_counts_no_schedule",
            ),
            models.Index(
                fields=["deployment"],
                condition=Q(active_schedules=0),
                name="catalog_counts_none_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.active_schedules} of {self.schedules} schedules active"


TABLE = "catalog_schedulecounts"
SCHEDULES = "catalog_deploymentschedule"
RECOUNT = (
    f"UPDATE {TABLE} SET "
    f"schedules = (SELECT COUNT(*) FROM {SCHEDULES} s "
    f"WHERE s.deployment_id = {TABLE}.deployment_id), "
    f"active_schedules = (SELECT COUNT(*) FROM {SCHEDULES} s "
    f"WHERE s.deployment_id = {TABLE}.deployment_id AND s.active) "
    "WHERE deployment_id IN"
)

# (table, event, the deployments touched: PostgreSQL's from the transition tables,
# SQLite's from the row)
SCHEDULE_CHANGES = [
    (SCHEDULES, "INSERT", "SELECT deployment_id FROM written", "NEW.deployment_id"),
    (SCHEDULES, "DELETE", "SELECT deployment_id FROM written", "OLD.deployment_id"),
    (
        SCHEDULES,
        "UPDATE",
        "SELECT deployment_id FROM written UNION SELECT deployment_id FROM before_write",
        "OLD.deployment_id, NEW.deployment_id",
    ),
]


def trigger_name(table: str, event: str) -> str:
    return f"{table}_counts_on_{event.lower()}"


def postgres_count_triggers() -> list[str]:
    # A deployment's row is made with it; its schedules may come first (the importer's
    # foreign keys are deferred), so it is recounted too.
    on_insert = (
        f"INSERT INTO {TABLE} (deployment_id, schedules, active_schedules) "
        f"SELECT id, 0, 0 FROM written ON CONFLICT (deployment_id) DO NOTHING; "
        f"{RECOUNT} (SELECT id FROM written)"
    )
    on_delete = f"DELETE FROM {TABLE} WHERE deployment_id IN (SELECT id FROM written)"
    statements = [
        postgres_trigger(Deployment._meta.db_table, "INSERT", on_insert),
        postgres_trigger(Deployment._meta.db_table, "DELETE", on_delete),
    ]
    for table, event, touched, _ in SCHEDULE_CHANGES:
        statements.append(postgres_trigger(table, event, f"{RECOUNT} ({touched})"))
    return statements


def postgres_trigger(table: str, event: str, action: str) -> str:
    return postgres_statement_trigger(trigger_name(table, event), table, event, action)


def sqlite_count_triggers() -> list[str]:
    on_insert = (
        f"INSERT OR IGNORE INTO {TABLE} (deployment_id, schedules, active_schedules) "
        f"VALUES (NEW.id, 0, 0); {RECOUNT} (NEW.id)"
    )
    on_delete = f"DELETE FROM {TABLE} WHERE deployment_id = OLD.id"
    statements = [
        *sqlite_trigger(Deployment._meta.db_table, "INSERT", on_insert),
        *sqlite_trigger(Deployment._meta.db_table, "DELETE", on_delete),
    ]
    for table, event, _, touched in SCHEDULE_CHANGES:
        statements.extend(sqlite_trigger(table, event, f"{RECOUNT} ({touched})"))
    return statements


def sqlite_trigger(table: str, event: str, action: str) -> list[str]:
    return sqlite_row_trigger(trigger_name(table, event), table, event, action)


def install_schedule_count_triggers(using: str = DEFAULT_DB_ALIAS, **_) -> None:
    """(Re)creates the triggers, gives every deployment its row and recounts every row
    (in one grouped pass, writing only the rows that were wrong). Idempotent; connected
    to `post_migrate`."""
    if create_triggers(ScheduleCounts, using, postgres_count_triggers, sqlite_count_triggers):
        with connections[using].cursor() as cursor:
            cursor.execute(RECOUNT_EVERY_DEPLOYMENT)


RECOUNT_EVERY_DEPLOYMENT = f"""INSERT INTO {TABLE} (deployment_id, schedules, active_schedules)
SELECT d.id, COUNT(s.id), COALESCE(SUM(CASE WHEN s.active THEN 1 ELSE 0 END), 0)
FROM catalog_deployment d LEFT JOIN {SCHEDULES} s ON s.deployment_id = d.id
WHERE true GROUP BY d.id
ON CONFLICT (deployment_id) DO UPDATE
SET schedules = excluded.schedules, active_schedules = excluded.active_schedules
WHERE {TABLE}.schedules <> excluded.schedules
OR {TABLE}.active_schedules <> excluded.active_schedules"""
