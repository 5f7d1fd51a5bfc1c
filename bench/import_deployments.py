"""Import throughput, with the change history on and off in one run: 10,000 deployments
with 3 schedules each into an empty PostgreSQL database, then the same file again (every
deployment unchanged), then a read of a filter page and of one deployment right after.

    uv run python bench/import_deployments.py [--deployments 10000] [--rounds 2]
        [--database-url postgres://postgres@127.0.0.1:5432/catalog_bench_import]

Each round imports with the history off (`CATALOG_HISTORY=False`: no versions; the
import still renders and keeps every deployment's JSON) and then on, emptying the
catalog's tables first (TRUNCATE) each time. Times are wall-clock for `import_paths()`
(reading, checking and writing, in one transaction), printed with the rate per second
and the ratio on/off. After the import with the history
on, `POST /api/deployments/filter` (a page of 200) and `GET /api/deployments/{id}` are
timed in-process (Django's test client, no network) first and then once warm.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/catalog_bench_import"
READS = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    arguments = parser.parse_args()

    from admin_list import deployment_record, ensure_database, flow_records, setup_django

    ensure_database(arguments.database_url)
    setup_django(arguments.database_url)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deployments.json"
        records = [deployment_record(n) for n in range(arguments.deployments)]
        path.write_text(json.dumps({"flows": flow_records(), "deployments": records}))
        size = path.stat().st_size / 1e6
        timings = {True: [], False: []}
        reads = []
        for _ in range(arguments.rounds):
            for history in (False, True):
                timings[history].append(timed_imports(path, history))
            reads.append(timed_reads(records[arguments.deployments // 2]["id"]))
    report(arguments, size, timings, reads)


def timed_imports(path: Path, history: bool) -> tuple[float, float, str]:
    from django.test import override_settings

    from catalog.importing.run import import_paths

    empty_catalog()
    with override_settings(CATALOG_HISTORY=history):
        started = time.perf_counter()
        first = import_paths([path])
        middle = time.perf_counter()
        import_paths([path])
        ended = time.perf_counter()
    return middle - started, ended - middle, first.summary()


def timed_reads(deployment_id: str) -> dict[str, tuple[float, float]]:
    """Milliseconds of the first read after the import, and the median of later ones."""
    from django.test import Client

    client = Client()
    # The first request of a process loads the URL patterns and views: not the import's.
    assert client.get("/api/health").status_code == 200
    body = json.dumps({"limit": 200, "offset": 2000})
    requests = {
        "POST /api/deployments/filter (200 rows)": lambda: client.post(
            "/api/deployments/filter", body, content_type="application/json"
        ),
        "GET /api/deployments/{id}": lambda: client.get(f"/api/deployments/{deployment_id}"),
    }
    figures = {}
    for label, request in requests.items():
        first = timed(request)
        later = statistics.median(timed(request) for _ in range(READS))
        figures[label] = (first, later)
    return figures


def timed(request) -> float:
    started = time.perf_counter()
    response = request()
    assert response.status_code == 200, response.content[:500]
    return (time.perf_counter() - started) * 1000


def report(arguments, size: float, timings: dict, reads: list) -> None:
    n = arguments.deployments
    print(f"\nImport of {n:,} deployments x 3 schedules ({size:.1f} MB of JSON), PostgreSQL")
    print(f"{'history':8} {'round':>5} {'first s':>8} {'/s':>7} {'again s':>8} {'/s':>7}")
    for history in (False, True):
        for number, (first, again, _) in enumerate(timings[history], start=1):
            label = "on" if history else "off"
            print(
                f"{label:8} {number:5} {first:8.2f} {n / first:7.0f} {again:8.2f} {n / again:7.0f}"
            )
    first_ratio = [on[0] / off[0] for on, off in zip(timings[True], timings[False], strict=True)]
    again_ratio = [on[1] / off[1] for on, off in zip(timings[True], timings[False], strict=True)]
    print("first import, on/off: " + ", ".join(f"{r:.2f}x" for r in first_ratio))
    print("same file again, on/off: " + ", ".join(f"{r:.2f}x" for r in again_ratio))
    print(f"result (history on): {timings[True][-1][2]}")
    print(f"\nReads right after the import with the history on (ms; later: median of {READS})")
    for number, figures in enumerate(reads, start=1):
        for label, (first, later) in figures.items():
            print(f"round {number}  {label:42} first {first:7.1f}  later {later:7.1f}")
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
