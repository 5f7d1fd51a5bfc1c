"""Read paths and imports from 10,000 to 1,000,000 deployments: flat or not.

    uv run python bench/scale.py [--sizes 10000,100000,1000000] [--repeat 15] [--keep]
        [--chunk 10000] [--server postgres://postgres@127.0.0.1:5432] [--load-only]
        [--case-seconds 20] [--explain TEXT ...] [--only TEXT ...]
        [--database-prefix catalog_scale] [--groups api,admin]

For each size, a PostgreSQL database `catalog_scale_<size>` (`catalog_scale_10k`, ...;
`--database-prefix` changes `catalog_scale`, to time a copy of a loaded database) is
loaded through the importer (`catalog.importing.run.import_paths`) in chunk files of
`--chunk` deployments, each imported by a process of its own so that its peak memory
(VmHWM) is its alone; then one chunk is imported again (every deployment unchanged).
Each deployment has 3 schedules (as `bench/admin_list.py` writes them), tags and labels,
one of 40 flows, 4 work pools and their queues, spread so that each filter below matches
about 1%, 10% or 50% of the rows.

Then each read path is timed in-process (Django's test client, no network: request in,
response out), `--repeat` requests after 2 warm-ups, and its queries counted: GET by id
and by name, `POST /api/deployments/filter` with each filter of Prefect's grammar at
offsets 0 and 10,000 and each sort, `/count` and `/paginate` with the same filters, the
REST listing, the admin list with each filter and search, and the change page. Requests
that count their matches exactly (count, paginate, the REST listing, a filtered admin
list) are reported apart: their cost may grow with the matches.

The summary divides the largest size's figures by the smallest's, flagging any read path
above 2x; compares the import rate (target >= 0.8x) and the peak memory (target < 1 GB).
Without `--keep` each database is made afresh and dropped at the end; with it a database is
kept, and loaded further only when it holds fewer deployments than its size. The figures
of the load that filled a kept database are stored in it (table `bench_scale_load`) and
printed again.
"""

import argparse
import html
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from admin_list import deployment_record  # noqa: E402  (bench/ is put on the path above)

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_SIZES = "10000,100000,1000000"
FLAT_LIMIT = 2.0
RATE_TARGET = 0.8
MEMORY_TARGET_MB = 1024
DEEP_OFFSET = 10_000
PAGE = 200
MIN_SAMPLES = 5
OTHER_FLOWS = 37
ADMIN_LIST = "/admin/catalog/deployment/"
ADMIN_ROW = b'class="action-select"'


# The data: every choice keyed on n, so that each filter value matches a known share ------


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


DATABASE_PREFIX = "catalog_scale"


def database_name(size: int, prefix: str = DATABASE_PREFIX) -> str:
    if size % 1_000_000 == 0:
        return f"{prefix}_{size // 1_000_000}m"
    if size % 1_000 == 0:
        return f"{prefix}_{size // 1_000}k"
    return f"{prefix}_{size}"


# The read paths -----------------------------------------------------------------------

