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
    parser.add_argument(
        "--case-seconds", type=float, default=60.0, help="time a read path at most this long"
    )
    arguments = parser.parse_args()

    from scale import chosen, logged_in_cases, measure_in_turn, set_up_django, use_database

    set_up_django(f"{arguments.server}/{arguments.small}")
    sides = [(arguments.small, arguments.small_size), (arguments.large, arguments.large_size)]
    by_side = []
    for name, size in sides:
        use_database(name, arguments.fresh_connections)
        by_side.append({case.label: case for case in logged_in_cases(size, arguments.groups)})
    labels = [case.label for case in chosen(list(by_side[0].values()), arguments.only)]
    print(f"{'read path':48} {'small ms':>9} {'large ms':>9} {'ratio':>6} {'q':>5}")
    for label in labels:
        turns = [(name, cases[label]) for (name, _), cases in zip(sides, by_side, strict=True)]
        small, large = measure_in_turn(turns, arguments)
        ratio = large["median"] / small["median"]
        mark = " !" if ratio > 2 else ""
        queries = {small["queries"], large["queries"]}
        counted = f"{small['queries']}/{large['queries']}" if len(queries) > 1 else str(*queries)
        print(
            f"{label[:48]:48} {small['median']:9.1f} {large['median']:9.1f} {ratio:5.1f}x{mark:2} "
            f"{counted:>4}",
            flush=True,
        )
    print("\ncommand: uv run python bench/scale_pairs.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
