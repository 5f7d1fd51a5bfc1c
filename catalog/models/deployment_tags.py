"""Each tag of each deployment as a row of its own, kept beside the deployment by
database triggers, so that a page of the deployments with a tag is read in name (or
newest, or last changed) order from an index that leads with the tag.

The tags themselves live in `Deployment.tags` (a JSON array, the API's and the admin's
field); its GIN index finds the deployments with a tag but in no order. At a million
deployments a page of "team-07" in name order then meant sorting every match, or walking
the `(name, id)` index until enough matched: most of the table when the matches sort
late. Here each row repeats the deployment's name, `created` and `updated`, and the
indexes `(tag, name, deployment)`, `(tag, -created, deployment)` and
`(tag, -updated, deployment)` give the page in `offset + limit` rows (see
`catalog.models.pages`).

Whatever writes deployments (the ORM, the importer's COPY, raw SQL), the triggers rewrite
the rows of the deployments it touched whose tags, name or timestamps changed, in the
writing transaction: a write costs in proportion to the tags it touches. Migration 0021
made the rows of the deployments stored before it.
"""

from django.db import DEFAULT_DB_ALIAS, connections, models

from catalog.models.deployments import Deployment
from catalog.models.triggers import (
    create_triggers,
    drop_triggers,
    postgres_statement_trigger,
    sqlite_row_trigger,
)
from catalog.rules import limits


class DeploymentTag(models.Model):
    pk = models.CompositePrimaryKey("deployment", "tag")
    deployment = models.ForeignKey(
        Deployment,
        on_delete=models.DO_NOTHING,  # the triggers delete the rows with their deployment
        db_constraint=False,
        related_name="tag_rows",
        db_index=False,  # the primary key leads with it
    )
    tag = models.CharField(max_length=limits.MAX_TAG_LENGTH)
    name = models.CharField(max_length=limits.NAME_MAX_LENGTH, blank=True)
    created = models.DateTimeField()
    updated = models.DateTimeField()

    class Meta:
        default_permissions = ()
        indexes = [
            models.Index(fields=["tag", "name", "deployment"], name="catalog_tag_name"),
            models.Index(fields=["tag", "-created", "deployment"], name="catalog_tag_new"),
            models.Index(fields=["tag", "-updated", "deployment"], name="catalog_tag_upd"),
        ]

    def __str__(self) -> str:
        return self.tag


TABLE = "catalog_deploymenttag"
DEPLOYMENTS = "catalog_deployment"
COLUMNS = "deployment_id, tag, name, created, updated"
# A deployment's columns that its tag rows repeat: a change to any of them rewrites them.
KEPT = ("tags", "name", "created", "updated")


def postgres_rows_of(source: str) -> str:
    """The tag rows of the deployments in `source` (a table or transition table `d`);
    only the array's strings, as jsonb's `?|` and `?&` see them."""
    return (
        f"SELECT d.id, e.value #>> '{{}}', d.name, d.created, d.updated FROM {source} d "
        "CROSS JOIN LATERAL jsonb_array_elements(d.tags) e "
        "WHERE jsonb_typeof(e.value) = 'string'"
    )


def postgres_tag_triggers() -> list[str]:
    changed = "SELECT w.id FROM written w JOIN before_write b ON b.id = w.id WHERE " + " OR ".join(
        f"w.{column} IS DISTINCT FROM b.{column}" for column in KEPT
    )
    on_insert = (
        f"INSERT INTO {TABLE} ({COLUMNS}) {postgres_rows_of('written')} ON CONFLICT DO NOTHING"
    )
    on_update = (
        f"DELETE FROM {TABLE} WHERE deployment_id IN ({changed}); "
        f"INSERT INTO {TABLE} ({COLUMNS}) {postgres_rows_of('written')} "
        f"AND d.id IN ({changed}) ON CONFLICT DO NOTHING"
    )
    on_delete = f"DELETE FROM {TABLE} WHERE deployment_id IN (SELECT id FROM written)"
    return [
        postgres_trigger("INSERT", on_insert),
        postgres_trigger("UPDATE", on_update),
        postgres_trigger("DELETE", on_delete),
    ]


