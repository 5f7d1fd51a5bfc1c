"""Soak: wrk against gunicorn on PostgreSQL, mixed reads and writes through the API, for a
bounded time; reports errors, latency percentiles and the servers' memory growth.

    uv run python bench/soak.py [--duration 300] [--warmup 30] [--connections 32]
        [--threads 2] [--deployments 1000] [--workers N] [--sample-seconds 2]
        [--database-url postgres://postgres@127.0.0.1:5432/catalog_soak]

Drops and re-creates the scratch database, migrates it, imports N deployments (3 schedules
each, as bench/admin_list.py writes them), makes a write key and starts gunicorn with
config/gunicorn.conf.py and the variables of config/production.env.example on a free
loopback port. wrk sends what the documented proxy would (X-Forwarded-Proto: https,
X-Forwarded-For), so the HTTPS settings stay on. The request mix (per 100 requests):

    40 GET   /api/deployments/{id}                 6 POST /api/deployments/ (upsert)
    20 GET   /api/deployments/name/{flow}/{name}   3 POST .../{id}/pause_deployment
    20 POST  /api/deployments/filter (limit 20)    3 POST .../{id}/resume_deployment
     8 PATCH /api/deployments/{id}

The script waits until every worker has loaded the app (its CPU use settles), and a
warm-up run of the same mix comes first: a worker's first requests import more of the app,
which takes seconds on a busy machine. Every answer, in both runs, must be 2xx. While the measured
run goes on, the resident memory (VmRSS) of the gunicorn master and its workers is read
from /proc every few seconds. Memory is called bounded when the highest total in the second
half of the run exceeds the highest total in the first half by less than 10% of the
latter. Afterwards the database is checked for lost or duplicated writes. Exits 1 on any
error, unbounded memory, replaced worker or failed check, and then keeps gunicorn's log.
The scratch database is dropped at the end.
"""

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from admin_list import FLOWS, TAGS, deployment_id, deployment_record, flow_records  # noqa: E402

from tests.servers import production_variables, stop  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/catalog_soak"
SETTINGS_PREFIXES = ("DJANGO_", "DATABASE_", "CATALOG_", "GUNICORN_")
UPSERT_NAMES = 200
BOUNDED_SHARE = 0.10
STARTUP_SECONDS = 60


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=300, help="seconds (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="seconds (default 30)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--deployments", type=int, default=1000, help="seeded deployments")
    parser.add_argument("--workers", type=int, help="default: config/gunicorn.conf.py's")
    parser.add_argument(
        "--timeout", type=int, default=30, help="wrk's request timeout, s (gunicorn's: 30)"
    )
    parser.add_argument("--sample-seconds", type=float, default=2.0)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    wrk = wrk_or_exit()
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    commands: list[str] = []
    recreate_database(arguments.database_url)
    try:
        report = soak(arguments, wrk, folder, commands)
    finally:
        drop_database(arguments.database_url)
    print_report(arguments, report, commands)
    if report.failures():
        print(f"\nFAILED: {'; '.join(report.failures())}. Gunicorn's log: {folder}/gunicorn.log")
        sys.exit(1)
    shutil.rmtree(folder)
    print("\nPASSED: no errors, memory bounded, no write lost or duplicated.")


def wrk_or_exit() -> str:
    found = shutil.which("wrk")
    if found is None:
        sys.exit(
            "bench/soak.py needs wrk, which is not installed: `apt-get install wrk` "
            "(Debian/Ubuntu), `brew install wrk` (macOS), or build https://github.com/wg/wrk."
        )
    return found


# The scratch database ------------------------------------------------------------------