# (label, share it should match, the `deployments`/`flows`/... part of a filter body)
FILTERS = [
    ("no filter", "100%", {}),
    ("tags any_ 1%", "1%", {"deployments": {"tags": {"any_": ["team-07"]}}}),
    ("tags any_ 10%", "10%", {"deployments": {"tags": {"any_": ["region-4", "nope"]}}}),
    ("tags any_ 50%", "50%", {"deployments": {"tags": {"any_": ["env-prod"]}}}),
    ("tags all_ 1%", "1%", {"deployments": {"tags": {"all_": ["team-07", "region-7"]}}}),
    ("tags all_ 10%", "10%", {"deployments": {"tags": {"all_": ["region-4", "env-prod"]}}}),
    ("tags all_ 50%", "50%", {"deployments": {"tags": {"all_": ["env-prod", "catalog"]}}}),
    ("name like_ 1%", "1%", {"deployments": {"name": {"like_": "x07-"}}}),
    ("name like_ 10%", "10%", {"deployments": {"name": {"like_": "s3x"}}}),
    ("name like_ 50%", "50%", {"deployments": {"name": {"like_": "ingest"}}}),
    (
        "flow or name like_ 10%",
        "10%",
        {"deployments": {"flow_or_deployment_name": {"like_": "s3x"}}},
    ),
    ("paused true 1%", "1%", {"deployments": {"paused": {"eq_": True}}}),
    ("paused false 99%", "99%", {"deployments": {"paused": {"eq_": False}}}),
    ("work pool 1%", "1%", {"work_pools": {"name": {"any_": ["ecs-batch"]}}}),
    ("work pool 10%", "10%", {"work_pools": {"name": {"any_": ["k8s-staging"]}}}),
    ("work pool 50%", "50%", {"work_pools": {"name": {"any_": ["k8s-prod"]}}}),
    ("work queue 1%", "1%", {"deployments": {"work_queue_name": {"any_": ["urgent"]}}}),
    ("work queue 10%", "10%", {"deployments": {"work_queue_name": {"any_": ["nightly"]}}}),
    ("work queue ~50%", "49%", {"deployments": {"work_queue_name": {"any_": ["default"]}}}),
    ("flow name 1%", "1%", {"flows": {"name": {"any_": ["audit-trail"]}}}),
    ("flow name 10%", "10%", {"flows": {"name": {"any_": ["hourly-sync"]}}}),
    ("flow name 50%", "50%", {"flows": {"name": {"any_": ["nightly-etl"]}}}),
    ("flow name like_ 10%", "10%", {"flows": {"name": {"like_": "hourly"}}}),
]
SORTS = ["NAME_ASC", "NAME_DESC", "CREATED_DESC", "UPDATED_DESC"]
# Filters also timed with the other sorts (NAME_ASC is the default, timed above).
SORTED_FILTERS = ["flow name 1%", "work queue 10%", "work queue ~50%", "paused true 1%"]

REST_LISTING = [
    ("unfiltered", ""),
    ("unfiltered, offset 10,000", "offset=10000"),
    ("tag 1%", "tag=team-07"),
    ("tags all 10%", "tag=region-4&tag=env-prod"),
    ("tags any 50%", "tag=env-prod&tag=nope&tag_match=any"),
    ("name_contains 10%", "name_contains=s3x"),
    ("paused 1%", "paused=true"),
    ("work_pool 1%", "work_pool=ecs-batch"),
    ("work_queue 10%", "work_queue=nightly"),
    ("flow_name 50%", "flow_name=nightly-etl"),
    ("schedule_kind rrule 100%", "schedule_kind=rrule"),
    ("ordering -updated", "ordering=-updated"),
]


class Case:
    """One read path: a label, a group (the table it is printed in), whether it counts
    its matches exactly, and a function of the repetition's number that sends it.
    `each_row`: each repetition reads another deployment, each warmed up first.
    `before`: a function of the repetition's number run before each request, untimed
    (a write, to time a read right after a change)."""

    def __init__(
        self, group: str, label: str, send, counts: bool = False, each_row=False, before=None
    ):
        self.group, self.label, self.send, self.counts = group, label, send, counts
        self.each_row, self.before = each_row, before

    def sent(self, index: int):
        if self.before is not None:
            self.before(index)
        return self.send(index)


def sample_numbers(size: int, how_many: int) -> list[int]:
    """Deployments spread over the whole table, the same ones at each run."""
    return [(index * 7_919_993 + 4_242) % size for index in range(how_many)]