def postgres_trigger(event: str, action: str) -> str:
    return postgres_statement_trigger(trigger_name(event), DEPLOYMENTS, event, action)


def sqlite_rows_of_new() -> str:
    return (
        f"INSERT OR IGNORE INTO {TABLE} ({COLUMNS}) "
        "SELECT NEW.id, value, NEW.name, NEW.created, NEW.updated "
        "FROM json_each(NEW.tags) WHERE type = 'text'"
    )


def sqlite_tag_triggers() -> list[str]:
    delete_old = f"DELETE FROM {TABLE} WHERE deployment_id = OLD.id"
    return [
        *sqlite_trigger("INSERT", sqlite_rows_of_new()),
        *sqlite_trigger("UPDATE", f"{delete_old}; {sqlite_rows_of_new()}"),
        *sqlite_trigger("DELETE", delete_old),
    ]


def sqlite_trigger(event: str, action: str) -> list[str]:
    return sqlite_row_trigger(trigger_name(event), DEPLOYMENTS, event, action)


def trigger_name(event: str) -> str:
    return f"{DEPLOYMENTS}_tags_on_{event.lower()}"


def install_tag_triggers(using: str = DEFAULT_DB_ALIAS, **_) -> None:
    """(Re)creates the triggers. Idempotent; connected to `post_migrate`."""
    create_triggers(DeploymentTag, using, postgres_tag_triggers, sqlite_tag_triggers)


def drop_tag_triggers(connection) -> None:
    """Undoes `install_tag_triggers` (migration 0021, when it is reversed)."""
    events = ("INSERT", "UPDATE", "DELETE")
    drop_triggers(connection, [(trigger_name(event), DEPLOYMENTS) for event in events])


def make_every_tag_row(connection) -> None:
    """The rows of every stored deployment (run once, by migration 0021)."""
    if connection.vendor == "postgresql":
        rows = postgres_rows_of(DEPLOYMENTS)
        statement = f"INSERT INTO {TABLE} ({COLUMNS}) {rows} ON CONFLICT DO NOTHING"
    else:
        statement = (
            f"INSERT OR IGNORE INTO {TABLE} ({COLUMNS}) "
            f"SELECT d.id, j.value, d.name, d.created, d.updated "
            f"FROM {DEPLOYMENTS} d, json_each(d.tags) j WHERE j.type = 'text'"
        )
    with connection.cursor() as cursor:
        cursor.execute(statement)


# Past this many distinct tags, `tags_holding` gives up: listing them costs a probe each.
MOST_TAGS_LISTED = 1000


def tags_holding(word: str, using: str = DEFAULT_DB_ALIAS) -> list[str] | None:
    """The distinct tags that hold `word` (as `icontains` compares), or None when the
    catalog has more than MOST_TAGS_LISTED distinct tags. The tags are listed by skipping
    from one to the next in the `(tag, name, deployment)` index: a probe a distinct tag,
    whatever the number of deployments."""
    escaped = connections[using].ops.prep_for_like_query(word)
    listed = (
        f"WITH RECURSIVE listed(tag) AS (SELECT (SELECT tag FROM {TABLE} ORDER BY tag LIMIT 1) "
        f"UNION ALL SELECT (SELECT t.tag FROM {TABLE} t WHERE t.tag > listed.tag "
        "ORDER BY t.tag LIMIT 1) FROM listed WHERE listed.tag IS NOT NULL) "
        "SELECT tag, UPPER(tag) LIKE UPPER(%s) ESCAPE '\\' FROM listed "
        f"WHERE tag IS NOT NULL LIMIT {MOST_TAGS_LISTED + 1}"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(listed, [f"%{escaped}%"])
        rows = cursor.fetchall()
    if len(rows) > MOST_TAGS_LISTED:
        return None
    return [tag for tag, holds in rows if holds]
