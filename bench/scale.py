"""Read paths and imports from 10,000 to 1,000,000 deployments: flat or not.

    uv run python bench/scale.py [--sizes 10000,100000,1000000] [--repeat 15] [--keep]
        [--chunk 10000] [--server postgres://postgres@127.0.0.1:5432] [--load-only]
        [--case-seconds 20] [--explain TEXT ...] [--only TEXT ...] [--run 4]
        [--sequential] [--database-prefix catalog_scale] [--groups api,admin]

For each size, a PostgreSQL database `catalog_scale_<size>` (`catalog_scale_10k`, ...;
`--database-prefix` changes `catalog_scale`, to time a copy of a loaded database) is
loaded through the importer (`bench/scale_load.py`) in chunk files of `--chunk`
deployments, each imported by a process of its own so that its peak memory (VmHWM) is
its alone; then one chunk is imported again (every deployment unchanged). Each
deployment has 3 schedules, tags and labels, one of 40 flows, 4 work pools and their
queues, spread so that each filter matches about 1%, 10% or 50% of the rows
(`bench/scale_data.py`).

Then each read path (`bench/scale_cases.py`) is timed in-process (Django's test client,
no network: request in, response out) and its queries counted: GET by id and by name,
`POST /api/deployments/filter` with each filter of Prefect's grammar at offsets 0 and
10,000 and each sort, `/count` and `/paginate` with the same filters, the REST listing,
the admin list with each filter and search, the change page and the fleet calendar.
Requests that count their matches exactly (count, paginate, the REST listing, a filtered
admin list) are reported apart: their cost may grow with the matches.

The sizes are timed in turn, in one process holding a connection to each database: for
each read path, after its warm-ups at every size, each of `--repeat` rounds sends
`--run` requests in a row to each size and times the last of them. A load on the machine
that comes and goes then falls on every size alike; timed one size after the other, it
moved a ratio more than the catalog did (2026-12-07, eighth session, in
`bench/README.md`). `--sequential` times each size in its own process instead, after its
load, `--repeat` requests in a row after 2 warm-ups.

The summary divides the largest size's figures by the smallest's, flagging any read path
above 2x; compares the import rate (target >= 0.8x) and the peak memory (target < 1 GB).
Without `--keep` each database is made afresh and dropped at the end; with it a database is
kept, and loaded further only when it holds fewer deployments than its size. The figures
of the load that filled a kept database are stored in it (table `bench_scale_load`) and
printed again.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

from scale_cases import Case, admin_cases, api_cases, check, short_answer
from scale_data import DATABASE_PREFIX, ROOT, database_name
from scale_load import database_figures, kept_load, load, new_deployment_rates

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_SIZES = "10000,100000,1000000"
FLAT_LIMIT = 2.0
RATE_TARGET = 0.8
MEMORY_TARGET_MB = 1024
MIN_SAMPLES = 5


# Timing -------------------------------------------------------------------------------


def timed(case: Case, index: int) -> float:
    """Milliseconds of one request; `case.before` runs first, untimed."""
    if case.before is not None:
        case.before(index)
    started = time.perf_counter()
    response = case.send(index)
    elapsed = (time.perf_counter() - started) * 1000
    check(case, response)
    return elapsed


def warm_up(case: Case, repeat: int) -> None:
    # A deployment's JSON is rendered and kept at its first read (`manage.py warm_json`
    # renders them all): the warm-ups read each deployment the repetitions will read.
    for warmup in range(repeat + 2 if case.each_row else 2):
        timed(case, warmup)


def figures_of(case: Case, times: list[float], repeat: int) -> dict:
    """The timed requests' figures, and the queries and answer of one more request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if case.before is not None:
        case.before(repeat)
    with CaptureQueriesContext(connection) as queries:
        response = case.send(0)
    return {
        "group": case.group,
        "label": case.label,
        "counts": case.counts,
        "median": statistics.median(times),
        "p99": percentile_99(times),
        "samples": len(times),
        "queries": len(queries),
        "answer": short_answer(response),
    }


def measure(case: Case, repeat: int, budget: float) -> dict:
    """`repeat` requests in a row after the warm-ups; fewer (at least MIN_SAMPLES) when
    they take more than `budget` seconds in all, so that a slow path cannot stall the run."""
    warm_up(case, repeat)
    times = []
    began = time.perf_counter()
    for index in range(repeat):
        if len(times) >= MIN_SAMPLES and time.perf_counter() - began > budget:
            break
        times.append(timed(case, index))
    return figures_of(case, times, repeat)


