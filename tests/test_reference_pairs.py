"""The first capture from a real Prefect 3.9.1 server (`tests/data/prefect/`), replayed.

`status.tsv` lists every exchange of that capture in order. Each is sent here with the
same body; the ids the server makes are learnt from each answer (walking Prefect's answer
and ours side by side), so later paths and bodies use ours, and answers can be compared
with Prefect's ids translated: only timestamps are masked.
"""

import json
import re

import pytest
from django.db import transaction
from django.test import Client

from tests.conftest import PREFECT
from tests.replay import UTC_TIMESTAMP, UUID, database_fingerprint, shape, writer_client

pytestmark = pytest.mark.django_db

EXCHANGES = [
    dict(zip(("file", "method", "path", "status"), line.split("\t"), strict=True))
    for line in (PREFECT / "status.tsv").read_text().splitlines()[1:]
]
# Block types, schemas and documents are Prefect's storage machinery, not catalog data; a
# deployment keeps their ids as it was given them.
BLOCK_ROUTES = ("/api/block_types/", "/api/block_schemas/", "/api/block_documents/")
REPLAYED = [exchange for exchange in EXCHANGES if exchange["path"] not in BLOCK_ROUTES]


def stem(exchange: dict) -> str:
    return exchange["file"].removesuffix(".json").removesuffix(".response")


def request_text(exchange: dict) -> str | None:
    path = PREFECT / f"{stem(exchange)}.request.json"
    return path.read_text() if path.exists() else None


def translated(text: str, ids: dict[str, str]) -> str:
    """Prefect's ids replaced by ours, whatever their case."""

    def ours(match: re.Match) -> str:
        found = ids.get(match.group(0).lower(), match.group(0).lower())
        return found.upper() if match.group(0).isupper() else found

    return re.sub(UUID.pattern, ours, text, flags=re.IGNORECASE)


def learn_ids(theirs, ours, ids: dict[str, str]) -> None:
    """Walk two answers of the same shape and record which of our ids stands for theirs."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        for key in theirs.keys() & ours.keys():
            learn_ids(theirs[key], ours[key], ids)
    elif isinstance(theirs, list) and isinstance(ours, list):
        for their_item, our_item in zip(theirs, ours, strict=False):
            learn_ids(their_item, our_item, ids)
    elif isinstance(theirs, str) and isinstance(ours, str):
        for their_id, our_id in zip(UUID.findall(theirs), UUID.findall(ours), strict=False):
            ids.setdefault(their_id, our_id)


def send(client: Client, exchange: dict, ids: dict[str, str]):
    path = translated(exchange["path"], ids)
    body = request_text(exchange)
    method = getattr(client, exchange["method"].lower())
    if body is None:
        return method(path)
    return method(path, data=translated(body, ids), content_type="application/json")


@pytest.fixture(scope="module")
def replay(django_db_setup, django_db_blocker):
    answers, ids = {}, {}
    with django_db_blocker.unblock(), transaction.atomic():
        client = writer_client()
        for exchange in REPLAYED:
            before = database_fingerprint()
            response = send(client, exchange, ids)
            text = response.content.decode()
            expected = (PREFECT / exchange["file"]).read_text()
            if expected and text and response.status_code < 300:
                learn_ids(json.loads(expected), json.loads(text), ids)
            answers[exchange["file"]] = (response.status_code, text, before, ids.copy())
            answers[exchange["file"]] += (database_fingerprint(),)
        transaction.set_rollback(True)
    return answers


def timeless(text: str):
    if not text:
        return text
    return shape(json.loads(UTC_TIMESTAMP.sub("<time>", text)))


@pytest.mark.parametrize("exchange", REPLAYED, ids=stem)
def test_the_exchange_answers_as_prefect_did(replay, exchange):
    status, text, _, ids, _ = replay[exchange["file"]]
    assert status == int(exchange["status"]), text[:2000]
    expected = translated((PREFECT / exchange["file"]).read_text(), ids)
    assert timeless(text) == timeless(expected)


REFUSED = [exchange for exchange in REPLAYED if int(exchange["status"]) >= 400]


@pytest.mark.parametrize("exchange", REFUSED, ids=stem)
def test_a_refused_exchange_changes_nothing(replay, exchange):
    _, _, before, _, after = replay[exchange["file"]]
    assert before == after
