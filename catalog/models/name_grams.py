"""Every three-character piece (trigram) of each deployment's name, upper-cased, as a row
of its own, kept by PostgreSQL triggers, so that a page of the deployments whose name
holds a substring is read in name order from an index that leads with a trigram.

A substring filter (`name.like_`, the listing's `?name_contains=`) has no index of
PostgreSQL that returns its matches in name order: the trigram (GIN) index finds them in
no order, and the `(name, id)` index must be walked past every name that does not match.
A name that holds a substring holds each of its trigrams, so the rows of the substring's
rarest trigram, in the primary key `(gram, name, deployment)`, are a superset of the
matches, in name order; the page tests each of them against the whole pattern (see
`catalog.models.pages`). Names shorter than three characters have no rows, and patterns
with no three literal characters in a row are not served by them.

PostgreSQL only: SQLite's triggers cannot enumerate a name's positions (no `WITH` nor
`generate_series` in a trigger), and an embedded catalog is small enough to walk. On
SQLite the table stays empty and is never read.

The rows change only with a deployment's name: the importer's COPY, the ORM and raw SQL
alike run the statement triggers. Migration 0023 made the rows of the deployments stored
before it.
"""

from django.db import DEFAULT_DB_ALIAS, models

from catalog.models.deployments import Deployment
from catalog.models.triggers import create_triggers, drop_triggers, postgres_statement_trigger
from catalog.rules import limits

GRAM = 3


class DeploymentNameGram(models.Model):
    # The primary key is the one index: its order is the walk's, and the triggers find a
    # deployment's rows by recomputing them from its name. (A second index on the
    # deployment, for deletes, cost each imported deployment 18 more random index
    # writes: new deployments imported at 0.72x the 10,000 rate at a million.)
    pk = models.CompositePrimaryKey("gram", "name", "deployment")
    gram = models.CharField(max_length=GRAM * 4)  # upper() may lengthen a character
    name = models.CharField(max_length=limits.NAME_MAX_LENGTH)
    deployment = models.ForeignKey(
        Deployment,
        on_delete=models.DO_NOTHING,  # the triggers delete the rows with their deployment
        db_constraint=False,
        related_name="name_grams",
        db_index=False,
    )

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return self.gram


TABLE = "catalog_deploymentnamegram"
DEPLOYMENTS = "catalog_deployment"
COLUMNS = "deployment_id, gram, name"


def positions(text: str) -> str:
    """The SQL of the start `p` of each trigram of `text` (an SQL expression), to
    `CROSS JOIN LATERAL`: the same for a name and for a pattern's literal pieces."""
    return f"generate_series(1, char_length(upper({text})) - {GRAM - 1}) p"


def gram_at(text: str) -> str:
    return f"substr(upper({text}), p, {GRAM})"


def postgres_rows_of(source: str, where: str = "") -> str:
    """The rows of the deployments in `source` (a table or transition table `d`), in the
    primary key's order, so that a statement of many deployments writes it in one
    sweep."""
    return (
        f"SELECT DISTINCT d.id, {gram_at('d.name')}, d.name FROM {source} d "
        f"CROSS JOIN LATERAL {positions('d.name')} {where} ORDER BY 2, 3, 1"
    )


def postgres_gram_triggers() -> list[str]:
    renamed = (
        "SELECT w.id FROM written w JOIN before_write b ON b.id = w.id "
        "WHERE w.name IS DISTINCT FROM b.name"
    )
    on_insert = f"INSERT INTO {TABLE} ({COLUMNS}) {postgres_rows_of('written')}"
    on_update = (
        delete_rows_of("before_write", f"WHERE d.id IN ({renamed})") + "; "
        f"INSERT INTO {TABLE} ({COLUMNS}) "
        f"{postgres_rows_of('written', f'WHERE d.id IN ({renamed})')}"
    )
    on_delete = delete_rows_of("written")
    return [
        postgres_statement_trigger(trigger_name(event), DEPLOYMENTS, event, action)
        for event, action in (("INSERT", on_insert), ("UPDATE", on_update), ("DELETE", on_delete))
    ]


def delete_rows_of(source: str, where: str = "") -> str:
    """Deletes the rows of the deployments in `source` as their names were there, each
    found by its primary key."""
    return (
        f"DELETE FROM {TABLE} g USING ({postgres_rows_of(source, where)}) "
        "gone(deployment_id, gram, name) WHERE g.gram = gone.gram AND g.name = gone.name "
        "AND g.deployment_id = gone.deployment_id"
    )


def trigger_name(event: str) -> str:
    return f"{DEPLOYMENTS}_grams_on_{event.lower()}"


def install_gram_triggers(using: str = DEFAULT_DB_ALIAS, **_) -> None:
    """(Re)creates the triggers on PostgreSQL. Idempotent; connected to `post_migrate`."""
    create_triggers(DeploymentNameGram, using, postgres_gram_triggers, list)


def drop_gram_triggers(connection) -> None:
    """Undoes `install_gram_triggers` (migration 0023, when it is reversed)."""
    events = ("INSERT", "UPDATE", "DELETE")
    drop_triggers(connection, [(trigger_name(event), DEPLOYMENTS) for event in events])


def make_every_gram_row(connection) -> None:
    """The rows of every stored deployment (run once, by migration 0023)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # In the primary key's order: its index grows at its right edge.
        cursor.execute(f"INSERT INTO {TABLE} ({COLUMNS}) {postgres_rows_of(DEPLOYMENTS)}")


def literal_pieces(pattern: str, wildcards: bool) -> list[str]:
    """The runs of literal characters of a LIKE pattern's text, as PostgreSQL reads it:
    with `wildcards`, `%` and `_` split runs and a backslash makes the next character
    literal (Prefect's `like_`); without, the whole text is one literal (`icontains`)."""
    if not wildcards:
        return [pattern]
    pieces, piece, escaped = [], [], False
    for character in pattern:
        if escaped:
            piece.append(character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character in "%_":
            pieces.append("".join(piece))
            piece = []
        else:
            piece.append(character)
    pieces.append("".join(piece))
    return [piece for piece in pieces if len(piece) >= GRAM]


def is_whole_gram(text: str, pieces: list[str]) -> bool:
    """Whether a substring lookup (`like_`, `icontains`) of `text`, whose literal pieces
    are `pieces` (`literal_pieces`), searches one trigram: its one piece is the whole
    text (no wildcard, no escape) and three ASCII characters. Then the rows of that
    trigram are its matches, none to test: it is `UPPER(name) LIKE UPPER('%text%')`, and
    the rows hold the trigrams of `UPPER(name)`, made by the same function (on ASCII, so
    that each character stays one whatever the server's locale)."""
    return pieces == [text] and len(text) == GRAM and text.isascii()
