"""Import and read speed of two checkouts of this repository side by side, in one run, with
the same script and data: a refactoring judged against the commit before it.

    uv run python bench/compare_commits.py --base <commit-ish> [--head <commit-ish>]
        [--deployments 10000] [--rounds 3] [--duration 10] [--connections 8] [--warmup 3]
        [--database-url postgres://postgres@127.0.0.1:5432/catalog_bench_compare]

--base, and --head if given, are checked out in temporary `git worktree`s, removed at the
end; without --head, head is this working tree, uncommitted changes included. Both run
with this checkout's .venv Python, in their own root (the cwd, first on sys.path), each
on its own PostgreSQL database (the URL with `_base` or `_head`; created afresh, migrated
by the checkout's `manage.py migrate`, dropped at the end).

One JSON bundle of N deployments (3 schedules each, as bench/admin_list.py writes them)
is written once and given to both. Each round, the checkouts' order turning:

1. imports, in a subprocess per checkout (this script with --time-imports, run in the
   checkout): the catalog's tables emptied (TRUNCATE, as bench/import_deployments.py
   does), then `import_paths()` of the bundle twice, timed: first into the empty catalog
   (all created), then the same file again (all unchanged). The entry point is
   `catalog.importing.run.import_paths`, in the older layout `catalog.importer`'s;
2. GET /api/deployments/{id} of one imported deployment, as bench/api_vs_prefect.py
   measures it: the checkout's gunicorn with config/gunicorn.conf.py and the variables of
   config/production.env.example (DEBUG off, anonymous reads on) on a loopback port, a
   wrk warm-up, then wrk for --duration seconds at --connections; gunicorn is stopped.

The report gives the medians over rounds for base and head, head/base, and the limits a
refactoring is judged by: first import time head <= 1.3x base; re-import time and GET
requests/s within 10% of base (0.90x to 1.10x). Every subprocess has a time limit.
"""

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from admin_list import analyze, deployment_id, deployment_record, flow_records
from api_vs_prefect import (
    Measured,
    Run,
    Target,
    answer_of,
    drop_database,
    in_folder,
    launched,
    manage,
    print_table,
    progress,
    recreate_database,
    run_wrk,
    server_environment,
    turned,
    wait_until_answering,
    wrk_command,
    wrk_or_exit,
)
from import_deployments import empty_catalog

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/catalog_bench_compare"
LABELS = ("base", "head")
GIT_SECONDS = 300


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="the commit-ish head is judged against")
    parser.add_argument("--head", help="a commit-ish; default: this working tree")
    parser.add_argument("--deployments", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds of a wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk's connections")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of wrk before a run")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="_base, _head appended")
    parser.add_argument(
        "--with-parameters",
        action="store_true",
        help="each deployment also gives parameters, an enforced parameter schema and tags",
    )
    # In a checkout's subprocess: time the imports of this bundle (see time_imports).
    parser.add_argument("--time-imports", type=Path, help=argparse.SUPPRESS)
    # wrk's threads and request timeout, as bench/api_vs_prefect.py runs it.
    parser.set_defaults(threads=2, timeout=30, workers=None)
    arguments = parser.parse_args()
    if arguments.base is None and arguments.time_imports is None:
        parser.error("--base is required")
    return arguments


@dataclass
class Checkout:
    """One side of the comparison: its code, its commit, its servers' environment (its
    database and port) and its figures, one a round."""

    label: str
    root: Path
    commit: str
    env: dict[str, str] = field(default_factory=dict)
    first: list[float] = field(default_factory=list)
    again: list[float] = field(default_factory=list)
    get: Measured = field(default_factory=Measured)
    workers: int = 0
    answer_bytes: int = 0


def main() -> None:
    arguments = parse_arguments()
    if arguments.time_imports:
        time_imports(arguments.time_imports)
        return
    run = Run(arguments, Path(tempfile.mkdtemp(prefix="compare-commits-")), wrk_or_exit())
    started, load_before = time.monotonic(), os.getloadavg()
    finished = False
    try:
        with checked_out_both(run) as checkouts:
            benchmark(run, checkouts)
        finished = True
    finally:
        for label in LABELS:
            drop_database(database_url(run, label))
        if finished:
            shutil.rmtree(run.folder)
        else:
            print(f"\nFAILED; the servers' logs are in {run.folder}", file=sys.stderr)
    print_report(run, checkouts, load_before, time.monotonic() - started)


def database_url(run: Run, label: str) -> str:
    return f"{run.arguments.database_url}_{label}"


# Checkouts -------------------------------------------------------------------------------


@contextmanager
def checked_out_both(run: Run) -> Iterator[list[Checkout]]:
    with ExitStack() as stack:
        commitishes = (run.arguments.base, run.arguments.head)
        yield [
            stack.enter_context(checked_out(run, label, commitish))
            for label, commitish in zip(LABELS, commitishes, strict=True)
        ]


@contextmanager
def checked_out(run: Run, label: str, commitish: str | None) -> Iterator[Checkout]:
    """A temporary worktree of `commitish`, removed when the block ends; this working tree
    when there is none."""
    if commitish is None:
        yield Checkout(label, ROOT, working_tree_commit())
        return
    commit = git("rev-parse", "--verify", f"{commitish}^{{commit}}")
    path = run.folder / label
    try:
        progress(f"git worktree add {label} at {commit[:12]} ...")
        git("worktree", "add", "--detach", "--quiet", str(path), commit)
        yield Checkout(label, path, f"{commit} {subject(commit)} (--{label} {commitish})")
    finally:
        if path.exists():
            git("worktree", "remove", "--force", str(path), check=False)


def working_tree_commit() -> str:
    commit = git("rev-parse", "HEAD")
    changed = git("status", "--porcelain")
    state = "with uncommitted changes" if changed else "clean"
    return f"{commit} {subject(commit)} (the working tree, {state})"


def subject(commit: str) -> str:
    return repr(git("log", "-1", "--format=%s", commit)[:72])


def git(*arguments: str, check: bool = True) -> str:
    finished = subprocess.run(
        ["git", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=GIT_SECONDS
    )
    if check and finished.returncode != 0:
        raise RuntimeError(f"git {shlex.join(arguments)} failed:\n{finished.stderr}")
    return finished.stdout.strip()


# The benchmark ---------------------------------------------------------------------------


def benchmark(run: Run, checkouts: list[Checkout]) -> None:
    bundle = write_bundle(run)
    for checkout in checkouts:
        prepare_database(run, checkout)
    for number in range(run.arguments.rounds):
        order = turned(checkouts, number)
        names = " then ".join(checkout.label for checkout in order)
        progress(f"round {number + 1}/{run.arguments.rounds}: {names} ...")
        for checkout in order:
            measure_imports(run, checkout, bundle)
        for checkout in order:
            measure_get(run, checkout)


def write_bundle(run: Run) -> Path:
    """The deployments both checkouts import, written once."""
    path = run.folder / "deployments.json"
    records = [deployment_record(n) for n in range(run.arguments.deployments)]
    if run.arguments.with_parameters:
        records = [with_parameters(record, n) for n, record in enumerate(records)]
    path.write_text(json.dumps({"flows": flow_records(), "deployments": records}))
    return path


# A flow's schema as `prefect deploy` sends it; the records' parameters fit it.
PARAMETER_SCHEMA = {
    "title": "Parameters",
    "type": "object",
    "properties": {
        "day": {"title": "day", "type": "string", "format": "date", "position": 0},
        "batch": {"title": "batch", "default": 100, "type": "integer", "position": 1},
        "regions": {
            "title": "regions",
            "type": "array",
            "items": {"type": "string"},
            "position": 2,
        },
        "dry_run": {"title": "dry_run", "default": False, "type": "boolean", "position": 3},
    },
    "required": ["day"],
}


def with_parameters(record: dict, n: int) -> dict:
    """The record with what a flow deployed by `prefect deploy` gives: parameters that
    the enforced schema checks, and labels."""
    parameters = {"day": "2026-12-01", "batch": n % 500, "regions": ["eu", "us"][: n % 2 + 1]}
    return {
        **record,
        "parameters": parameters,
        "parameter_openapi_schema": PARAMETER_SCHEMA,
        "enforce_parameter_schema": True,
        "labels": {"team": f"team-{n % 7}", "tier": n % 3},
        "job_variables": {"env": {"REGION": "eu"}},
    }


def prepare_database(run: Run, checkout: Checkout) -> None:
    """The checkout's environment for all its processes; its database created afresh and
    migrated by its own migrations."""
    url, static = database_url(run, checkout.label), run.folder / f"static-{checkout.label}"
    checkout.env = server_environment(url, static)
    recreate_database(url)
    manage(run, checkout.env, "migrate", "--noinput", cwd=checkout.root)


def measure_imports(run: Run, checkout: Checkout, bundle: Path) -> None:
    """Runs time_imports in the checkout; checks what the imports did."""
    deployments = run.arguments.deployments
    command = [sys.executable, str(SCRIPT), "--time-imports", str(bundle)]
    line = shlex.join(["python", str(SCRIPT), *command[2:]])
    run.command(f"{in_folder(checkout.root)}DATABASE_URL={checkout.env['DATABASE_URL']} {line}")
    progress(f"  imports: {checkout.label} ...")
    finished = subprocess.run(
        command,
        cwd=checkout.root,
        env=checkout.env,
        capture_output=True,
        text=True,
        timeout=120 + deployments // 50,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"{checkout.label}: the imports failed:\n{finished.stderr}")
    first, again = json.loads(finished.stdout.splitlines()[-1])
    expected = (
        f"created={deployments} updated=0 unchanged=0 errors=0",
        f"created=0 updated=0 unchanged={deployments} errors=0",
    )
    if (first["summary"], again["summary"]) != expected:
        raise RuntimeError(f"{checkout.label}: the imports did {first}, then {again}")
    checkout.first.append(first["seconds"])
    checkout.again.append(again["seconds"])


def measure_get(run: Run, checkout: Checkout) -> None:
    """The checkout's gunicorn, a wrk warm-up and one wrk run of GET by id; stopped."""
    arguments = run.arguments
    target = Target(checkout.label, f"http://{checkout.env['GUNICORN_BIND']}")
    target.deployment_id = deployment_id(arguments.deployments // 2)
    target.log = run.folder / f"gunicorn-{checkout.label}.log"
    url = target.url(f"/deployments/{target.deployment_id}")
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
    progress(f"  GET by id: {checkout.label} ...")
    with launched(run, command, checkout.env, target.log, cwd=checkout.root) as server:
        target.process = server
        wait_until_answering(target, "/health")
        checkout.answer_bytes = len(answer_of(target))
        run_wrk(run, wrk_command(run, url, arguments.connections, arguments.warmup, None), True)
        command = wrk_command(run, url, arguments.connections, arguments.duration, None)
        checkout.get.runs.append(run_wrk(run, command))
    checkout.workers = target.log.read_text().count("Booting worker with pid")


# In a checkout's subprocess --------------------------------------------------------------


def time_imports(bundle: Path) -> None:
    """Run in a checkout (its root the cwd) with its database in the environment: empties
    the catalog, imports the bundle twice, and prints the seconds and the result of each
    as one JSON line."""
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import_paths = checkout_import_paths()
    empty_catalog()
    runs = []
    for _ in range(2):
        started = time.perf_counter()
        result = import_paths([bundle])
        runs.append({"seconds": time.perf_counter() - started, "summary": result.summary()})
    analyze()
    print(json.dumps(runs))


def checkout_import_paths():
    """The checkout's import entry point: in catalog/importing/ since the code was split
    into packages, in catalog/importer.py before. Refused unless it is the checkout's."""
    try:
        from catalog.importing.run import import_paths
    except ModuleNotFoundError as missing:
        if missing.name not in ("catalog.importing", "catalog.importing.run"):
            raise
        from catalog.importer import import_paths
    source = Path(sys.modules[import_paths.__module__].__file__).resolve()
    if not source.is_relative_to(Path.cwd().resolve()):
        raise RuntimeError(f"{source} is not in the checkout {Path.cwd()}")
    return import_paths


# The report ------------------------------------------------------------------------------

MEASURES = (
    ("first import, s", "first", "{:.3f}"),
    ("first import, deployments/s", "first_rate", "{:,.0f}"),
    ("re-import, s", "again", "{:.3f}"),
    ("re-import, deployments/s", "again_rate", "{:,.0f}"),
    ("GET by id, requests/s", "rps", "{:,.1f}"),
    ("GET by id, p99 ms", "p99", "{:.1f}"),
)
# (limit, measure, lowest and highest head/base that meet it)
LIMITS = (
    ("first import time: head <= 1.3x base", "first", 0.0, 1.3),
    ("re-import time: at most 10% over base", "again", 0.0, 1.1),
    ("GET requests/s: at most 10% under base", "rps", 0.9, float("inf")),
)


def medians(checkout: Checkout, deployments: int) -> dict[str, float]:
    """Medians over rounds; the rates are deployments over the median time."""
    first, again = statistics.median(checkout.first), statistics.median(checkout.again)
    return {
        "first": first,
        "first_rate": deployments / first,
        "again": again,
        "again_rate": deployments / again,
        "rps": checkout.get.median("rate"),
        "p99": checkout.get.median("p99_ms"),
    }


def print_report(run: Run, checkouts: list[Checkout], load_before, seconds: float) -> None:
    arguments = run.arguments
    base, head = (medians(checkout, arguments.deployments) for checkout in checkouts)
    print_setting(run, checkouts, load_before, seconds)
    rounds = "1 round" if arguments.rounds == 1 else f"{arguments.rounds} rounds"
    print(f"\nMedians of {rounds}")
    rows = [
        [label, shape.format(base[key]), shape.format(head[key]), f"{head[key] / base[key]:.2f}x"]
        for label, key, shape in MEASURES
    ]
    print_table(["measure", "base", "head", "head/base"], rows)
    print("\nLimits")
    rows = []
    for label, key, lowest, highest in LIMITS:
        ratio = head[key] / base[key]
        rows.append([label, f"{ratio:.2f}x", "met" if lowest <= ratio <= highest else "missed"])
    print_table(["limit", "head/base", ""], rows)
    print_rounds(run, checkouts)
    print("\ncommand:")
    print(f"  uv run python bench/compare_commits.py {shlex.join(sys.argv[1:])}")
    print("commands run:")
    for line in run.commands:
        print(f"  {line}")


def print_setting(run: Run, checkouts: list[Checkout], load_before, seconds: float) -> None:
    arguments = run.arguments
    print(f"\nCompare commits, {datetime.now():%Y-%m-%d %H:%M}")
    for checkout in checkouts:
        print(f"{checkout.label}: {checkout.commit}")
    print(
        f"{arguments.deployments:,} deployments x 3 schedules, PostgreSQL; GET by id: wrk "
        f"{arguments.duration} s at {arguments.connections} connections after "
        f"{arguments.warmup} s of warm-up, {checkouts[0].workers} sync workers"
    )
    sizes = ", ".join(f"{checkout.label} {checkout.answer_bytes}" for checkout in checkouts)
    errors = ", ".join(f"{checkout.label} {checkout.get.errors}" for checkout in checkouts)
    print(f"GET answer bytes: {sizes}; wrk errors (all rounds): {errors}")
    print(
        f"machine: {os.cpu_count()} CPUs; load average (1 min) {load_before[0]:.1f} at "
        f"start, {os.getloadavg()[0]:.1f} at end; {seconds / 60:.1f} min in all"
    )


def print_rounds(run: Run, checkouts: list[Checkout]) -> None:
    print("\nEach round (first import s, re-import s, GET requests/s)")
    rows = []
    for number in range(run.arguments.rounds):
        order = " ".join(checkout.label for checkout in turned(checkouts, number))
        cells = [
            f"{checkout.first[number]:.3f}, {checkout.again[number]:.3f}, "
            f"{checkout.get.runs[number].rate:,.1f}"
            for checkout in checkouts
        ]
        rows.append([str(number + 1), order, *cells])
    print_table(["round", "order", *LABELS], rows, left=2)


if __name__ == "__main__":
    main()
