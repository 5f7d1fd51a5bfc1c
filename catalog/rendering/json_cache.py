"""Each deployment's API JSON, kept in `DeploymentJson` and served without rendering.

Rendering a deployment (its row, schedules, queue, pool and limit through the
serializer) costs many times what reading one stored text does, and reads far outnumber
writes. So a read serves the kept body when there is one; otherwise it renders the
deployment on the primary and keeps the body, unless a write moved `version` meanwhile.

Keeping bodies correct is the database's job, not every write path's: triggers on the
tables the JSON is made from clear the body and advance the version in the writing
transaction itself, whatever the writer (ORM saves, queryset updates, cascades, the
importer's COPY, raw SQL). `install_triggers` runs after every `migrate`, which also
clears every kept body, since a new release may render differently.
"""

import hashlib
from collections.abc import Iterable
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import QuerySet

from catalog.models import DeploymentJson
from catalog.models.pages import page_ids, page_query
from catalog.models.triggers import postgres_statement_trigger, sqlite_row_trigger
from catalog.rendering.body_memory import MEMORIES
from catalog.rendering.deployment_json import rendered_deployments
from catalog.rendering.jsontext import dumps

TABLE = DeploymentJson._meta.db_table

# How each kind of change finds the deployments whose JSON it changes. Each entry: a
# table, an event and the ids of the deployments touched, for PostgreSQL's statement
# triggers (rows in the transition table `written`) and for SQLite's row triggers.
CHANGES = [
    (
        "catalog_deploymentschedule",
        "INSERT",
        "SELECT deployment_id FROM written",
        "NEW.deployment_id",
    ),
    (
        "catalog_deploymentschedule",
        "DELETE",
        "SELECT deployment_id FROM written",
        "OLD.deployment_id",
    ),
    (
        "catalog_deploymentschedule",
        "UPDATE",
        "SELECT deployment_id FROM written UNION SELECT deployment_id FROM before_write",
        "OLD.deployment_id, NEW.deployment_id",
    ),
    ("catalog_deployment", "UPDATE", "SELECT id FROM written", "NEW.id"),
    (
        "catalog_workqueue",
        "UPDATE",
        "SELECT d.id FROM catalog_deployment d JOIN written q ON d.work_queue_id = q.id",
        "SELECT id FROM catalog_deployment WHERE work_queue_id = NEW.id",
    ),
    (
        "catalog_workpool",
        "UPDATE",
        "SELECT d.id FROM catalog_deployment d JOIN catalog_workqueue q "
        "ON d.work_queue_id = q.id JOIN written p ON q.work_pool_id = p.id",
        "SELECT d.id FROM catalog_deployment d JOIN catalog_workqueue q "
        "ON d.work_queue_id = q.id WHERE q.work_pool_id = NEW.id",
    ),
    (
        "catalog_concurrencylimit",
        "UPDATE",
        "SELECT d.id FROM catalog_deployment d "
        "JOIN written c ON d.global_concurrency_limit_id = c.id",
        "SELECT id FROM catalog_deployment WHERE global_concurrency_limit_id = NEW.id",
    ),
]
# On PostgreSQL every version comes from one sequence (migration 0027): a version then
# names one body for the database's life, which lets a worker hold bodies in memory by
# version (`body_memory`). SQLite counts each deployment's versions.
NEXT_VERSION = "nextval('catalog_deploymentjson_version')"
POSTGRES_FORGET_ALL = f"UPDATE {TABLE} SET body = NULL, version = {NEXT_VERSION}"
SQLITE_FORGET_ALL = f"UPDATE {TABLE} SET body = NULL, version = version + 1"
POSTGRES_FORGET = f"{POSTGRES_FORGET_ALL} WHERE deployment_id IN"
SQLITE_FORGET = f"{SQLITE_FORGET_ALL} WHERE deployment_id IN"


# Triggers -------------------------------------------------------------------------------


