"""The API's read paths at two sizes, timed in turn request by request.

    uv run python bench/scale_pairs.py --small h_api_scale_10k --large h_api_scale_1m
        [--small-size 10000] [--large-size 1000000] [--repeat 9] [--only TEXT ...]
        [--groups api,admin] [--fresh-connections] [--run 1]

Any two loaded databases (kept by `scale.py --keep`, or copies of them): one process
holds both and sends each request to the small one, then to the large one, `--repeat`
times after two warm-ups each, so that both sizes see the same load. `bench/scale.py`
times its own sizes in turn the same way (with `--run 4` by default). Prints the median
server time (in-process, Django's test client) at each size, the ratio and the queries
of each read path of `scale.py`'s API group.

With `--run N` each size takes N requests in a row (the same one), the last of them
timed, before the other size's turn: a request then follows one just like it on the same
PostgreSQL backend, its code and data warm in the CPU's caches, as `scale.py`'s
consecutive requests are. Alternating every request (`--run 1`, the default) makes each
request switch backends, which adds about a millisecond to each side and so narrows the
ratios (2026-12-07, sixth session, in `bench/README.md`).

Each database keeps one open connection, as a worker keeps its own between requests
(`DATABASE_CONN_MAX_AGE`, 60 s by default) and as `scale.py` times them.
`--fresh-connections` opens it anew before each request instead: every request then
pays a new PostgreSQL backend's first queries (some 2 ms here, at either size), which
narrows every ratio; before 2026-12-07 (fifth session) the figures were taken that way.
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", required=True, help="database of the small size")
    parser.add_argument("--large", required=True, help="database of the large size")
    parser.add_argument("--small-size", type=int, default=10_000)
    parser.add_argument("--large-size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument(
        "--run",
        type=int,
        default=1,
        help="requests in a row to one size, the last one timed (see the docstring)",
    )
    parser.add_argument("--only", action="append", help="read paths whose label holds TEXT")
    parser.add_argument(
        "--groups", default="api", help="the read paths to time: api, admin, or api,admin"
    )
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument(
        "--fresh-connections",
        action="store_true",
        help="open the connection anew before each request (as DATABASE_CONN_MAX_AGE=0)",
    )
    arguments = parser.parse_args()

    os.environ["DATABASE_URL"] = f"{arguments.server}/{arguments.small}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CATALOG_REQUEST_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from scale import timed, use_database
    from scale_cases import admin_cases, api_cases

    groups = {"api": api_cases, "admin": admin_cases}
    chosen = [groups[group] for group in arguments.groups.split(",")]

    sides = [(arguments.small, arguments.small_size), (arguments.large, arguments.large_size)]
    clients = []
    for name, size in sides:
        use_database(name, arguments.fresh_connections)
        user, _ = User.objects.get_or_create(username="bench", is_staff=True, is_superuser=True)
        client = Client()
        client.force_login(user)
        client.get("/api/health")
        clients.append((name, [case for cases in chosen for case in cases(client, size)]))
    labels = [case.label for case in clients[0][1]]
    if arguments.only:
        labels = [label for label in labels if any(text in label for text in arguments.only)]
    by_label = [{case.label: case for case in cases} for _, cases in clients]
    print(f"{'read path':48} {'small ms':>9} {'large ms':>9} {'ratio':>6} {'q':>5}")
    for label in labels:
        times: list[list[float]] = [[], []]
        queries = []
        for side, (name, _) in enumerate(clients):
            use_database(name, arguments.fresh_connections)
            case = by_label[side][label]
            for warmup in range(arguments.repeat + 2 if case.each_row else 2):
                timed(case, warmup)
        for index in range(arguments.repeat):
            for side, (name, _) in enumerate(clients):
                use_database(name, arguments.fresh_connections)
                for _ in range(arguments.run - 1):
                    timed(by_label[side][label], index)  # the run's first requests, untimed
                times[side].append(timed(by_label[side][label], index))
        for side, (name, _) in enumerate(clients):
            use_database(name, arguments.fresh_connections)
            with CaptureQueriesContext(connection) as captured:
                by_label[side][label].send(0)
            queries.append(len(captured))
        small, large = (statistics.median(side) for side in times)
        mark = " !" if large / small > 2 else ""
        counted = "/".join(str(q) for q in queries) if queries[0] != queries[1] else str(queries[0])
        print(
            f"{label[:48]:48} {small:9.1f} {large:9.1f} {large / small:5.1f}x{mark:2} {counted:>4}",
            flush=True,
        )
    print("\ncommand: uv run python bench/scale_pairs.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
