"""The deployment list filtered by several tags, and "export all matching", at scale: on
the database bench/admin_list.py loads (100,000 deployments, 3 schedules each, 50 tags),
times the list with two tags (all / any) and the exports of every deployment matching a
filter, JSON bundle and prefect.yaml, at a few sizes.

    uv run python bench/admin_list_tags_export.py [--repeat 5]
        [--database-url postgres://postgres@127.0.0.1:5432/catalog_bench]

Run bench/admin_list.py first (it loads the deployments). Server time in-process (Django's
test client), median and max; queries and bytes of the last request.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.admin_list import DEFAULT_URL, setup_django  # noqa: E402

LIST = "/admin/catalog/deployment/"
EXPORT = "/admin/catalog/deployment/export/{}/"


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    return parser.parse_args()


def timed(client, url: str, repeat: int) -> tuple[list[float], int, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return times, len(queries), len(response.content), response.status_code


def main() -> None:
    arguments = parse_arguments()
    os.environ.setdefault("CATALOG_ADMIN_EXPORT_MAX_DEPLOYMENTS", "100000")
    setup_django(arguments.database_url)
    from django.contrib.auth.models import User
    from django.test import Client

    from catalog.models import Deployment

    user, _ = User.objects.get_or_create(username="bench", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    # bench/admin_list.py names its deployments load-NNNNNN: a name prefix picks a size.
    cases = [
        ("list, 2 tags, all", f"{LIST}?tag=tag-03&tag=tag-24"),
        ("list, 2 tags, any", f"{LIST}?tag=tag-03&tag=tag-24&tag_match=any"),
        (
            "list, 5 tags, any",
            f"{LIST}?tag_match=any&" + "&".join(f"tag=tag-{n:02d}" for n in range(5)),
        ),
        ("list, 10 tags, all", f"{LIST}?" + "&".join(f"tag=tag-{n:02d}" for n in range(10))),
    ]
    for prefix, label in (("load-0000", "100"), ("load-000", "1,000"), ("load-00", "10,000")):
        for format_name in ("json", "yaml"):
            cases.append(
                (f"export {label}, {format_name}", f"{EXPORT.format(format_name)}?q={prefix}")
            )
    print(f"{Deployment.objects.count():,} deployments, PostgreSQL, server time (ms)")
    print(f"{'case':24} {'median':>8} {'max':>8} {'queries':>8} {'bytes':>11}")
    for label, url in cases:
        times, queries, size, _ = timed(client, url, arguments.repeat)
        print(
            f"{label:24} {statistics.median(times):8.1f} {max(times):8.1f} {queries:8d} {size:11,d}"
        )
    print("\ncommand: uv run python bench/admin_list_tags_export.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
