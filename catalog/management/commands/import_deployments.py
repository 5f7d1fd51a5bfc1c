"""`import_deployments`: files or a live Prefect server into the catalog, all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.importing.progress import progress_printer
from catalog.importing.records import ImportFailed, ImportResult, Input
from catalog.importing.run import import_context, import_input
from catalog.importing.sources import open_paths
from catalog.importing.sources.remote import check_url, fetch_bundle
from catalog.rules.problems import one_line
from catalog.rules.reasons import ReasonError, checked_reason


def import_reason(given: str | None) -> str | None:
    try:
        return checked_reason(given)
    except ReasonError as error:
        raise CommandError(f"--reason: {error}") from None


class Command(BaseCommand):
    help = (
        "Import deployments from files of Prefect API JSON (an object, a list, a paginate "
        "page, JSON Lines, an export bundle), from prefect.yaml files, or from a live Prefect "
        "server. All records are checked first; any problem aborts with nothing written."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="*", type=Path, metavar="PATH")
        parser.add_argument(
            "--format",
            choices=["json", "jsonl", "yaml"],
            help="The files' format (default: from each file's extension).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Run the whole import, print what would change, roll back.",
        )
        parser.add_argument(
            "--flow-name",
            help="Name for a flow the input refers to by id but "
            "does not describe (default: flow-<first 8 hex digits of its id>).",
        )
        parser.add_argument(
            "--from-api",
            metavar="URL",
            help="Read a live Prefect server's API, e.g. http://host:4200/api.",
        )
        parser.add_argument("--api-key", help="With --from-api: send `Authorization: Bearer`.")
        parser.add_argument(
            "--basic-auth",
            metavar="USER:PASSWORD",
            help="With --from-api: send basic auth (PREFECT_API_AUTH_STRING).",
        )
        parser.add_argument("--quiet", action="store_true", help="No progress output.")
        parser.add_argument("--reason", help="Why this import is made, kept in the change history.")

    def handle(
        self,
        *args,
        paths,
        format,
        dry_run,
        flow_name,
        from_api,
        api_key,
        basic_auth,
        quiet,
        reason=None,
        **options,
    ) -> None:
        if not paths and not from_api:
            raise CommandError("Give files to import, or --from-api URL.")
        reason = import_reason(reason)
        try:
            given = self.read(paths, format, from_api, api_key, basic_auth)
            result = import_input(
                given,
                flow_name=flow_name,
                dry_run=dry_run,
                progress=None if quiet else progress_printer(self.stderr._out),
                context=import_context(given, reason),
            )
        except ImportFailed as exc:
            failed = ImportResult(errors=exc.total)
            self.stdout.write(f"deployments: {failed.deployment_counts()}")
            raise CommandError(
                "Import refused; nothing was written.\n" + "\n".join(exc.problems)
            ) from None
        if dry_run:
            for change in result.changes:
                if change.action != "unchanged":
                    self.stdout.write(one_line(f"would {change.describe()}"))
            if result.changes_left_out:
                self.stdout.write(f"... and {result.changes_left_out:,} more deployments")
        for note in result.notes:
            self.stderr.write(one_line(f"note: {note}"))
        for line in result.report():
            self.stdout.write(line)
        if options.get("verbosity", 1) > 1:
            self.stdout.write(result.details())

    def read(self, paths, file_format, url, api_key, basic_auth) -> Input:
        if url:
            check_url(url)
        given = open_paths(paths, file_format=file_format) if paths else Input()
        if url:
            given.extend(Input.of(fetch_bundle(url, api_key=api_key, basic_auth=basic_auth)))
        return given
