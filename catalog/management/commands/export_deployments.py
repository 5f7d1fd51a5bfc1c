"""`export_deployments`: the catalog as a bundle the importer takes back, or a prefect.yaml."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from catalog.importing.exporter import (
    bundle_text,
    deployments_to_export,
    export_bundle,
    export_prefect_yaml,
)


class Command(BaseCommand):
    help = (
        "Export deployments as a JSON bundle (flows, limits, work pools, deployments) that "
        "import_deployments takes back, or as a prefect.yaml."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--format", choices=["json", "yaml"], default="json")
        parser.add_argument("--flow", help="Only the deployments of this flow (by name).")
        parser.add_argument("--tag", help="Only the deployments with this tag.")
        parser.add_argument("--output", type=Path, help="Write here instead of to stdout.")

    def handle(
        self, *args, format: str, flow: str | None, tag: str | None, output: Path | None, **options
    ) -> None:
        deployments = deployments_to_export(flow, tag)
        text = (
            bundle_text(export_bundle(deployments))
            if format == "json"
            else export_prefect_yaml(deployments)
        )
        if output:
            output.write_text(text, encoding="utf-8")
            self.stderr.write(f"Exported {deployments.count()} deployments to {output}.")
        else:
            (self.stdout if self.stdout else sys.stdout).write(text, ending="")
