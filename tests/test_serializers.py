"""Serializers against the bodies Prefect's server returned for the same objects."""

import pytest

from catalog.importing.specs import flow_from_record, limit_from_record
from catalog.rendering.jsontext import dumps
from catalog.rendering.serializers import ConcurrencyLimitSerializer, FlowSerializer
from tests.conftest import prefect_file, prefect_json


def test_a_flow_renders_as_prefect_rendered_it():
    flow = flow_from_record(prefect_json("01_flow_create.response.json"))
    assert (
        dumps(FlowSerializer(flow).data)
        == prefect_file("01_flow_create.response.json").read_bytes()
    )


def test_a_global_concurrency_limit_renders_as_prefect_rendered_it():
    limit = limit_from_record(prefect_json("03_gcl_v2_create.response.json"))
    expected = prefect_file("03_gcl_v2_create.response.json").read_bytes()
    assert dumps(ConcurrencyLimitSerializer(limit).data) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_the_renderer_refuses_numbers_json_cannot_hold(value):
    with pytest.raises(ValueError):
        dumps({"x": value})
