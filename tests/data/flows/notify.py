# ruff: noqa  (flows written as users write them: legacy typing, mutable defaults)
"""Flows whose parameters are models imported from the project's own modules."""

from typing import Optional

import lib.contacts
from lib import kinds
from lib.contacts import Recipient, Team as Group
from lib.kinds import Channel

from prefect import flow


@flow
def notify_team(
    team: Group,
    recipients: list[Recipient],
    extra: Optional[lib.contacts.Recipient] = None,
    channel: Channel = Channel.PUSH,
    priority: kinds.Priority = kinds.Priority.HIGH,
):
    """Send one message to everyone on a team.

    Args:
        team: Who gets the message.
        recipients: People added for this run.
    """


@flow
def notify_one(recipient: Recipient, address: lib.contacts.Address = None):
    pass
