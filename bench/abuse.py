"""Abuse: each costly HTTP case of issue 13 against gunicorn with the production settings on
PostgreSQL, while a normal GET runs beside it; reports each answer's status and server time
and the normal GET's p50/p99 alone and during the abuse.

    uv run python bench/abuse.py [--deployments 2000] [--baseline 10] [--timeout 5]
        [--database-url postgres://postgres@127.0.0.1:5432/catalog_abuse]

Re-creates the scratch database, migrates it, imports N deployments (as bench/admin_list.py
writes them), makes a write key and two staff users, and starts gunicorn with
config/gunicorn.conf.py and the variables of config/production.env.example (anonymous reads
off, 5 sync workers, the request log on), plus CATALOG_BASIC_AUTH=true for the basic-auth
case. Every request carries what the documented proxy sets (X-Forwarded-Proto: https,
X-Forwarded-For) and an X-Request-ID, by which the server time (`duration_ms` of the request
log) is found; a request the server never logged (its worker killed) shows the client's time.
A process of its own sends `GET /api/deployments/{id}` in a loop: after a warm-up, alone for
--baseline seconds, then while the cases run one after another (the five 200 KB patterns,
then the rrules and the admin pages that list them, come last, after the server has settled;
the rrules are also written straight into 30 seeded rows on the list's first page, as rows
stored before the schedule budget existed would hold them). A case passes when its slowest
answer comes under 1 s without a 5xx and is not a flaw in itself (a login after 40 wrong
passwords, docs answered to anonymous clients); the run passes when every case does and the
GET's p99 during the abuse is within 2x of its p99 alone. Exits 1 otherwise. Each request
gives up after --timeout seconds (gunicorn's own timeout is 30 s), which bounds the run to
about three minutes.
"""

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import re
import secrets
import signal
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from admin_list import deployment_id, deployment_record, flow_records  # noqa: E402
from soak import (  # noqa: E402
    children_of,
    drop_database,
    gunicorn_serving,
    manage,
    recreate_database,
)

from tests.servers import production_variables, server_environment  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/catalog_abuse"
STAFF, VICTIM = "abuse-staff", "abuse-victim"
PASSWORD = secrets.token_urlsafe(16)
UNDER_SECONDS = 1.0
P99_FACTOR = 2.0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=2000, help="seeded deployments")
    parser.add_argument("--baseline", type=float, default=10, help="seconds of GET alone")
    parser.add_argument("--timeout", type=float, default=5, help="client timeout, s")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    return parser.parse_args()


# HTTP ---------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int | str
    seconds: float
    body: bytes = b""
    cookies: dict = field(default_factory=dict)
    request_id: str = ""


class Client:
    """Plain HTTP to the local gunicorn, with the headers the proxy would add."""

    def __init__(self, port: int, timeout: float, address: str = "10.0.0.1") -> None:
        self.port, self.timeout, self.address = port, timeout, address
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, body=None, headers=None, label="x") -> Answer:
        request_id = f"abuse-{label}-{uuid.uuid4().hex[:8]}"
        sent = self.headers(request_id) | (headers or {})
        data = body if body is None or isinstance(body, bytes) else body.encode()
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            content = response.read()
        except OSError as exc:
            gave_up = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            return Answer(gave_up, self.elapsed(started), b"", {}, request_id)
        finally:
            connection.close()
        cookies = self.cookies_of(response)
        self.cookies |= cookies
        return Answer(response.status, self.elapsed(started), content, cookies, request_id)

    @staticmethod
    def elapsed(started: float) -> float:
        return time.perf_counter() - started

    def headers(self, request_id: str) -> dict:
        headers = {
            "Host": "127.0.0.1",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.address,
            "X-Request-ID": request_id,
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    @staticmethod
    def cookies_of(response) -> dict:
        found = {}
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                parsed = SimpleCookie()
                parsed.load(value)
                found |= {key: morsel.value for key, morsel in parsed.items()}
        return found


def api(key: str) -> dict:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def admin_login(client: Client, username: str, password: str, label: str) -> Answer:
    page = client.send("GET", "/admin/login/", label=f"{label}-form")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    form = urlencode(
        {
            "csrfmiddlewaretoken": token[1].decode() if token else "",
            "username": username,
            "password": password,
            "next": "/admin/",
        }
    )
    origin = "https://127.0.0.1"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": origin,
        "Referer": f"{origin}/admin/login/",
    }
    return client.send("POST", "/admin/login/", form, headers, label=label)