def install_triggers(using: str = DEFAULT_DB_ALIAS, **_) -> None:
    """(Re)creates the triggers, gives every deployment its row and clears every body.
    Idempotent; connected to `post_migrate`."""
    if not router.allow_migrate_model(using, DeploymentJson):
        return
    connection = connections[using]
    postgres = connection.vendor == "postgresql"
    statements = postgres_triggers() if postgres else sqlite_triggers()
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        # NOT EXISTS, not NOT IN: past ~150,000 deployments PostgreSQL no longer hashes a
        # NOT IN list within its default work_mem and scans it once a row.
        cursor.execute(
            f"INSERT INTO {TABLE} (deployment_id, version) "
            f"SELECT id, {NEXT_VERSION if postgres else 0} FROM catalog_deployment d "
            f"WHERE NOT EXISTS (SELECT 1 FROM {TABLE} kept WHERE kept.deployment_id = d.id)"
        )
        cursor.execute(POSTGRES_FORGET_ALL if postgres else SQLITE_FORGET_ALL)


def trigger_name(table: str, event: str) -> str:
    return f"{table}_json_on_{event.lower()}"


def postgres_triggers() -> list[str]:
    statements = [
        postgres_trigger(
            "catalog_deployment",
            "INSERT",
            f"INSERT INTO {TABLE} (deployment_id, version) SELECT id, {NEXT_VERSION} "
            f"FROM written ON CONFLICT (deployment_id) DO UPDATE SET body = NULL, "
            f"version = {NEXT_VERSION}",
        ),
        postgres_trigger(
            "catalog_deployment",
            "DELETE",
            f"DELETE FROM {TABLE} WHERE deployment_id IN (SELECT id FROM written)",
        ),
    ]
    for table, event, touched, _ in CHANGES:
        statements.append(postgres_trigger(table, event, f"{POSTGRES_FORGET} ({touched})"))
    return statements


def postgres_trigger(table: str, event: str, action: str) -> str:
    return postgres_statement_trigger(trigger_name(table, event), table, event, action)


def sqlite_triggers() -> list[str]:
    statements = [
        *sqlite_trigger(
            "catalog_deployment",
            "INSERT",
            f"INSERT OR REPLACE INTO {TABLE} (deployment_id, version, body) VALUES (NEW.id, "
            f"COALESCE((SELECT version + 1 FROM {TABLE} WHERE deployment_id = NEW.id), 0), NULL)",
        ),
        *sqlite_trigger(
            "catalog_deployment", "DELETE", f"DELETE FROM {TABLE} WHERE deployment_id = OLD.id"
        ),
    ]
    for table, event, _, touched in CHANGES:
        statements.extend(sqlite_trigger(table, event, f"{SQLITE_FORGET} ({touched})"))
    return statements


def sqlite_trigger(table: str, event: str, action: str) -> list[str]:
    return sqlite_row_trigger(trigger_name(table, event), table, event, action)


# Reads ----------------------------------------------------------------------------------


