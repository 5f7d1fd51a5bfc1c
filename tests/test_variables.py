"""Prefect's variables: the routes replayed against a real Prefect 3.9.1 capture, the
shared name and value rules, and the admin.

`tests/data/prefect-variables/` holds 138 requests and the answers a real Prefect server
gave them from an empty database (see its README). They are replayed in order, binding
ids as the capture did, and each answer is compared by status and whole body, key order
included, with ids and timestamps masked.
"""

import json
import re
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from catalog.models import Variable
from catalog.rules import limits
from tests.factories import VariableFactory
from tests.replay import body_shape, expected_location, masked, replay_steps, scenario_capture

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "prefect-variables"
STEPS, CAPTURED, REFUSALS = scenario_capture(DATA)


@pytest.fixture(scope="module")
def replay(django_db_setup, django_db_blocker) -> dict[str, tuple]:
    with django_db_blocker.unblock():
        return replay_steps(STEPS, REFUSALS)


# The API, step by step -----------------------------------------------------------------


@pytest.mark.parametrize("captured", CAPTURED, ids=[step["case"] for step in CAPTURED])
def test_the_step_answers_as_prefect_did(replay, captured):
    status, headers, text, _ = replay[captured["case"]]
    assert status == captured["status"], text[:2000]
    assert body_shape(text) == body_shape(captured["response"])
    if "allow" in captured["headers"]:
        assert headers["allow"] == captured["headers"]["allow"]
    if "location" in captured["headers"]:
        location = re.sub(r"^https?://[^/]+", "", headers["location"])
        assert masked(location) == masked(expected_location(captured))


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_request_changes_nothing(replay, case):
    status, _, _, unchanged = replay[case]
    assert status >= 300
    assert unchanged


# The shared rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [(1.5e-05, "0.000015"), (-1e-05, "-0.00001"), (1e-07, "1e-7"), (1e16, "1e+16"), (0.1, "0.1")],
)
def test_it_measures_floats_as_orjson_writes_them(value, written):
    assert limits.orjson_float(value) == written


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, float("nan"), "\ud800"])
def test_it_refuses_values_orjson_cannot_write(value):
    with pytest.raises(ValueError, match="serializable to JSON"):
        limits.check_variable_value(value)


def test_it_refuses_nesting_deeper_than_orjson_writes():
    deepest = []
    for _ in range(limits.MAX_JSON_DEPTH - 1):
        deepest = [deepest]
    assert limits.check_variable_value(deepest) is deepest
    with pytest.raises(ValueError, match="serializable to JSON"):
        limits.check_variable_value([deepest])


def test_the_database_refuses_a_name_outside_prefects_rule():
    with pytest.raises(IntegrityError), transaction.atomic():
        Variable.objects.create(name="Not Allowed", value=1)


def test_the_model_checks_the_name_and_the_value_size():
    variable = Variable(name="Upper", value="x" * 5000)
    with pytest.raises(Exception) as caught:
        variable.full_clean()
    assert set(caught.value.message_dict) == {"name", "value"}


# The admin -----------------------------------------------------------------------------


def test_the_list_add_and_change_pages_open(admin_client):
    variable = VariableFactory(value=[1, "two", None])
    for url in (
        reverse("admin:catalog_variable_changelist"),
        reverse("admin:catalog_variable_add"),
        reverse("admin:catalog_variable_change", args=[variable.pk]),
    ):
        assert admin_client.get(url).status_code == 200, url


def test_the_list_shows_values_as_json(admin_client):
    VariableFactory(name="region", value={"name": "eu-west"})
    response = admin_client.get(reverse("admin:catalog_variable_changelist"))
    assert "{&quot;name&quot;: &quot;eu-west&quot;}" in response.content.decode()


def test_the_list_searches_names_and_tags(admin_client):
    VariableFactory(name="alpha", tags=["nightly"])
    VariableFactory(name="beta", tags=["hourly"])
    url = reverse("admin:catalog_variable_changelist")
    for term, found in (("alph", "alpha"), ("nightly", "alpha"), ("hourly", "beta")):
        listed = admin_client.get(url, {"q": term}).context["cl"].result_list
        assert [variable.name for variable in listed] == [found], term


def test_the_change_form_shows_the_value_indented(admin_client):
    variable = VariableFactory(value={"region": "eu-west"})
    response = admin_client.get(reverse("admin:catalog_variable_change", args=[variable.pk]))
    assert "{\n  &quot;region&quot;: &quot;eu-west&quot;\n}" in response.content.decode()


def add_variable(admin_client, **fields):
    data = {"name": "region", "value": '"eu-west"', "tags": "", **fields}
    return admin_client.post(reverse("admin:catalog_variable_add"), data)


def test_it_adds_a_variable_with_any_json_value(admin_client):
    response = add_variable(admin_client, value='{"zones": [1, 2]}', tags="etl, nightly")
    assert response.status_code == 302
    variable = Variable.objects.get(name="region")
    assert (variable.value, variable.tags) == ({"zones": [1, 2]}, ["etl", "nightly"])


def test_an_empty_value_box_is_null(admin_client):
    assert add_variable(admin_client, value="").status_code == 302
    assert Variable.objects.get(name="region").value is None


def test_a_bad_json_value_is_a_form_error(admin_client):
    response = add_variable(admin_client, value="{not json")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["value"] == [
        "Enter valid JSON: line 1, column 2: Expecting property name enclosed in double quotes."
    ]
    assert not Variable.objects.exists()


def test_a_value_over_5000_bytes_is_a_form_error(admin_client):
    response = add_variable(admin_client, value=json.dumps("é" * 2500))
    assert response.context["adminform"].form.errors["value"] == [
        "Variable value must be less than 5000 characters"
    ]


def test_a_name_outside_prefects_rule_is_a_form_error(admin_client):
    response = add_variable(admin_client, name="Region")
    assert response.context["adminform"].form.errors["name"] == [limits.BAD_VARIABLE_NAME]
