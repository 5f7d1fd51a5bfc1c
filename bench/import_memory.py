"""The importer's memory stays flat whatever the file's size: one file of N deployments.

    uv run python bench/import_memory.py [--sizes 10000,100000,300000]
        [--formats json,jsonl] [--runs first,again,changed]
        [--server postgres://postgres@127.0.0.1:5432]

For each size and format, N deployments (`bench/scale.py`'s records: 3 schedules, tags,
labels, 40 flows, 4 work pools) are written as ONE file, a JSON list or JSON Lines, into
a scratch PostgreSQL database made for the run (`catalog_bench_import_memory`, dropped at the
end). The file is imported three times, each by `manage.py import_deployments` in a
process of its own so that its peak memory (VmHWM) is its alone: into the empty catalog,
again (every deployment unchanged), and once more with every record changed (its
description). Each line gives the deployments a second, the peak RSS and the seconds.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_data import ROOT, flow_records, scale_record
from scale_load import child_environment, child_figures, peak_rss_mb

DATABASE = "catalog_bench_import_memory"


def write_file(path: Path, size: int, file_format: str, changed: bool) -> None:
    """The records one at a time: the bench itself holds no list of them."""
    records = (changed_record(n) if changed else scale_record(n) for n in range(size))
    with path.open("w", encoding="utf-8") as stream:
        if file_format == "jsonl":
            for record in [*flow_records(), *records]:
                stream.write(json.dumps(record) + "\n")
            return
        stream.write("[")
        for number, record in enumerate([*flow_records()]):
            stream.write(("," if number else "") + json.dumps(record))
        for record in records:
            stream.write("," + json.dumps(record))
        stream.write("]\n")


def changed_record(n: int) -> dict:
    record = scale_record(n)
    record["description"] = f"{record.get('description') or ''} (changed)"
    return record


def import_in_child(path: Path, url: str) -> dict:
    return child_figures(__file__, ["--child", str(path)], url, str(path))


def child(path: str) -> None:
    """In a process of its own: the command's import of one file, timed, with its peak."""
    import django

    django.setup()
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    started = time.perf_counter()
    call_command("import_deployments", path, "--quiet", stdout=out)
    seconds = time.perf_counter() - started
    summary = out.getvalue().strip().splitlines()[-1]
    print(json.dumps({"seconds": seconds, "peak_mb": peak_rss_mb(), "summary": summary}))


def fresh_database(server: str) -> str:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    url = f"{server}/{DATABASE}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        env=child_environment(url),
        cwd=ROOT,
        check=True,
    )
    return url


def drop_database(server: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


# Each run's name on the command line, its label, and whether every record changes.
RUNS = {
    "first": ("first import", False),
    "again": ("re-import", False),
    "changed": ("all changed", True),
}


def one_run(size: int, file_format: str, server: str, folder: Path, runs: list[str]) -> list[dict]:
    url = fresh_database(server)
    path = folder / f"deployments.{file_format}"
    write_file(path, size, file_format, changed=False)
    megabytes = path.stat().st_size / 1e6
    rows = []
    for label, changed in (RUNS[run] for run in runs):
        if changed:
            write_file(path, size, file_format, changed=True)
        figures = import_in_child(path, url)
        rows.append(
            {
                "size": size,
                "format": file_format,
                "file_mb": megabytes,
                "run": label,
                "rate": size / figures["seconds"],
                **figures,
            }
        )
        print_row(rows[-1])
    path.unlink()
    return rows


def print_row(row: dict) -> None:
    print(
        f"{row['size']:>9,} {row['format']:<5} {row['file_mb']:>8.0f} MB  {row['run']:<13}"
        f"{row['rate']:>9,.0f}/s {row['peak_mb']:>9.0f} MB {row['seconds']:>9.1f} s  "
        f"{row['summary']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,300000")
    parser.add_argument("--formats", default="json,jsonl")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--runs",
        default=",".join(RUNS),
        help="of first, again (all unchanged), changed (every record changed), in order",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child)
        return
    sizes = [int(size) for size in arguments.sizes.split(",")]
    print(
        f"{'size':>9} {'file':<5} {'file size':>11}  {'run':<13}{'rate':>11} "
        f"{'peak RSS':>12} {'time':>11}  counts"
    )
    rows = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for file_format in arguments.formats.split(","):
                for size in sizes:
                    runs = arguments.runs.split(",")
                    rows += one_run(size, file_format, arguments.server, Path(folder), runs)
    finally:
        drop_database(arguments.server)
    summarize(rows, sizes)


def summarize(rows: list[dict], sizes: list[int]) -> None:
    smallest, largest = min(sizes), max(sizes)
    print(f"\nlargest ({largest:,}) against smallest ({smallest:,}):")
    for row in rows:
        if row["size"] != largest:
            continue
        base = next(
            other
            for other in rows
            if other["size"] == smallest
            and other["format"] == row["format"]
            and other["run"] == row["run"]
        )
        print(
            f"  {row['format']:<5} {row['run']:<13} rate {row['rate'] / base['rate']:.2f}x, "
            f"peak RSS {row['peak_mb']:.0f} MB (was {base['peak_mb']:.0f} MB)"
        )


if __name__ == "__main__":
    main()
