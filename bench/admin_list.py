"""Admin deployment list and fleet calendar at scale: loads N deployments (3 schedules each)
into PostgreSQL through the importer, then times the changelist unfiltered, filtered by one
and two tags and searched, a change page, and the calendar (week and day views, filters, a
slot, right after an import and cold).

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
from datetime import UTC, datetime, timedelta
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
        "schedules": bench_schedules(n),
    }


# Interval anchors are creation times, as Prefect's default; crons run in several zones.
INTERVALS = [3600.0, 3600.0, 3600.0, 900.0, 1800.0, 86400.0]
CRON_ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"]
CREATED = datetime(2025, 1, 1, tzinfo=UTC)


def bench_schedules(n: int) -> list[dict]:
    anchor = CREATED + timedelta(seconds=n * 317, microseconds=n % 1000)
    cron = f"{n % 60} * * * *" if n % 4 == 0 else f"{n % 60} 9 * * 1-5"
    return [
        {
            "schedule": {
                "interval": INTERVALS[n % len(INTERVALS)],
                "anchor_date": anchor.isoformat().replace("+00:00", "Z"),
                "timezone": "UTC",
            },
            "slug": "interval",
        },
        {
            "schedule": {
                "cron": cron,
                "timezone": CRON_ZONES[n % len(CRON_ZONES)],
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
    ]


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


def timed_requests(client, url: str, repeat: int) -> tuple[list[float], int, int, int]:
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
    rows = response.content.count(b'class="action-select"')
    return times, len(queries), rows, len(response.content)


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
        ("two tags, any", "/admin/catalog/deployment/?tag=tag-17&tag=tag-33&tag_match=any"),
        ("change page", f"/admin/catalog/deployment/{deployment_id(4242)}/change/"),
    ]
    print(
        f"\nAdmin deployment list, {arguments.deployments:,} deployments x 3 schedules, "
        f"PostgreSQL, {arguments.repeat} requests each after 2 warm-ups (server time, ms)"
    )
    print(
        f"{'case':24} {'median':>8} {'p95':>8} {'max':>8} {'queries':>8} {'rows':>6} {'bytes':>8}"
    )
    for label, url in cases:
        times, queries, rows, size = timed_requests(client, url, arguments.repeat)
        # Inclusive: the exclusive method extrapolates past the largest time on few samples.
        p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
        print(
            f"{label:24} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f} "
            f"{queries:8d} {rows:6d} {size:8d}"
        )
    print_calendar_cases(client, arguments)
    print("\ncommand: uv run python bench/admin_list.py " + " ".join(sys.argv[1:]))


def calendar_cases() -> list[tuple[str, str, bool | str]]:
    """(label, url, cold): "import" imports 50 new deployments before each request (the
    change stamp moves, so the definitions are grouped again; expansions of definitions
    seen before are kept); True empties every stored expansion and the process's
    parsed-rule caches before each, the worst case (a new database)."""
    from django.utils import timezone

    today = timezone.now().date().isoformat()
    base = f"/admin/catalog/deployment/calendar/?day={today}"
    slot = f"/admin/catalog/deployment/calendar/slot/?day={today}"
    return [
        ("week, unfiltered", f"{base}&zone=UTC", False),
        ("week, one tag", f"{base}&zone=UTC&tags=tag-17", False),
        ("week, one pool", f"{base}&zone=UTC&work_pool=pool-3", False),
        ("week, one flow", f"{base}&zone=UTC&flow=bench-flow-42", False),
        ("week, Europe/Berlin", f"{base}&zone=Europe/Berlin", False),
        ("day, America/New_York", f"{base}&zone=America/New_York&view=day", False),
        ("slot drill-down", f"{slot}&zone=UTC&from=540&to=600", False),
        ("week, after an import", f"{base}&zone=UTC", "import"),
        ("week, cold (nothing kept)", f"{base}&zone=UTC", True),
        ("week, one tag, cold", f"{base}&zone=UTC&tags=tag-17", True),
    ]


def import_a_few(count: int = 50) -> None:
    """Import `count` new deployments (as an operator's import would), which moves the
    calendar's change stamp: its stored groups no longer count."""
    from catalog.importing.run import import_paths
    from catalog.models import Deployment

    first = 1_000_000 + Deployment.objects.count()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "few.json"
        records = [deployment_record(n) for n in range(first, first + count)]
        path.write_text(json.dumps({"flows": flow_records(), "deployments": records}))
        import_paths([path])


def forget_expansions() -> None:
    from catalog.models import CalendarExpansion
    from catalog.rules import schedule_runs

    CalendarExpansion.objects.all().delete()
    schedule_runs.cron_template.cache_clear()
    schedule_runs.localized_rrule.cache_clear()


def timed_calendar(client, url: str, repeat: int, cold: bool | str) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    for _ in range(repeat if cold else repeat + 2):
        if cold == "import":
            import_a_few()
        elif cold:
            forget_expansions()
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    if cold == "import":
        import_a_few()
    elif cold:
        forget_expansions()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return times if cold else times[2:], len(queries), len(response.content)


def print_calendar_cases(client, arguments: argparse.Namespace) -> None:
    from catalog.models import DeploymentSchedule

    print(
        f"\nFleet calendar, {DeploymentSchedule.objects.count():,} schedules, "
        f"{arguments.repeat} requests each (warm: after 2 warm-ups; after an import: 50 new "
        "deployments imported before each; cold: stored expansions and rule caches emptied "
        "before each) (server time, ms)"
    )
    print(f"{'case':24} {'median':>8} {'p95':>8} {'max':>8} {'queries':>8} {'bytes':>8}")
    for label, url, cold in calendar_cases():
        times, queries, size = timed_calendar(client, url, arguments.repeat, cold)
        p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
        print(
            f"{label:24} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f} "
            f"{queries:8d} {size:8d}"
        )


if __name__ == "__main__":
    main()
