"""The admin's inputs and page sizes (README.md, "Security", "The admin"): every list
refuses a query string that would fail or cost too much with a message on the list, never
a 500, and a list page stays small whatever its rows hold."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.admin.guarded import ListQueryGuard
from catalog.models import Deployment
from tests.factories import (
    ApiKeyFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
    VariableFactory,
    WorkQueueFactory,
)
from tests.replay import database_fingerprint

pytestmark = pytest.mark.django_db

DEPLOYMENTS = reverse("admin:catalog_deployment_changelist")
UNFILTERED = "The list is shown unfiltered."
NOT_A_LINK_LOOKUP = (
    "a link may compare, list, test for null or match plain text, but not run regular "
    "expressions, wildcard patterns or other functions."
)
ODD_QUERIES = [
    "?q='abc",
    '?q="abc',
    "?q='",
    "?q=%00",
    "?q=" + "x" * 2048,
    "?tags__contains=x",
    "?labels__a=b",
    "?id=abc",
    "?pk=abc",
    "?created__gte=garbage",
    "?name__in=",
    "?name__regex=a",
    "?name__iregex=a",
    "?name__prefect_like=%25a%25",
    "?name=%00",
    "?nosuchfield=1",
    "?p=abc",
    "?p=99",
    "?o=zz",
    "?e=1&id=abc",
    "?work_queue=abc",
    "?flow__id__exact=abc",
    "?user__id__exact=abc",
    "?tag=" + "t" * 5000,
]


@pytest.fixture
def viewer_client(client):
    """A staff user who may view every list and change nothing."""
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client.force_login(viewer)
    return client


@pytest.fixture
def every_kind_of_row():
    schedule = DeploymentScheduleFactory()
    schedule.deployment.work_queue = WorkQueueFactory()
    schedule.deployment.save()
    VariableFactory()
    ApiKeyFactory()


def changelists() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]


def refusal(client, url: str) -> str:
    """The message a refused list query leaves, after checking the redirect to `?e=1`."""
    response = client.get(url)
    assert response.status_code == 302, url
    assert response["Location"] == url.split("?")[0] + "?e=1"
    page = client.get(response["Location"])
    assert page.status_code == 200
    return " ".join(str(message) for message in page.context["messages"])


# No 500 from any list -------------------------------------------------------------------


def test_every_registered_admin_has_the_guard():
    for model_admin in admin.site._registry.values():
        assert isinstance(model_admin, ListQueryGuard), type(model_admin)
        assert not model_admin.lookup_allowed("pk__regex", "a", None)


@pytest.mark.parametrize("who", ["viewer", "superuser"])
def test_no_list_answers_500_to_an_odd_query_string(
    who, viewer_client, admin_client, every_kind_of_row
):
    client = viewer_client if who == "viewer" else admin_client
    for url in changelists():
        for query in ODD_QUERIES:
            response = client.get(url + query)
            assert response.status_code in (200, 302), url + query
            if response.status_code == 302:
                assert response["Location"] == url + "?e=1", url + query


def test_a_search_with_an_unbalanced_quote_searches_the_quote(viewer_client):
    DeploymentFactory(name="plain")
    DeploymentFactory(name="quoted", description="it's 'abc and \"abc")
    for term in ("'abc", '"abc', "'"):
        response = viewer_client.get(DEPLOYMENTS, {"q": term})
        assert response.status_code == 200
        assert [row.name for row in response.context["cl"].result_list] == ["quoted"]


def test_an_autocomplete_search_past_the_budget_finds_nothing(admin_client):
    FlowFactory(name="x")
    url = reverse("admin:autocomplete")
    query = {"app_label": "catalog", "model_name": "deployment", "field_name": "flow"}

    def found(term: str) -> int:
        return len(admin_client.get(url, {**query, "term": term}).json()["results"])

    assert [found(" ".join(["x"] * 10)), found(" ".join(["x"] * 11))] == [1, 0]
    assert [found("x" * 200), found("x" * 201)] == [0, 0]
    assert found("'x") == 0


# Refusals, each with its message ---------------------------------------------------------


def test_a_json_lookup_is_refused_on_both_databases(viewer_client):
    DeploymentFactory(tags=["x"])
    message = refusal(viewer_client, DEPLOYMENTS + "?tags__contains=x")
    assert message == (
        "Filtering by tags__contains is not allowed: tags is a JSON field; use the filters "
        f"beside the list. {UNFILTERED}"
    )


@pytest.mark.parametrize("lookup", ["name__regex", "name__iregex", "flow__name__regex"])
def test_a_regular_expression_from_a_link_is_refused_before_any_query(viewer_client, lookup):
    DeploymentFactory()
    with CaptureQueriesContext(connection) as captured:
        message = refusal(viewer_client, DEPLOYMENTS + f"?{lookup}=(a%2B)%2B$")
    assert not [query for query in captured if "REGEXP" in query["sql"].upper()]
    assert not [query for query in captured if "~" in query["sql"]]
    assert message == f"Filtering by {lookup} is not allowed: {NOT_A_LINK_LOOKUP} {UNFILTERED}"


def test_a_wildcard_pattern_from_a_link_is_refused(viewer_client):
    message = refusal(viewer_client, DEPLOYMENTS + "?description__prefect_like=%25a%25")
    assert message == (
        f"Filtering by description__prefect_like is not allowed: {NOT_A_LINK_LOOKUP} {UNFILTERED}"
    )


def test_a_value_of_the_wrong_type_is_refused_with_its_reason(viewer_client):
    message = refusal(viewer_client, DEPLOYMENTS + "?id=abc")
    assert message == f"This list cannot be filtered by id: “abc” is not a valid UUID. {UNFILTERED}"
    message = refusal(viewer_client, DEPLOYMENTS + "?work_queue=abc")
    assert message == (
        f"This list cannot be filtered by work_queue: “abc” is not a valid UUID. {UNFILTERED}"
    )


def test_a_bad_date_is_refused_with_its_reason(viewer_client):
    message = refusal(viewer_client, DEPLOYMENTS + "?created__gte=garbage")
    assert message.startswith("This list cannot be filtered by created__gte: “garbage” value")
    assert message.endswith(UNFILTERED)


def test_a_bad_filter_after_an_earlier_refusal_is_refused_again(viewer_client):
    message = refusal(viewer_client, DEPLOYMENTS + "?e=1&id=abc")
    assert message == f"This list cannot be filtered by id: “abc” is not a valid UUID. {UNFILTERED}"


def test_a_nul_character_is_refused(viewer_client):
    assert refusal(viewer_client, DEPLOYMENTS + "?name=%00") == (
        f"The filter name holds a NUL character. {UNFILTERED}"
    )
    assert refusal(viewer_client, DEPLOYMENTS + "?q=a%00") == (
        f"The search holds a NUL character. {UNFILTERED}"
    )


def test_an_empty_in_list_matches_nothing(viewer_client):
    DeploymentFactory()
    response = viewer_client.get(DEPLOYMENTS + "?name__in=")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


# Budgets: the production default, and an input just past it ------------------------------


def test_a_search_takes_at_most_200_characters(viewer_client):
    DeploymentFactory(description="x" * 200)
    response = viewer_client.get(DEPLOYMENTS, {"q": "x" * 200})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 1
    message = refusal(viewer_client, DEPLOYMENTS + "?q=" + "x" * 201)
    assert message == f"Search for at most 200 characters (201 given). {UNFILTERED}"


def test_a_search_of_2_kb_is_refused_without_a_query(viewer_client):
    DeploymentFactory()
    with CaptureQueriesContext(connection) as captured:
        response = viewer_client.get(DEPLOYMENTS, {"q": "ab " * 700})
    assert response.status_code == 302
    assert not [query for query in captured if "LIKE" in query["sql"].upper()]
    assert len(response.content) == 0


def test_a_search_takes_at_most_10_words(viewer_client):
    DeploymentFactory(description=" ".join(f"w{n}" for n in range(11)))
    response = viewer_client.get(DEPLOYMENTS, {"q": " ".join(f"w{n}" for n in range(10))})
    assert len(response.context["cl"].result_list) == 1
    message = refusal(viewer_client, DEPLOYMENTS + "?q=" + "+".join(f"w{n}" for n in range(11)))
    assert message == f"Search for at most 10 words (11 given). {UNFILTERED}"


def test_a_quoted_phrase_counts_as_one_word(viewer_client):
    phrase = '"' + " ".join(f"w{n}" for n in range(20)) + '"'
    DeploymentFactory(description=phrase.strip('"'))
    response = viewer_client.get(DEPLOYMENTS, {"q": phrase})
    assert len(response.context["cl"].result_list) == 1


def test_a_substring_filter_takes_what_a_search_takes(viewer_client):
    DeploymentFactory(name="n" * 200)
    response = viewer_client.get(DEPLOYMENTS, {"name__icontains": "n" * 200})
    assert len(response.context["cl"].result_list) == 1
    message = refusal(viewer_client, DEPLOYMENTS + "?name__icontains=" + "n" * 201)
    assert message == (
        f"The filter name__icontains takes at most 200 characters (201 given). {UNFILTERED}"
    )


def test_a_filter_value_takes_at_most_1000_characters(viewer_client):
    response = viewer_client.get(DEPLOYMENTS, {"name__in": ",".join(["n" * 99] * 10)})
    assert response.status_code == 200
    message = refusal(viewer_client, DEPLOYMENTS + "?tag=" + "t" * 1001)
    assert message == f"The filter tag takes at most 1,000 characters (1,001 given). {UNFILTERED}"


# Page sizes -------------------------------------------------------------------------------

PAGE_BYTES_BOUND = 1_000_000


def maximal_tags(row: int) -> list[str]:
    """100 tags of 255 characters, none shared with another row."""
    return [f"{row:03d}-{number:03d}-".ljust(255, "t") for number in range(100)]


def test_100_deployments_with_maximal_tags_make_a_page_under_1_mb(viewer_client):
    flow = FlowFactory()
    Deployment.objects.bulk_create(
        [
            DeploymentFactory.build(flow=flow, name=f"d-{row:03d}", tags=maximal_tags(row))
            for row in range(100)
        ]
    )
    response = viewer_client.get(DEPLOYMENTS, {"all": ""})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 100
    content = response.content.decode()
    assert len(response.content) < PAGE_BYTES_BOUND
    assert content.count('<span class="more-tags" title="95 more">+95</span>') == 100
    assert content.count('<a class="tag" href=') == 500


def test_a_row_shows_five_tags_cut_to_40_characters(viewer_client):
    DeploymentFactory(tags=["a" * 255, "b", "c", "d", "e", "f", "g"])
    content = viewer_client.get(DEPLOYMENTS).content.decode()
    assert f'<a class="tag" href="?tag={"a" * 255}">{"a" * 39}…</a>' in content
    assert '<a class="tag" href="?tag=e">e</a>' in content
    assert '<a class="tag" href="?tag=f"' not in content
    assert '<span class="more-tags" title="2 more">+2</span>' in content


def test_a_tag_link_keeps_non_ascii_characters_and_encodes_the_rest(viewer_client):
    DeploymentFactory(tags=["née & co"])
    content = viewer_client.get(DEPLOYMENTS).content.decode()
    assert '<a class="tag" href="?tag=née%20%26%20co">née &amp; co</a>' in content
    response = viewer_client.get(DEPLOYMENTS, {"tag": "née & co"})
    assert len(response.context["cl"].result_list) == 1


def test_the_tag_filter_offers_the_50_most_used_tags(viewer_client):
    DeploymentFactory(tags=[f"rare-{n:02d}" for n in range(60)])
    DeploymentFactory(tags=["common", "rare-59"])
    response = viewer_client.get(DEPLOYMENTS)
    tag_filter = next(f for f in response.context["cl"].filter_specs if f.title == "tag")
    offered = [value for value, _ in tag_filter.lookup_choices]
    assert len(offered) == 50
    assert offered[:2] == ["common", "rare-00"]
    assert "rare-59" in offered


def test_the_tag_filter_shows_a_chosen_tag_it_would_not_offer(viewer_client):
    DeploymentFactory(tags=[f"rare-{n:02d}" for n in range(60)])
    response = viewer_client.get(DEPLOYMENTS, {"tag": "rare-58"})
    tag_filter = next(f for f in response.context["cl"].filter_specs if f.title == "tag")
    assert ("rare-58", "rare-58") in tag_filter.lookup_choices
    assert len(response.context["cl"].result_list) == 1


def test_the_flow_filter_offers_50_flows_and_the_chosen_one(viewer_client):
    flows = [FlowFactory(name=f"flow-{n:02d}") for n in range(60)]
    response = viewer_client.get(DEPLOYMENTS, {"flow__id__exact": str(flows[-1].pk)})
    flow_filter = next(f for f in response.context["cl"].filter_specs if f.title == "flow")
    names = [name for _, name in flow_filter.lookup_choices]
    assert names == [f"flow-{n:02d}" for n in range(50)] + ["flow-59"]


@pytest.mark.parametrize("model", ["flow", "variable"])
def test_flow_and_variable_lists_show_five_tags_then_a_count(viewer_client, model):
    factory = FlowFactory if model == "flow" else VariableFactory
    factory.create_batch(20, tags=[f"{n:03d}".ljust(255, "t") for n in range(100)])
    response = viewer_client.get(reverse(f"admin:catalog_{model}_changelist"))
    content = response.content.decode()
    assert content.count('<span class="more-tags" title="95 more">+95</span>') == 20
    assert len(response.content) < 100_000


# JSON fields Python cannot read ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "Enter valid JSON: nested more than 254 levels deep."),
        ("1" * 5000, "Enter valid JSON: an integer of 5,000 digits; at most 4,300 can be read."),
    ],
    ids=["deep", "long-integer"],
)
def test_a_json_field_python_cannot_read_is_a_form_error(admin_client, text, message):
    before = database_fingerprint()
    response = admin_client.post(
        reverse("admin:catalog_variable_add"), {"name": "unreadable", "value": text, "tags": ""}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["value"] == [message]
    assert database_fingerprint() == before