def recreate_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with maintenance_connection(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with maintenance_connection(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def maintenance_connection(url: str):
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        yield connection


# The soak ------------------------------------------------------------------------------


@dataclass
class Report:
    warmup: "WrkResult"
    wrk: "WrkResult"
    memory: "ServerFigures"
    checks: list[tuple[str, bool]]
    workers: int
    load_averages: tuple[float, float]
    errors_by_route: Counter = field(default_factory=Counter)

    def failures(self) -> list[str]:
        found = []
        if self.warmup.errors:
            found.append(f"{self.warmup.errors} errors in the warm-up")
        if self.wrk.errors:
            found.append(f"{self.wrk.errors} errors")
        if not self.memory.bounded:
            found.append("memory not bounded")
        if self.memory.workers_replaced:
            found.append(f"{self.memory.workers_replaced} workers replaced")
        found += [f"check failed: {label}" for label, passed in self.checks if not passed]
        return found


def soak(arguments: argparse.Namespace, wrk: str, folder: Path, commands: list[str]) -> Report:
    env = production_environment(arguments, folder)
    key = prepare_catalog(env, folder, arguments.deployments, commands)
    log = folder / "gunicorn.log"
    with gunicorn_serving(env, log, commands) as (server, port):
        script = folder / "soak.lua"
        script.write_text(lua_script(port, key, arguments.deployments))
        warmup = wrk_command(wrk, arguments, script, port, arguments.warmup)
        command = wrk_command(wrk, arguments, script, port, arguments.duration)
        commands += [f"{shlex.join(warmup)}  # warm-up", shlex.join(command)]
        print(f"wrk: warm-up {arguments.warmup} s ...", file=sys.stderr, flush=True)
        warmed = parse_wrk_output(run_sampling_memory(warmup, server.pid, 1)[0])
        print(f"wrk: {arguments.duration} s ...", file=sys.stderr, flush=True)
        load_before = os.getloadavg()[0]
        output, samples = run_sampling_memory(command, server.pid, arguments.sample_seconds)
        load_after = os.getloadavg()[0]
    (folder / "wrk.txt").write_text(output)
    result = parse_wrk_output(output)
    created = created_in_log(log)
    answered = warmed.created + result.created
    return Report(
        warmup=warmed,
        wrk=result,
        memory=server_figures(samples),
        checks=database_checks(arguments.database_url, arguments.deployments, created, answered),
        workers=len(samples[0].workers),
        load_averages=(load_before, load_after),
        errors_by_route=errors_in_log(log),
    )


# Set-up: production variables, migrate, seed, a write key --------------------------------


def production_environment(arguments: argparse.Namespace, folder: Path) -> dict[str, str]:
    """This process's environment without the app's variables, plus the production ones,
    with a new secret key, this host's name and the scratch database."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    env = inherited | production_variables()
    env |= {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://127.0.0.1",
        "DJANGO_STATIC_ROOT": str(folder / "static"),
        "DATABASE_URL": arguments.database_url,
        "GUNICORN_BIND": "127.0.0.1:0",
    }
    if arguments.workers:
        env["GUNICORN_WORKERS"] = str(arguments.workers)
    return env


def prepare_catalog(
    env: dict[str, str], folder: Path, deployments: int, commands: list[str]
) -> str:
    """Migrates, collects static files, imports the seed; returns a new write key."""
    seed = folder / "seed.json"
    records = [deployment_record(n) for n in range(deployments)]
    seed.write_text(json.dumps({"flows": flow_records(), "deployments": records}))
    manage(env, commands, "migrate", "--noinput")
    manage(env, commands, "collectstatic", "--noinput")
    manage(env, commands, "import_deployments", str(seed), "--quiet")
    return manage(env, commands, "create_api_key", "soak", "--write").strip()


def manage(env: dict[str, str], commands: list[str], *arguments: str) -> str:
    command = [sys.executable, "manage.py", *arguments]
    commands.append(shlex.join(["python", "manage.py", *arguments]))
    print(f"manage.py {arguments[0]} ...", file=sys.stderr, flush=True)
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if finished.returncode != 0:
        sys.exit(f"manage.py {' '.join(arguments)} failed:\n{finished.stderr}")
    return finished.stdout


# Gunicorn ------------------------------------------------------------------------------


@contextmanager
def gunicorn_serving(env: dict[str, str], log: Path, commands: list[str]):
    """Gunicorn with config/gunicorn.conf.py until the block ends; yields it and its port."""
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
    commands.append(environment_line(env) + " " + shlex.join(["python", *command[1:]]))
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        port = listening_port(server, log)
        wait_until_workers_idle(server, log)
        yield server, port
    finally:
        stop(server)


def environment_line(env: dict[str, str]) -> str:
    """The app's variables as set for gunicorn, the secret key left out."""
    shown = {
        name: "<random>" if name == "DJANGO_SECRET_KEY" else value
        for name, value in sorted(env.items())
        if name.startswith(SETTINGS_PREFIXES)
    }
    return " ".join(f"{name}={shlex.quote(value)}" for name, value in shown.items())


def listening_port(server: subprocess.Popen, log: Path) -> int:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log.read_text())
        if found:
            return int(found[1])
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()}")


