# ruff: noqa  (flows written as users write them: legacy typing, mutable defaults)
"""A relative import: Prefect loads the flow's file as a package of its folder."""

from .lib.contacts import Address, Recipient
from .lib import kinds

from prefect import flow


@flow
def mail_out(to: list[Recipient], sender: Address, priority: kinds.Priority = kinds.Priority.LOW):
    pass
