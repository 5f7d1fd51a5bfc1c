"""One page of a filtered list of deployments, read so that its cost does not grow with
the catalog: one rule for the API's filter bodies, the REST listing and the admin's list.

Three kinds of filter leave PostgreSQL no index that returns the matches in the page's
order, so it either sorted every match or walked the `(name, id)` index testing each row
(at a million deployments, up to the whole table when the matches sort late):

- A tag filter (`tags.any_` / `tags.all_`, the listing's `?tag=`). Its page is read from
  the tag rows (`catalog.models.deployment_tags`), whose indexes lead with the tag and
  then the order: `any_` is a union of one branch per tag (no deployment in two of
  them: a branch leaves out the tags before it), `all_` walks the tag the
  fewest deployments have (by PostgreSQL's statistics) and tests the others on the tag
  row's copy of the deployment's list, which the index carries.
- A substring of the name (`name.like_`, `flow_or_deployment_name.like_`, the listing's
  `?name_contains=`, the admin's search), on PostgreSQL. Its page is read from the
  trigram rows (`catalog.models.name_grams`) of the pattern's rarest trigram, in name
  order, each tested against the whole pattern. What an OR takes beside it adds
  branches: a flow each (`flow_or_deployment_name`, the flows whose name holds a
  searched word), a tag each (the tags that hold it), and one for the other columns
  (the description and the entrypoint), which PostgreSQL reads through their trigram
  indexes when it expects few of them to match.
- A filter naming several queues or flows (`work_queue_name.any_: ["default"]` names
  the "default" queue of every pool) gives `work_queue_id = ANY(ids)`; its page is a
  union of one branch per id, each the first `offset + limit` rows of the index
  `(work_queue_id | flow_id, name | -created | -updated, id)`.

Each branch reads at most `offset + limit` rows, so a page reads at most
(branches x (offset + limit)) rows, whatever the number of deployments; a trigram walk
reads its trigram's rows up to the page's last match, as many as that when the pattern
is as rare as its rarest trigram. Every other
filter stays in each branch; the rows and their order are those of the plain query.
"""

from dataclasses import dataclass
from typing import NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import CharField, QuerySet
from django.db.models.expressions import Col, RawSQL, Value
from django.db.models.functions import Upper
from django.db.models.lookups import Exact, IContains, In, Lookup
from django.db.models.sql.where import WhereNode

from catalog.models.deployment_tags import TABLE as TAG_TABLE
from catalog.models.deployment_tags import DeploymentTag
from catalog.models.deployments import Deployment
from catalog.models.lookups import (
    AnyOf,
    HasAllTags,
    HasAnyTags,
    PrefectLike,
    PrefectStartsWith,
    each_row_test,
)
from catalog.models.name_grams import TABLE as GRAM_TABLE
from catalog.models.name_grams import (
    DeploymentNameGram,
    gram_at,
    is_whole_gram,
    literal_pieces,
    positions,
)

SPREAD_COLUMNS = ("flow_id", "work_queue_id")
# Past this many ids or tags, one query over all of them (the branches would cost more).
MAX_BRANCHES = 64
# Leading columns of the orders that the indexes on (flow | queue | tag, column, id) serve.
INDEXED_ORDERS = ("name", "created", "updated")
# The tag rows' columns for the order's columns (they repeat the deployment's).
TAG_ROW_COLUMNS = {
    "name": "tag_rows__name",
    "created": "tag_rows__created",
    "updated": "tag_rows__updated",
    "id": "id",
    "pk": "id",
}
# The tag rows' columns for the order's, read from the tag rows alone.
OWN_COLUMNS = {"name": "name", "created": "created", "updated": "updated", "id": "deployment_id"}
OWN_COLUMNS["pk"] = OWN_COLUMNS["id"]


def page_ids(matching: QuerySet, order: list[str], offset: int, limit: int) -> list:
    """The ids of `matching` (a filtered queryset of deployments) in `order`, from
    `offset`, at most `limit` of them, in one query."""
    return [row[0] for row in page_rows(matching, order, offset, limit)]


def page_rows(matching: QuerySet, order: list[str], offset: int, limit: int):
    """The query of the page, its rows leading with the ids: by branches when
    `branched_reader` has a way, else the plain query."""
    read = branched_reader(matching, order)
    if read is None:
        return matching.order_by(*order).values_list("id")[offset : offset + limit]
    return read(offset, limit)


