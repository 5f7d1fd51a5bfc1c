import json
import logging
import sys

from catalog.logs import JsonLineFormatter, request_id_bound


def formatted(message: str, exc_info=None, **fields) -> dict:
    record = logging.LogRecord("catalog.api", logging.WARNING, __file__, 1, message, (), exc_info)
    if fields:
        record.fields = fields
    line = JsonLineFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_a_record_is_one_json_line():
    line = formatted("Database unavailable")
    assert line.pop("time").endswith("Z")
    assert line == {"level": "WARNING", "logger": "catalog.api", "message": "Database unavailable"}


def test_fields_given_as_extra_join_the_line():
    assert formatted("GET / 200", status=200, path="/")["path"] == "/"


def test_records_logged_during_a_request_carry_its_id():
    with request_id_bound("req-9"):
        assert formatted("inside")["request_id"] == "req-9"
    assert "request_id" not in formatted("after")


def test_an_exception_stays_on_the_line():
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        line = formatted("failed", exc_info=sys.exc_info())
    assert "ValueError: bad" in line["exception"]