def deployment_body(deployment_id: UUID) -> bytes | None:
    """The deployment's JSON, or None when there is no such deployment. A kept body
    costs one indexed query, in SQL written out: building it with the ORM would cost
    more than running it."""
    connection = connections[router.db_for_read(DeploymentJson)]
    key = DeploymentJson._meta.pk.get_db_prep_value(deployment_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT body FROM {TABLE} WHERE deployment_id = %s", [key])
        kept = cursor.fetchone()
    if kept and kept[0] is not None:
        return kept[0].encode()
    return rendered_and_kept([deployment_id]).get(deployment_id)


def deployment_bodies(ids: list[UUID]) -> list[bytes]:
    """The JSON of each deployment in `ids`, in that order (ids of deployments that
    are gone meanwhile are left out)."""
    kept = kept_bodies(ids)
    return bodies_in_order([(id, kept[id].encode() if id in kept else None) for id in ids])


def bodies_in_order(rows: list[tuple[UUID | None, bytes | None]]) -> list[bytes]:
    """The bodies of `rows` (a deployment's id and its kept body, or None when it has
    none yet: the id is read only then), in their order, each one not kept rendered and
    kept. A deployment gone since its id was read is left out."""
    missing = [id for id, body in rows if body is None]
    rendered = rendered_and_kept(missing) if missing else {}
    return [
        rendered[id] if body is None else body
        for id, body in rows
        if body is not None or id in rendered
    ]


def page_bodies(matching: QuerySet, order: list[str], offset: int, limit: int) -> list[bytes]:
    """The JSON of a page of `matching` (deployments) in `order`, as `page_ids` reads
    it. On PostgreSQL the page's ids and their kept bodies come in one query: a second
    query, passing the ids back, cost 0.6-0.7 ms more a page of 200 at a million
    (`bench/README.md`). The database sends no body that this worker holds in memory
    from the page's last reading (`body_memory`)."""
    connection = connections[matching.db]
    if connection.vendor != "postgresql":
        return deployment_bodies(page_ids(matching, order, offset, limit))
    page = page_query(matching, order, offset, limit)
    if page is None:
        return []
    sql, params = page
    memory = MEMORIES.of(database_of(connection))
    # The key only chooses which versions to offer: a held body stands in only for a row
    # of its very version, so two pages on one key (a hash collision) get bodies sent.
    remembered = hash((sql, repr(params)))
    held = memory.held_for(remembered)
    with connection.cursor() as cursor:
        # The ids keep the page's order through the array. A body still to render comes
        # with its id; a kept one alone (its id would cost a UUID to make, for nothing),
        # and only if this worker does not hold its version. The held versions go as one
        # text: psycopg writes a list into the SQL an element at a time, at 1-2 us each.
        cursor.execute(
            "SELECT kept.version, CASE WHEN kept.body IS NULL THEN page.id END, "
            "CASE WHEN kept.version = ANY(%s::bigint[]) THEN NULL ELSE kept.body END "
            f"FROM unnest(ARRAY({sql})) WITH ORDINALITY AS page(id, position) "
            f"LEFT JOIN {TABLE} AS kept ON kept.deployment_id = page.id "
            "ORDER BY page.position",
            ["{" + ",".join(map(str, held)) + "}", *params],
        )
        rows = cursor.fetchall()
    sent = [(version, body.encode()) for version, _, body in rows if body is not None]
    memory.remember(remembered, [row[0] for row in rows], sent)
    bodies = dict(sent)
    return bodies_in_order(
        [
            (id, None if id is not None else bodies.get(version) or held[version])
            for version, id, _ in rows
        ]
    )


def database_of(connection) -> tuple:
    """Which database a connection reads (the memory's bodies are that database's)."""
    settings = connection.settings_dict
    return (settings["HOST"], settings["PORT"], settings["NAME"])


def kept_bodies(ids: list[UUID]) -> dict[UUID, str]:
    """The kept bodies of those of `ids` that have one. On PostgreSQL the ids go as one
    array, in SQL written out: the ORM's `IN` of a page's 200 ids cost twice the query
    (5.0 against 2.9 ms, `bench/README.md`)."""
    if not ids:
        return {}
    connection = connections[router.db_for_read(DeploymentJson)]
    if connection.vendor != "postgresql":
        kept = DeploymentJson.objects.using(connection.alias).filter(
            deployment_id__in=ids, body__isnull=False
        )
        return dict(kept.values_list("deployment_id", "body"))
    prepare = DeploymentJson._meta.pk.get_db_prep_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT deployment_id, body FROM {TABLE} "
            "WHERE deployment_id = ANY(%s) AND body IS NOT NULL",
            [[prepare(id, connection) for id in ids]],
        )
        return dict(cursor.fetchall())


def json_array(bodies: Iterable[bytes]) -> bytes:
    return b"[" + b",".join(bodies) + b"]"


def with_results(envelope: dict, bodies: list[bytes]) -> bytes:
    """A page's envelope (DRF's or Prefect's) as JSON, its `results` the kept bodies as
    they are kept, not parsed and written again. (A key's quotes cannot occur inside a
    JSON string, unescaped: the first `"results":[]` is the key's.)"""
    text, empty = dumps({**envelope, "results": []}), b'"results":[]'
    at = text.index(empty)
    return text[:at] + b'"results":' + json_array(bodies) + text[at + len(empty) :]