def branched_reader(matching: QuerySet, order: list[str]):
    """How to read a page of `matching` in `order` by branches, or None when the plain
    query is the way: a function of offset and limit giving a query whose rows lead with
    the page's ids, in order."""
    columns = [field.lstrip("-") for field in order]
    if not columns or columns[0] not in INDEXED_ORDERS:
        return None
    tags = tag_condition(matching)
    if tags is not None and tag_rows_serve(matching, tags[1], columns):
        return lambda offset, limit: tagged_page(matching, tags, order, offset, limit)
    grams = gram_condition(matching)
    if grams is not None and gram_rows_serve(grams, columns):
        return lambda offset, limit: gram_page(matching, grams, order, offset, limit)
    spread = spread_condition(matching)
    if spread is not None and compound_pages(matching):
        return lambda offset, limit: spread_page(matching, spread, order, offset, limit)
    return None


def page_subquery(matching: QuerySet, order: list[str], offset: int, limit: int):
    """The page's ids as SQL to filter `matching`'s rows with (`pk__in`), so that the
    rows are read in the same query; None when the plain query is the way."""
    read = branched_reader(matching, order)
    if read is None:
        return None
    found = query_of_ids(matching, read(offset, limit))
    return [] if found is None else RawSQL(*found)


def page_query(matching: QuerySet, order: list[str], offset: int, limit: int):
    """The query of the page's ids, in order, read as `page_ids` reads them: its SQL and
    parameters, to be run inside a larger query; None when no row can be on the page."""
    return query_of_ids(matching, page_rows(matching, order, offset, limit))


def query_of_ids(matching: QuerySet, page) -> tuple[str, list] | None:
    """The SQL and parameters of the ids of `page` (a queryset whose rows lead with the
    ids, or a `MergedPage`), in its order; None when no row can be on it."""
    if isinstance(page, MergedPage):
        return (f"SELECT page.c0 FROM ({page.sql}) page", page.params) if page.sql else None
    try:
        sql, params = page.query.get_compiler(matching.db).as_sql()
    except EmptyResultSet:
        return None  # a filter no row can meet (`id IN ()`): no page
    # The column of the ids, the first one: a deployment's `id` or a tag row's.
    first = page.query.values_select[0].split("__")[-1]
    return f"SELECT page.{first} FROM ({sql}) page", list(params)


@dataclass(frozen=True)
class MergedPage:
    """A page of several branches, each in the page's order: their rows merged in that
    order and each kept once (see `merged_page`). Iterating it reads its rows. With no
    SQL, no branch can hold a row."""

    using: str
    sql: str
    params: list

    def __iter__(self):
        if not self.sql:
            return iter(())
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, self.params)
            return iter(cursor.fetchall())


