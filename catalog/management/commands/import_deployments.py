from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.importer import ImportFailed, import_paths


class Command(BaseCommand):
    help = (
        "Import deployments from files of Prefect API JSON: one deployment, a list, a "
        "/deployments/paginate page, or an export bundle. All records or none are written."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument(
            "--flow-name",
            help="Name for a flow the input refers to but does not describe "
            "(default: flow-<first 8 hex digits of its id>).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and count, then write nothing."
        )

    def handle(self, *args, paths: list[Path], flow_name: str | None, dry_run: bool, **options):
        try:
            result = import_paths(paths, flow_name=flow_name, dry_run=dry_run)
        except ImportFailed as exc:
            raise CommandError(
                "Import refused; nothing was written.\n" + "\n".join(exc.problems)
            ) from None
        self.stdout.write(result.summary())
