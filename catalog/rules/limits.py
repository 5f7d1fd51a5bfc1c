"""Every length, character, size and number limit of the catalog, and the checks that
apply them. Each check returns the value it was given, or raises a `RuleError`.

Prefect sets some of these limits itself (banned name characters, the size of
parameters, `max_scheduled_runs`, variable names and values); the rest are the catalog's,
because its columns and pages need them (names in indexed columns of 255 characters,
32-bit counts, at most 100 tags a row) or because no database can store the value (NaN,
NUL characters, integers beyond 64 bits).
"""

import json
import math
import re
from typing import Any

from catalog.rules.problems import RuleError
from catalog.rules.text import text_problem

# Names -----------------------------------------------------------------------------------

NAME_MAX_LENGTH = 255
BANNED_NAME_CHARACTERS = "/%&><"
NAME_PATTERN = f"^[^{BANNED_NAME_CHARACTERS}]+$"
RESERVED_WORK_POOL_PREFIX = "prefect"
RESERVED_WORK_POOL_NAME = "Work pools starting with 'Prefect' are reserved for internal use."
RESERVED_WORK_POOL_DELETE = (
    "Work pools starting with 'Prefect' are reserved for internal use and can not be deleted."
)
RESERVED_WORK_POOL_UPDATE = (
    "Work pools starting with 'Prefect' are reserved for internal use and can only be "
    "updated to set concurrency limits or pause."
)
# What a pool named "prefect…" may still have changed.
RESERVED_WORK_POOL_CHANGES = frozenset({"is_paused", "concurrency_limit"})

# Numbers ---------------------------------------------------------------------------------

# Counts are stored in 32-bit integer columns.
MAX_INT = 2_147_483_647
MAX_SCHEDULED_RUNS = 50
GRACE_PERIOD_SECONDS = range(60, 86_400 + 1)

# Tags, labels and JSON -------------------------------------------------------------------

# Prefect sets no limit on tags; an unbounded list would swell every list page and the
# admin's tag filter, so a row holds at most MAX_TAGS tags of at most MAX_TAG_LENGTH.
MAX_TAGS = 100
MAX_TAG_LENGTH = 255
MAX_PARAMETERS_BYTES = 524_288
# Any other JSON value a user supplies; the API's body limit already keeps it smaller.
MAX_JSON_BYTES = 1_048_576
# What orjson, which Prefect writes its answers with, refuses to write.
MAX_JSON_DEPTH = 254
JSON_INTEGERS = range(-(2**63), 2**64)
NOT_SERIALIZABLE = "Variable value must be serializable to JSON"
NOT_JSON = "Input should be a JSON value"

# Variables -------------------------------------------------------------------------------

MAX_VARIABLE_NAME_LENGTH = 255
MAX_VARIABLE_VALUE_BYTES = 5000
VARIABLE_NAME_PATTERN = re.compile(r"^[a-z0-9-_]*$")
BAD_VARIABLE_NAME = (
    "Variable name must only contain lowercase letters, numbers, and dashes or underscores."
)

# Choices ---------------------------------------------------------------------------------

COLLISION_STRATEGIES = ("ENQUEUE", "CANCEL_NEW")
DEPLOYMENT_STATUSES = ("READY", "NOT_READY")
WORK_STATUSES = ("READY", "NOT_READY", "PAUSED")
ACTOR_KEYS = ("id", "type", "display_value")


# Text ------------------------------------------------------------------------------------


def check_storable_text(value: Any) -> Any:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise RuleError(problem, "unstorable_text")
    return value


def check_text(value: Any, *, nullable: bool = True, limit: int | None = None) -> Any:
    """A string (or None where `nullable`) of at most `limit` characters."""
    if value is None and nullable:
        return value
    if not isinstance(value, str):
        raise RuleError("Input should be a valid string", "string_type")
    if limit is not None and len(value) > limit:
        raise RuleError(f"String should have at most {limit} characters", "string_too_long")
    return check_storable_text(value)


def check_short_text(value: Any, *, nullable: bool = True) -> Any:
    return check_text(value, nullable=nullable, limit=NAME_MAX_LENGTH)


def banned_characters_in(name: str) -> list[str]:
    return sorted({character for character in name if character in BANNED_NAME_CHARACTERS})