def merged_page(
    using: str, branches: list, by_rows: list[str], offset: int, limit: int, apart=False
):
    """The page of `branches` (querysets of the same columns, each in the order
    `by_rows`), each cut at `offset + limit`, a row that several take kept once: `SELECT
    DISTINCT` over their `UNION ALL`, which PostgreSQL reads as a merge of the ordered
    branches, dropping repeats as they pass, and stops at the page's end. (A `UNION`
    gathers every row of every branch, removes repeats and sorts them all: three times
    the cost at offset 10,000.) Branches `apart` (no row in two of them) are merged
    alone, with nothing to drop."""
    selected = list(branches[0].query.values_select)
    names = ", ".join(f"c{position}" for position in range(len(selected)))
    order = ", ".join(
        f"c{selected.index(field.lstrip('-'))}{' DESC' if field.startswith('-') else ''}"
        for field in by_rows
    )
    parts, params = [], []
    for branch in branches:
        try:
            sql, branch_params = branch[: offset + limit].query.sql_with_params()
        except EmptyResultSet:
            continue  # a branch no row can meet (`work_queue_id IN ()`)
        parts.append(f"({sql})")
        params += branch_params
    if not parts:
        return MergedPage(using, "", [])
    distinct = "" if apart else "DISTINCT "
    sql = (
        f"SELECT {distinct}{names} FROM ({' UNION ALL '.join(parts)}) AS branches({names}) "
        f"ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    return MergedPage(using, sql, params)


def tag_rows_serve(matching: QuerySet, condition, columns: list[str]) -> bool:
    """Whether the tag rows hold the order's columns, and the page takes one branch or
    the database orders and cuts each branch of a union."""
    one_branch = isinstance(condition, HasAllTags) or len(condition.tags()) == 1
    ordered = all(column in TAG_ROW_COLUMNS for column in columns)
    return ordered and (one_branch or compound_pages(matching))


def compound_pages(matching: QuerySet) -> bool:
    """Whether the database orders and cuts each branch of a union (PostgreSQL)."""
    return connections[matching.db].features.supports_slicing_ordering_in_compound


def spread_page(matching, spread, order, offset, limit) -> QuerySet:
    position, condition = spread
    columns = [field.lstrip("-") for field in order]
    selected = ["id", *(column for column in columns if column != "id")]
    branches = [
        id_branch(matching, position, condition, value)
        .order_by(*order)
        .values_list(*selected)[: offset + limit]
        for value in condition.rhs
    ]
    union = branches[0].union(*branches[1:], all=True).order_by(*order)
    return union[offset : offset + limit]


def spread_condition(matching: QuerySet) -> tuple[int, AnyOf] | None:
    """A condition all rows must meet (`AND`ed at the top) that is `column = ANY(ids)` of
    a few ids on a column an index leads with, and its position."""
    for position, child in top_conditions(matching):
        if (
            isinstance(child, AnyOf)
            and target_column(child) in SPREAD_COLUMNS
            and 1 < len(child.rhs) <= MAX_BRANCHES
        ):
            return position, child
    return None


def id_branch(matching: QuerySet, position: int, condition: AnyOf, value) -> QuerySet:
    """`matching` with `column = value` in place of `column = ANY(ids)`."""
    one = matching.all()
    one.query.where = one.query.where.clone()
    one.query.where.children[position] = Exact(condition.lhs, value)
    return one


def top_conditions(matching: QuerySet):
    """The conditions every row must meet, with their positions (none when the filter is
    an OR or a negation at the top)."""
    where = matching.query.where
    if where.connector != "AND" or where.negated:
        return []
    return list(enumerate(where.children))


def target_column(condition) -> str | None:
    target = getattr(getattr(condition, "lhs", None), "target", None)
    return None if target is None else target.column


def is_tags_lookup(condition, kinds) -> bool:
    """Whether `condition` is a lookup of `kinds` on the deployments' tags, of a few."""
    return (
        isinstance(condition, kinds)
        and target_column(condition) == "tags"
        and condition.lhs.target.model is Deployment
        and 0 < len(condition.tags()) <= MAX_BRANCHES
    )


def tag_condition(matching: QuerySet) -> tuple[int, HasAllTags | HasAnyTags] | None:
    """The deployments' tag filter every row must meet, and its position: an `all_`
    before an `any_` (it leaves the fewer rows)."""
    found = [
        (position, child)
        for position, child in top_conditions(matching)
        if matching.model is Deployment and is_tags_lookup(child, HasAllTags | HasAnyTags)
    ]
    found.sort(key=lambda item: not isinstance(item[1], HasAllTags))
    return found[0] if found else None


# The trigram rows' columns for the order's: joined to the deployments, and alone.
GRAM_ROW_COLUMNS = {"name": "name_grams__name", "id": "id", "pk": "id"}
OWN_GRAM_COLUMNS = {"name": "name", "id": "deployment_id", "pk": "deployment_id"}


def gram_rows_serve(found, columns: list[str]) -> bool:
    """Whether the trigram rows hold the order's columns (they keep the name alone), and
    a few flows and tags at most stand beside the substring."""
    ordered = columns[0] == "name" and set(columns) <= set(GRAM_ROW_COLUMNS)
    return ordered and len(found.flow_ids) + len(found.tags) <= MAX_BRANCHES


class Substring(NamedTuple):
    """A substring filter on the deployments' names that the trigram rows serve: at
    `position` among the top conditions, its lookup, its pattern's literal pieces, and
    what an OR takes beside it: the deployments of some flows
    (`flow_or_deployment_name`, the admin's search), those with any of some tags, and
    those that meet other conditions on their own columns (the admin's search of the
    description and the entrypoint)."""

    position: int
    lookup: Lookup
    pieces: list[str]
    flow_ids: list = []
    tags: list = []
    others: list = []


def gram_condition(matching: QuerySet) -> Substring | None:
    """On PostgreSQL, the substring filter on the deployments' names every row must meet:
    `like_` or `icontains`, alone or ORed with a few flows (None when its pattern has no
    three literal characters in a row: no trigram to walk)."""
    if connections[matching.db].vendor != "postgresql" or matching.model is not Deployment:
        return None
    for position, child in top_conditions(matching):
        if pieces := substring_pieces(child):
            return Substring(position, child, pieces)
        either = or_beside_substring(child)
        if either is not None:
            return Substring(position, *either)
    return None


def substring_pieces(condition) -> list[str]:
    """The literal pieces of a deployment name's `like_` or `icontains` (none for
    another condition)."""
    if not isinstance(condition, PrefectLike | IContains) or isinstance(
        condition, PrefectStartsWith
    ):
        return []
    if target_column(condition) != "name" or condition.lhs.target.model is not Deployment:
        return []
    if not isinstance(condition.rhs, str):
        return []
    return literal_pieces(condition.rhs, wildcards=isinstance(condition, PrefectLike))


def or_beside_substring(condition) -> tuple | None:
    """An OR of a substring of the name with flows, tags or other conditions on the
    deployment's own columns: the substring's lookup and pieces, the flows' ids, the tags
    and the other conditions (None for another condition, or an OR that nests one)."""
    if not isinstance(condition, WhereNode) or condition.connector != "OR" or condition.negated:
        return None
    substrings = [child for child in condition.children if substring_pieces(child)]
    if len(substrings) != 1:
        return None
    flow_ids, tags, others = [], [], []
    for child in condition.children:
        if child is substrings[0]:
            continue
        if (ids := flows_named(child)) is not None:
            flow_ids += ids
        elif is_tags_lookup(child, HasAnyTags):
            tags += child.tags()
        elif is_own_column_lookup(child):
            others.append(child)
        else:
            return None
    substring = substrings[0]
    return substring, substring_pieces(substring), flow_ids, list(dict.fromkeys(tags)), others


def is_own_column_lookup(condition) -> bool:
    """Whether `condition` is a lookup on a column of the deployments' own table (not of
    a joined one, which a branch without the join could not name)."""
    column = getattr(condition, "lhs", None)
    return (
        isinstance(condition, Lookup)
        and isinstance(column, Col)
        and column.alias == Deployment._meta.db_table
        and column.target.model is Deployment
    )


def flows_named(condition) -> list | None:
    """The flow ids a condition takes the deployments of (`one_of("flow_id", …)`), None
    for another condition."""
    if isinstance(condition, In) and isinstance(condition.rhs, list | tuple | set):
        if not condition.rhs:
            return []  # `pk__in=[]`: no flow matched
        if target_column(condition) == "flow_id":
            return list(condition.rhs)
        return None
    if target_column(condition) == "flow_id" and isinstance(condition, Exact):
        return [condition.rhs]
    return None


def gram_page(matching, found: Substring, order, offset, limit) -> QuerySet:
    """The page read from the trigram rows of the pattern's rarest trigram, in name
    order, each row's name tested against the whole pattern (with the rest of the filter,
    through the deployment, when there is more). A page reads the rows of that trigram
    up to the page's last match. What an OR takes beside the substring adds branches to
    a union, each the first `offset + limit` rows in name order: a flow's from the index
    on `(flow_id, name, id)`, a tag's from the tag rows' on `(tag, name, deployment)`,
    and one of the other conditions, read as PostgreSQL sees fit."""
    rest = without_condition(matching, found.position)
    rows, columns = substring_rows(matching, rest, found)
    by_rows, selected = in_row_columns(order, columns)
    page = rows.order_by(*by_rows).values_list(*selected)
    beside = [
        branch.order_by(*branch_order).values_list(*branch_columns)
        for branch, branch_order, branch_columns in branches_beside(matching, rest, found, order)
    ]
    if not beside:
        return page[offset : offset + limit]
    return merged_page(matching.db, [page, *beside], by_rows, offset, limit)


def branches_beside(matching, rest: QuerySet, found: Substring, order: list[str]) -> list:
    """The deployments the substring's OR takes beside it, as (branch, its order, its
    columns): one branch a flow, one a tag, and one for the other conditions."""
    own = list(dict.fromkeys(["id", *(field.lstrip("-") for field in order)]))
    branches = [rest.filter(flow_id=flow_id) for flow_id in found.flow_ids]
    if found.others:
        branches.append(with_any_of(rest, found.others))
    beside = [(branch, order, own) for branch in branches]
    if found.tags:
        tagged, columns = tag_branches(matching.db, rest, found.tags)
        by_rows, selected = in_row_columns(order, columns)
        beside += [(branch, by_rows, selected) for branch in tagged]
    return beside


def with_any_of(rest: QuerySet, conditions: list) -> QuerySet:
    """`rest` with one more condition: any of `conditions`."""
    one = rest.all()
    one.query.where = one.query.where.clone()
    one.query.where.children.append(WhereNode(conditions, connector="OR"))
    return one


def tag_branches(
    using: str, rest: QuerySet, tags: list, holding_all: list[str] | None = None, apart=False
) -> tuple[list, dict]:
    """A branch a tag of the deployments in `rest` with that tag (and, when given, all
    the tags `holding_all`), and the columns of their order: through the deployment when
    `rest` filters more, else the tag rows alone. `holding_all` is tested on the tag
    row's copy of the list, which the tag's index carries, not on the deployment's:
    that test would lead PostgreSQL to read every match through the GIN index and sort.
    Branches `apart` hold no deployment twice: a tag's leaves out the deployments that
    have a tag before it, tested on the same copy."""
    joined = bool(rest.query.where.children)
    through = "tag_rows__" if joined else ""
    held = {f"{through}tags__has_all_tags": holding_all} if holding_all else {}
    rows = rest if joined else DeploymentTag.objects.using(using)
    branches = []
    for position, tag in enumerate(tags):
        earlier = (
            {f"{through}tags__has_none_of_tags": tags[:position]} if apart and position else {}
        )
        branches.append(rows.filter(**{f"{through}tag": tag}, **held, **earlier))
    return branches, TAG_ROW_COLUMNS if joined else OWN_COLUMNS


def tagged_page(matching, found, order, offset, limit) -> QuerySet:
    """The page read from the tag rows: a branch a tag, each walking the index that leads
    with its tag in the page's order. The tag filter itself is left out of the branches:
    a tag row of `any_`'s tags meets it (a deployment with several of them is taken by
    the branch of the first, the others leave it out: the merge has no repeat to drop),
    and `all_` walks its rarest tag's rows keeping those whose copy of the list holds the
    others. With no other filter a branch reads the tag rows alone, from the index."""
    position, condition = found
    rest = without_condition(matching, position)
    if isinstance(condition, HasAllTags):
        tags, required = [rarest_tag(matching.db, condition.tags())], condition.tags()
    else:
        tags, required = condition.tags(), []
    branches, columns = tag_branches(matching.db, rest, tags, holding_all=required, apart=True)
    by_rows, selected = in_row_columns(order, columns)
    branches = [branch.order_by(*by_rows).values_list(*selected) for branch in branches]
    if len(branches) == 1:
        return branches[0][offset : offset + limit]
    return merged_page(matching.db, branches, by_rows, offset, limit, apart=True)


def in_row_columns(order: list[str], columns: dict) -> tuple[list[str], list[str]]:
    """The page's order in the kept rows' columns, and the columns to select: the id
    first, then the order's (a union orders by them)."""
    by_rows = [
        f"{'-' if field.startswith('-') else ''}{columns[field.lstrip('-')]}" for field in order
    ]
    selected = list(dict.fromkeys([columns["id"], *(columns[f.lstrip("-")] for f in order)]))
    return by_rows, selected


def count_of(matching: QuerySet, most: int | None = None) -> int:
    """How many rows `matching` holds (at most `most`, when given). Deployments filtered
    by `any_` of some tags, or by a substring of their name, and nothing else are
    counted from the tag rows' or the trigram rows' index: an index-only count, with no
    deployment read. `any_` of several tags adds up its branches, which hold no
    deployment twice (`tag_branches`), rather than gathering the ids to drop repeats."""
    found = tag_condition(matching)
    if found is not None and isinstance(found[1], HasAnyTags):
        position, condition = found
        rest = without_condition(matching, position)
        if not rest.query.where.children:
            branches, _ = tag_branches(matching.db, rest, condition.tags(), apart=True)
            return sum_of_counts(matching.db, branches, most)
    substring = gram_condition(matching)
    if substring is not None and gram_rows_serve(substring, ["name"]):
        return substring_count(matching, substring, most)
    return matching[:most].count()


def sum_of_counts(using: str, branches: list, most: int | None) -> int:
    """The rows of the tag rows' `branches` (no deployment in two of them) counted in one
    query, each branch cut at `most`, and the sum too."""
    parts, params = [], []
    for branch in branches:
        sql, branch_params = branch.values("deployment_id")[:most].query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) counted)")
        params += branch_params
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {' + '.join(parts)}", params)
        total = cursor.fetchone()[0]
    return total if most is None else min(total, most)


