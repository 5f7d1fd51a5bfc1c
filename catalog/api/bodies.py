"""Reading request bodies the way Prefect's FastAPI routes read them.

The body is JSON whatever the content type says. A body that is not JSON, or that a
request model refuses, is a 422 listing pydantic's errors with `"body"` at the head of
each `loc`, and the body echoed back.
"""

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError
from rest_framework.request import Request

from catalog.api.errors import PARSED_BODY, ApiError, RequestValidationError
from catalog.rules.text import NUL, unstorable_at

NO_BODY = object()
SUSPECT_ESCAPE = re.compile(r"\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def raw_json(request: Request) -> Any:
    """The parsed body, or `NO_BODY` when the request has none."""
    raw = request._request.body
    if not raw:
        return NO_BODY
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_json(raw.decode("utf-8", "replace"), 0, "invalid UTF-8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid_json(text, exc.pos, exc.msg) from None
    except RecursionError:
        raise invalid_json(text, 0, "nesting too deep") from None
    except ValueError:
        # An integer of more digits than Python converts (4,300): FastAPI answers any
        # body it fails to parse other than by a decode error with this 400.
        raise ApiError(400, "There was an error parsing the body") from None
    # Only an escape (`\u0000`, `\ud800`) can put unstorable text in decoded JSON.
    if "\\u" in text:
        found = unstorable_at(data)
        if found and found[1] == NUL:
            raise unstorable_value(data, *found)
        if found:
            escape = SUSPECT_ESCAPE.search(text)
            raise invalid_json(text, escape.start() if escape else 0, found[1])
    setattr(request, PARSED_BODY, data)
    return data


def unstorable_value(data: Any, path: tuple, problem: str) -> RequestValidationError:
    """Text no database stores, refused at its field, whatever the route."""
    value = data
    for part in path:
        value = value[part]
    error = {
        "type": "value_error",
        "loc": ["body", *path],
        "msg": f"Value error, {problem}",
        "input": value,
        "ctx": {"error": problem},
    }
    return RequestValidationError([error], request_body=data)


def invalid_json(text: str, position: int, reason: str) -> RequestValidationError:
    error = {
        "type": "json_invalid",
        "loc": ["body", position],
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": reason},
    }
    return RequestValidationError([error], request_body=text)


def jsonable(value: Any) -> Any:
    """Error context as FastAPI renders it: exceptions become `{}`."""
    if isinstance(value, BaseException):
        return {}
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def errors_of(exc: ValidationError, prefix: tuple = ("body",)) -> list[dict]:
    errors = []
    for error in exc.errors(include_url=False):
        entry = {"type": error["type"], "loc": [*prefix, *error["loc"]], "msg": error["msg"]}
        entry["input"] = jsonable(error.get("input"))
        if "ctx" in error:
            entry["ctx"] = jsonable(error["ctx"])
        errors.append(entry)
    return errors


def validated(model: type[BaseModel], data: Any, echo: Any = None) -> Any:
    """`data` checked by `model`, or a 422 echoing `echo` (by default `data` itself)."""
    try:
        # As FastAPI validates bodies: a non-object where a model belongs is then
        # `model_attributes_type`, not `model_type`.
        return model.model_validate(data, from_attributes=True)
    except ValidationError as exc:
        raise RequestValidationError(
            errors_of(exc), request_body=data if echo is None else echo
        ) from None


def required_body(request: Request, model: type[BaseModel]) -> Any:
    """The body checked by `model`; none at all, or JSON `null`, is FastAPI's `missing`."""
    data = raw_json(request)
    if data is NO_BODY or data is None:
        missing = {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}
        raise RequestValidationError([missing], request_body=None)
    return validated(model, data)


def optional_object_body(request: Request) -> dict:
    """A body of separate keys (filters, paging): absent or null keys take defaults,
    unknown keys are ignored, and a body that is not an object counts as empty."""
    data = raw_json(request)
    if not isinstance(data, dict):
        return {}
    return {key: value for key, value in data.items() if value is not None}


def integer_text(text: str, body: dict) -> int:
    """A `limit` sent as digits, as pydantic reads it: past 4,300 digits, its own error."""
    try:
        return int(text)
    except ValueError:
        error = {
            "type": "int_parsing_size",
            "loc": ["body", "limit"],
            "msg": "Unable to parse input string as an integer, exceeded maximum size",
            "input": text,
        }
        raise RequestValidationError([error], request_body=body) from None


def check_limit(body: dict, default: int = 200) -> int:
    """Prefect's `limit`: checked before anything else in the body, with `detail` errors."""
    limit = body.get("limit", default)
    if isinstance(limit, bool) or not isinstance(limit, int):
        error = {
            "type": "int_parsing" if isinstance(limit, str) else "int_type",
            "loc": ["body", "limit"],
            "msg": "Input should be a valid integer"
            + (", unable to parse string as an integer" if isinstance(limit, str) else ""),
            "input": limit,
        }
        if isinstance(limit, str) and limit.strip().lstrip("-").isdigit():
            limit = integer_text(limit, body)
        else:
            raise RequestValidationError([error], request_body=body)
    if limit < 0:
        raise ApiError(422, "Invalid limit: must be greater than or equal to 0.")
    if limit > default:
        raise ApiError(422, f"Invalid limit: must be less than or equal to {default}.")
    return limit
