# ruff: noqa  (flows written as users write them: legacy typing, mutable defaults)
"""Every way of applying Prefect's flow decorator."""

import prefect
from prefect import flow as prefect_flow
from prefect.flows import flow

FLOW_NAME = "Quarterly Report"
DESCRIPTION = "Explicit description wins over the docstring."


@prefect.flow
def bare_attribute(x: int = 1):
    """Decorated as prefect.flow, without a call."""


@prefect.flow(name="called-attribute", version="2024.06.1")
def called_attribute():
    pass


@prefect_flow(name=FLOW_NAME, description=DESCRIPTION, version="2.1.0")
def quarterly_report(quarter: int, year: int = 2024):
    """This docstring loses to the explicit description."""


@flow(name="", description="", version="")
def __double__underscored_name_2(value: str = "v"):
    """Empty options fall back to the defaults: name, docstring, file hash."""


@flow(version=None, description=None)
def empty_docstring():
    """"""


@flow(timeout_seconds=60, persist_result=False)
def self_and_cls(self, cls, json: int = 1, copy: str = "c"):
    """Prefect leaves `self` and `cls` out, but counts them in positions.

    Parameters named like pydantic's BaseModel methods are kept as they are.
    """


@flow
def key_order(default: list[int] = [1], properties: dict[str, int] = {"b": 1, "a": 2}):
    """pydantic leaves the keys of these two parameters unsorted.

    Args:
        default: A parameter called `default`.
        properties: And one called `properties`.
    """


def helper():
    """Not a flow: only flows are captured."""
