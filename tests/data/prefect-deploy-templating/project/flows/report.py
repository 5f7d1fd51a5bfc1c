"""Flows for the templating capture: `prefect deploy` imports this file, the catalog
only reads it."""

from prefect import flow


@flow(name="regional-report", description="Builds the regional report.")
def report(
    region: str,
    settings: dict | None = None,
    retries: int = 0,
    label: str = "",
    missing_var: str = "",
    missing_inline: str = "",
    missing_env: str = "",
    unknown_output: str = "",
    bare_name: str = "",
    inline_output: str = "",
    zones: list | None = None,
):
    """Ignored: the decorator's description wins."""


@flow
def cleanup(days: int = 7):
    """Removes old report files."""