def wait_until_workers_idle(server: subprocess.Popen, log: Path) -> None:
    """Until every worker has loaded the app: gunicorn says nothing when a worker is done,
    but a worker loading the app uses the CPU, and one waiting for requests does not."""
    deadline = time.monotonic() + STARTUP_SECONDS * 3
    before: dict[int, int] = {}
    while time.monotonic() < deadline and server.poll() is None:
        time.sleep(1)
        now = {pid: cpu_ticks(pid) for pid in children_of(server.pid)}
        booted = log.read_text().count("Booting worker with pid")
        settled = all(abs(now[pid] - before.get(pid, -99)) <= 1 for pid in now)
        if settled and booted and len(now) == booted:
            return
        before = now
    raise RuntimeError(f"gunicorn's workers did not settle:\n{log.read_text()}")


def cpu_ticks(pid: int) -> int:
    """User and system CPU time the process has used, in clock ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


# Memory --------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    master_kb: int
    workers: dict[int, int]
    worker_cpu_ticks: int

    @property
    def total_kb(self) -> int:
        return self.master_kb + sum(self.workers.values())


def children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name, in parentheses, may hold spaces: the fields follow its end.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def resident_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample_memory(master: int, started: float) -> Sample:
    pids = children_of(master)
    workers = {pid: resident_kb(pid) for pid in pids}
    ticks = sum(cpu_ticks(pid) for pid in pids)
    return Sample(time.monotonic() - started, resident_kb(master), workers, ticks)


def run_sampling_memory(command: list[str], master: int, every: float):
    """Runs wrk to the end, reading the servers' memory every `every` seconds meanwhile;
    returns wrk's output and the samples."""
    started = time.monotonic()
    samples = [sample_memory(master, started)]
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True)
        while process.poll() is None:
            time.sleep(every)
            if process.poll() is None:
                samples.append(sample_memory(master, started))
        output.seek(0)
        return output.read(), samples


@dataclass
class ServerFigures:
    """The gunicorn processes during the measured run: memory, and the workers' CPU time."""

    start_mb: float
    end_mb: float
    peak_mb: float
    first_half_peak_mb: float
    second_half_peak_mb: float
    workers_replaced: int
    per_process: list[tuple[str, float, float, float]]
    worker_cpu_seconds: float

    @property
    def growth_mb(self) -> float:
        return self.end_mb - self.start_mb

    @property
    def growth_share(self) -> float:
        return self.growth_mb / self.start_mb

    @property
    def second_half_growth_mb(self) -> float:
        return self.second_half_peak_mb - self.first_half_peak_mb

    @property
    def bounded(self) -> bool:
        return self.second_half_growth_mb < BOUNDED_SHARE * self.first_half_peak_mb


def server_figures(measured: list[Sample]) -> ServerFigures:
    middle = (measured[0].seconds + measured[-1].seconds) / 2
    first_half = [s for s in measured if s.seconds <= middle]
    second_half = [s for s in measured if s.seconds > middle] or first_half
    every_worker = {pid for s in measured for pid in s.workers}
    return ServerFigures(
        start_mb=mb(measured[0].total_kb),
        end_mb=mb(measured[-1].total_kb),
        peak_mb=mb(max(s.total_kb for s in measured)),
        first_half_peak_mb=mb(max(s.total_kb for s in first_half)),
        second_half_peak_mb=mb(max(s.total_kb for s in second_half)),
        workers_replaced=len(every_worker) - len(measured[0].workers),
        per_process=per_process_figures(measured),
        worker_cpu_seconds=(measured[-1].worker_cpu_ticks - measured[0].worker_cpu_ticks)
        / os.sysconf("SC_CLK_TCK"),
    )


