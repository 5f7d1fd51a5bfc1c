"""The admin's import page at the sizes it takes: the plan of an upload (the import run and
rolled back, every deployment's diff) and the confirmation (planned again and written),
for files of N deployments with 3 schedules each, into an empty PostgreSQL catalog (all
created) and then with every deployment's description changed (all updated).

    uv run python bench/admin_import.py [--deployments 1000 5000] [--rounds 3]
        [--database-url postgres://postgres@127.0.0.1:5432/catalog_bench_admin_import]

Times are wall-clock seconds of `plan_import` as the page calls it, in-process; each must
stay well within `CATALOG_REQUEST_DEADLINE_SECONDS` (10 s), which bounds one request of
the page. The file's size is printed beside them: the page's upload limit
(`CATALOG_ADMIN_IMPORT_MAX_BYTES`) is chosen from these figures.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/catalog_bench_admin_import"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    arguments = parser.parse_args()

    from admin_list import deployment_record, ensure_database, flow_records, setup_django

    ensure_database(arguments.database_url)
    setup_django(arguments.database_url)
    from import_deployments import empty_catalog

    print("deployments  MB    step                     seconds (each round)")
    for count in arguments.deployments:
        records = [deployment_record(n) for n in range(count)]
        created = json.dumps({"flows": flow_records(), "deployments": records}).encode()
        for record in records:
            record["description"] += " Changed."
        changed = json.dumps({"flows": flow_records(), "deployments": records}).encode()
        rows: dict[str, list[float]] = {}
        for _ in range(arguments.rounds):
            empty_catalog()
            for step, seconds in timed_steps(created, changed):
                rows.setdefault(step, []).append(seconds)
        for step, times in rows.items():
            size = len(created) / 1e6
            shown = ", ".join(f"{t:.2f}" for t in times)
            median = statistics.median(times)
            print(f"{count:>11,}  {size:4.1f}  {step:<23}  {shown} (median {median:.2f})")


def timed_steps(created: bytes, changed: bytes):
    from catalog.importing.preview import plan_import
    from catalog.importing.sources.uploads import read_upload
    from catalog.services.context import Actor, Door, WriteContext

    context = WriteContext(Actor.system("bench"), Door.IMPORT)
    for step, content in (("created", created), ("updated", changed)):
        started = time.perf_counter()
        plan = plan_import(read_upload("bench.json", content, "json"), context=context)
        planned = time.perf_counter()
        confirmed = plan_import(
            read_upload("bench.json", content, "json"), context=context, apply_if=plan.fingerprint
        )
        ended = time.perf_counter()
        assert confirmed.applied, "the confirmation was refused"
        yield f"plan ({step})", planned - started
        yield f"confirm ({step})", ended - planned


if __name__ == "__main__":
    main()