def check_name(value: Any) -> str:
    """A resource name: 1 to 255 characters, none of Prefect's banned ones."""
    check_text(value, nullable=False, limit=NAME_MAX_LENGTH)
    if not value:
        raise RuleError("String should have at least 1 character", "string_too_short")
    banned = banned_characters_in(value)
    if banned:
        raise RuleError(f"Name may not contain {' '.join(banned)}.", "banned_characters")
    return value


def check_deployment_name(value: Any) -> str:
    """A deployment's name: as any name, but it may be empty, as Prefect's server allows."""
    if value == "":
        return value
    return check_name(value)


def check_work_pool_name(value: Any) -> str:
    check_name(value)
    if value.lower().startswith(RESERVED_WORK_POOL_PREFIX):
        raise RuleError(RESERVED_WORK_POOL_NAME, "reserved_name")
    return value


def check_work_pool_deletable(name: str) -> str:
    """Prefect refuses to delete a pool named "prefect…", before looking it up."""
    if name.lower().startswith(RESERVED_WORK_POOL_PREFIX):
        raise RuleError(RESERVED_WORK_POOL_DELETE, "reserved_name")
    return name


def check_work_pool_changes(name: str, fields: frozenset[str]) -> str:
    """Prefect lets a pool named "prefect…" only be paused, resumed or given a
    concurrency limit, and refuses anything else before looking the pool up."""
    reserved = name.lower().startswith(RESERVED_WORK_POOL_PREFIX)
    if reserved and fields - RESERVED_WORK_POOL_CHANGES:
        raise RuleError(RESERVED_WORK_POOL_UPDATE, "reserved_name")
    return name


# Numbers ---------------------------------------------------------------------------------


def check_integer(value: Any, *, minimum: int = 0, maximum: int = MAX_INT) -> Any:
    # bool is an int in Python, but never a valid count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError("Input should be a valid integer", "int_type")
    if value < minimum:
        raise RuleError(f"Input should be greater than or equal to {minimum}", "greater_than_equal")
    if value > maximum:
        raise RuleError(f"Input should be less than or equal to {maximum}", "less_than_equal")
    return value


def check_optional_integer(value: Any, *, minimum: int = 0, maximum: int = MAX_INT) -> Any:
    return None if value is None else check_integer(value, minimum=minimum, maximum=maximum)


def check_priority(value: Any) -> Any:
    return check_integer(value, minimum=1)


def check_optional_count(value: Any) -> Any:
    """A count of at least 1, or None."""
    return None if value is None else check_integer(value, minimum=1)


def check_rate(value: Any) -> Any:
    """A finite number, not negative (a decay rate, a duration in seconds)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleError("Input should be a valid number", "float_type")
    if not math.isfinite(value):
        raise RuleError("Input should be a finite number", "finite_number")
    if value < 0:
        raise RuleError("Input should be greater than or equal to 0", "greater_than_equal")
    return value


def check_max_scheduled_runs(value: Any) -> Any:
    if value is None:
        return value
    check_integer(value, minimum=1)
    if value > MAX_SCHEDULED_RUNS:
        raise RuleError(
            f"`max_scheduled_runs` must be less than or equal to {MAX_SCHEDULED_RUNS}.",
            "less_than_equal",
        )
    return value


def check_grace_period(value: Any) -> Any:
    if value is None:
        return value
    check_integer(value)
    if value not in GRACE_PERIOD_SECONDS:
        raise RuleError(
            f"must be between {GRACE_PERIOD_SECONDS.start} and {GRACE_PERIOD_SECONDS.stop - 1}",
            "grace_period_range",
        )
    return value


def check_choice(value: Any, choices: tuple[str, ...], *, nullable: bool = False) -> Any:
    if value is None and nullable:
        return value
    if value not in choices:
        expected = " or ".join(repr(choice) for choice in choices)
        raise RuleError(f"Input should be {expected}, got {value!r}", "enum")
    return value


# Tags and labels -------------------------------------------------------------------------


def check_string_list(value: Any) -> list:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RuleError("Enter a list of strings.", "not_a_string_list")
    return value


def check_tags(value: Any) -> list:
    check_string_list(value)
    if len(value) > MAX_TAGS:
        raise RuleError(f"Enter at most {MAX_TAGS} tags ({len(value)} given).", "too_many_tags")
    for n, tag in enumerate(value):
        if len(tag) > MAX_TAG_LENGTH:
            raise RuleError(
                f"Tag {tag[:20]}… is longer than {MAX_TAG_LENGTH} characters.", "tag_too_long"
            )
        problem = text_problem(tag)
        if problem:
            raise RuleError(problem, "unstorable_text", (n,))
    return value


def check_labels(value: Any, *, nullable: bool = False) -> Any:
    """Prefect's labels: an object whose values are strings, finite numbers or booleans."""
    if value is None and nullable:
        return value
    check_json_object(value)
    for key, label in value.items():
        if isinstance(label, float) and not math.isfinite(label):
            raise RuleError("Input should be a finite number", "finite_number", (key,))
        if not isinstance(label, str | int | float | bool):
            raise RuleError(
                f"Label {key} must be a string, number or boolean.", "bad_label", (key,)
            )
    return value