def settle(port: int, most: float = 30) -> None:
    """Until the server answers its health route quickly again (workers held by the case
    before are free), for at most `most` seconds, so a case is not timed in their queue."""
    deadline = time.monotonic() + most
    while time.monotonic() < deadline:
        answer = Client(port, 1, "10.0.0.8").send("GET", "/api/health", label="settle")
        if answer.status == 200 and answer.seconds < 0.2:
            return
        time.sleep(0.2)


# The normal GET beside the abuse -----------------------------------------------------------


PHASES = ("warm-up", "alone", "abuse")


class Reader:
    """GET /api/deployments/{id} in a loop, in a process of its own (the cases' client work
    in this one, reading pages of 1 MB, would otherwise hold the interpreter and delay its
    timings); each answer's time, in the phase it fell in, sent back when it stops."""

    def __init__(self, port: int, timeout: float, key: str, ids: list[str]) -> None:
        context = multiprocessing.get_context("fork")
        self._phase = context.Value("i", 0)
        self.stopped = context.Event()
        self._results, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=self._loop, args=(port, timeout, key, ids, sender), daemon=True
        )
        self.samples: dict[str, list[float]] = {phase: [] for phase in PHASES}
        self.errors: dict[str, int] = dict.fromkeys(PHASES, 0)

    @property
    def phase(self) -> str:
        return PHASES[self._phase.value]

    @phase.setter
    def phase(self, name: str) -> None:
        self._phase.value = PHASES.index(name)

    def start(self) -> None:
        self._process.start()

    def join(self, timeout: float) -> None:
        if self._results.poll(timeout):
            self.samples, self.errors = self._results.recv()
        self._process.join(timeout)

    def _loop(self, port: int, timeout: float, key: str, ids: list[str], sender) -> None:
        client = Client(port, timeout, address="10.0.0.200")
        samples: dict[str, list[float]] = {phase: [] for phase in PHASES}
        errors = dict.fromkeys(PHASES, 0)
        n = 0
        while not self.stopped.is_set():
            phase, n = self.phase, n + 1
            path = f"/api/deployments/{ids[n % len(ids)]}"
            answer = client.send("GET", path, headers=api(key), label="read")
            samples[phase].append(answer.seconds)
            if answer.status != 200:
                errors[phase] += 1
        sender.send((samples, errors))