def per_process_figures(measured: list[Sample]) -> list[tuple[str, float, float, float]]:
    """(process, start MB, end MB, peak MB) for the master and each first worker."""
    first, last = measured[0], measured[-1]
    rows = [("master", mb(first.master_kb), mb(last.master_kb), mb_peak(measured, None))]
    for number, pid in enumerate(sorted(first.workers), start=1):
        end = mb(last.workers.get(pid, 0))
        rows.append((f"worker {number}", mb(first.workers[pid]), end, mb_peak(measured, pid)))
    return rows


def mb_peak(samples: list[Sample], pid: int | None) -> float:
    if pid is None:
        return mb(max(s.master_kb for s in samples))
    return mb(max(s.workers.get(pid, 0) for s in samples))


def mb(kb: int) -> float:
    return kb / 1024


# wrk's Lua script ----------------------------------------------------------------------

LUA_TEMPLATE = r"""-- Written by bench/soak.py: the request mix and a machine-readable summary.
local ids = {%(ids)s}
local names = {%(names)s}
local flows = {%(flows)s}
local tags = {%(tags)s}
local upsert_names = %(upsert_names)d
local host = "127.0.0.1:%(port)d"
local key = "%(key)s"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_number)
  statuses = {}
  sent = {}
  failures = {}
  created = 0
  writes = 0
end

local function headers(with_body)
  local h = {
    ["Host"] = host,
    ["Authorization"] = "Bearer " .. key,
    ["X-Forwarded-Proto"] = "https",
    ["X-Forwarded-For"] = "127.0.0.1",
  }
  if with_body then h["Content-Type"] = "application/json" end
  return h
end

local function pick(list) return list[math.random(#list)] end

local function read_by_id()
  return wrk.format("GET", "/api/deployments/" .. pick(ids), headers(false))
end

local function read_by_name()
  local n = math.random(#names)
  return wrk.format("GET", "/api/deployments/name/" .. names[n], headers(false))
end

local function filter()
  local body = string.format(
    '{"deployments": {"tags": {"all_": ["%%s"]}}, "limit": 20, "offset": %%d, "sort": "%%s"}',
    pick(tags), 20 * math.random(0, 2), pick({"NAME_ASC", "UPDATED_DESC", "CREATED_DESC"}))
  return wrk.format("POST", "/api/deployments/filter", headers(true), body)
end

local function patch()
  writes = writes + 1
  local body = string.format(
    '{"description": "Patched by the soak, thread %%d write %%d.", "tags": ["%%s", "soak"]}',
    thread_number, writes, pick(tags))
  return wrk.format("PATCH", "/api/deployments/" .. pick(ids), headers(true), body)
end

local function upsert()
  writes = writes + 1
  local n = math.random(0, upsert_names - 1)
  local body = string.format(
    '{"name": "soak-upsert-%%03d", "flow_id": "%%s", "description": "Upserted by the soak, ' ..
    'thread %%d write %%d.", "tags": ["%%s", "soak"], "work_pool_name": "pool-%%d", ' ..
    '"work_queue_name": "queue-%%d", "schedules": [' ..
    '{"schedule": {"interval": 600, "timezone": "UTC"}, "slug": "every-ten-minutes"}, ' ..
    '{"schedule": {"cron": "%%d 6 * * *", "timezone": "Europe/Paris"}, "slug": "mornings"}]}',
    n, flows[n %% #flows + 1], thread_number, writes, pick(tags), n %% 5, n %% 20,
    math.random(0, 59))
  return wrk.format("POST", "/api/deployments/", headers(true), body)
end

local function pause()
  return wrk.format("POST", "/api/deployments/" .. pick(ids) .. "/pause_deployment",
    headers(false))
end

local function resume()
  return wrk.format("POST", "/api/deployments/" .. pick(ids) .. "/resume_deployment",
    headers(false))
end

-- Cumulative shares of 100.
local mix = {
  {40, "read_by_id", read_by_id},
  {60, "read_by_name", read_by_name},
  {80, "filter", filter},
  {88, "patch", patch},
  {94, "upsert", upsert},
  {97, "pause", pause},
  {100, "resume", resume},
}

function request()
  local roll = math.random(100)
  for _, entry in ipairs(mix) do
    if roll <= entry[1] then
      sent[entry[2]] = (sent[entry[2]] or 0) + 1
      return entry[3]()
    end
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  -- Only an upsert that creates its deployment answers 201.
  if status == 201 then created = created + 1 end
  if (status < 200 or status > 299) and #failures < 5 then
    table.insert(failures, status .. " " .. string.sub(body or "", 1, 300):gsub("%%s+", " "))
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  print(string.format("SOAK requests %%d", summary.requests))
  print(string.format("SOAK duration_us %%d", summary.duration))
  print(string.format("SOAK bytes %%d", summary.bytes))
  print(string.format("SOAK errors_connect %%d", e.connect))
  print(string.format("SOAK errors_read %%d", e.read))
  print(string.format("SOAK errors_write %%d", e.write))
  print(string.format("SOAK errors_timeout %%d", e.timeout))
  print(string.format("SOAK errors_status %%d", e.status))
  for _, p in ipairs({50, 75, 90, 99, 99.9}) do
    print(string.format("SOAK latency_p%%s_us %%d", p, math.floor(latency:percentile(p))))
  end
  print(string.format("SOAK latency_mean_us %%d", math.floor(latency.mean)))
  print(string.format("SOAK latency_max_us %%d", latency.max))
  for _, thread in ipairs(threads) do
    print(string.format("SOAK created %%d", thread:get("created")))
    for status, count in pairs(thread:get("statuses")) do
      print(string.format("SOAK status %%d %%d", status, count))
    end
    for kind, count in pairs(thread:get("sent")) do
      print(string.format("SOAK sent %%s %%d", kind, count))
    end
    for _, failure in ipairs(thread:get("failures")) do
      print("SOAK failure " .. failure)
    end
  end
end
"""


