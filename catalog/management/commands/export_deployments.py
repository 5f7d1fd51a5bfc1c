"""`export_deployments`: the catalog as a bundle the importer takes back, or a prefect.yaml."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.importing.exporter import (
    bundle_parts,
    deployments_to_export,
    flows_to_export,
    variables_left_out,
    write_bundle,
    write_prefect_yaml,
)


class Command(BaseCommand):
    help = (
        "Export deployments as a JSON bundle (flows, limits, work pools, deployments, and "
        "with --include-variables the variables) that import_deployments takes back, or as "
        "a prefect.yaml."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--format", choices=["json", "yaml"], default="json")
        parser.add_argument(
            "--flow", help="Only this flow (by name) and its deployments, if it has any."
        )
        parser.add_argument(
            "--tag", help="Only the deployments with this tag (and the flows of those)."
        )
        parser.add_argument(
            "--include-variables",
            action="store_true",
            help="Put every variable into the JSON bundle (left out by default: "
            "variables may hold secrets).",
        )
        parser.add_argument("--output", type=Path, help="Write here instead of to stdout.")

    def handle(
        self,
        *args,
        format: str,
        flow: str | None,
        tag: str | None,
        include_variables: bool = False,
        output: Path | None,
        **options,
    ) -> None:
        if include_variables and format != "json":
            raise CommandError("--include-variables: a prefect.yaml holds no variables.")
        deployments = deployments_to_export(flow, tag)
        if output:
            with output.open("w", encoding="utf-8") as stream:
                counts = self.write(stream, format, deployments, flow, tag, include_variables)
            what = ", ".join(f"{count} {name}" for name, count in counts)
            self.stderr.write(f"Exported {what} to {output}.")
        else:
            self.stdout.ending = ""  # the export's own text, written piece by piece as read
            self.write(self.stdout, format, deployments, flow, tag, include_variables)

    def write(self, stream, format, deployments, flow, tag, include_variables) -> list:
        """The export written to `stream` as it is read; how many of each kind."""
        if format != "json":
            return [("deployments", write_prefect_yaml(stream, deployments))]
        parts = bundle_parts(
            deployments, flows=flows_to_export(flow, tag), include_variables=include_variables
        )
        written = write_bundle(stream, parts)
        left_out = None if include_variables else variables_left_out()
        if left_out:
            self.stderr.write(f"note: {left_out}.")
        kinds = ["deployments", "flows"] + (["variables"] if include_variables else [])
        return [(kind, written[kind]) for kind in kinds]
