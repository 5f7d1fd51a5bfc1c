"""The deployment list's search (issue 17): a word is found in the name, the flow's name,
the description, the entrypoint or one of the tags, never in the punctuation of the tags'
JSON; with more distinct tags than can be listed the search finds the same deployments.
The pages read from the trigram and tag rows are in tests/test_name_grams.py."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.admin.deployments import DeploymentAdmin, text_matches
from catalog.models import Deployment
from catalog.models import deployment_tags as tag_rows
from catalog.models.deployment_tags import tags_holding
from tests.factories import DeploymentFactory, FlowFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/catalog/deployment/"


@pytest.fixture
def tagged():
    DeploymentFactory(name="prod-team", tags=["env-prod", "team-07"])
    DeploymentFactory(name="upper-team", tags=["TEAM-070"])
    DeploymentFactory(name="quoted", tags=['say"hi', "a\\b"])
    DeploymentFactory(name="accented", tags=["équipe-nord"])
    DeploymentFactory(name="wildcards", tags=["100%", "a_b"])
    DeploymentFactory(name="untagged", tags=[])
    DeploymentFactory(
        name="described",
        tags=["other"],
        description="Loads the team-07 ledger.",
        entrypoint="flows/équipe.py:run",
        flow=FlowFactory(name="say-hello"),
    )


def found(word: str) -> list[str]:
    return sorted(Deployment.objects.filter(text_matches(word)).values_list("name", flat=True))


WORDS = [
    ("team-07", ["described", "prod-team", "upper-team"]),
    ("Team-070", ["upper-team"]),
    ('y"h', ["quoted"]),
    ("a\\b", ["quoted"]),
    ("équipe", ["accented", "described"]),
    ("0%", ["wildcards"]),
    ("a_b", ["wildcards"]),
    ("say", ["described", "quoted"]),
    # The tags' JSON text holds these, and no tag does.
    ('", "', []),
    ('prod", "team', []),
    ('["env', []),
]


@pytest.mark.parametrize(("word", "names"), WORDS)
def test_a_word_is_found_in_one_tag_or_another_column(tagged, word, names):
    assert found(word) == names


@pytest.mark.parametrize(("word", "names"), WORDS)
def test_with_more_tags_than_can_be_listed_the_search_finds_the_same(
    tagged, monkeypatch, word, names
):
    monkeypatch.setattr(tag_rows, "MOST_TAGS_LISTED", 2)
    assert tags_holding(word) is None
    assert found(word) == names


def test_the_tags_holding_a_word_are_listed_in_one_query(tagged, django_assert_num_queries):
    with django_assert_num_queries(1):
        listed = tags_holding("team-07")
    assert sorted(listed) == ["TEAM-070", "team-07"]
    assert tags_holding("0%") == ["100%"]
    assert tags_holding("_") == ["a_b"]
    assert tags_holding("nowhere") == []


def test_the_list_finds_a_tag_s_deployments_by_a_word(tagged, admin_client):
    page = admin_client.get(LIST, {"q": "team-07"}).content.decode()
    assert "prod-team" in page and "upper-team" in page and "described" in page
    assert "untagged" not in page and "accented" not in page
    assert "3 deployments" in page


# The list that fits on one page is read as a page ----------------------------------------


def listed(response) -> list[str]:
    return [deployment.name for deployment in response.context["cl"].result_list]


@pytest.mark.parametrize(("word", "names"), WORDS)
def test_the_list_shows_what_the_search_finds_in_name_order(tagged, admin_client, word, names):
    assert listed(admin_client.get(LIST, {"q": word})) == names


def row_queries(captured) -> list[str]:
    """The queries that read the deployments' rows (not a count, not an id list)."""
    return [item["sql"] for item in captured if '"catalog_deployment"."pull_steps"' in item["sql"]]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the trigram rows are PostgreSQL's")
def test_a_search_that_fits_on_one_page_reads_its_rows_through_the_name_s_trigram_rows(
    tagged, admin_client
):
    """Django reads a list that fits on one page with its whole query: ORing the trigram
    indexes of every column searched, whose posting lists grow with the catalog."""
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(LIST, {"q": "prod-team"})
    assert listed(response) == ["prod-team"]
    [rows] = row_queries(captured)
    assert "catalog_deploymentnamegram" in rows
    # Each branch asks for a whole page, not the one row there is: for one row PostgreSQL
    # judges walking the name's index cheap, and walks all of it if a branch has no match.
    assert f"LIMIT {DeploymentAdmin.list_per_page}" in rows


def test_a_search_that_finds_nothing_reads_no_row(tagged, admin_client):
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(LIST, {"q": "nothing-holds-this"})
    assert listed(response) == []
    assert "0 deployments" in response.content.decode()
    assert row_queries(captured) == []