def lua_script(port: int, key: str, deployments: int) -> str:
    flow_names = [flow["name"] for flow in flow_records()]
    names = [f"{flow_names[n % FLOWS]}/{deployment_record(n)['name']}" for n in range(deployments)]
    return LUA_TEMPLATE % {
        "ids": lua_strings(deployment_id(n) for n in range(deployments)),
        "names": lua_strings(names),
        "flows": lua_strings(flow["id"] for flow in flow_records()),
        "tags": lua_strings(TAGS),
        "upsert_names": UPSERT_NAMES,
        "port": port,
        "key": key,
    }


def lua_strings(values) -> str:
    return ", ".join(f'"{value}"' for value in values)


def wrk_command(
    wrk: str, arguments: argparse.Namespace, script: Path, port: int, seconds: int
) -> list[str]:
    return [
        wrk,
        f"--threads={arguments.threads}",
        f"--connections={arguments.connections}",
        f"--duration={seconds}s",
        f"--timeout={arguments.timeout}s",
        "--latency",
        f"--script={script}",
        f"http://127.0.0.1:{port}",
    ]


# wrk's results -------------------------------------------------------------------------


@dataclass
class WrkResult:
    figures: dict[str, int]
    statuses: Counter
    sent: Counter
    created: int
    failures: list[str]
    output: str

    @property
    def seconds(self) -> float:
        return self.figures["duration_us"] / 1e6

    @property
    def socket_errors(self) -> int:
        kinds = ("connect", "read", "write", "timeout")
        return sum(self.figures[f"errors_{kind}"] for kind in kinds)

    @property
    def non_2xx(self) -> int:
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)

    @property
    def errors(self) -> int:
        return self.socket_errors + self.non_2xx

    def latency_ms(self, name: str) -> float:
        return self.figures[f"latency_{name}_us"] / 1000


