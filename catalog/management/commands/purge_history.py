"""`purge_history`: delete every version of one object, leaving one `purged` version that
says who purged its history and why."""

import getpass
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError

from catalog.models import ObjectType
from catalog.rules import limits
from catalog.rules.reasons import ReasonError, checked_reason
from catalog.rules.text import text_problem
from catalog.services.context import Actor, Door, WriteContext
from catalog.services.history import deployments_in_history, history_purge

CHOOSE = (
    "Choose one object: --deployment ID, --flow NAME --name NAME, or --object-type TYPE --id ID."
)


def object_id_from(text: str, option: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise CommandError(f"{option}: {text!r} is not an id.") from None


def deployment_named(flow_name: str, name: str) -> UUID:
    """The one deployment named so, now or in its history (a deleted one too)."""
    found = deployments_in_history(flow_name=flow_name, name=name)
    if not found:
        raise CommandError(
            f"No deployment {flow_name}/{name}, now or in the history: nothing was purged."
        )
    if len(found) > 1:
        ids = ", ".join(str(id) for id in found)
        raise CommandError(
            f"{len(found)} deployments were named {flow_name}/{name} ({ids}): "
            "choose one with --deployment ID."
        )
    return found[0]


def chosen_object(deployment, flow, name, object_type, id) -> tuple[str, UUID]:
    """The object type and id the options name, or a `CommandError` saying what to give."""
    by_id, by_names = deployment is not None, (flow, name) != (None, None)
    by_type = (object_type, id) != (None, None)
    if [by_id, by_names, by_type].count(True) != 1:
        raise CommandError(CHOOSE)
    if by_id:
        return ObjectType.DEPLOYMENT, object_id_from(deployment, "--deployment")
    if by_names:
        if flow is None or name is None:
            raise CommandError("--flow and --name go together: " + CHOOSE)
        return ObjectType.DEPLOYMENT, deployment_named(flow, name)
    if object_type is None or id is None:
        raise CommandError("--object-type and --id go together: " + CHOOSE)
    return object_type, object_id_from(id, "--id")


def operator_named(given: str | None) -> str:
    """Who purges: `--by`, else the user this command runs as."""
    if given is None:
        try:
            given = getpass.getuser()
        except (KeyError, OSError):
            raise CommandError("Cannot tell who runs this command: give --by NAME.") from None
    name = given.strip()
    if not name:
        raise CommandError("--by: it is empty.")
    if len(name) > limits.NAME_MAX_LENGTH:
        raise CommandError(f"--by: it is longer than {limits.NAME_MAX_LENGTH} characters.")
    problem = text_problem(name)
    if problem:
        raise CommandError(f"--by: {problem}.")
    return name


def purge_reason(given: str) -> str:
    try:
        reason = checked_reason(given)
    except ReasonError as error:
        raise CommandError(f"--reason: {error}") from None
    if reason is None:
        raise CommandError("--reason: say why the history is purged; the purge keeps it.")
    return reason


class Command(BaseCommand):
    help = (
        "Delete every version of one object's change history (a deployment whose parameters "
        "held a secret, say), leaving one `purged` version that says who purged it and why. "
        "A deleted deployment's history is found by its flow's name and its own."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--deployment", metavar="ID", help="The deployment's id.")
        parser.add_argument("--flow", metavar="NAME", help="With --name: the deployment's flow.")
        parser.add_argument("--name", metavar="NAME", help="With --flow: the deployment's name.")
        parser.add_argument(
            "--object-type",
            choices=ObjectType.values,
            help="With --id: another kind of object than a deployment.",
        )
        parser.add_argument("--id", metavar="ID", help="With --object-type: the object's id.")
        parser.add_argument("--reason", required=True, help="Why; kept in the `purged` version.")
        parser.add_argument("--by", metavar="NAME", help="Who purges (default: the OS user).")

    def handle(self, *args, deployment, flow, name, object_type, id, reason, by, **options):
        object_type, object_id = chosen_object(deployment, flow, name, object_type, id)
        context = WriteContext(
            Actor.of_operator(operator_named(by)), Door.COMMAND, purge_reason(reason)
        )
        deleted = history_purge(object_type=object_type, object_id=object_id, context=context)
        described = f"{ObjectType(object_type).label} {object_id}"
        if not deleted:
            raise CommandError(f"No history of the {described}: nothing was purged.")
        self.stdout.write(
            f"Purged {deleted} version(s) of the {described}; its history is now one "
            "`purged` version."
        )
