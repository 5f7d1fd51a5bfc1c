"""Lookups that behave the same on PostgreSQL and SQLite.

- `tags__has_all_tags=[…]` / `tags__has_any_tags=[…]`: a JSON array of strings holds all /
  any of the given strings. PostgreSQL uses jsonb's `?&` / `?|`, which the GIN index on
  `tags` serves; SQLite walks the array with `json_each`. `tags__has_none_of_tags=[…]`
  is the negation of `has_any_tags` (it holds none of them).
- `id__any=[…]`: membership in a long list. PostgreSQL gets one array parameter
  (`= ANY(%s)`) instead of thousands of placeholders, which costs more to build than to run.
- `name__prefect_like="x"`: Prefect's `like_`, a case-insensitive substring match in which
  `%` and `_` stay wildcards, as they do in Prefect's own SQL. PostgreSQL compares
  `UPPER(column::text)`, the expression its trigram indexes are made on (ILIKE would not
  use them); SQLite `lower()` of both sides.

`JsonArrayLength("tags")` counts a JSON array's items on both (for check constraints).
`PrefectLikeEachRow` and `IContainsEachRow` are those two substring tests for rows read
one by one from an index (`models/pages.py`), cheaper on PostgreSQL for ASCII names.
"""

from django.db.models import CharField, Field, Func, IntegerField, JSONField, Lookup, TextField
from django.db.models.fields.related import ForeignObject
from django.db.models.lookups import IContains, In


class TagLookup(Lookup):
    """Base for array-membership lookups; `rhs` is a list of strings."""

    prepare_rhs = False
    can_use_none_as_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [list(value)])

    def tags(self) -> list[str]:
        return list(dict.fromkeys(self.rhs))


@JSONField.register_lookup
class HasAllTags(TagLookup):
    lookup_name = "has_all_tags"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} ?& %s::text[]", [*lhs_params, self.tags()]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        wanted = self.tags()
        if not wanted:
            return "1 = 1", []
        marks = ", ".join(["%s"] * len(wanted))
        sql = (
            f"(SELECT COUNT(DISTINCT value) FROM json_each({lhs}) "
            f"WHERE type = 'text' AND value IN ({marks})) = %s"
        )
        return sql, [*lhs_params, *wanted, len(wanted)]


@JSONField.register_lookup
class HasAnyTags(TagLookup):
    lookup_name = "has_any_tags"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} ?| %s::text[]", [*lhs_params, self.tags()]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        wanted = self.tags()
        if not wanted:
            return "1 = 0", []
        marks = ", ".join(["%s"] * len(wanted))
        sql = f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE type = 'text' AND value IN ({marks}))"
        return sql, [*lhs_params, *wanted]


@JSONField.register_lookup
class HasNoneOfTags(TagLookup):
    """`has_any_tags` negated. Not a subclass of it: a page reader that finds a
    `HasAnyTags` reads its page from the tag rows."""

    lookup_name = "has_none_of_tags"

    def as_postgresql(self, compiler, connection):
        sql, params = HasAnyTags.as_postgresql(self, compiler, connection)
        return f"NOT ({sql})", params

    def as_sqlite(self, compiler, connection):
        sql, params = HasAnyTags.as_sqlite(self, compiler, connection)
        return f"NOT ({sql})", params


class PrefectLike(Lookup):
    lookup_name = "prefect_like"

    def pattern(self) -> str:
        return f"%{self.rhs}%"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"UPPER({lhs}::text) LIKE UPPER(%s)", [*lhs_params, self.pattern()]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"lower({lhs}) LIKE lower(%s)", [*lhs_params, self.pattern()]


class PrefectStartsWith(PrefectLike):
    """Prefect's `startswith_`: a case-insensitive prefix match, wildcards kept."""

    lookup_name = "prefect_startswith"

    def pattern(self) -> str:
        return f"{self.rhs}%"


# UPPER under the database's locale (C.UTF-8 here) costs PostgreSQL 0.3-0.5 us a name of
# 30 characters, the most of a trigram walk's test of each row (`bench/README.md`).
# Two shortcuts give the same answer for less while the locale upper-cases each character
# to one and a-z to A-Z, as every libc locale but Turkish and Azeri does (ICU makes ß SS):
# - a name that holds the pattern as written holds it upper-cased, with no UPPER at all;
# - a name of ASCII characters alone (as many bytes as characters) upper-cases as under
#   the "C" collation, which maps a-z alone, for half the cost.
# SIMPLE_UPPER checks the locale once, when PostgreSQL plans the query.
SIMPLE_UPPER = "UPPER('abcdefghijklmnopqrstuvwxyz\u00df') = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00df'"


def upper_like_each_row(lhs: str) -> str:
    """`UPPER(lhs::text) LIKE UPPER(%s)` for rows tested one by one, with the shortcuts
    above. No index is made on this expression: the trigram indexes on
    `UPPER(column::text)` cannot serve it. The pattern's parameter comes four times."""
    text = f"{lhs}::text"
    whole = f"UPPER({text}) LIKE UPPER(%s)"
    ascii_name = f"octet_length({text}) = char_length({text})"
    shortcuts = (
        f"({text} LIKE %s OR CASE WHEN {ascii_name} "
        f'THEN UPPER({text} COLLATE "C") LIKE UPPER(%s) ELSE {whole} END)'
    )
    return f"CASE WHEN {SIMPLE_UPPER} THEN {shortcuts} ELSE {whole} END"


class PrefectLikeEachRow(PrefectLike):
    """`PrefectLike`, for rows read one by one (a trigram's rows)."""

    lookup_name = "prefect_like_each_row"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if lhs_params:
            return super().as_postgresql(compiler, connection)
        return upper_like_each_row(lhs), [self.pattern()] * 4


class IContainsEachRow(IContains):
    """Django's `icontains`, for rows read one by one (a trigram's rows)."""

    lookup_name = "icontains_each_row"

    def as_sql(self, compiler, connection):
        return IContains(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(self, compiler, connection):
        # The column itself: `icontains`'s own process_lhs wraps it in UPPER(…::text).
        lhs, lhs_params = Lookup.process_lhs(self, compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if lhs_params or rhs != "%s":
            return self.as_sql(compiler, connection)
        return upper_like_each_row(lhs), rhs_params * 4


def each_row_test(lookup: Lookup, column: str) -> dict:
    """The substring test of `lookup` (`like_` or `icontains`) on `column`, for rows
    read one by one from a trigram's index, as `filter()`'s keyword."""
    tested = PrefectLikeEachRow if isinstance(lookup, PrefectLike) else IContainsEachRow
    return {f"{column}__{tested.lookup_name}": lookup.rhs}


for field in (CharField, TextField):
    for substring_lookup in (PrefectLike, PrefectStartsWith, PrefectLikeEachRow, IContainsEachRow):
        field.register_lookup(substring_lookup)


@Field.register_lookup
class AnyOf(In):
    lookup_name = "any"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [self.lhs.output_field.get_db_prep_value(v, connection) for v in self.rhs]
        if not values:
            return "1 = 0", []
        return f"{lhs} = ANY(%s)", [*lhs_params, values]


# `flow_id__any=[…]` on a foreign key: the key's own field prepares each value.
ForeignObject.register_lookup(AnyOf)


class JsonArrayLength(Func):
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="jsonb_array_length", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="json_array_length", **extra)