def substring_count(matching: QuerySet, found: Substring, most: int | None) -> int:
    """The count of a substring filter: of its rarest trigram's rows whose name holds
    it (an index-only count when it is all the filter), or of the union of those and
    the branches beside it, each cut at `most`."""
    rest = without_condition(matching, found.position)
    rows, columns = substring_rows(matching, rest, found)
    ids = rows.order_by().values_list(columns["id"])
    beside = [
        branch.order_by().values_list(branch_columns[0])[:most]
        for branch, _, branch_columns in branches_beside(matching, rest, found, ["name"])
    ]
    if not beside:
        return ids[:most].count()
    return ids[:most].union(*beside)[:most].count()


def substring_rows(matching: QuerySet, rest: QuerySet, found: Substring):
    """The rows of the pattern's rarest trigram whose name holds the pattern, and their
    columns: the deployments joined to their trigram rows when more of the filter
    (`rest`) must be tested, else the trigram rows alone."""
    whole = is_whole_gram(found.lookup.rhs, found.pieces)
    gram = Upper(Value(found.lookup.rhs)) if whole else rarest_gram(found.pieces)
    own = not rest.query.where.children
    # In the same filter() as the trigram: on the deployments, another would join again.
    test = {} if whole else each_row_test(found.lookup, "name" if own else "name_grams__name")
    if own:
        rows = DeploymentNameGram.objects.using(matching.db)
        return rows.filter(gram=gram, **test), OWN_GRAM_COLUMNS
    return rest.filter(name_grams__gram=gram, **test), GRAM_ROW_COLUMNS


