"""`export_deployments`: the catalog as a bundle the importer takes back, or a prefect.yaml."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.importing.exporter import (
    bundle_text,
    deployments_to_export,
    export_bundle,
    export_prefect_yaml,
    flows_to_export,
    variables_left_out,
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
        if format == "json":
            bundle = export_bundle(
                deployments,
                flows=flows_to_export(flow, tag),
                include_variables=include_variables,
            )
            text = bundle_text(bundle)
            counts = [("deployments", bundle["deployments"]), ("flows", bundle["flows"])]
            counts += [("variables", bundle["variables"])] if include_variables else []
            left_out = None if include_variables else variables_left_out()
            if left_out:
                self.stderr.write(f"note: {left_out}.")
        else:
            text = export_prefect_yaml(deployments)
            counts = [("deployments", deployments)]
        if output:
            output.write_text(text, encoding="utf-8")
            what = ", ".join(f"{len(rows)} {name}" for name, rows in counts)
            self.stderr.write(f"Exported {what} to {output}.")
        else:
            (self.stdout if self.stdout else sys.stdout).write(text, ending="")