def parse_wrk_output(output: str) -> WrkResult:
    figures, statuses, sent, created, failures = {}, Counter(), Counter(), 0, []
    for line in output.splitlines():
        if not line.startswith("SOAK "):
            continue
        kind, _, rest = line.removeprefix("SOAK ").partition(" ")
        if kind == "failure":
            failures.append(rest)
        elif kind == "status":
            status, count = rest.split()
            statuses[int(status)] += int(count)
        elif kind == "sent":
            name, count = rest.split()
            sent[name] += int(count)
        elif kind == "created":
            created += int(rest)
        else:
            figures[kind] = int(float(rest))
    if "requests" not in figures:
        sys.exit(f"wrk printed no summary:\n{output}")
    return WrkResult(figures, statuses, sent, created, failures, output)


def errors_in_log(log: Path) -> Counter:
    """Requests the app logged with a status other than 2xx, by method, route and status,
    and lines gunicorn or the app logged at WARNING or above."""
    found = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            status = entry.get("status")
            if status is not None and not 200 <= status < 300:
                found[f"{entry['method']} {route_of(entry['path'])} {status}"] += 1
            elif status is None and entry.get("level") in {"WARNING", "ERROR", "CRITICAL"}:
                found[f"app {entry['level']}: {entry['message'][:120]}"] += 1
        elif re.search(r"\[(WARNING|ERROR|CRITICAL)\]", line):
            found[f"gunicorn: {line.split('] ', 2)[-1][:120]}"] += 1
    return found


def created_in_log(log: Path) -> int:
    """Upserts the app answered 201, including those still under way when wrk stopped,
    whose answers wrk no longer read."""
    found = 0
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"status": 201' in line:
            entry = json.loads(line)
            found += (entry["method"], entry["path"], entry["status"]) == (
                "POST",
                "/api/deployments/",
                201,
            )
    return found


def route_of(path: str) -> str:
    path = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", path)
    return re.sub(r"^/api/deployments/name/[^/]+/[^/]+$", "/api/deployments/name/{f}/{n}", path)


# Lost or duplicated writes ----------------------------------------------------------------


def database_checks(url: str, seeded: int, created: int, answered: int) -> list[tuple[str, bool]]:
    """What the database must hold after the runs, given the upserts the app logged as
    created (201) and those of them whose answers wrk read."""
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as connection:

        def one(sql: str) -> int:
            return connection.execute(sql).fetchone()[0]

        total = one("SELECT count(*) FROM catalog_deployment")
        upserted = one("SELECT count(*) FROM catalog_deployment WHERE name LIKE 'soak-upsert-%'")
        duplicates = one(
            "SELECT count(*) FROM (SELECT 1 FROM catalog_deployment "
            "GROUP BY flow_id, name HAVING count(*) > 1) AS repeated"
        )
        schedule_counts = dict(
            connection.execute(
                "SELECT d.name LIKE 'soak-upsert-%', count(s.id) FROM catalog_deployment d "
                "LEFT JOIN catalog_deploymentschedule s ON s.deployment_id = d.id "
                "GROUP BY d.id HAVING count(s.id) <> CASE WHEN d.name LIKE 'soak-upsert-%' "
                "THEN 2 ELSE 3 END"
            ).fetchall()
        )
    return [
        (f"deployments = {seeded} seeded + {created} created (201 in the app's log): "
         f"found {total}", total == seeded + created),
        (f"upserted deployments = {created} created: found {upserted}", upserted == created),
        (f"201s wrk read ({answered}) <= 201s the app logged ({created})", answered <= created),
        (f"upserts' names <= {UPSERT_NAMES}", upserted <= UPSERT_NAMES),
        (f"no duplicate (flow, name): found {duplicates}", duplicates == 0),
        ("every deployment has its schedules (seeded 3, upserted 2, replaced not added): "
         f"{len(schedule_counts)} do not", not schedule_counts),
    ]  # fmt: skip


# The report ------------------------------------------------------------------------------


