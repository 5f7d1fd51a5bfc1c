"""The substring tests a trigram walk makes of each row (`PrefectLikeEachRow`,
`IContainsEachRow`) match exactly the rows that `like_` and `icontains` match, whatever
the case, the characters (ASCII or not, those whose capital is ASCII) and the wildcards;
on PostgreSQL through their shortcuts, on SQLite as the plain lookups."""

import pytest
from django.db import connection

from catalog.models import Deployment
from catalog.models.lookups import SIMPLE_UPPER
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db

NAMES = [
    "ingest-s3x-00007",
    "INGEST-S3X-00007",
    "Ingest-s3X-x07-tail",
    "x07_underscore",
    "x07!percent",
    "caf\u00e9-x07-",  # é: not ASCII, so the whole UPPER decides
    "CAF\u00c9-X07-",
    "\u017fync-x07",  # the long s upper-cases to an ASCII S
    "\u0131ndex-x07",  # the dotless i upper-cases to an ASCII I
    "stra\u00dfe-x07",  # ß has no one-character capital in libc
    "plain",
]
PATTERNS = [
    "x07-",
    "X07-",
    "s3x",
    "S3X-0",
    "caf\u00e9",
    "CAF\u00c9-x",
    "sync",
    "SYNC",
    "index",
    "stra\u00dfe",
    "x07_",
    "x07%p",
    "in%x07",
    "_ngest",
    "\\%",
    "nothing",
]


@pytest.fixture
def named(db) -> None:
    for name in NAMES:
        DeploymentFactory(name=name)


def names(**lookup) -> set[str]:
    return set(Deployment.objects.filter(**lookup).values_list("name", flat=True))


@pytest.mark.parametrize("pattern", PATTERNS)
def test_like_each_row_matches_what_like_matches(named, pattern):
    assert names(name__prefect_like_each_row=pattern) == names(name__prefect_like=pattern)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_icontains_each_row_matches_what_icontains_matches(named, pattern):
    assert names(name__icontains_each_row=pattern) == names(name__icontains=pattern)


def test_the_lookups_match_across_case_and_the_characters_whose_capital_is_ascii(named):
    expected = {"\u017fync-x07"} if connection.vendor == "postgresql" else set()
    assert names(name__prefect_like_each_row="SYNC") == expected
    assert {"ingest-s3x-00007", "INGEST-S3X-00007"} <= names(name__icontains_each_row="s3x-0")


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_this_database_s_locale_takes_the_shortcuts():
    """The test server's locale (C.UTF-8) upper-cases as the shortcuts need, so the
    tests above compare the shortcuts, not the whole UPPER with itself."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {SIMPLE_UPPER}")
        assert cursor.fetchone() == (True,)
