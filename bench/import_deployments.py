"""Import throughput: 10,000 deployments with 3 schedules each into an empty PostgreSQL
database, then the same file again (every deployment unchanged).

    uv run python bench/import_deployments.py [--deployments 10000] [--format json|yaml]
        [--database-url postgres://postgres@127.0.0.1:5432/catalog_bench_import]

The catalog's tables are emptied first (TRUNCATE). Times are wall-clock for
`import_paths()` (reading, checking and writing, in one transaction), printed with the
rate per second.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/catalog_bench_import"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=10_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    arguments = parser.parse_args()

    from admin_list import deployment_record, ensure_database, flow_records, setup_django

    ensure_database(arguments.database_url)
    setup_django(arguments.database_url)
    from catalog.importing.run import import_paths

    empty_catalog()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deployments.json"
        records = [deployment_record(n) for n in range(arguments.deployments)]
        path.write_text(json.dumps({"flows": flow_records(), "deployments": records}))
        size = path.stat().st_size / 1e6
        rows = []
        for label in ("first import (all created)", "same file again (all unchanged)"):
            started = time.perf_counter()
            result = import_paths([path])
            seconds = time.perf_counter() - started
            rows.append((label, seconds, arguments.deployments / seconds, result.summary()))
    print(
        f"\nImport of {arguments.deployments:,} deployments x 3 schedules "
        f"({size:.1f} MB of JSON), PostgreSQL"
    )
    print(f"{'run':34} {'seconds':>8} {'per second':>11}  result")
    for label, seconds, rate, summary in rows:
        print(f"{label:34} {seconds:8.2f} {rate:11.0f}  {summary}")
    print(f"re-import speed-up: {rows[0][1] / rows[1][1]:.1f}x")
    print("\ncommand: uv run python bench/import_deployments.py " + " ".join(sys.argv[1:]))


def empty_catalog() -> None:
    """TRUNCATE rather than DELETE: this server runs with autovacuum off, and the dead
    rows that repeated runs would leave behind slow every later run down."""
    from django.apps import apps
    from django.db import connection

    tables = ", ".join(
        model._meta.db_table for model in apps.get_app_config("catalog").get_models()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")


if __name__ == "__main__":
    main()
