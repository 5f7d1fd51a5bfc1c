"""The API side by side with the real Prefect 3.9.1 server: GET by id, filter and paginate,
with wrk, in one run, next to a bare Django view's ceiling.

    uv run python bench/api_vs_prefect.py [--duration 10] [--rounds 3] [--warmup 3]
        [--connections 1,8,32] [--sizes 10000,100000] [--list-connections 8]
        [--list-duration 20] [--sort NAME_ASC] [--threads 2] [--workers N]
        [--prefect-load-seconds 900]
        [--prefect-load-threads N] [--prefect-services] [--prefect-postgres]
        [--with-import-and-admin] [--import-deployments 10000]
        [--admin-deployments 100000] [--admin-repeat 15]
        [--database-url postgres://postgres@127.0.0.1:5432/catalog_bench_api]

Three servers on loopback ports, all started and stopped by the script:

- ours: gunicorn with config/gunicorn.conf.py and the variables of
  config/production.env.example, on a scratch PostgreSQL database (dropped and created
  again, migrated), anonymous reads allowed (CATALOG_ANONYMOUS_READ). Every request says
  X-Forwarded-Proto: https, as the documented proxy would, so the HTTPS redirect stays on.
- Prefect: `prefect server start` from .venv-interop/ (scripts/interop-venv) with a fresh
  PREFECT_HOME, on SQLite (its default) or, with --prefect-postgres, on a scratch
  PostgreSQL database. Only its web server runs (--no-services) unless --prefect-services:
  its scheduler would otherwise make flow runs for every loaded schedule meanwhile.
- bare: bench/bare_view.py under the same gunicorn settings, answering our GET's bytes.

1. GET /api/deployments/{id} of the same deployment on each (the reference capture's
   full deployment, made through both APIs from one body) at each connection count.
2. POST /api/deployments/filter and /paginate, 200 deployments sorted, over each size of
   catalog (deployments generated as bench/admin_list.py does): ours loaded with
   `manage.py import_deployments`, Prefect through its API (POST /api/deployments/, one
   at a time on SQLite). Prefect always gets the smallest size; a larger one only when,
   at the rate measured so far, loading it would take at most --prefect-load-seconds;
   otherwise the report says it was skipped, and why.
3. With --with-import-and-admin: bench/import_deployments.py and bench/admin_list.py,
   run after the servers stop (the admin list reads our scratch database).

Each round runs every target once per measurement, the targets' order turning from round
to round; the tables show the medians of the rounds. The scratch databases are dropped
and every server stopped at the end, whatever happens; on failure the servers' logs stay.
A default run takes 20 to 25 minutes on 2 cores, a third of it loading Prefect.
"""

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from admin_list import deployment_record, flow_records  # noqa: E402

from tests.servers import production_variables, stop  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/catalog_bench_api"
PREFECT = ROOT / ".venv-interop" / "bin" / "prefect"
REFERENCE = ROOT / "tests" / "data" / "prefect"
SETTINGS_PREFIXES = ("DJANGO_", "DATABASE_", "CATALOG_", "GUNICORN_", "PREFECT_")
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
STARTUP_SECONDS = 120
MANAGE_SECONDS = 1800
PREFECT_CHUNK = 500
PREFECT_ATTEMPTS = 10
LIST_ENDPOINTS = ("filter", "paginate")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds a wrk run of GET")
    parser.add_argument(
        "--list-duration", type=int, default=20, help="seconds a wrk run of filter, paginate"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3, help="seconds, before first rounds")
    parser.add_argument("--connections", type=numbers, default=[1, 8, 32], help="for GET")
    parser.add_argument("--sizes", type=numbers, default=[10_000, 100_000])
    parser.add_argument("--list-connections", type=int, default=8)
    parser.add_argument("--sort", default="NAME_ASC", help="of filter and paginate")
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--timeout", type=int, default=30, help="wrk's request timeout, s")
    parser.add_argument("--workers", type=int, help="default: config/gunicorn.conf.py's")
    parser.add_argument("--prefect-load-seconds", type=int, default=900)
    parser.add_argument(
        "--prefect-load-threads", type=int, help="default: 1 on SQLite, 4 on PostgreSQL"
    )
    parser.add_argument("--prefect-services", action="store_true")
    parser.add_argument("--prefect-postgres", action="store_true")
    parser.add_argument("--with-import-and-admin", action="store_true")
    parser.add_argument("--import-deployments", type=int, default=10_000)
    parser.add_argument("--admin-deployments", type=int, default=100_000)
    parser.add_argument("--admin-repeat", type=int, default=15)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    return parser.parse_args()


