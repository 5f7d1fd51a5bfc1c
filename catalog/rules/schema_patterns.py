"""The regular expressions of users' JSON schemas (`pattern`, `patternProperties`), run
with RE2, whose matching takes time linear in the text: `^(a+)+$` against "aaaa…!" costs
Python's `re` seconds per extra "a", and RE2 microseconds.

jsonschema's own keywords call `re.search`, so the validators here are jsonschema's,
extended with keyword functions of their own for every keyword that matches a user's
pattern (`pattern`, `patternProperties`, `additionalProperties`), with jsonschema's
messages, which are Prefect's. A validator never hands over to one of jsonschema's stock
classes (a subschema's `$schema` would): `evolve` keeps to the linear classes.

What RE2 cannot run (backreferences, lookaround, atomic groups) is refused, as is a
pattern past the budget: its length, the memory RE2 may use for it, and per match the
characters times the pattern's RE2 program size (the cost when RE2 falls back from its
DFA to its NFA, which it does on patterns made for that).
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import attrs
import re2
from jsonschema import FormatChecker, ValidationError, validators


@dataclass(frozen=True)
class PatternBudget:
    max_length: int = 1000
    max_memory: int = 4 * 1024 * 1024
    # characters times RE2 program instructions in one match: about 0.25 s at worst
    max_match_work: int = 50_000_000
    # keyword evaluations (a reference counts 4) in one check of values against a schema
    max_check_steps: int = 50_000


BUDGET = PatternBudget()


def set_budget(budget: PatternBudget) -> None:
    """Callers outside the rules layer set the budget from their settings."""
    global BUDGET
    if budget != BUDGET:
        BUDGET = budget
        _compiled.cache_clear()


class PatternRefused(ValueError):
    """A schema's pattern the catalog does not run; the message names it."""


class TextTooLongForPattern(ValueError):
    """A text too long to match against a pattern within the match budget."""


class CheckTooCostly(ValueError):
    """Checking values against a schema took more keyword evaluations than the budget."""

    def __init__(self, steps: int) -> None:
        super().__init__(
            f"checking the values against the schema takes more than {steps:,} steps "
            "(CATALOG_SCHEMA_CHECK_BUDGET)"
        )


# Metering a check -------------------------------------------------------------------------

# A reference costs jsonschema about four plain keywords (it resolves, then descends).
REFERENCE_COST = 4
REFERENCE_KEYWORDS = frozenset({"$ref", "$dynamicRef", "$recursiveRef"})


@dataclass
class CheckMeter:
    limit: int
    spent: int = 0

    def charge(self, steps: int) -> None:
        self.spent += steps
        if self.spent > self.limit:
            raise CheckTooCostly(self.limit)


_meter: ContextVar[CheckMeter | None] = ContextVar("schema_check_meter", default=None)


@contextmanager
def check_budget() -> Iterator[CheckMeter]:
    """Every keyword a linear validator evaluates inside is counted against the budget's
    `max_check_steps`: `allOf` of a hundred references over a thousand items (some
    seconds in jsonschema), or references nested ten deep ten wide, stop at the budget."""
    token = _meter.set(CheckMeter(BUDGET.max_check_steps))
    try:
        yield _meter.get()
    finally:
        _meter.reset(token)


def metered(keyword, cost: int):
    def evaluate(validator, value, instance, schema):
        meter = _meter.get()
        if meter is not None:
            meter.charge(cost)
        return keyword(validator, value, instance, schema)

    return evaluate


# Compiling --------------------------------------------------------------------------------


def compiled(pattern: str):
    """The pattern compiled by RE2 within the budget, or PatternRefused."""
    return _compiled(pattern, BUDGET)


@lru_cache(maxsize=128)
def _compiled(pattern: str, budget: PatternBudget):
    if not isinstance(pattern, str):
        raise PatternRefused(f"The pattern {pattern!r} is not a string.")
    if len(pattern) > budget.max_length:
        raise PatternRefused(
            f"The pattern {shortened(pattern)} has {len(pattern)} characters; a schema "
            f"pattern may have at most {budget.max_length}."
        )
    options = re2.Options()
    options.max_mem = budget.max_memory
    options.log_errors = False
    try:
        return re2.compile(in_re2_syntax(pattern), options=options)
    except re2.error as exc:
        raise PatternRefused(refusal(pattern, exc)) from None
    except UnicodeError:
        raise PatternRefused(f"The pattern {shortened(pattern)} is not valid text.") from None


HEX = frozenset("0123456789abcdefABCDEF")


def in_re2_syntax(pattern: str) -> str:
    """The pattern with the escapes Python (and ECMA-262) know and RE2 spells otherwise:
    `\\uXXXX` and `\\UXXXXXXXX` as `\\x{...}`, and `\\Z` (the very end) as `\\z`."""
    parts, at = [], 0
    while at < len(pattern):
        char = pattern[at]
        if char != "\\" or at + 1 == len(pattern):
            parts.append(char)
            at += 1
            continue
        escape, digits = pattern[at + 1], {"u": 4, "U": 8}.get(pattern[at + 1], 0)
        hexes = pattern[at + 2 : at + 2 + digits]
        if digits and len(hexes) == digits and set(hexes) <= HEX:
            parts.append(f"\\x{{{hexes}}}")
            at += 2 + digits
            continue
        parts.append("\\z" if escape == "Z" else pattern[at : at + 2])
        at += 2
    return "".join(parts)


