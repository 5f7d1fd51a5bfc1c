"""The read paths `bench/scale.py` times: the API's (GET by id and by name, each filter of
Prefect's grammar at offsets 0 and 10,000 and each sort, `/count`, `/paginate`, the REST
listing) and the admin's (the list with each filter and search, the change page, the
fleet calendar), each as a `Case` that sends one request through Django's test client.
Also timed by `bench/scale_pairs.py`.
"""

import html
import json
import re

from scale_data import deployment_name, flow_name, scale_record

DEEP_OFFSET = 10_000
PAGE = 200
ADMIN_LIST = "/admin/catalog/deployment/"
ADMIN_ROW = b'class="action-select"'


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