def etag_of(body: bytes) -> str:
    return f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'


def rendered_and_kept(ids: list[UUID]) -> dict[UUID, bytes]:
    """Renders the deployments on the primary and keeps each body whose version is still
    the one read before rendering: a write committed after that read has moved it."""
    versions = dict(
        DeploymentJson.objects.using(DEFAULT_DB_ALIAS)
        .filter(deployment_id__in=ids)
        .values_list("deployment_id", "version")
    )
    rendered = rendered_deployments(ids, DEFAULT_DB_ALIAS)
    bodies = {id: dumps(data) for id, data in rendered.items()}
    keep(
        [(body, id, versions[id]) for id, body in bodies.items() if id in versions],
    )
    return bodies


def keep(rows: list[tuple[bytes, UUID, int]]) -> None:
    if not rows:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    prepare = DeploymentJson._meta.pk.get_db_prep_value
    parameters = [(body.decode(), prepare(id, connection), version) for body, id, version in rows]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {TABLE} SET body = %s "
            "WHERE deployment_id = %s AND version = %s AND body IS NULL",
            parameters,
        )


# A write of a few deployments keeps their bodies with one statement; more go through COPY.
FEW_BODIES = 20
# The scratch table of that COPY, made once a session. Its bodies pass uncompressed (and
# inline up to a page's size): a body compressed there would be kept as it is, in pglz,
# not in the column's own compression (lz4, migration 0025).
SCRATCH_TABLE = """
DO $$ BEGIN
    IF to_regclass('pg_temp.catalog_kept_bodies') IS NULL THEN
        CREATE TEMPORARY TABLE catalog_kept_bodies (deployment_id uuid, body text)
            WITH (toast_tuple_target = 8160) ON COMMIT DELETE ROWS;
        ALTER TABLE catalog_kept_bodies ALTER COLUMN body SET STORAGE EXTERNAL;
    END IF;
END $$
"""


def keep_current(bodies: dict[UUID, bytes], using: str = DEFAULT_DB_ALIAS) -> None:
    """Keep bodies rendered inside the transaction that wrote them: its writes hold the
    rows' locks until it commits, so no other write can have moved them meanwhile. On
    PostgreSQL the bodies go through a COPY into a scratch table (an array parameter of
    JSON texts costs the server several times more to parse)."""
    if not bodies:
        return
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(bodies) > FEW_BODIES:
            cursor.execute(SCRATCH_TABLE)
            with cursor.cursor.copy("COPY catalog_kept_bodies FROM STDIN") as copy:
                for id, body in bodies.items():
                    copy.write_row((id, body.decode()))
            cursor.execute(
                f"UPDATE {TABLE} AS kept SET body = given.body FROM catalog_kept_bodies AS given "
                "WHERE kept.deployment_id = given.deployment_id"
            )
            cursor.execute("DELETE FROM catalog_kept_bodies")
            return
        prepare = DeploymentJson._meta.pk.get_db_prep_value
        cursor.executemany(
            f"UPDATE {TABLE} SET body = %s WHERE deployment_id = %s",
            [(body.decode(), prepare(id, connection)) for id, body in bodies.items()],
        )


# Warming ---------------------------------------------------------------------------------

# Deployments rendered and kept in one short transaction while warming.
WARM_BATCH = 2000


def warm_bodies(batch: int = WARM_BATCH) -> Iterable[tuple[int, int]]:
    """Renders and keeps every body that is not kept, `batch` deployments at a time, in
    id order; yields (kept so far, how many were cold) after each batch. Memory holds one
    batch. Safe beside live writes: a body whose version moved meanwhile is not kept."""
    cold = DeploymentJson.objects.using(DEFAULT_DB_ALIAS).filter(body__isnull=True)
    total, done, after = cold.count(), 0, None
    while True:
        page = cold.order_by("deployment_id")
        if after is not None:
            page = page.filter(deployment_id__gt=after)
        ids = list(page.values_list("deployment_id", flat=True)[:batch])
        if not ids:
            return
        rendered_and_kept(ids)
        done, after = done + len(ids), ids[-1]
        yield done, max(total, done)
