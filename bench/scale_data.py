"""The deployments `bench/scale.py` loads: every choice keyed on the deployment's number
n, so that each filter value of the read paths (`bench/scale_cases.py`) matches a known
share of the rows at any size. Also read by `bench/import_memory.py` and
`bench/import_pairs.py`.
"""

import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from admin_list import deployment_record  # noqa: E402  (bench/ is put on the path above)

OTHER_FLOWS = 37
DATABASE_PREFIX = "catalog_scale"
# Deployments imported to time new ones (then rolled back) are numbered from here, past
# every size loaded.
FRESH_FROM = 50_000_000


def share_of(n: int, half: str, tenth: str, hundredth: str, rest: str) -> str:
    """`half` for even n (50%), `tenth` for n ending in 1 (10%), `hundredth` for n ending
    in 03 (1%), `rest` for the others (39%): disjoint, so each value's share is exact."""
    if n % 2 == 0:
        return half
    if n % 10 == 1:
        return tenth
    if n % 100 == 3:
        return hundredth
    return rest


def flow_name(n: int) -> str:
    return share_of(n, "nightly-etl", "hourly-sync", "audit-trail", f"team-flow-{n % OTHER_FLOWS}")


def flow_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"scale-flow-{name}"))


def flow_records() -> list[dict]:
    names = ["nightly-etl", "hourly-sync", "audit-trail"]
    names += [f"team-flow-{n}" for n in range(OTHER_FLOWS)]
    return [{"id": flow_id(name), "name": name} for name in names]


def queue_name(n: int) -> str:
    """ "default" for about half (odd n), "urgent" for 1%, "nightly" for 10%."""
    if n % 100 == 5:
        return "urgent"
    if n % 10 == 6:
        return "nightly"
    return "default" if n % 2 else f"batch-{n % 20}"


def deployment_name(n: int) -> str:
    """Searched by `like_`: "ingest" in 50% of names, "s3x" in 10%, "x07-" in 1%."""
    job = "ingest" if n % 2 == 0 else "report"
    return f"{job}-s{n % 10}x{n % 100:02d}-{n:07d}"


def scale_record(n: int) -> dict:
    record = deployment_record(n)  # admin_list's: its 3 schedules, entrypoint, description
    record.update(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"scale-deployment-{n}")),
        name=deployment_name(n),
        flow_id=flow_id(flow_name(n)),
        tags=[
            "env-prod" if n % 2 == 0 else "env-staging",
            f"region-{n % 10}",
            f"team-{n % 100:02d}",
            "catalog",
        ],
        labels={"team": f"team-{n % 100:02d}", "cost-center": f"cc-{n % 7}", "tier": "gold"},
        paused=n % 100 == 50,
        work_pool_name=share_of(n, "k8s-prod", "k8s-staging", "ecs-batch", "process-local"),
        work_queue_name=queue_name(n),
    )
    return record


def database_name(size: int, prefix: str = DATABASE_PREFIX) -> str:
    if size % 1_000_000 == 0:
        return f"{prefix}_{size // 1_000_000}m"
    if size % 1_000 == 0:
        return f"{prefix}_{size // 1_000}k"
    return f"{prefix}_{size}"
