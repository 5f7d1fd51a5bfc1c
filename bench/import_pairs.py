"""The import rate at two catalog sizes, measured in turn so that a shared machine's load
hits both alike.

    uv run python bench/import_pairs.py [--small catalog_scale_10k]
        [--large catalog_scale_1m] [--deployments 5000] [--rounds 5]

Both databases are kept databases of `bench/scale.py` (already loaded and migrated). Each
round writes a file of `--deployments` new deployments (as `scale.py` makes them, numbered
past every size) and imports it with `--dry-run` semantics (the whole write path, then a
rollback, so the databases keep their size) into the small database and then the large
one, each import in a process of its own; then the first deployments of the catalog again
(all unchanged, a re-import). Prints the median rate of each and the large over the small.
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale import DEFAULT_SERVER  # noqa: E402
from scale_data import FRESH_FROM  # noqa: E402
from scale_load import import_in_child, write_chunk  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", default="catalog_scale_10k")
    parser.add_argument("--large", default="catalog_scale_1m")
    parser.add_argument("--deployments", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--server", default=os.environ.get("BENCH_POSTGRES_SERVER", DEFAULT_SERVER))
    arguments = parser.parse_args()
    databases = {"small": arguments.small, "large": arguments.large}
    rates = {(kind, size): [] for kind in ("new", "again") for size in databases}
    peaks = {kind: [] for kind in ("new", "again")}
    with tempfile.TemporaryDirectory() as folder:
        again = write_chunk(Path(folder), range(arguments.deployments), "again.json")
        for round_number in range(arguments.rounds):
            first = FRESH_FROM + round_number * arguments.deployments
            fresh = write_chunk(
                Path(folder), range(first, first + arguments.deployments), "fresh.json"
            )
            for size, name in databases.items():
                url = f"{arguments.server}/{name}"
                for kind, path, dry in (("new", fresh, True), ("again", again, False)):
                    figures = import_in_child(path, url, dry)
                    rates[(kind, size)].append(arguments.deployments / figures["seconds"])
                    peaks[kind].append(figures["peak_mb"])
            print(f"round {round_number + 1}/{arguments.rounds} done", file=sys.stderr)
    print(
        f"\nImport rate, {arguments.deployments:,} deployments a file, median of "
        f"{arguments.rounds} rounds taken in turn ({arguments.small} vs {arguments.large})"
    )
    print(f"{'import':<34}{'small/s':>10}{'large/s':>10}{'large/small':>13}{'peak MB':>9}")
    labels = {"new": "new deployments (dry run)", "again": "the same again (all unchanged)"}
    for kind, label in labels.items():
        small = statistics.median(rates[(kind, "small")])
        large = statistics.median(rates[(kind, "large")])
        print(
            f"{label:<34}{small:>10,.0f}{large:>10,.0f}{large / small:>12.2f}x"
            f"{max(peaks[kind]):>9,.0f}"
        )
    print(f"\ncommand: uv run python bench/import_pairs.py {' '.join(sys.argv[1:])}")


if __name__ == "__main__":
    main()