def refusal(pattern: str, exc: re2.error) -> str:
    reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    if "too large" in reason:
        return (
            f"The pattern {shortened(pattern)} is too large: it needs more than the "
            f"{BUDGET.max_memory} bytes a schema pattern may use."
        )
    return (
        f"The pattern {shortened(pattern)} cannot be used: the catalog runs schema patterns "
        f"with RE2, which has no backreferences, lookaround or atomic groups, and "
        f"repeats at most 1000 times ({reason})."
    )


def shortened(pattern: str) -> str:
    return repr(pattern) if len(pattern) <= 80 else f"{pattern[:80]!r}…"


def searches(pattern: str, text: str) -> bool:
    """`re.search(pattern, text)`, in time linear in the text."""
    program = compiled(pattern)
    if len(text) * max(program.programsize, 1) > BUDGET.max_match_work:
        most = BUDGET.max_match_work // max(program.programsize, 1)
        raise TextTooLongForPattern(
            f"A text of {len(text)} characters is too long to check against the pattern "
            f"{shortened(pattern)}: at most {most} characters can be checked against it."
        )
    try:
        return program.search(text) is not None
    except UnicodeError:
        return program.search(text.encode("utf-8", "surrogatepass")) is not None


# The keywords ----------------------------------------------------------------------------


def pattern_keyword(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not searches(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def pattern_properties_keyword(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if searches(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def additional_properties_keyword(validator, additional, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    extras = additional_properties(instance, schema)
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        yield ValidationError(additional_properties_message(extras, schema))


def additional_properties(instance: dict, schema: dict) -> list:
    """The keys neither `properties` nor a pattern of `patternProperties` covers."""
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [
        key
        for key in instance
        if key not in properties and not any(searches(pattern, key) for pattern in patterns)
    ]


def additional_properties_message(extras: list, schema: dict) -> str:
    if "patternProperties" not in schema:
        listed = sorted(extras, key=str)
        verb = "was" if len(listed) == 1 else "were"
        joined = ", ".join(repr(each) for each in listed)
        return f"Additional properties are not allowed ({joined} {verb} unexpected)"
    verb = "does" if len(extras) == 1 else "do"
    joined = ", ".join(repr(each) for each in sorted(extras))
    patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
    return f"{joined} {verb} not match any of the regexes: {patterns}"


LINEAR_KEYWORDS = {
    "pattern": pattern_keyword,
    "patternProperties": pattern_properties_keyword,
    "additionalProperties": additional_properties_keyword,
}


# The validator classes -------------------------------------------------------------------


@cache
def linear(stock: type) -> type:
    """The stock jsonschema validator class with RE2 for every user pattern, and every
    keyword metered (`check_budget`)."""
    if getattr(stock, "RUNS_PATTERNS_WITH_RE2", False):
        return stock
    keywords = {**stock.VALIDATORS, **LINEAR_KEYWORDS}
    extended = validators.extend(
        stock,
        {
            name: metered(keyword, REFERENCE_COST if name in REFERENCE_KEYWORDS else 1)
            for name, keyword in keywords.items()
        },
    )
    extended.RUNS_PATTERNS_WITH_RE2 = True
    extended.evolve = evolve_linearly
    return extended


def linear_for(schema: Any, default: type) -> type:
    return linear(validators.validator_for(schema, default=default))


def evolve_linearly(self, **changes):
    """jsonschema's `evolve`, but a subschema's `$schema` leads to a linear class too."""
    schema = changes.setdefault("schema", self.schema)
    for name, alias in init_fields(type(self)):
        changes.setdefault(alias, getattr(self, name))
    return linear_for(schema, type(self))(**changes)


@cache
def init_fields(cls: type) -> tuple:
    return tuple((field.name, field.alias) for field in attrs.fields(cls) if field.init)


def check_schema(cls: type, schema: Any) -> None:
    """`cls.check_schema`, with each `format: regex` of the metaschema (the values of
    `pattern`, the keys of `patternProperties`) checked as Python's `re` checks it, for
    Prefect's answer, and then compiled by RE2 within the budget."""
    meta = validators.validator_for(cls.META_SCHEMA, default=cls)
    cls.check_schema(schema, format_checker=regex_format_checker(meta.FORMAT_CHECKER))


@cache
def regex_format_checker(stock: FormatChecker) -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checkers = {**stock.checkers, "regex": (is_runnable_regex, (re.error,))}
    return checker


def is_runnable_regex(instance: Any) -> bool:
    if not isinstance(instance, str):
        return True
    if len(instance) <= BUDGET.max_length:
        re.compile(instance)
    compiled(instance)
    return True


def uses_keywords(schema: Any, keywords: frozenset) -> bool:
    """Whether any key of the schema, at any depth, is one of `keywords` (a property
    named so counts too)."""
    if isinstance(schema, dict):
        return any(
            key in keywords or uses_keywords(value, keywords) for key, value in schema.items()
        )
    if isinstance(schema, list):
        return any(uses_keywords(item, keywords) for item in schema)
    return False


def refuse_unevaluated_with_pattern_properties(schema: Any) -> None:
    """jsonschema finds the properties `unevaluatedProperties` leaves with `re`, deep
    inside, so a schema using both keywords is not run."""
    if uses_keywords(schema, frozenset({"unevaluatedProperties"})) and uses_keywords(
        schema, frozenset({"patternProperties"})
    ):
        raise PatternRefused(
            "A schema may not use both unevaluatedProperties and patternProperties: the "
            "catalog cannot check unevaluated properties against patterns in linear time."
        )