def percentile(samples: list[float], share: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# The cases ----------------------------------------------------------------------------------


@dataclass
class Result:
    """A case's answers; `expected` is False when an answer is what the issue calls a flaw
    whatever its time (a login after 40 wrong passwords, public docs)."""

    name: str
    answers: list[Answer]
    note: str = ""
    expected: bool = True


def rrule_body(flow_id: str, name: str, rrule: str) -> str:
    return json.dumps(
        {
            "name": name,
            "flow_id": flow_id,
            "schedules": [{"schedule": {"rrule": rrule, "timezone": "UTC"}}],
        }
    )


RRULES = {
    "rrule COUNT=2000000000": "DTSTART:20250101T000000\nRRULE:FREQ=SECONDLY;COUNT=2000000000",
    "rrule SECONDLY cancelled by EXRULE": (
        "DTSTART:20250101T000000\nRRULE:FREQ=SECONDLY\nEXRULE:FREQ=SECONDLY"
    ),
    "rrule BYMONTH=2;BYMONTHDAY=30": (
        "DTSTART:20250101T000000\nRRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30"
    ),
}


# Seeded deployments whose "mondays" rrule schedule is active and which are not paused, all
# on the admin list's first page: the issue's rules are written straight into their rows.
STORED_COSTLY = [n for n in range(100) if n % 3 == 0 and n % 10 != 0][:30]


def store_costly_rules_behind_the_core(database_url: str) -> dict[str, str]:
    """The issue's rrules in 30 seeded rows, as rows stored before the schedule budget
    existed would hold them (the API now refuses them); one deployment of each to open."""
    opened = {}
    with psycopg.connect(database_url, autocommit=True) as connection:
        for index, n in enumerate(STORED_COSTLY):
            name, rule = list(RRULES.items())[index % len(RRULES)]
            connection.execute(
                "UPDATE catalog_deploymentschedule SET rrule = %s "
                "WHERE deployment_id = %s AND slug = 'mondays'",
                (rule, deployment_id(n)),
            )
            opened.setdefault(f"stored {name}", deployment_id(n))
    return opened


def run_cases(
    port: int, timeout: float, key: str, flow_id: str, some_id: str, database_url: str
) -> list[Result]:
    """The cases, those that may hold workers longest last: five 200 KB patterns, then the
    rrules (created last, so the admin's other pages do not list them, and stored in 30
    rows behind the core's back) and the pages that show them."""
    client = Client(port, timeout)
    staff = Client(port, timeout, address="10.0.0.2")
    login = admin_login(staff, STAFF, PASSWORD, "login")
    print(f"staff login for the admin cases: {login.status} in {login.seconds:.3f} s")
    results = schema_and_number_cases(client, key, flow_id)
    results += admin_query_cases(staff)
    results += credential_cases(port, timeout, some_id)
    results += filter_cases(key, port, timeout)
    settle(port)
    created = {}
    for n, (name, rrule) in enumerate(RRULES.items()):
        body = rrule_body(flow_id, f"abuse-rrule-{n}", rrule)
        answer = client.send("POST", "/api/deployments/", body, api(key), label=f"rrule{n}")
        results.append(Result(f"API create: {name}", [answer]))
        if answer.status in (200, 201):
            created[name] = json.loads(answer.body)["id"]
    created.update(store_costly_rules_behind_the_core(database_url))
    return results + admin_page_cases(staff, created)


def admin_page_cases(staff: Client, created: dict) -> list[Result]:
    results = [
        Result(
            f"admin deployment list ({len(STORED_COSTLY)} stored costly rules on it)",
            [staff.send("GET", "/admin/catalog/deployment/", label="list")],
        ),
        Result(
            "admin fleet calendar",
            [staff.send("GET", "/admin/catalog/deployment/calendar/", label="calendar")],
        ),
    ]
    for name, deployment in created.items():
        path = f"/admin/catalog/deployment/{deployment}/change/"
        results.append(
            Result(f"admin change page: {name}", [staff.send("GET", path, label="change")])
        )
    return results


def filter_cases(key: str, port: int, timeout: float) -> list[Result]:
    def like(size: int, label: str) -> Answer:
        body = json.dumps({"deployments": {"name": {"like_": "%a" * (size // 2)}}})
        return Client(port, timeout).send(
            "POST", "/api/deployments/filter", body, api(key), label=label
        )

    ten = like(10_000, "like10k")
    with ThreadPoolExecutor(5) as pool:
        five = list(pool.map(lambda n: like(200_000, f"like200k{n}"), range(5)))
    return [
        Result("API filter name.like_ of 10 KB", [ten]),
        Result("API filter name.like_ of 200 KB, 5 at once", five, "slowest of 5 shown"),
    ]


def schema_and_number_cases(client: Client, key: str, flow_id: str) -> list[Result]:
    evil = json.dumps(
        {
            "name": "abuse-evil-pattern",
            "flow_id": flow_id,
            "enforce_parameter_schema": True,
            "parameter_openapi_schema": {
                "type": "object",
                "properties": {"x": {"type": "string", "pattern": "^(a+)+$"}},
            },
            "parameters": {"x": "a" * 33 + "!"},
        }
    )
    nested = {
        f"x{level}": {"allOf": [{"$ref": f"#/definitions/x{level + 1}"}] * 10} for level in range(9)
    }
    nested["x9"] = {"type": "integer"}
    heavy = json.dumps(
        {
            "name": "abuse-nested-references",
            "flow_id": flow_id,
            "enforce_parameter_schema": True,
            "parameter_openapi_schema": {
                "type": "object",
                "definitions": nested,
                "properties": {"a": {"$ref": "#/definitions/x0"}},
            },
            "parameters": {"a": "not an integer"},
        }
    )
    digits = "9" * 5000
    nan_body = '{"limit": NaN, "deployments": {"name": {"any_": [NaN]}}}'
    send = client.send
    return [
        Result(
            "API create: schema pattern ^(a+)+$, 34 chars",
            [send("POST", "/api/deployments/", evil, api(key), label="evil")],
        ),
        Result(
            "API create: references 10 deep, 10 wide (10^9 checks)",
            [send("POST", "/api/deployments/", heavy, api(key), label="nested")],
        ),
        Result(
            "API filter limit of 5000 digits",
            [
                send(
                    "POST",
                    "/api/deployments/filter",
                    f'{{"limit": {digits}}}',
                    api(key),
                    label="digits",
                )
            ],
        ),
        Result(
            "API GET /deployments/?limit=5000 digits",
            [
                send(
                    "GET", f"/api/deployments/?limit={digits}", headers=api(key), label="digits-get"
                )
            ],
        ),
        Result(
            "API NaN in a body",
            [send("POST", "/api/deployments/filter", nan_body, api(key), label="nan")],
        ),
    ]


def admin_query_cases(staff: Client) -> list[Result]:
    base = "/admin/catalog/deployment/"
    cases = {
        "admin search with an unbalanced quote": f"{base}?q={quote(chr(39) + 'abc')}",
        "admin ?tags__contains=": f"{base}?tags__contains=",
        "admin ?name__regex=(a+)+$": f"{base}?name__regex={quote('(a+)+$')}",
        "admin search of 2 KB": f"{base}?q={'x' * 2048}",
    }
    return [Result(name, [staff.send("GET", path, label="adminq")]) for name, path in cases.items()]


def credential_cases(port: int, timeout: float, some_id: str) -> list[Result]:
    attacker = Client(port, timeout, address="10.0.0.66")
    wrong = [admin_login(attacker, VICTIM, f"wrong-{n}", f"wrong{n}") for n in range(40)]
    right = admin_login(attacker, VICTIM, PASSWORD, "right")
    logged_in = right.status == 302 and "sessionid" in right.cookies
    basic = base64.b64encode(f"{STAFF}:{PASSWORD}".encode()).decode()
    reader = Client(port, timeout, address="10.0.0.3")
    basics = [
        reader.send(
            "GET",
            f"/api/deployments/{some_id}",
            headers={"Authorization": f"Basic {basic}"},
            label="basic",
        )
        for _ in range(10)
    ]
    anonymous = Client(port, timeout, address="10.0.0.4")
    docs = [
        anonymous.send("GET", path, label="docs")
        for path in ("/api/openapi.json", "/api/docs", "/api/redoc")
    ]
    return [
        Result(
            "40 wrong admin passwords",
            wrong,
            f"statuses {sorted({a.status for a in wrong}, key=str)}",
        ),
        Result(
            "the right password after them",
            [right],
            "LOGGED IN: no throttling" if logged_in else "refused: throttled",
            expected=not logged_in,
        ),
        Result("basic auth, 10 requests", basics, "slowest of 10 shown"),
        Result(
            "anonymous /api/openapi.json, /api/docs, /api/redoc",
            docs,
            f"statuses {[a.status for a in docs]}",
            expected=all(answer.status in (401, 403) for answer in docs),
        ),
    ]


# The report ---------------------------------------------------------------------------------


def server_times(log: Path) -> dict[str, float]:
    """Each logged request's `duration_ms`, by request id, from the request log."""
    times = {}
    for line in log.read_text(errors="replace").splitlines():
        if '"duration_ms"' in line:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            times[entry.get("request_id", "")] = entry["duration_ms"] / 1000
    return times


def seconds_of(answer: Answer, logged: dict[str, float]) -> tuple[float, str]:
    if answer.request_id in logged:
        return logged[answer.request_id], "server"
    return answer.seconds, "client"


def slowest(result: Result, logged: dict) -> tuple[Answer, float, str]:
    timed = [(answer, *seconds_of(answer, logged)) for answer in result.answers]
    return max(timed, key=lambda item: item[1])


def passed(answer: Answer, seconds: float) -> bool:
    return isinstance(answer.status, int) and answer.status < 500 and seconds < UNDER_SECONDS


def print_report(results: list[Result], reader: Reader, logged: dict) -> bool:
    print(f"\n{'case':<54} {'status':>7} {'seconds':>8} {'by':>6}  passed")
    ok = True
    for result in results:
        answer, seconds, by = slowest(result, logged)
        good = passed(answer, seconds) and result.expected
        ok &= good
        note = f"  ({result.note})" if result.note else ""
        verdict = "yes" if good else "NO"
        status = str(answer.status)
        print(f"{result.name:<54} {status:>7} {seconds:>8.3f} {by:>6}  {verdict}{note}")
    alone, abuse = reader.samples["alone"], reader.samples["abuse"]
    p99_alone, p99_abuse = percentile(alone, 0.99), percentile(abuse, 0.99)
    within = p99_abuse <= P99_FACTOR * p99_alone
    print(
        f"\nnormal GET alone:  {len(alone)} requests, p50 {percentile(alone, 0.5) * 1000:.1f} ms, "
        f"p99 {p99_alone * 1000:.1f} ms, max {max(alone, default=0) * 1000:.0f} ms, "
        f"{reader.errors['alone']} not 200"
    )
    print(
        f"normal GET during: {len(abuse)} requests, p50 {percentile(abuse, 0.5) * 1000:.1f} ms, "
        f"p99 {p99_abuse * 1000:.1f} ms, max {max(abuse, default=0) * 1000:.0f} ms, "
        f"{reader.errors['abuse']} not 200"
    )
    verdict = "within" if within else "NOT within"
    print(f"p99 during / alone: {p99_abuse / p99_alone:.1f}x ({verdict} 2x)")
    return ok and within


# The run ------------------------------------------------------------------------------------


def main() -> None:
    arguments = parse_arguments()
    folder = Path(tempfile.mkdtemp(prefix="abuse-"))
    recreate_database(arguments.database_url)
    started = time.monotonic()
    try:
        ok = abuse(arguments, folder)
    finally:
        drop_database(arguments.database_url)
    print(f"\n{time.monotonic() - started:.0f} s in all; gunicorn's log: {folder}/gunicorn.log")
    print("PASSED" if ok else "FAILED: see the cases marked NO above")
    sys.exit(0 if ok else 1)


def environment(arguments: argparse.Namespace, folder: Path) -> dict[str, str]:
    return server_environment(
        **production_variables()
        | dict(
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_CSRF_TRUSTED_ORIGINS="https://127.0.0.1",
            DJANGO_STATIC_ROOT=str(folder / "static"),
            DATABASE_URL=arguments.database_url,
            GUNICORN_BIND="127.0.0.1:0",
            CATALOG_BASIC_AUTH="true",
            DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        )
    )


def prepare(env: dict[str, str], folder: Path, deployments: int) -> str:
    seed = folder / "seed.json"
    records = [deployment_record(n) for n in range(deployments)]
    seed.write_text(json.dumps({"flows": flow_records(), "deployments": records}))
    commands: list[str] = []
    manage(env, commands, "migrate", "--noinput")
    manage(env, commands, "collectstatic", "--noinput")
    manage(env, commands, "import_deployments", str(seed), "--quiet")
    for user in (STAFF, VICTIM):
        manage(
            env,
            commands,
            "createsuperuser",
            "--noinput",
            "--username",
            user,
            "--email",
            f"{user}@example.com",
        )
    return manage(env, commands, "create_api_key", "abuse", "--write").strip()


def warm_up(port: int, timeout: float, key: str, some_id: str) -> None:
    """A worker's first requests import more of the app, which takes seconds: every worker
    gets a few (the admin's login page, the API's health and GET) before the GET is timed."""
    paths = ["/admin/login/", "/api/health", f"/api/deployments/{some_id}"] * 15

    def send(path: str) -> Answer:
        return Client(port, timeout, "10.0.0.9").send("GET", path, headers=api(key), label="warm")

    with ThreadPoolExecutor(5) as pool:
        list(pool.map(send, paths))
    time.sleep(2)


def abuse(arguments: argparse.Namespace, folder: Path) -> bool:
    env = environment(arguments, folder)
    started = time.monotonic()
    key = prepare(env, folder, arguments.deployments)
    print(f"database ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
    ids = [
        deployment_id(n)
        for n in range(0, arguments.deployments, max(1, arguments.deployments // 50))
    ]
    log = folder / "gunicorn.log"
    workers: list[int] = []
    try:
        with gunicorn_serving(env, log, []) as (server, port):
            workers = children_of(server.pid)
            results, reader, logged = run_beside_reader(arguments, port, key, ids, log)
            workers += children_of(server.pid)
    finally:
        kill_leftover_workers(workers)
    return print_report(results, reader, logged)


def kill_leftover_workers(workers: list[int]) -> None:
    """A worker still busy with a case when gunicorn stops outlives its master (stopped
    after 30 s): it is killed, when it is still this run's gunicorn worker."""
    for pid in workers:
        try:
            if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


def run_beside_reader(arguments, port: int, key: str, ids: list[str], log: Path):
    """The cases while the reader runs; their results, the reader and the server times."""
    reader = Reader(port, arguments.timeout, key, ids)
    reader.phase = "warm-up"
    reader.start()
    warm_up(port, arguments.timeout, key, ids[0])
    reader.phase = "alone"
    time.sleep(arguments.baseline)
    reader.phase = "abuse"
    flow_id = deployment_record(0)["flow_id"]
    results = run_cases(port, arguments.timeout, key, flow_id, ids[0], arguments.database_url)
    reader.stopped.set()
    reader.join(arguments.timeout + 1)
    time.sleep(1)
    return results, reader, server_times(log)


if __name__ == "__main__":
    main()