def numbers(text: str) -> list[int]:
    return sorted(int(part.replace("_", "")) for part in text.split(",") if part.strip())


@dataclass
class Run:
    """What one run of the script knows: its arguments, folder, commands and results."""

    arguments: argparse.Namespace
    folder: Path
    wrk: str
    commands: list[str] = field(default_factory=list)
    results: dict[tuple, "Measured"] = field(default_factory=dict)
    answer_bytes: dict[tuple, int] = field(default_factory=dict)
    loadings: dict[str, "Loading"] = field(default_factory=dict)
    extra_rows: list[tuple[str, str]] = field(default_factory=list)
    production_env: dict[str, str] = field(default_factory=dict)
    workers: int = 0
    prefect_version: str = ""

    def command(self, line: str) -> None:
        if line not in self.commands:
            self.commands.append(line)

    def databases(self) -> list[str]:
        url = self.arguments.database_url
        return [url, prefect_database_url(url), import_database_url(url)]


def main() -> None:
    arguments = parse_arguments()
    run = Run(arguments, Path(tempfile.mkdtemp(prefix="api-vs-prefect-")), wrk_or_exit())
    prefect_or_exit()
    started, load_before = time.monotonic(), os.getloadavg()
    finished = False
    try:
        benchmark(run)
        finished = True
    finally:
        for url in run.databases():
            drop_database(url)
        if finished:
            shutil.rmtree(run.folder)
        else:
            print(f"\nFAILED; the servers' logs are in {run.folder}", file=sys.stderr)
    print_report(run, load_before, time.monotonic() - started)


def wrk_or_exit() -> str:
    found = shutil.which("wrk")
    if found is None:
        script = Path(sys.argv[0]).name
        sys.exit(f"bench/{script} needs wrk: `apt-get install wrk` (Debian/Ubuntu).")
    return found


def prefect_or_exit() -> None:
    if not PREFECT.exists():
        sys.exit(f"{PREFECT.relative_to(ROOT)} is missing: run scripts/interop-venv first.")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# The benchmark ---------------------------------------------------------------------------


def benchmark(run: Run) -> None:
    with ExitStack() as servers:
        ours, prefect, bare = start_servers(run, servers)
        measure_get_by_id(run, [ours, prefect, bare])
        run.workers = ours.log.read_text().count("Booting worker with pid")
        measure_lists(run, ours, prefect)
    if run.arguments.with_import_and_admin:
        measure_import_and_admin(run)


@dataclass
class Target:
    """A server under test: its name, address, credentials, and the deployment read."""

    name: str
    base: str
    headers: dict[str, str] = field(default_factory=dict)
    deployment_id: str = ""
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log: Path | None = None

    def url(self, path: str) -> str:
        return f"{self.base}/api{path}"


def start_servers(run: Run, servers: ExitStack) -> tuple[Target, Target, Target]:
    """Prefect starts first and boots while ours is migrated; bare comes last, since it
    answers with our GET's bytes."""
    recreate_database(run.arguments.database_url)
    if run.arguments.prefect_postgres:
        recreate_database(prefect_database_url(run.arguments.database_url))
    prefect = start_prefect(run, servers)
    ours = start_ours(run, servers)
    wait_until_answering(prefect, "/health")
    run.prefect_version = json.loads(call(prefect.url("/admin/version"))[1])
    for target in (ours, prefect):
        target.deployment_id = create_reference_deployment(target)
    bare = start_bare(run, servers, answer_of(ours))
    return ours, prefect, bare


# Servers ---------------------------------------------------------------------------------


def start_ours(run: Run, servers: ExitStack) -> Target:
    env = production_environment(run)
    manage(run, env, "migrate", "--noinput")
    key = manage(run, env, "create_api_key", "bench", "--write").strip()
    target = Target("ours", f"http://{env['GUNICORN_BIND']}", {"Authorization": f"Bearer {key}"})
    target.env, target.log = env, run.folder / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
    target.process = servers.enter_context(launched(run, command, env, target.log))
    wait_until_answering(target, "/health")
    return target