def print_report(arguments: argparse.Namespace, report: Report, commands: list[str]) -> None:
    run, memory = report.wrk, report.memory
    print(
        f"\nSoak: wrk against gunicorn ({report.workers} workers) on PostgreSQL, "
        f"{arguments.deployments:,} seeded deployments"
    )
    rows = [
        ("duration", f"{run.seconds:.1f} s"),
        ("connections / wrk threads", f"{arguments.connections} / {arguments.threads}"),
        ("requests", f"{run.figures['requests']:,}"),
        ("requests/s", f"{run.figures['requests'] / run.seconds:.1f}"),
        ("workers' CPU per request", cpu_line(memory, run)),
        ("errors", f"{run.errors} ({run.non_2xx} non-2xx, {run.socket_errors} socket)"),
        ("latency p50 / p90 / p99", latency_line(run, ("p50", "p90", "p99"))),
        ("latency p99.9 / max", latency_line(run, ("p99.9", "max"))),
        ("RSS start (after warm-up)", f"{memory.start_mb:.1f} MB"),
        ("RSS end / peak", f"{memory.end_mb:.1f} MB / {memory.peak_mb:.1f} MB"),
        ("RSS growth start to end", f"{memory.growth_mb:+.1f} MB ({memory.growth_share:+.1%})"),
        ("RSS second-half growth", second_half_line(memory)),
        ("workers replaced", str(memory.workers_replaced)),
        ("warm-up", warmup_line(report.warmup, arguments.warmup)),
        ("load average (1 min)", "{:.1f} at start, {:.1f} at end".format(*report.load_averages)),
    ]
    for label, value in rows:
        print(f"{label:28} {value}")
    print_details(report, arguments)
    print("\ncommands:")
    invocation = shlex.join(["uv", "run", "python", "bench/soak.py", *sys.argv[1:]])
    for command in [invocation, *commands]:
        print(f"  {command}")


def warmup_line(warmup: "WrkResult", seconds: int) -> str:
    return (
        f"{seconds} s, {warmup.figures['requests']:,} requests, {warmup.errors} errors, "
        f"p99 {warmup.latency_ms('p99'):.1f} ms, max {warmup.latency_ms('max'):.1f} ms"
    )


def cpu_line(memory: "ServerFigures", run: "WrkResult") -> str:
    """CPU time the workers used, which unlike latency does not depend on what else the
    machine runs meanwhile (PostgreSQL's share is not included)."""
    per_request = memory.worker_cpu_seconds * 1000 / run.figures["requests"]
    return f"{per_request:.1f} ms ({memory.worker_cpu_seconds:.0f} CPU-s in all)"


def latency_line(run: WrkResult, names: tuple[str, ...]) -> str:
    return " / ".join(f"{run.latency_ms(name):.1f}" for name in names) + " ms"


def second_half_line(memory: ServerFigures) -> str:
    verdict = "bounded" if memory.bounded else "NOT bounded"
    return (
        f"{memory.second_half_growth_mb:+.1f} MB ({verdict}: second-half peak "
        f"{memory.second_half_peak_mb:.1f} MB - first-half peak "
        f"{memory.first_half_peak_mb:.1f} MB < {BOUNDED_SHARE:.0%} of the latter)"
    )


def print_details(report: Report, arguments: argparse.Namespace) -> None:
    run = report.wrk
    print(f"\nRSS by process, MB (start: after the {arguments.warmup} s warm-up)")
    print(f"{'process':10} {'start':>8} {'end':>8} {'peak':>8}")
    for name, start, end, peak in report.memory.per_process:
        print(f"{name:10} {start:8.1f} {end:8.1f} {peak:8.1f}")
    print("\nrequests sent: " + ", ".join(f"{k} {v:,}" for k, v in run.sent.most_common()))
    print("statuses: " + ", ".join(f"{k} {v:,}" for k, v in sorted(run.statuses.items())))
    print("\ndatabase checks:")
    for label, passed in report.checks:
        print(f"  {'ok  ' if passed else 'FAIL'} {label}")
    if report.warmup.failures or run.failures or report.errors_by_route:
        print("\nfirst error answers (status, body):")
        for failure in report.warmup.failures + run.failures:
            print(f"  {failure}")
        print("errors in gunicorn's log (requests by route and status, warnings):")
        for label, count in report.errors_by_route.most_common(20):
            print(f"  {count:6d}  {label}")
    print("\nwrk's own output:")
    for line in run.output.splitlines():
        if not line.startswith("SOAK "):
            print(f"  {line}")


if __name__ == "__main__":
    main()
