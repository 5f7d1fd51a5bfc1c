"""Admin deployment list at scale: loads N deployments (3 schedules each) into PostgreSQL
through the importer, then times the changelist unfiltered, filtered by tag and searched.

    uv run python bench/admin_list.py [--deployments 100000] [--repeat 15]
        [--database-url postgres://postgres@127.0.0.1:5432/catalog_bench]

Server time is measured in-process (Django's test client, no network): the time from
request to rendered response. The database is kept between runs; loading happens only
when it holds fewer deployments than asked for. Prints a table and the commands it ran.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/catalog_bench"
TAGS = [f"tag-{n:02d}" for n in range(50)]
FLOWS = 200
CHUNK = 10_000


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    return parser.parse_args()


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not exists.fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # One log line a request would bury the table; the line costs ~20 us of the timings.
    os.environ.setdefault("CATALOG_REQUEST_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def deployment_id(n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-deployment-{n}"))


def deployment_record(n: int) -> dict:
    flow_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-flow-{n % FLOWS}"))
    tags = [TAGS[n % 50], TAGS[(n * 7 + 3) % 50], TAGS[(n * 13 + 5) % 50]]
    return {
        "id": deployment_id(n),
        "name": f"load-{n:06d}",
        "flow_id": flow_id,
        "description": f"Benchmark deployment number {n}.",
        "tags": list(dict.fromkeys(tags)),
        "entrypoint": f"flows/bench_{n % 97}.py:run",
        "paused": n % 10 == 0,
        "work_pool_name": f"pool-{n % 5}",
        "work_queue_name": f"queue-{n % 20}",
        "schedules": [
            {
                "schedule": {
                    "interval": 3600.0,
                    "anchor_date": "2026-01-01T00:00:00Z",
                    "timezone": "UTC",
                },
                "slug": "hourly",
            },
            {
                "schedule": {
                    "cron": f"{n % 60} 9 * * 1-5",
                    "timezone": "Europe/Berlin",
                    "day_or": True,
                },
                "slug": "weekdays",
            },
            {
                "schedule": {
                    "rrule": "DTSTART:20260105T093000\nRRULE:FREQ=WEEKLY;BYDAY=MO",
                    "timezone": "America/New_York",
                },
                "slug": "mondays",
                "active": n % 3 == 0,
            },
        ],
    }


def flow_records() -> list[dict]:
    return [
        {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-flow-{n}")), "name": f"bench-flow-{n}"}
        for n in range(FLOWS)
    ]


def load(wanted: int) -> str:
    from catalog.importing.run import import_paths
    from catalog.models import Deployment

    have = Deployment.objects.count()
    if have >= wanted:
        return f"kept {have} deployments already loaded"
    started, written = time.perf_counter(), 0
    with tempfile.TemporaryDirectory() as folder:
        for first in range(have, wanted, CHUNK):
            last = min(first + CHUNK, wanted)
            path = Path(folder) / f"chunk-{first}.json"
            bundle = {
                "flows": flow_records(),
                "deployments": [deployment_record(n) for n in range(first, last)],
            }
            path.write_text(json.dumps(bundle))
            import_paths([path])
            written += last - first
            print(f"  imported {last}/{wanted}", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    analyze()
    return f"imported {written} deployments in {seconds:.1f} s ({written / seconds:.0f}/s)"


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed_requests(client, url: str, repeat: int) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        client.get(url)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return times, len(queries), response.content.count(b'class="action-select"')


def main() -> None:
    arguments = parse_arguments()
    ensure_database(arguments.database_url)
    setup_django(arguments.database_url)
    from django.contrib.auth.models import User
    from django.test import Client

    print(load(arguments.deployments))
    # No setup_test_environment(): its template instrumentation would be timed too.
    user, _ = User.objects.get_or_create(username="bench", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    cases = [
        ("unfiltered", "/admin/catalog/deployment/"),
        ("filtered by tag", "/admin/catalog/deployment/?tag=tag-17"),
        ("searched by name", "/admin/catalog/deployment/?q=load-004242"),
        ("searched by id", f"/admin/catalog/deployment/?q={deployment_id(4242)}"),
        ("searched by tag text", "/admin/catalog/deployment/?q=tag-33"),
    ]
    print(
        f"\nAdmin deployment list, {arguments.deployments:,} deployments x 3 schedules, "
        f"PostgreSQL, {arguments.repeat} requests each after 2 warm-ups (server time, ms)"
    )
    print(f"{'case':24} {'median':>8} {'p95':>8} {'max':>8} {'queries':>8} {'rows':>6}")
    for label, url in cases:
        times, queries, rows = timed_requests(client, url, arguments.repeat)
        # Inclusive: the exclusive method extrapolates past the largest time on few samples.
        p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
        print(
            f"{label:24} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f} "
            f"{queries:8d} {rows:6d}"
        )
    print("\ncommand: uv run python bench/admin_list.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
