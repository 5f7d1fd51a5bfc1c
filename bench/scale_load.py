"""Loading `bench/scale.py`'s databases: chunk files of deployments (`bench/scale_data.py`),
each imported through `catalog.importing.run.import_paths` by a process of its own, so
that its peak memory (VmHWM) is its alone; then one chunk again (every deployment
unchanged). The figures of the load that filled a database are stored in it (table
`bench_scale_load`). Also used by `bench/import_memory.py` and `bench/import_pairs.py`.

    python bench/scale_load.py --import-chunk FILE [--dry-run]   (the child: prints its figures)
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scale_data import FRESH_FROM, ROOT, database_name, flow_records, scale_record


def import_chunk(path: str, dry_run: bool = False) -> None:
    """In a process of its own: import one file (with `dry_run`, the whole write path and
    then a rollback), print what it took as JSON."""
    import django

    django.setup()
    from catalog.importing.run import import_paths

    started = time.perf_counter()
    result = import_paths([Path(path)], dry_run=dry_run)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": peak_rss_mb(), "summary": result.summary()}))


def import_in_child(path: Path, url: str, dry_run: bool = False) -> dict:
    arguments = ["--import-chunk", str(path)] + (["--dry-run"] if dry_run else [])
    return child_figures(__file__, arguments, url, f"{path.name} into {url}")


def write_chunk(folder: Path, numbers: range, name: str | None = None) -> Path:
    path = folder / (name or f"chunk-{numbers.start}.json")
    bundle = {"flows": flow_records(), "deployments": [scale_record(n) for n in numbers]}
    path.write_text(json.dumps(bundle))
    return path


def new_deployment_rates(urls: dict, deployments: int, rounds: int) -> dict:
    """The import rate of new deployments at each size (`urls`: size -> database), taken
    in turn so that a shared machine's load hits every size alike: each round imports a
    file of `deployments` not yet in any catalog into each database, in a dry run (rolled
    back, so the databases keep their size), each import in a process of its own."""
    rates = {size: [] for size in urls}
    peaks = []
    with tempfile.TemporaryDirectory() as folder:
        for round_number in range(rounds):
            first = FRESH_FROM + round_number * deployments
            path = write_chunk(Path(folder), range(first, first + deployments), "fresh.json")
            # Each size goes first in every other round: a round's first import is slower.
            order = list(urls) if round_number % 2 == 0 else list(reversed(urls))
            for size in order:
                figures = import_in_child(path, urls[size], dry_run=True)
                rates[size].append(deployments / figures["seconds"])
                peaks.append(figures["peak_mb"])
    return {size: {"rate": statistics.median(rates[size]), "peak_mb": max(peaks)} for size in urls}


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chunk_in_child(folder: Path, first: int, last: int, url: str) -> dict:
    path = write_chunk(folder, range(first, last))
    figures = import_in_child(path, url)
    path.unlink()
    return {**figures, "deployments": last - first}


def child_environment(url: str) -> dict:
    """A child process's environment: the database at `url`, the request log quiet."""
    environment = {**os.environ, "DATABASE_URL": url, "CATALOG_REQUEST_LOG_LEVEL": "WARNING"}
    environment.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return environment


def child_figures(script: str, arguments: list[str], url: str, what: str) -> dict:
    """Run a bench script in a process of its own (its peak memory its alone) against the
    database at `url`; the JSON figures it prints last."""
    done = subprocess.run(
        [sys.executable, script, *arguments],
        env=child_environment(url),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"import of {what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load(size: int, chunk: int, url: str, prefix: str) -> dict | None:
    """Import what the database lacks, chunk by chunk; then the first chunk again."""
    from catalog.models import Deployment

    have = Deployment.objects.count()
    if have >= size:
        return None
    started = time.perf_counter()
    chunks = []
    with tempfile.TemporaryDirectory() as folder:
        for first in range(have, size, chunk):
            last = min(first + chunk, size)
            chunks.append(chunk_in_child(Path(folder), first, last, url))
            print(
                f"  {database_name(size, prefix)}: imported {last:,}/{size:,}",
                file=sys.stderr,
                flush=True,
            )
        wall = time.perf_counter() - started
        analyze_started = time.perf_counter()
        analyze()
        analyze_seconds = time.perf_counter() - analyze_started
        again = chunk_in_child(Path(folder), 0, min(chunk, size), url)
    written = sum(item["deployments"] for item in chunks)
    seconds = sum(item["seconds"] for item in chunks)
    return {
        "deployments": written,
        "chunks": len(chunks),
        "import_seconds": seconds,
        "wall_seconds": wall,
        "rate": written / seconds,
        "wall_rate": written / wall,
        "peak_mb": max(item["peak_mb"] for item in chunks),
        "first_chunk_peak_mb": chunks[0]["peak_mb"],
        "vacuum_analyze_seconds": analyze_seconds,
        "again_deployments": again["deployments"],
        "again_rate": again["deployments"] / again["seconds"],
        "again_peak_mb": again["peak_mb"],
        "again_summary": again["summary"],
        # Each chunk's rate and peak, to see whether a chunk slows as the table grows.
        "chunk_rates": [round(item["deployments"] / item["seconds"]) for item in chunks],
        "chunk_peaks_mb": [round(item["peak_mb"]) for item in chunks],
    }


def analyze() -> None:
    """VACUUM too: this server may run with autovacuum off, and without the visibility
    map a vacuum writes, no index-only scan skips the table (autovacuum would set it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def kept_load(figures: dict | None) -> dict | None:
    """Store the figures of the load that filled this database, or read them back."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_scale_load (figures jsonb NOT NULL)")
        if figures is not None:
            cursor.execute("DELETE FROM bench_scale_load")
            cursor.execute("INSERT INTO bench_scale_load VALUES (%s)", [json.dumps(figures)])
            return figures
        cursor.execute("SELECT figures FROM bench_scale_load")
        row = cursor.fetchone()
    if row is None:
        return None
    stored = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    return {**stored, "kept": True}


def database_figures() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_database_size(current_database()), "
            "pg_total_relation_size('catalog_deployment'), "
            "pg_total_relation_size('catalog_deploymentschedule'), "
            "(SELECT count(*) FROM catalog_deployment)"
        )
        total, deployments, schedules, rows = cursor.fetchone()
    mb = 1024 * 1024
    return {
        "database_mb": total / mb,
        "deployment_table_mb": deployments / mb,
        "schedule_table_mb": schedules / mb,
        "rows": rows,
    }


if __name__ == "__main__":
    if sys.argv[1:2] != ["--import-chunk"] or len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    import_chunk(sys.argv[2], dry_run=sys.argv[3:] == ["--dry-run"])
