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
`catalog.models.pages`). Each row also repeats the deployment's whole tag list, which
those indexes carry (PostgreSQL's `INCLUDE`): a page of `all_` of several tags walks the
rarest tag's entries and keeps those whose list holds the others, without leaving the
index (a probe of the other tags' rows cost some 4 µs a row, 40 ms at offset 10,000).

Whatever writes deployments (the ORM, the importer's COPY, raw SQL), the triggers rewrite
the rows of the deployments it touched whose tags, name or timestamps changed, in the
writing transaction: a write costs in proportion to the tags it touches. Migration 0021
made the rows of the deployments stored before it; 0024 made them again with the tag
lists. The triggers and the filling are written for the table a migration state has (the
list is left out before 0024), so that a migration run forward or back keeps working
triggers.
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
    tags = models.JSONField()  # the deployment's, as `Deployment.tags`

    class Meta:
        default_permissions = ()
        # SQLite has no INCLUDE (system check models.W040, silenced in the settings): it
        # reads the list from the row.
        indexes = [
            models.Index(
                fields=["tag", "name", "deployment"], name="catalog_tag_name", include=["tags"]
            ),
            models.Index(
                fields=["tag", "-created", "deployment"], name="catalog_tag_new", include=["tags"]
            ),
            models.Index(
                fields=["tag", "-updated", "deployment"], name="catalog_tag_upd", include=["tags"]
            ),
        ]

    def __str__(self) -> str:
        return self.tag


TABLE = "catalog_deploymenttag"
DEPLOYMENTS = "catalog_deployment"
# A deployment's columns that its tag rows repeat: a change to any of them rewrites them.
KEPT = ("tags", "name", "created", "updated")


def repeated_columns(apps=None) -> list[str]:
    """The deployment's columns its tag rows repeat, in the table of the migration state
    `apps` (the current models when None): the tag list only from migration 0024 on."""
    rows = apps.get_model("catalog", "DeploymentTag") if apps is not None else DeploymentTag
    has_tag_list = any(field.name == "tags" for field in rows._meta.get_fields())
    return ["name", "created", "updated", *(["tags"] if has_tag_list else [])]


def column_list(apps=None) -> str:
    return ", ".join(["deployment_id", "tag", *repeated_columns(apps)])


def postgres_rows_of(source: str, apps=None) -> str:
    """The tag rows of the deployments in `source` (a table or transition table `d`);
    only the array's strings, as jsonb's `?|` and `?&` see them."""
    repeated = ", ".join(f"d.{column}" for column in repeated_columns(apps))
    return (
        f"SELECT d.id, e.value #>> '{{}}', {repeated} FROM {source} d "
        "CROSS JOIN LATERAL jsonb_array_elements(d.tags) e "
        "WHERE jsonb_typeof(e.value) = 'string'"
    )


def postgres_tag_triggers(apps=None) -> list[str]:
    changed = "SELECT w.id FROM written w JOIN before_write b ON b.id = w.id WHERE " + " OR ".join(
        f"w.{column} IS DISTINCT FROM b.{column}" for column in KEPT
    )
    columns, rows = column_list(apps), postgres_rows_of("written", apps)
    on_insert = f"INSERT INTO {TABLE} ({columns}) {rows} ON CONFLICT DO NOTHING"
    on_update = (
        f"DELETE FROM {TABLE} WHERE deployment_id IN ({changed}); "
        f"INSERT INTO {TABLE} ({columns}) {rows} AND d.id IN ({changed}) ON CONFLICT DO NOTHING"
    )
    on_delete = f"DELETE FROM {TABLE} WHERE deployment_id IN (SELECT id FROM written)"
    return [
        postgres_trigger("INSERT", on_insert),
        postgres_trigger("UPDATE", on_update),
        postgres_trigger("DELETE", on_delete),
    ]


def postgres_trigger(event: str, action: str) -> str:
    return postgres_statement_trigger(trigger_name(event), DEPLOYMENTS, event, action)


def sqlite_rows_of(source: str, apps=None, table: str = "") -> str:
    """Inserts the tag rows of the deployment `source`: a trigger's `NEW`, or each row
    of `table` under that alias."""
    repeated = ", ".join(f"{source}.{column}" for column in repeated_columns(apps))
    deployments = f"{table} {source}, " if table else ""
    return (
        f"INSERT OR IGNORE INTO {TABLE} ({column_list(apps)}) "
        f"SELECT {source}.id, j.value, {repeated} "
        f"FROM {deployments}json_each({source}.tags) j WHERE j.type = 'text'"
    )


def sqlite_tag_triggers(apps=None) -> list[str]:
    delete_old = f"DELETE FROM {TABLE} WHERE deployment_id = OLD.id"
    return [
        *sqlite_trigger("INSERT", sqlite_rows_of("NEW", apps)),
        *sqlite_trigger("UPDATE", f"{delete_old}; {sqlite_rows_of('NEW', apps)}"),
        *sqlite_trigger("DELETE", delete_old),
    ]


def sqlite_trigger(event: str, action: str) -> list[str]:
    return sqlite_row_trigger(trigger_name(event), DEPLOYMENTS, event, action)


def trigger_name(event: str) -> str:
    return f"{DEPLOYMENTS}_tags_on_{event.lower()}"


def install_tag_triggers(using: str = DEFAULT_DB_ALIAS, apps=None, **_) -> None:
    """(Re)creates the triggers for the table of the migration state `apps` (`migrate`
    back to before 0024 leaves the table without the tag list). Idempotent; connected to
    `post_migrate`, which passes the state it migrated to."""
    create_triggers(
        DeploymentTag,
        using,
        lambda: postgres_tag_triggers(apps),
        lambda: sqlite_tag_triggers(apps),
    )


def drop_tag_triggers(connection) -> None:
    """Undoes `install_tag_triggers` (migration 0021, when it is reversed)."""
    events = ("INSERT", "UPDATE", "DELETE")
    drop_triggers(connection, [(trigger_name(event), DEPLOYMENTS) for event in events])


def make_every_tag_row(connection, apps=None) -> None:
    """The rows of every stored deployment, in the table of the migration state `apps`
    (run by migrations 0021 and 0024)."""
    if connection.vendor == "postgresql":
        rows = postgres_rows_of(DEPLOYMENTS, apps)
        statement = f"INSERT INTO {TABLE} ({column_list(apps)}) {rows} ON CONFLICT DO NOTHING"
    else:
        statement = sqlite_rows_of("d", apps, table=DEPLOYMENTS)
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