def start_bare(run: Run, servers: ExitStack, answer: bytes) -> Target:
    body = run.folder / "answer.json"
    body.write_bytes(answer)
    gunicorn_variables = {k: v for k, v in production_environment(run).items() if is_gunicorn(k)}
    env = inherited_environment() | gunicorn_variables | {"BENCH_BARE_BODY": str(body)}
    env["GUNICORN_BIND"] = f"127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
    command.append("bench.bare_view:application")
    target = Target("bare", f"http://{env['GUNICORN_BIND']}", deployment_id=str(uuid.uuid4()))
    target.log = run.folder / "bare.log"
    target.process = servers.enter_context(launched(run, command, env, target.log))
    wait_until_answering(target, f"/deployments/{target.deployment_id}")
    return target


def start_prefect(run: Run, servers: ExitStack) -> Target:
    port = free_port()
    env = inherited_environment() | {
        "PREFECT_HOME": str(run.folder / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
    }
    if run.arguments.prefect_postgres:
        url = prefect_database_url(run.arguments.database_url)
        asyncpg_url = url.replace("postgres://", "postgresql+asyncpg://", 1)
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = asyncpg_url
    command = [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    if not run.arguments.prefect_services:
        command.append("--no-services")
    target = Target("Prefect", f"http://127.0.0.1:{port}", log=run.folder / "prefect.log")
    target.process = servers.enter_context(launched(run, command, env, target.log))
    return target


def production_environment(run: Run) -> dict[str, str]:
    """`server_environment` on the scratch database; the same on every call."""
    if not run.production_env:
        arguments = run.arguments
        static = run.folder / "static"
        run.production_env = server_environment(arguments.database_url, static, arguments.workers)
    return run.production_env


def server_environment(
    database_url: str, static_root: Path, workers: int | None = None
) -> dict[str, str]:
    """The variables of config/production.env.example, with a new secret key, this host,
    the database, anonymous reads and a free port."""
    env = inherited_environment() | production_variables()
    env |= {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://127.0.0.1",
        "DJANGO_STATIC_ROOT": str(static_root),
        "DATABASE_URL": database_url,
        "CATALOG_ANONYMOUS_READ": "true",
        "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
    }
    if workers:
        env["GUNICORN_WORKERS"] = str(workers)
    return env


def inherited_environment() -> dict[str, str]:
    """This process's environment without any of the app's or Prefect's variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}


def is_gunicorn(name: str) -> bool:
    return name.startswith("GUNICORN_")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def launched(run: Run, command: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT):
    """A server process, run in `cwd`, until the block ends; then stopped, by its own id."""
    run.command(in_folder(cwd) + environment_line(env) + " " + shlex.join(shown(command)))
    with log.open("w") as output:
        server = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=output, start_new_session=True
        )
    try:
        yield server
    finally:
        stop(server)


def in_folder(cwd: Path) -> str:
    """How a printed command says it runs in another checkout than this one."""
    return "" if cwd == ROOT else f"cd {shlex.quote(str(cwd))} && "


def shown(command: list[str]) -> list[str]:
    """A command as printed: `python` for this interpreter, paths relative to the repo."""
    first = "python" if command[0] == sys.executable else command[0]
    return [first.replace(str(ROOT) + "/", ""), *command[1:]]


def environment_line(env: dict[str, str]) -> str:
    """The variables set for a server (the app's, Prefect's, the bare view's), secret
    key left out."""
    chosen = {
        name: "<random>" if name == "DJANGO_SECRET_KEY" else value
        for name, value in sorted(env.items())
        if name.startswith(SETTINGS_PREFIXES) or name.startswith("BENCH_")
    }
    return " ".join(f"{name}={shlex.quote(value)}" for name, value in chosen.items())


def wait_until_answering(target: Target, path: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and target.process.poll() is None:
        try:
            if call(target.url(path))[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    log = target.log.read_text()[-3000:]
    raise RuntimeError(f"{target.name} does not answer GET {path}; its log ends:\n{log}")


def manage(run: Run, env: dict[str, str], *arguments: str, cwd: Path = ROOT) -> str:
    """A `manage.py` command of the checkout in `cwd` (this one unless told) that must
    succeed; its output."""
    line = shlex.join(["python", "manage.py", *arguments])
    run.command(f"{in_folder(cwd)}DATABASE_URL={env['DATABASE_URL']} {line}")
    progress(f"manage.py {arguments[0]} ...")
    command = [sys.executable, "manage.py", *arguments]
    finished = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=MANAGE_SECONDS
    )
    if finished.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(arguments)} failed:\n{finished.stderr}")
    return finished.stdout


# HTTP ------------------------------------------------------------------------------------


def call(url: str, body=None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """One request (a POST when there is a body); an error status is an answer too."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    for name, value in (PROXY_HEADERS | (headers or {})).items():
        request.add_header(name, value)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def created(target: Target, path: str, body: dict) -> dict:
    status, answer = call(target.url(path), body, target.headers)
    if status not in (200, 201):
        raise RuntimeError(f"{target.name}: POST {path} answered {status}: {answer[:500]!r}")
    return json.loads(answer)


def answer_of(target: Target) -> bytes:
    status, answer = call(target.url(f"/deployments/{target.deployment_id}"))
    if status != 200:
        raise RuntimeError(f"{target.name}: GET of the deployment answered {status}")
    return answer


def reference(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text())


def create_reference_deployment(target: Target) -> str:
    """The reference capture's flow, work pool and full deployment; its id."""
    flow = created(target, "/flows/", reference("01_flow_create.request.json"))
    created(target, "/work_pools/", reference("02_work_pool_create.request.json"))
    body = reference("10_deployment_full_create.request.json")
    # Prefect refuses ids of block documents it does not hold, and the catalog keeps none.
    body.pop("storage_document_id")
    body.pop("infrastructure_document_id")
    return created(target, "/deployments/", body | {"flow_id": flow["id"]})["id"]


# wrk -------------------------------------------------------------------------------------

LUA = r"""-- Written by bench/api_vs_prefect.py: POSTs the file named after `--`, if any, and
-- prints a machine-readable summary.
function init(args)
  if args[1] then
    local file = assert(io.open(args[1], "rb"))
    wrk.method = "POST"
    wrk.body = file:read("*a")
    wrk.headers["Content-Type"] = "application/json"
    file:close()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d errors=%d non_2xx_3xx=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class WrkRun:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass
class Measured:
    """One target's runs of one measurement, one a round."""

    runs: list[WrkRun] = field(default_factory=list)

    def median(self, name: str) -> float:
        return statistics.median(getattr(run, name) for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)

    @property
    def answers(self) -> int:
        return sum(run.requests for run in self.runs)


def wrk_command(run: Run, url: str, connections: int, seconds: int, body: Path | None):
    script = run.folder / "bench.lua"
    if not script.exists():
        script.write_text(LUA)
    command = [
        run.wrk,
        f"--threads={min(run.arguments.threads, connections)}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        f"--timeout={run.arguments.timeout}s",
        f"--script={script}",
        *(f"--header={name}: {value}" for name, value in PROXY_HEADERS.items()),
        url,
    ]
    return command + (["--", str(body)] if body else [])


def run_wrk(run: Run, command: list[str], warmup: bool = False) -> WrkRun:
    run.command(shlex.join(command) + ("  # warm-up" if warmup else ""))
    limit = wrk_seconds(command) + run.arguments.timeout + 60
    finished = subprocess.run(command, capture_output=True, text=True, timeout=limit)
    found = re.search(r"^BENCH (.*)$", finished.stdout, re.MULTILINE)
    if finished.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed:\n{finished.stdout}{finished.stderr}")
    figures = {k: int(v) for k, v in (pair.split("=") for pair in found[1].split())}
    return WrkRun(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        errors=figures["errors"] + figures["non_2xx_3xx"],
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
    )


def wrk_seconds(command: list[str]) -> int:
    """How long a wrk command runs for, by its --duration."""
    duration = next(part for part in command if part.startswith("--duration="))
    return int(duration.removeprefix("--duration=").removesuffix("s"))


def turned(targets: list, round_number: int) -> list:
    """The targets in this round's order: each goes first in turn."""
    shift = round_number % len(targets)
    return targets[shift:] + targets[:shift]


# 1. GET by id ----------------------------------------------------------------------------


def measure_get_by_id(run: Run, targets: list[Target]) -> None:
    arguments = run.arguments
    for target in targets:
        run.answer_bytes[("get", target.name)] = len(answer_of(target))
        url = target.url(f"/deployments/{target.deployment_id}")
        progress(f"GET warm-up: {target.name} ...")
        run_wrk(
            run, wrk_command(run, url, max(arguments.connections), arguments.warmup, None), True
        )
    for number in range(arguments.rounds):
        for connections in arguments.connections:
            progress(f"GET round {number + 1}/{arguments.rounds}, {connections} connections ...")
            for target in turned(targets, number):
                url = target.url(f"/deployments/{target.deployment_id}")
                command = wrk_command(run, url, connections, arguments.duration, None)
                key = ("get", 0, connections, target.name)
                run.results.setdefault(key, Measured()).runs.append(run_wrk(run, command))


# 2. filter and paginate ------------------------------------------------------------------


@dataclass
class Loading:
    """How many generated deployments a server holds, how long they took to load, and why
    loading stopped short, if it did."""

    loaded: int = 0
    seconds: float = 0.0
    gave_up: str = ""
    retries: int = 0

    @property
    def rate(self) -> float:
        return self.loaded / self.seconds if self.seconds else 0.0


def measure_lists(run: Run, ours: Target, prefect: Target) -> None:
    run.loadings = {"ours": Loading(), "Prefect": Loading()}
    bodies = list_bodies(run)
    flow_ids: dict[str, str] = {}
    for size in run.arguments.sizes:
        load_ours(run, ours, size)
        if not run.loadings["Prefect"].gave_up:
            flow_ids = flow_ids or prefect_flows_and_pools(prefect)
            load_prefect(run, prefect, size, flow_ids)
        analyze_databases(run)
        ready = [ours] + ([] if run.loadings["Prefect"].gave_up else [prefect])
        measure_lists_at(run, ready, size, bodies)


def list_bodies(run: Run) -> dict[str, Path]:
    bodies = {
        "filter": {"limit": 200, "sort": run.arguments.sort},
        "paginate": {"page": 1, "limit": 200, "sort": run.arguments.sort},
    }
    paths = {}
    for endpoint, body in bodies.items():
        paths[endpoint] = run.folder / f"{endpoint}.json"
        paths[endpoint].write_text(json.dumps(body))
    return paths


def load_ours(run: Run, ours: Target, size: int) -> None:
    loading = run.loadings["ours"]
    if loading.loaded >= size:
        return
    path = run.folder / f"deployments-{loading.loaded}-{size}.json"
    records = [deployment_record(n) for n in range(loading.loaded, size)]
    path.write_text(json.dumps({"flows": flow_records(), "deployments": records}))
    started = time.perf_counter()
    manage(run, ours.env, "import_deployments", str(path), "--quiet")
    loading.seconds += time.perf_counter() - started
    loading.loaded = size
    path.unlink()


def prefect_flows_and_pools(prefect: Target) -> dict[str, str]:
    """The generated flows and work pools, made on Prefect, which chooses the flows' ids;
    the catalog's flow id of each (from the records) to Prefect's."""
    pools = sorted({deployment_record(n)["work_pool_name"] for n in range(100)})
    for pool in pools:
        created(prefect, "/work_pools/", {"name": pool, "type": "process"})
    return {
        flow["id"]: created(prefect, "/flows/", {"name": flow["name"]})["id"]
        for flow in flow_records()
    }


def load_prefect(run: Run, prefect: Target, size: int, flow_ids: dict[str, str]) -> None:
    """POSTs deployments up to `size`. The first size is always loaded; a later one only
    if, at the rate so far, it would take at most --prefect-load-seconds; if not, Prefect
    is measured no further."""
    loading, budget = run.loadings["Prefect"], run.arguments.prefect_load_seconds
    if loading.loaded and (size - loading.loaded) / loading.rate > budget:
        minutes = (size - loading.loaded) / loading.rate / 60
        loading.gave_up = (
            f"loading {size:,} would take about {minutes:.0f} more min at "
            f"{loading.rate:.0f}/s, over --prefect-load-seconds {budget}"
        )
        return

    def create(n: int) -> int:
        return create_on_prefect(prefect, n, flow_ids)

    with ThreadPoolExecutor(prefect_load_threads(run.arguments)) as pool:
        while loading.loaded < size:
            started, last = time.perf_counter(), min(loading.loaded + PREFECT_CHUNK, size)
            loading.retries += sum(pool.map(create, range(loading.loaded, last)))
            loading.seconds += time.perf_counter() - started
            loading.loaded = last
            left = (size - last) / loading.rate
            progress(f"Prefect: {last:,} of {size:,} at {loading.rate:.0f}/s, {left:.0f} s left")


def prefect_load_threads(arguments: argparse.Namespace) -> int:
    """One at a time on SQLite: concurrent writes there mostly fail with SQLITE_BUSY (503s),
    which makes loading slower, not faster."""
    if arguments.prefect_load_threads:
        return arguments.prefect_load_threads
    return 4 if arguments.prefect_postgres else 1


def create_on_prefect(prefect: Target, n: int, flow_ids: dict[str, str]) -> int:
    """One generated deployment without its id (Prefect chooses ids), under Prefect's
    flow; how many times it was retried. A 503 (SQLite busy under concurrent writes) is
    retried after a pause, as the Prefect client itself does."""
    record = deployment_record(n)
    body = {k: v for k, v in record.items() if k != "id"} | {"flow_id": flow_ids[record["flow_id"]]}
    for attempt in range(1, PREFECT_ATTEMPTS + 1):
        status, answer = call(prefect.url("/deployments/"), body)
        if status in (200, 201):
            return attempt - 1
        if status != 503:
            break
        time.sleep(0.2 * attempt)
    raise RuntimeError(f"Prefect: POST /deployments/ answered {status}: {answer[:500]!r}")


def measure_lists_at(run: Run, targets: list[Target], size: int, bodies: dict[str, Path]):
    arguments = run.arguments
    for target in targets:
        for endpoint, body in bodies.items():
            check_list_answer(run, target, endpoint, body, size)
            url, connections = target.url(f"/deployments/{endpoint}"), arguments.list_connections
            progress(f"{endpoint} warm-up at {size:,}: {target.name} ...")
            run_wrk(run, wrk_command(run, url, connections, arguments.warmup, body), True)
    for number in range(arguments.rounds):
        progress(f"filter and paginate at {size:,}, round {number + 1}/{arguments.rounds} ...")
        for endpoint, body in bodies.items():
            for target in turned(targets, number):
                url = target.url(f"/deployments/{endpoint}")
                seconds = arguments.list_duration
                command = wrk_command(run, url, arguments.list_connections, seconds, body)
                key = (endpoint, size, arguments.list_connections, target.name)
                run.results.setdefault(key, Measured()).runs.append(run_wrk(run, command))


def check_list_answer(run: Run, target: Target, endpoint: str, body: Path, size: int) -> None:
    """The answer holds 200 deployments (or all, the reference one included, when fewer);
    its size goes in the report."""
    status, answer = call(target.url(f"/deployments/{endpoint}"), json.loads(body.read_text()))
    results = json.loads(answer) if status == 200 else None
    if endpoint == "paginate" and results is not None:
        results = results["results"]
    if results is None or len(results) != min(200, size + 1):
        raise RuntimeError(f"{target.name}: {endpoint} answered {status}: {answer[:500]!r}")
    run.answer_bytes[(endpoint, size, target.name)] = len(answer)


# 3. Import and admin list ----------------------------------------------------------------


def measure_import_and_admin(run: Run) -> None:
    measure_import(run)
    measure_admin_list(run)


def measure_import(run: Run) -> None:
    deployments, url = run.arguments.import_deployments, run.arguments.database_url
    output = bench_script(
        run,
        "import_deployments.py",
        f"--deployments={deployments}",
        f"--database-url={import_database_url(url)}",
    )
    pattern = r"^(first import \(all created\)|same file again \(all unchanged\))\s+(\S+)\s+(\S+)"
    for label, seconds, rate in re.findall(pattern, output, re.MULTILINE):
        figure = f"{float(rate):,.0f} deployments/s ({seconds} s)"
        run.extra_rows.append((f"import {deployments:,}: {label}", figure))


def measure_admin_list(run: Run) -> None:
    """On our scratch database, which already holds the deployments loaded above."""
    deployments = run.arguments.admin_deployments
    output = bench_script(
        run,
        "admin_list.py",
        f"--deployments={deployments}",
        f"--repeat={run.arguments.admin_repeat}",
        f"--database-url={run.arguments.database_url}",
    )
    cases = "unfiltered|filtered by tag|searched by name|searched by id|searched by tag text"
    pattern = rf"^({cases})\s+(\S+)\s+(\S+)\s+\S+\s+(\d+)"
    for label, median, p95, queries in re.findall(pattern, output, re.MULTILINE):
        figure = f"median {median} ms, p95 {p95} ms, {queries} queries"
        run.extra_rows.append((f"admin list at {deployments:,}: {label}", figure))


def bench_script(run: Run, name: str, *arguments: str) -> str:
    run.command(shlex.join(["uv", "run", "python", f"bench/{name}", *arguments]))
    progress(f"bench/{name} ...")
    command = [sys.executable, str(ROOT / "bench" / name), *arguments]
    finished = subprocess.run(
        command, cwd=ROOT, env=inherited_environment(), capture_output=True, text=True
    )
    if finished.returncode != 0:
        raise RuntimeError(f"bench/{name} failed:\n{finished.stdout}{finished.stderr}")
    return finished.stdout


# Scratch databases -----------------------------------------------------------------------


def prefect_database_url(url: str) -> str:
    return url + "_prefect"


def import_database_url(url: str) -> str:
    return url + "_import"


def recreate_database(url: str) -> None:
    drop_database(url)
    with maintenance_connection(url) as connection:
        connection.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')


def drop_database(url: str) -> None:
    with maintenance_connection(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@contextmanager
def maintenance_connection(url: str):
    server = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1) + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        yield connection


def analyze_databases(run: Run) -> None:
    """Statistics for the planner, after loading: this PostgreSQL runs with autovacuum off,
    so nothing else would gather them."""
    urls = [run.arguments.database_url]
    if run.arguments.prefect_postgres:
        urls.append(prefect_database_url(run.arguments.database_url))
    for url in urls:
        with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as connection:
            connection.execute("ANALYZE")


# The report ------------------------------------------------------------------------------

TARGETS = ("ours", "Prefect", "bare")


def print_report(run: Run, load_before: tuple[float, ...], seconds: float) -> None:
    print_setting(run, load_before, seconds)
    print_get_table(run)
    print_list_table(run)
    print_loadings(run)
    print_summary(run)
    print("\ncommands:")
    print(f"  uv run python bench/api_vs_prefect.py {shlex.join(sys.argv[1:])}")
    for line in run.commands:
        print(f"  {line}")


def print_setting(run: Run, load_before: tuple[float, ...], seconds: float) -> None:
    arguments = run.arguments
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    database = "PostgreSQL" if arguments.prefect_postgres else "SQLite"
    services = "and its services" if arguments.prefect_services else "only (--no-services)"
    print(f"\nAPI vs Prefect, {datetime.now():%Y-%m-%d %H:%M}")
    print(f"machine: {os.cpu_count()} CPUs, {memory:.1f} GiB memory, loopback")
    print(f"ours and bare: gunicorn, {run.workers} sync workers each; ours on PostgreSQL")
    print(f"Prefect {run.prefect_version}: on {database}, its web server {services}")
    print(
        f"wrk: {arguments.duration} s a run (filter and paginate: {arguments.list_duration} s), "
        f"{arguments.rounds} rounds (medians shown; answers and errors summed), "
        f"at most {arguments.threads} threads"
    )
    print(
        f"load average (1 min): {load_before[0]:.1f} at start, {os.getloadavg()[0]:.1f} "
        f"at end; {seconds / 60:.1f} min in all"
    )


def print_get_table(run: Run) -> None:
    print("\nGET /api/deployments/{id}")
    rows = []
    for connections in run.arguments.connections:
        for name in TARGETS:
            measured = run.results[("get", 0, connections, name)]
            size = run.answer_bytes[("get", name)]
            rows.append([str(connections), name, *figures(measured), str(size)])
        for other in ("Prefect", "bare"):
            rows.append(["", f"ours/{other}", ratio(run, ("get", 0, connections), other)])
    header = ["connections", "target", "requests/s", "p50 ms", "p99 ms", "answers", "errors"]
    print_table([*header, "bytes"], rows, left=2)


def print_list_table(run: Run) -> None:
    arguments = run.arguments
    print(
        f"\nPOST /api/deployments/filter and /paginate, limit 200, sort {arguments.sort}, "
        f"{arguments.list_connections} connections"
    )
    rows = []
    for size in arguments.sizes:
        for endpoint in LIST_ENDPOINTS:
            key = (endpoint, size, arguments.list_connections)
            for name in ("ours", "Prefect"):
                measured = run.results.get((*key, name))
                if measured:
                    size_bytes = str(run.answer_bytes[(endpoint, size, name)])
                    rows.append([f"{size:,}", endpoint, name, *figures(measured), size_bytes])
                else:
                    rows.append([f"{size:,}", endpoint, name, "not measured"])
            rows.append(["", "", "ours/Prefect", ratio(run, key, "Prefect")])
    header = ["deployments", "endpoint", "target", "requests/s", "p50 ms", "p99 ms", "answers"]
    print_table([*header, "errors", "bytes"], rows, left=3)
    print_few_answers_note(run)


def print_few_answers_note(run: Run) -> None:
    """wrk counts only the answers that arrive within a run: when each takes a sizeable
    share of the run, requests/s comes out low by about p50 / (2 x the run's length)."""
    seconds = run.arguments.list_duration
    slow = [
        f"{key[3]} {key[0]} at {key[1]:,} (p50 {measured.median('p50_ms') / 1000:.1f} s)"
        for key, measured in run.results.items()
        if key[0] in LIST_ENDPOINTS
        and (not measured.answers or measured.median("p50_ms") > seconds * 1000 / 10)
    ]
    if slow:
        print(
            f"few answers a run for {', '.join(slow)}: requests/s is low by up to about "
            f"p50 / (2 x {seconds} s); a longer --list-duration narrows that"
        )


def print_loadings(run: Run) -> None:
    ways = {
        "ours": "manage.py import_deployments, start-up included",
        "Prefect": f"POST /api/deployments/ from {prefect_load_threads(run.arguments)} threads",
    }
    for name, loading in run.loadings.items():
        print(
            f"loaded {name}: {loading.loaded:,} deployments in {loading.seconds:.1f} s "
            f"({loading.rate:.0f}/s; {ways[name]})"
        )
        if loading.retries:
            print(f"  {loading.retries} creates retried after a 503 (SQLite busy)")
        if loading.gave_up:
            print(f"  {name} skipped from then on: {loading.gave_up}")


def print_summary(run: Run) -> None:
    """The headline figures in one table, import and admin list included when run."""
    arguments = run.arguments
    print("\nSummary: requests/s (p99 ms), medians")
    rows = []
    for connections in arguments.connections:
        key = ("get", 0, connections)
        rows.append([f"GET by id, {connections} connections", *summary_cells(run, key)])
    for size in arguments.sizes:
        for endpoint in LIST_ENDPOINTS:
            key = (endpoint, size, arguments.list_connections)
            rows.append([f"{endpoint} 200 of {size:,}", *summary_cells(run, key)])
    print_table(["measure", *TARGETS, "ours/Prefect", "ours/bare"], rows)
    rows = [
        [f"loading {name}", f"{loading.rate:.0f} deployments/s"]
        for name, loading in run.loadings.items()
    ]
    rows += [[label, value] for label, value in run.extra_rows]
    print_table(["", ""], rows, left=2)


def figures(measured: Measured) -> list[str]:
    return [
        f"{measured.median('rate'):.1f}",
        f"{measured.median('p50_ms'):.1f}",
        f"{measured.median('p99_ms'):.1f}",
        str(measured.answers),
        str(measured.errors),
    ]


def ratio(run: Run, key: tuple, other: str) -> str:
    ours, theirs = run.results.get((*key, "ours")), run.results.get((*key, other))
    if not ours or not theirs:
        return "-"
    if not theirs.median("rate"):
        return "inf (no answers)"
    return f"{ours.median('rate') / theirs.median('rate'):.2f}x"


def summary_cells(run: Run, key: tuple) -> list[str]:
    cells = []
    for name in TARGETS:
        measured = run.results.get((*key, name))
        rate = measured and f"{measured.median('rate'):.1f} ({measured.median('p99_ms'):.0f})"
        cells.append(rate or "-")
    return [*cells, ratio(run, key, "Prefect"), ratio(run, key, "bare")]


def print_table(header: list[str], rows: list[list[str]], left: int = 1) -> None:
    """Columns as wide as their widest cell: the first `left` aligned left, the others
    right. Short rows are filled with empty cells."""
    rows = [row + [""] * (len(header) - len(row)) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())


if __name__ == "__main__":
    main()