def measure_in_turn(sides: list[tuple[str, Case]], arguments: argparse.Namespace) -> list:
    """One read path at each size (`sides`: its database and its case) in turn: each
    round sends `--run` requests in a row to each size and times the last, so that each
    timed request follows one just like it on the same PostgreSQL backend, as in a
    sequential run. The budget, as `measure`'s, is for each size. With
    `fresh_connections` (bench/scale_pairs.py) each turn opens its connection anew."""
    repeat, run = arguments.repeat, arguments.run
    fresh = getattr(arguments, "fresh_connections", False)
    for name, case in sides:
        use_database(name, fresh)
        warm_up(case, repeat)
    times: list[list[float]] = [[] for _ in sides]
    began = time.perf_counter()
    for index in range(repeat):
        spent = time.perf_counter() - began
        if index >= MIN_SAMPLES and spent > arguments.case_seconds * len(sides):
            break
        for side, (name, case) in enumerate(sides):
            use_database(name, fresh)
            for _ in range(run - 1):
                timed(case, index)
            times[side].append(timed(case, index))
    figures = []
    for side, (name, case) in enumerate(sides):
        use_database(name, fresh)
        figures.append(figures_of(case, times[side], repeat))
    return figures


def explain(case: Case) -> None:
    """The plan of each SELECT the case sends, as PostgreSQL ran it (EXPLAIN ANALYZE)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if case.before is not None:
        case.before(0)
    with CaptureQueriesContext(connection) as queries:
        case.send(0)
    print(f"\n=== {case.label}: {len(queries)} queries")
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip("( ").upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
            print(f"--- [{query['time']} s] {sql[:600]}\n{plan}")


def percentile_99(times: list[float]) -> float:
    # Inclusive: the exclusive method reaches past the slowest of few samples.
    return (
        statistics.quantiles(times, n=100, method="inclusive")[-1] if len(times) > 1 else times[0]
    )


def chosen(cases: list[Case], texts: list[str] | None) -> list[Case]:
    if not texts:
        return cases
    return [case for case in cases if any(text in case.label for text in texts)]


def logged_in_cases(size: int, groups: str) -> list[Case]:
    """The read paths of `groups` at `size`, sent by a staff user's client."""
    from django.contrib.auth.models import User
    from django.test import Client

    user, _ = User.objects.get_or_create(username="bench", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    # The first request of a process loads the URL patterns and views: no read path's.
    client.get("/api/health")
    cases = api_cases(client, size) if "api" in groups else []
    return cases + (admin_cases(client, size) if "admin" in groups else [])


def progress(number: int, total: int, label: str, medians: list[float]) -> None:
    times = " / ".join(f"{median:.1f}" for median in medians)
    print(f"  [{number}/{total}] {label}: {times} ms", file=sys.stderr, flush=True)


def read_figures(size: int, arguments: argparse.Namespace) -> list[dict]:
    """Each read path at one size, in a row (`--sequential`), or its plans (`--explain`)."""
    cases = chosen(logged_in_cases(size, arguments.groups), arguments.only)
    if arguments.explain:
        for case in chosen(cases, arguments.explain):
            explain(case)
        return []
    figures = []
    for number, case in enumerate(cases, start=1):
        figures.append(measure(case, arguments.repeat, arguments.case_seconds))
        progress(number, len(cases), case.label, [figures[-1]["median"]])
    return figures


# The sizes in turn, in one process -----------------------------------------------------

OPEN: dict = {}
CACHES: dict = {}


def use_database(name: str, fresh: bool = False) -> None:
    """Point the default connection at `name` (outside any timing). Each database keeps
    one open connection, as a server's worker keeps its own between requests
    (`DATABASE_CONN_MAX_AGE`); with `fresh`, it is opened anew each time instead, as with
    `DATABASE_CONN_MAX_AGE=0`, so every request pays a new backend's first queries.
    Each database has its own Django cache too (the admin's tag choices), as each
    catalog's workers have theirs."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache
    from django.db import connections
    from django.db.utils import load_backend

    if fresh or name not in OPEN:
        if name in OPEN:
            OPEN[name].close()
        settings = {**connections.settings["default"], "NAME": name}
        wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, "default")
        wrapper.ensure_connection()
        OPEN[name] = wrapper
    connections["default"] = OPEN[name]
    caches["default"] = CACHES.setdefault(name, LocMemCache(f"bench-{name}", {}))


def reads_in_turn(sizes: list[int], arguments: argparse.Namespace) -> None:
    """In a process of its own: every read path at every size in turn; prints each
    size's figures as JSON."""
    names = [database_name(size, arguments.database_prefix) for size in sizes]
    set_up_django(f"{arguments.server}/{names[0]}")
    by_size = []
    for size, name in zip(sizes, names, strict=True):
        use_database(name)
        by_size.append({case.label: case for case in logged_in_cases(size, arguments.groups)})
    labels = [case.label for case in chosen(list(by_size[0].values()), arguments.only)]
    figures: dict[int, list[dict]] = {size: [] for size in sizes}
    for number, label in enumerate(labels, start=1):
        sides = [(name, cases[label]) for name, cases in zip(names, by_size, strict=True)]
        for size, item in zip(sizes, measure_in_turn(sides, arguments), strict=True):
            figures[size].append(item)
        progress(number, len(labels), label, [figures[size][-1]["median"] for size in sizes])
    print("READS " + json.dumps(figures))


def run_reads_in_turn(sizes: list[int], arguments: argparse.Namespace) -> dict[int, list]:
    command = [sys.executable, __file__, "--reads-in-turn", ",".join(map(str, sizes))]
    done = subprocess.run(
        command + passed_options(arguments), cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"the reads in turn failed (exit {done.returncode})")
    line = next(line for line in done.stdout.splitlines() if line.startswith("READS "))
    return {int(size): reads for size, reads in json.loads(line[6:]).items()}


# One size, in a process of its own (Django is set up once per database) ----------------


def set_up_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CATALOG_REQUEST_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    # The admin's date filter sends naive dates; Django warns, and the warning is no figure.
    warnings.filterwarnings("ignore", "DateTimeField .* received a naive datetime")


def one_size(size: int, arguments: argparse.Namespace) -> None:
    url = f"{arguments.server}/{database_name(size, arguments.database_prefix)}"
    set_up_django(url)
    from django.core.management import call_command

    migrate_if_needed(call_command)
    loaded = load(size, arguments.chunk, url, arguments.database_prefix)
    loaded = kept_load(loaded)
    result = {"size": size, "load": loaded, "database": database_figures(), "reads": []}
    if not arguments.load_only and (arguments.sequential or arguments.explain):
        result["reads"] = read_figures(size, arguments)
    print("RESULT " + json.dumps(result))


def migrate_if_needed(call_command) -> None:
    """`migrate` only when a migration is pending: its post_migrate handlers clear every
    kept JSON body (and give each deployment its row with a NOT IN that takes minutes
    past ~150,000 deployments at PostgreSQL's default work_mem), which a bench of reads
    on a kept database must not pay for, nor time the first reads of."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", verbosity=0)


def run_size(size: int, arguments: argparse.Namespace) -> dict:
    name = database_name(size, arguments.database_prefix)
    if not arguments.keep:
        drop_database(arguments.server, name)
    create_database(arguments.server, name)
    command = [sys.executable, __file__, "--one-size", str(size), *passed_options(arguments)]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"size {size:,} failed (exit {done.returncode})")
    lines = done.stdout.splitlines()
    for line in lines:
        if not line.startswith("RESULT "):
            print(line)
    return json.loads(next(line for line in lines if line.startswith("RESULT "))[7:])


def passed_options(arguments: argparse.Namespace) -> list[str]:
    options = ["--repeat", str(arguments.repeat), "--chunk", str(arguments.chunk)]
    options += ["--case-seconds", str(arguments.case_seconds), "--groups", arguments.groups]
    options += [option for text in arguments.explain or [] for option in ("--explain", text)]
    options += [option for text in arguments.only or [] for option in ("--only", text)]
    options += ["--server", arguments.server, "--database-prefix", arguments.database_prefix]
    options += ["--run", str(arguments.run)] + (["--sequential"] if arguments.sequential else [])
    return options + (["--load-only"] if arguments.load_only else [])


def server_connection(server: str):
    import psycopg

    return psycopg.connect(f"{server}/postgres", autocommit=True)


def create_database(server: str, name: str) -> None:
    with server_connection(server) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not exists.fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(server: str, name: str) -> None:
    with server_connection(server) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The report ---------------------------------------------------------------------------


def report(results: list[dict], arguments: argparse.Namespace) -> None:
    sizes = [result["size"] for result in results]
    print(
        f"\nScale of the catalog, {', '.join(f'{size:,}' for size in sizes)} deployments "
        "x 3 schedules, PostgreSQL"
    )
    report_loads(results)
    if not arguments.load_only and not arguments.explain:
        report_reads(results, arguments.repeat)
        print(f"\ntimed: {how_timed(arguments)}")
    print("\ncommand: uv run python bench/scale.py " + " ".join(sys.argv[1:]))


def how_timed(arguments: argparse.Namespace) -> str:
    if arguments.sequential:
        return "each size in its own process, after its load, the requests in a row"
    return (
        f"the sizes in turn in one process, {arguments.run} requests in a row to a size "
        "(the last one timed) before the next size's turn"
    )


def report_loads(results: list[dict]) -> None:
    print(
        "\nImport (chunks of their own process; rate = deployments / seconds inside import_paths)"
    )
    print(
        f"{'size':>10} {'rate/s':>8} {'wall/s':>8} {'peak MB':>8} {'again/s':>8} "
        f"{'again MB':>8} {'db MB':>8} {'depl. MB':>9} {'sched. MB':>9} {'kept':>5}"
    )
    for result in results:
        load, database = result["load"] or {}, result["database"]
        # "-": a database loaded by other means, or whose load was stopped before its end.
        known = [
            f"{load[key]:8.0f}" if key in load else f"{'-':>8}"
            for key in ("rate", "wall_rate", "peak_mb", "again_rate", "again_peak_mb")
        ]
        print(
            f"{result['size']:>10,} {' '.join(known)} {database['database_mb']:8.0f} "
            f"{database['deployment_table_mb']:9.0f} {database['schedule_table_mb']:9.0f} "
            f"{'yes' if load.get('kept') else 'no':>5}"
        )
    loads = [result["load"] for result in results if result["load"]]
    for result in results:
        rates = (result["load"] or {}).get("chunk_rates", [])
        if len(rates) > 1:
            print(
                f"{result['size']:,}: first chunk {rates[0]}/s, last chunk {rates[-1]}/s "
                f"({rates[-1] / rates[0]:.2f}x); chunk peaks up to "
                f"{max(result['load']['chunk_peaks_mb'])} MB"
            )
    if len(loads) > 1:
        ratio = loads[-1]["rate"] / loads[0]["rate"]
        verdict = "met" if ratio >= RATE_TARGET else "MISSED"
        print(
            f"import rate while loading, largest / smallest: {ratio:.2f}x "
            f"(target >= {RATE_TARGET}x: {verdict})"
        )
    report_rates_in_turn(results)
    peaks = [max(load["peak_mb"], load["again_peak_mb"]) for load in loads]
    peaks += [result["in_turn"]["peak_mb"] for result in results if "in_turn" in result]
    if peaks:
        verdict = "met" if max(peaks) < MEMORY_TARGET_MB else "MISSED"
        print(
            f"peak memory, first import and re-import: {max(peaks):.0f} MB "
            f"(target < 1 GB: {verdict})"
        )


def report_rates_in_turn(results: list[dict]) -> None:
    """The rates of new deployments imported at each size in turn, after the load."""
    rates = [(item["size"], item["in_turn"]["rate"]) for item in results if "in_turn" in item]
    if not rates:
        return
    each = ", ".join(f"{size:,}: {rate:.0f}/s" for size, rate in rates)
    print(f"new deployments imported at each size in turn, after the load (dry runs): {each}")
    if len(rates) > 1:
        ratio = rates[-1][1] / rates[0][1]
        verdict = "met" if ratio >= RATE_TARGET else "MISSED"
        print(
            f"import rate in turn, largest / smallest: {ratio:.2f}x "
            f"(target >= {RATE_TARGET}x: {verdict})"
        )


def report_reads(results: list[dict], repeat: int) -> None:
    titles = {
        "api": "API reads",
        "admin": "Admin pages",
        "count": "Exact counts (count, paginate, REST listing): may grow with the matches",
    }
    by_size = {
        result["size"]: {read["label"]: read for read in result["reads"]} for result in results
    }
    sizes = list(by_size)
    first, last = sizes[0], sizes[-1]
    labels = [read["label"] for read in results[-1]["reads"]]
    flagged = []
    for group, title in titles.items():
        print(
            f"\n{title}: server time in ms, median / p99 of {repeat} requests (n: fewer, "
            f"when a path took longer than --case-seconds); queries; answer at {last:,}"
        )
        header = "".join(f" {f'{size:,} med/p99':>19}" for size in sizes)
        print(f"{'read path':42}{header} {'ratio':>6} {'q':>4}  answer")
        for label in labels:
            figures = [by_size[size].get(label) for size in sizes]
            if figures[-1]["group"] != group or None in figures:
                continue
            ratio = figures[-1]["median"] / figures[0]["median"]
            counts_differ = len({item["queries"] for item in figures}) > 1
            mark = " !" if ratio > FLAT_LIMIT else ""
            if ratio > FLAT_LIMIT:
                flagged.append((label, ratio, figures[-1]["counts"]))
            cells = "".join(f" {item['median']:9.1f}/{item['p99']:9.1f}" for item in figures)
            queries = (
                "/".join(str(item["queries"]) for item in figures)
                if counts_differ
                else str(figures[-1]["queries"])
            )
            samples = min(item.get("samples", repeat) for item in figures)
            print(
                f"{label[:42]:42}{cells} {ratio:5.1f}x{mark:2} {queries:>4}  "
                f"{figures[-1]['answer']}" + (f" (n={samples})" if samples < repeat else "")
            )
    if len(sizes) > 1:
        print(f"\nNot flat ({last:,} / {first:,} median above {FLAT_LIMIT}x):")
        for label, ratio, counts in flagged:
            print(f"  {label}: {ratio:.1f}x{' (an exact count)' if counts else ''}")
        if not flagged:
            print("  none")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the databases between runs")
    parser.add_argument("--chunk", type=int, default=10_000, help="deployments a file")
    parser.add_argument("--server", default=os.environ.get("BENCH_POSTGRES_SERVER", DEFAULT_SERVER))
    parser.add_argument(
        "--database-prefix",
        default=DATABASE_PREFIX,
        help=f"the databases are <prefix>_10k, <prefix>_1m, ... (default {DATABASE_PREFIX})",
    )
    parser.add_argument(
        "--groups",
        default="api,admin",
        help="the read paths to time: api (with its counts), admin, or both (the default)",
    )
    parser.add_argument("--load-only", action="store_true", help="load and time imports only")
    parser.add_argument(
        "--case-seconds",
        type=float,
        default=20.0,
        help=f"time a read path for at most this long (at least {MIN_SAMPLES} requests)",
    )
    parser.add_argument(
        "--explain",
        action="append",
        metavar="TEXT",
        help="instead of timing, print EXPLAIN ANALYZE of the read paths whose label holds TEXT",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="time only the read paths whose label holds TEXT (e.g. 'admin', 'fleet calendar')",
    )
    parser.add_argument(
        "--run",
        type=int,
        default=4,
        help="requests in a row to one size, the last one timed, before the next size's turn",
    )
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="time each size in its own process, after its load, instead of the sizes in turn",
    )
    parser.add_argument(
        "--import-rounds",
        type=int,
        default=3,
        help="rounds of new deployments imported at each size in turn after the load (0: none)",
    )
    parser.add_argument(
        "--import-deployments", type=int, default=5000, help="deployments a round's file"
    )
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--reads-in-turn", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    if arguments.one_size:
        return one_size(arguments.one_size, arguments)
    if arguments.reads_in_turn:
        return reads_in_turn([int(size) for size in arguments.reads_in_turn.split(",")], arguments)
    sizes = sorted(int(size) for size in arguments.sizes.split(","))
    results = [run_size(size, arguments) for size in sizes]
    if arguments.import_rounds and not arguments.explain:
        names = {size: database_name(size, arguments.database_prefix) for size in sizes}
        urls = {size: f"{arguments.server}/{name}" for size, name in names.items()}
        rates = new_deployment_rates(urls, arguments.import_deployments, arguments.import_rounds)
        for result in results:
            result["in_turn"] = rates[result["size"]]
    if not (arguments.load_only or arguments.sequential or arguments.explain):
        reads = run_reads_in_turn(sizes, arguments)
        for result in results:
            result["reads"] = reads[result["size"]]
    report(results, arguments)
    if not arguments.keep:
        for size in sizes:
            drop_database(arguments.server, database_name(size, arguments.database_prefix))


if __name__ == "__main__":
    main()