def check_actor(value: Any) -> Any:
    """`created_by` / `updated_by`: `{"id", "type", "display_value"}`, each nullable."""
    if value is None:
        return value
    if not isinstance(value, dict) or set(value) - set(ACTOR_KEYS):
        raise RuleError('Enter an object with "id", "type" and "display_value".', "bad_actor")
    for key in ACTOR_KEYS:
        check_text(value.get(key), limit=NAME_MAX_LENGTH)
    return value


# JSON ------------------------------------------------------------------------------------


def check_json(value: Any, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A JSON value every database stores and Prefect's clients read back: no NaN or
    infinities, no NUL or lone surrogates, integers within 64 bits, at most 254 levels
    deep and `max_bytes` long."""
    json_text(value, max_bytes=max_bytes)
    return value


def json_text(value: Any, *, max_bytes: int = MAX_JSON_BYTES) -> str:
    """`check_json`, giving the value's compact text. One pass of the C encoder clears a
    sound value; only a suspect one is walked, to say where the problem is."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
    except (ValueError, TypeError, UnicodeEncodeError, RecursionError):
        json_walk(value)
        raise RuleError(NOT_JSON, "json_invalid") from None
    if "\\u0000" in text or long_number_maybe(text) or too_deep_maybe(text):
        json_walk(value)
    if size > max_bytes:
        raise RuleError(
            f"JSON values must be at most {max_bytes:,} bytes (got {size:,} bytes).", "too_large"
        )
    return text


LONG_NUMBER = re.compile(r"[0-9]{19}")


def long_number_maybe(text: str) -> bool:
    """Whether the text may hold an integer past 64 bits (19 digits or more); counting
    the digits first spares most texts the slower search."""
    return sum(map(text.count, "0123456789")) >= 19 and LONG_NUMBER.search(text) is not None


def too_deep_maybe(text: str) -> bool:
    """Whether the text may nest more than MAX_JSON_DEPTH levels: each level takes two
    characters, and one opening bracket."""
    if len(text) <= 2 * MAX_JSON_DEPTH:
        return False
    return text.count("[") + text.count("{") > MAX_JSON_DEPTH


def json_walk(value: Any, at: tuple = (), depth: int = 1) -> None:
    """Raise for the first value, at its path, that `check_json` refuses."""
    if isinstance(value, dict | list):
        if depth > MAX_JSON_DEPTH:
            raise RuleError(
                f"JSON values may nest at most {MAX_JSON_DEPTH} levels.", "too_deep", at
            )
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(value, dict) and not isinstance(key, str):
                raise RuleError("JSON object keys must be strings", "json_invalid", at)
            if isinstance(key, str) and text_problem(key):
                raise RuleError(text_problem(key), "unstorable_text", (*at, key))
            json_walk(item, (*at, key), depth + 1)
    elif isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise RuleError(problem, "unstorable_text", at)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if value not in JSON_INTEGERS:
            raise RuleError("Integers must fit in 64 bits", "int_too_large", at)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise RuleError("Input should be a finite number", "finite_number", at)
    else:
        raise RuleError(NOT_JSON, "json_invalid", at)


def check_json_object(value: Any, *, max_bytes: int = MAX_JSON_BYTES) -> dict:
    if not isinstance(value, dict):
        raise RuleError("Enter a JSON object.", "not_an_object")
    return check_json(value, max_bytes=max_bytes)


def check_optional_json_object(value: Any) -> dict | None:
    return None if value is None else check_json_object(value)


def check_parameters(value: Any) -> dict:
    """Flow run parameters: an object of at most 512 KB, measured as Prefect measures it
    (compact JSON with non-ASCII characters escaped)."""
    if not isinstance(value, dict):
        raise RuleError("Enter a JSON object.", "not_an_object")
    text = json_text(value)
    if value:
        ascii_text = text if text.isascii() else json.dumps(value, separators=(",", ":"))
        size = len(ascii_text)
        if size > MAX_PARAMETERS_BYTES:
            raise RuleError(
                f"Flow run parameters must be less than {MAX_PARAMETERS_BYTES:,} bytes when "
                f"serialized (got {size:,} bytes).",
                "too_large",
            )
    return value


def check_pull_steps(value: Any) -> list | None:
    if value is None:
        return value
    if not isinstance(value, list) or not all(isinstance(step, dict) for step in value):
        raise RuleError("Enter a list of JSON objects.", "not_an_object_list")
    return check_json(value)


# Variables -------------------------------------------------------------------------------


def check_variable_name_pattern(value: Any) -> str:
    """Prefect's rule, with `re.match` as Prefect uses it: `$` also matches before a final
    newline, and the empty name passes."""
    if not isinstance(value, str):
        raise RuleError("Input should be a valid string", "string_type")
    if not VARIABLE_NAME_PATTERN.match(value):
        raise RuleError(BAD_VARIABLE_NAME, "bad_variable_name")
    return value


def check_variable_name(value: Any) -> str:
    check_variable_name_pattern(value)
    if len(value) > MAX_VARIABLE_NAME_LENGTH:
        raise RuleError(
            f"String should have at most {MAX_VARIABLE_NAME_LENGTH} characters", "string_too_long"
        )
    return value


def check_variable_value(value: Any) -> Any:
    """Any JSON, of at most 5,000 bytes as orjson writes it (the message says characters,
    as Prefect's does)."""
    if value is None:
        return value
    try:
        size = json_size(value)
    except ValueError:
        raise RuleError(NOT_SERIALIZABLE, "json_invalid") from None
    if size > MAX_VARIABLE_VALUE_BYTES:
        raise RuleError(
            f"Variable value must be less than {MAX_VARIABLE_VALUE_BYTES} characters", "too_large"
        )
    return check_json(value)


def json_size(value: Any, depth: int = 1) -> int:
    """The bytes orjson writes for `value`; ValueError for what it cannot write. NaN and
    infinities are refused too: orjson writes them as null, but no JSON body can hold them."""
    if isinstance(value, list | dict):
        if depth > MAX_JSON_DEPTH:
            raise ValueError(NOT_SERIALIZABLE)
        if isinstance(value, list):
            parts = [json_size(item, depth + 1) for item in value]
        else:
            parts = [json_size(key) + 1 + json_size(item, depth + 1) for key, item in value.items()]
        return 2 + sum(parts) + max(len(parts) - 1, 0)
    if isinstance(value, int) and not isinstance(value, bool) and value not in JSON_INTEGERS:
        raise ValueError(NOT_SERIALIZABLE)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(NOT_SERIALIZABLE)
        return len(orjson_float(value))
    try:
        return len(json.dumps(value, ensure_ascii=False).encode())
    except (TypeError, UnicodeEncodeError):
        raise ValueError(NOT_SERIALIZABLE) from None


def orjson_float(value: float) -> str:
    """A float as orjson writes it: Python's shortest digits, but 1.5e-05 is 0.000015 and
    exponents have no leading zeros (1e-07 is 1e-7)."""
    text = repr(value)
    mantissa, marker, exponent = text.partition("e")
    if not marker:
        return text
    if exponent == "-05":
        sign = "-" if mantissa.startswith("-") else ""
        return f"{sign}0.0000{mantissa.lstrip('-').replace('.', '')}"
    return f"{mantissa}e{exponent[0]}{exponent[1:].lstrip('0')}"