def without_condition(matching: QuerySet, position: int) -> QuerySet:
    """`matching` without its top condition at `position`."""
    rest = matching.all()
    rest.query.where = rest.query.where.clone()
    del rest.query.where.children[position]
    return rest


def frequencies(table: str, column: str) -> str:
    """The SQL of a column's most common values and their frequencies, in PostgreSQL's
    statistics, as rows (value, frequency)."""
    return (
        "SELECT m.value, m.frequency FROM pg_stats s, unnest(s.most_common_vals::text::text[], "
        "s.most_common_freqs) AS m(value, frequency) WHERE s.schemaname = current_schema() "
        f"AND s.tablename = '{table}' AND s.attname = '{column}'"
    )


def rarest_tag(using: str, tags: list[str]):
    """Of the tags, the one PostgreSQL's statistics of the tag rows say the fewest
    deployments have (one outside its most common values counts as rarer than all of
    them; the first one when there are no statistics), chosen in the page's own query;
    the first one elsewhere."""
    if len(tags) == 1 or connections[using].vendor != "postgresql":
        return tags[0]
    return RawSQL(
        "SELECT given.tag FROM unnest(%s::text[]) WITH ORDINALITY AS given(tag, position) "
        f"LEFT JOIN ({frequencies(TAG_TABLE, 'tag')}) known ON known.value = given.tag "
        "ORDER BY COALESCE(known.frequency, 0), given.position LIMIT 1",
        [tags],
        output_field=CharField(),
    )


def rarest_gram(pieces: list[str]) -> RawSQL:
    """Of the pieces' trigrams, the one PostgreSQL's statistics of the trigram rows say
    the fewest names hold (one outside its most common values counts as rarer than all
    of them; the first one when there are no statistics), as a scalar subquery that
    PostgreSQL computes once, before the index walk."""
    return RawSQL(
        f"SELECT {gram_at('piece')} FROM unnest(%s::text[]) WITH ORDINALITY AS "
        f"pieces(piece, piece_position) CROSS JOIN LATERAL {positions('piece')} "
        f"LEFT JOIN ({frequencies(GRAM_TABLE, 'gram')}) known "
        f"ON known.value = {gram_at('piece')} "
        "ORDER BY COALESCE(known.frequency, 0), piece_position, p LIMIT 1",
        [pieces],
        output_field=CharField(),
    )