def api_cases(client, size: int) -> list[Case]:
    post = client.post

    def body_sender(path: str, body: dict):
        text = json.dumps(body)
        return lambda _: post(path, text, content_type="application/json")

    numbers = sample_numbers(size, 64)
    ids = [scale_record(n)["id"] for n in numbers]
    named = [(flow_name(n), deployment_name(n)) for n in numbers]
    cases = [
        Case(
            "api",
            "GET /deployments/{id}",
            lambda i: client.get(f"/api/deployments/{ids[i]}"),
            each_row=True,
        ),
        Case(
            "api",
            "GET /deployments/name/{flow}/{name}",
            lambda i: client.get("/api/deployments/name/{}/{}".format(*named[i])),
            each_row=True,
        ),
    ]
    for label, _, body in FILTERS:
        for offset in (0, DEEP_OFFSET):
            filtered = {**body, "offset": offset, "limit": PAGE}
            cases.append(
                Case(
                    "api",
                    f"filter {label} @{offset}",
                    body_sender("/api/deployments/filter", filtered),
                )
            )
    for sort in SORTS:
        for offset in (0, DEEP_OFFSET):
            sorted_body = {"sort": sort, "offset": offset, "limit": PAGE}
            cases.append(
                Case(
                    "api",
                    f"filter sort {sort} @{offset}",
                    body_sender("/api/deployments/filter", sorted_body),
                )
            )
    for label, _, body in FILTERS:
        if label not in SORTED_FILTERS:
            continue
        for sort in SORTS[1:]:
            for offset in (0, DEEP_OFFSET):
                sorted_body = {**body, "sort": sort, "offset": offset, "limit": PAGE}
                cases.append(
                    Case(
                        "api",
                        f"filter {label} {sort} @{offset}",
                        body_sender("/api/deployments/filter", sorted_body),
                    )
                )
    for label, _, body in FILTERS:
        cases.append(
            Case("count", f"count {label}", body_sender("/api/deployments/count", body), True)
        )
        for page in (1, DEEP_OFFSET // PAGE + 1):
            paged = {**body, "page": page, "limit": PAGE}
            cases.append(
                Case(
                    "count",
                    f"paginate {label} @{(page - 1) * PAGE}",
                    body_sender("/api/deployments/paginate", paged),
                    True,
                )
            )
    for label, query in REST_LISTING:
        url = f"/api/deployments/?limit={PAGE}" + (f"&{query}" if query else "")
        cases.append(Case("count", f"REST list {label}", lambda _, url=url: client.get(url), True))
    return cases


def admin_cases(client, size: int) -> list[Case]:
    from catalog.models import Flow, WorkQueue

    urgent = WorkQueue.objects.get(name="urgent", work_pool__name="process-local").pk
    nightly = WorkQueue.objects.filter(name="nightly").order_by("pk").first().pk
    flows = dict(Flow.objects.values_list("name", "id"))
    numbers = sample_numbers(size, 64)
    ids = [scale_record(n)["id"] for n in numbers]
    deep_page = min(100, size // 50 - 1)  # rows 5,000 to 5,050 (the admin shows 50 a page)
    queries = [
        ("unfiltered", "", False),
        (f"page {deep_page}", f"p={deep_page}", False),
        ("sorted by updated desc", "o=-10", False),
        ("paused 1%", "paused__exact=1", True),
        ("status READY 0%", "status__exact=READY", True),
        ("flow 1%", f"flow__id__exact={flows['audit-trail']}", True),
        ("flow 50%", f"flow__id__exact={flows['nightly-etl']}", True),
        ("work pool 1%", "work_pool=ecs-batch", True),
        ("work pool 50%", "work_pool=k8s-prod", True),
        ("work queue 1%", f"work_queue={urgent}", True),
        ("tag 1%", "tag=team-07", True),
        ("tag 10%", "tag=region-4", True),
        ("tag 50%", "tag=env-prod", True),
        ("schedule kind rrule 100%", "schedule_kind=rrule", True),
        ("active schedule no", "active_schedule=no", True),
        ("active schedule yes 100%", "active_schedule=yes", True),
        ("schedule kind none 0%", "schedule_kind=none", True),
        ("paused no 99%", "paused__exact=0", True),
        ("status NOT_READY 100%", "status__exact=NOT_READY", True),
        ("flow 10%", f"flow__id__exact={flows['hourly-sync']}", True),
        ("work queue 10%", f"work_queue={nightly}", True),
        ("tags all 1%", "tag=team-07&tag=region-7", True),
        ("tags all 10%", "tag=region-4&tag=env-prod", True),
        ("tags any 50%", "tag=env-prod&tag=nope&tag_match=any", True),
        ("concurrency-limited yes 0%", "limited=yes", True),
        ("concurrency-limited no 100%", "limited=no", True),
        ("updated since 2000", "updated__gte=2000-01-01", True),
        ("search name, 1 row", f"q={deployment_name(4242 % size)}", True),
        ("search id, 1 row", f"q={scale_record(4242 % size)['id']}", True),
        ("search x07- 1%", "q=x07-", True),
        ("search s3x 10%", "q=s3x", True),
        ("search ingest 50%", "q=ingest", True),
        ("search tag text team-07", "q=team-07", True),
    ]
    cases = []
    for label, query, counts in queries:
        url = ADMIN_LIST + (f"?{query}" if query else "")
        cases.append(
            Case("admin", f"admin list {label}", lambda _, url=url: client.get(url), counts)
        )
    cases.append(
        Case(
            "admin",
            "admin change page",
            lambda i: client.get(f"{ADMIN_LIST}{ids[i]}/change/"),
            each_row=True,
        )
    )
    return cases + fleet_calendar_cases(client, size)


def fleet_calendar_cases(client, size: int) -> list[Case]:
    """The fleet calendar's week and day, filtered, and a slot's deployments (an hour, and
    the busiest minute): warm (its definitions and expansions kept), and right after a
    change (each request follows an admin action that pauses or resumes a deployment, so
    the definitions kept no longer hold)."""
    from django.urls import reverse

    url = reverse("admin:catalog_deployment_calendar")
    slot = reverse("admin:catalog_deployment_calendar_slot")
    week = client.get(url)
    check(Case("admin", "fleet calendar", None), week)
    links = slot_links(week.content.decode())
    hour_link = next(link for link, minutes in links if minutes == 60)
    busiest_link = next(link for link, minutes in links if minutes == 1)
    pages = [
        ("week", url),
        ("day", f"{url}?view=day"),
        ("week, flow 1%", f"{url}?flow=audit-trail"),
        ("week, work pool 1%", f"{url}?work_pool=ecs-batch"),
        ("week, work queue 1%", f"{url}?work_queue=urgent"),
        ("week, tag 1%", f"{url}?tags=team-07"),
        ("week, tags any 50%", f"{url}?tags=env-prod,nope"),
        ("slot, an hour", f"{slot}?{hour_link}"),
        ("slot, an hour, page 3", f"{slot}?{hour_link}&page=3"),
        ("slot, the busiest minute", f"{slot}?{busiest_link}"),
    ]
    cases = [
        Case("admin", f"fleet calendar {label}", lambda _, page=page: client.get(page))
        for label, page in pages
    ]
    toggled = scale_record(4242 % size)["id"]

    def pause_or_resume(index: int) -> None:
        action = "pause" if index % 2 == 0 else "resume"
        client.post(ADMIN_LIST, {"action": action, "_selected_action": [toggled]})

    for label, page in (pages[0], pages[7]):
        cases.append(
            Case(
                "admin",
                f"fleet calendar {label}, after a change",
                lambda _, page=page: client.get(page),
                before=pause_or_resume,
            )
        )
    return cases


def slot_links(page: str) -> list[tuple[str, int]]:
    """The query of each slot link of a calendar page, and the minutes its slot lasts."""
    found = []
    for query in re.findall(r'href="[^"?]*/calendar/slot/\?([^"]+)"', page):
        query = html.unescape(query)
        bounds = dict(re.findall(r"(from|to)=(\d+)", query))
        found.append((query, int(bounds["to"]) - int(bounds["from"])))
    return found


# Timing -------------------------------------------------------------------------------


def measure(case: Case, repeat: int, budget: float) -> dict:
    """`repeat` requests after 2 warm-ups; fewer (at least MIN_SAMPLES) when they take
    more than `budget` seconds in all, so that a slow path cannot stall the run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # A deployment's JSON is rendered and kept at its first read (`manage.py warm_json`
    # renders them all): the warm-ups read each deployment the repetitions will read.
    for warmup in range(repeat + 2 if case.each_row else 2):
        check(case, case.sent(warmup))
    times = []
    began = time.perf_counter()
    for index in range(repeat):
        if len(times) >= MIN_SAMPLES and time.perf_counter() - began > budget:
            break
        if case.before is not None:
            case.before(index)
        started = time.perf_counter()
        response = case.send(index)
        times.append((time.perf_counter() - started) * 1000)
        check(case, response)
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


def check(case: Case, response) -> None:
    if response.status_code != 200:
        raise SystemExit(f"{case.label}: HTTP {response.status_code} {response.content[:300]!r}")


def short_answer(response) -> str:
    """What came back: the count, the rows of a page, or the admin's rows."""
    content = response.content
    if response.get("Content-Type", "").startswith("text/html"):
        rows = content.count(ADMIN_ROW)
        return f"{rows} rows" if b'id="changelist"' in content else "a page"
    value = json.loads(content)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return f"{len(value)} rows"
    if "count" in value:
        return f"{len(value['results'])} of {value['count']:,}"
    return "1 deployment"


def read_figures(size: int, arguments: argparse.Namespace) -> list[dict]:
    from django.contrib.auth.models import User
    from django.test import Client

    user, _ = User.objects.get_or_create(username="bench", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    # The first request of a process loads the URL patterns and views: no read path's.
    client.get("/api/health")
    figures = []
    cases = api_cases(client, size) if "api" in arguments.groups else []
    cases += admin_cases(client, size) if "admin" in arguments.groups else []
    if arguments.only:
        cases = [case for case in cases if any(text in case.label for text in arguments.only)]
    if arguments.explain:
        for case in cases:
            if any(text in case.label for text in arguments.explain):
                explain(case)
        return []
    for number, case in enumerate(cases, start=1):
        figures.append(measure(case, arguments.repeat, arguments.case_seconds))
        print(
            f"  [{number}/{len(cases)}] {case.label}: {figures[-1]['median']:.1f} ms",
            file=sys.stderr,
            flush=True,
        )
    return figures


# Loading ------------------------------------------------------------------------------


def import_chunk(path: str) -> None:
    """In a process of its own: import one file, print what it took as JSON."""
    import django

    django.setup()
    from catalog.importing.run import import_paths

    started = time.perf_counter()
    result = import_paths([Path(path)])
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": peak_rss_mb(), "summary": result.summary()}))


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chunk_in_child(folder: Path, first: int, last: int, url: str) -> dict:
    path = folder / f"chunk-{first}.json"
    bundle = {"flows": flow_records(), "deployments": [scale_record(n) for n in range(first, last)]}
    path.write_text(json.dumps(bundle))
    figures = child_figures(__file__, ["--import-chunk", str(path)], url, f"{first}..{last}")
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


# One size, in a process of its own (Django is set up once per database) ----------------


def one_size(size: int, arguments: argparse.Namespace) -> None:
    url = f"{arguments.server}/{database_name(size, arguments.database_prefix)}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CATALOG_REQUEST_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    # The admin's date filter sends naive dates; Django warns, and the warning is no figure.
    warnings.filterwarnings("ignore", "DateTimeField .* received a naive datetime")

    migrate_if_needed(call_command)
    loaded = load(size, arguments.chunk, url, arguments.database_prefix)
    loaded = kept_load(loaded)
    result = {"size": size, "load": loaded, "database": database_figures(), "reads": []}
    if not arguments.load_only:
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
    print("\ncommand: uv run python bench/scale.py " + " ".join(sys.argv[1:]))


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
            f"import rate, largest / smallest: {ratio:.2f}x (target >= {RATE_TARGET}x: {verdict})"
        )
    peaks = [max(load["peak_mb"], load["again_peak_mb"]) for load in loads]
    if peaks:
        verdict = "met" if max(peaks) < MEMORY_TARGET_MB else "MISSED"
        print(
            f"peak memory, first import and re-import: {max(peaks):.0f} MB "
            f"(target < 1 GB: {verdict})"
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
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--import-chunk", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    if arguments.import_chunk:
        return import_chunk(arguments.import_chunk)
    if arguments.one_size:
        return one_size(arguments.one_size, arguments)
    sizes = sorted(int(size) for size in arguments.sizes.split(","))
    results = [run_size(size, arguments) for size in sizes]
    report(results, arguments)
    if not arguments.keep:
        for size in sizes:
            drop_database(arguments.server, database_name(size, arguments.database_prefix))


if __name__ == "__main__":
    main()
