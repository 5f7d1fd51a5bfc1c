"""`import_deployments --from-api` against hostile servers: the time and peak memory of
each case, and the line it ends with.

    uv run python bench/abuse_remote.py [--case NAME]

Each case starts a hostile server of tests/hostile_http.py on a free loopback port, then
runs the command in a child process (`import_deployments --from-api URL --quiet` by
`call_command`, timed once Django is set up, on a scratch SQLite database; exit 1 when
refused, as manage.py) with the production budgets, except the time budgets where a case
names its own (their defaults are minutes). The peak memory is the
child's maximum resident set size (`os.wait4`); the first row is a well-behaved, empty
server, for the cost of starting Django at all.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import hostile_http as hostile  # noqa: E402
from tests.hostile_http import HostileServer, Reply  # noqa: E402

SETTINGS_PREFIXES = ("DJANGO_", "DATABASE_", "CATALOG_")
KEY = "pnu_bench-key"
RESPONSE_BYTES = 8 * 1024 * 1024  # the default of CATALOG_REMOTE_MAX_RESPONSE_BYTES


def dense(count: int, prefix: bytes, suffix: bytes):
    """`prefix`, `count` empty objects, `suffix`: made 20,000 objects at a time."""
    yield prefix
    for _ in range(count // 20_000):
        yield b"{}," * 20_000
    yield b"{}," * (count % 20_000) + b"{}" + suffix


def dense_page(reply: Reply, number: int, body: Any) -> None:
    """A paginate answer just under the byte budget, as many empty objects as fit in it:
    the most memory one answer can cost while it is parsed (then it is refused)."""
    count = (RESPONSE_BYTES - 40) // 3
    reply.chunked(dense(count, b'{"pages": 1, "results": [', b"]}"))


def dense_records(reply: Reply, number: int, body: Any) -> None:
    """Pages of one record each, just under the byte budget and all of it empty objects,
    kept until the total budget stops them: the most memory one import can cost."""
    count = (RESPONSE_BYTES - 120) // 3
    head = b'{"pages": 1000000, "results": [{"id": "%d", "name": "f", "x": [' % number
    reply.chunked(dense(count, head, b"]}]}"))


@dataclass
class Case:
    name: str
    scenario: Callable[..., Any] | None
    settings: dict[str, str] = field(default_factory=dict)
    url: Callable[[HostileServer], str] = lambda server: server.url
    elsewhere: bool = False


def cross_origin(server_holder: dict) -> Callable[..., Any]:
    def scenario(reply: Reply, number: int, body: Any) -> None:
        reply.redirect(f"{server_holder['elsewhere'].url}/flows/paginate", 302)

    return scenario


CASES = [
    Case("well-behaved empty server", hostile.empty_listings),
    Case("302 to another port, with a key", None, elsewhere=True),
    Case("endless paginate pages", hostile.endless_pages),
    Case("endless filter pages (200 a page)", hostile.endless_offsets),
    Case("the same page again and again", hostile.repeated_page),
    Case("endless chunked body", hostile.endless_body),
    Case("one dense 8 MiB page of {}", dense_page),
    Case("dense 8 MiB records to the total", dense_records),
    Case("declared 1 TB, sends nothing", hostile.declared_huge),
    Case(
        "slow drip body, a byte / 0.1 s",
        hostile.slow_drip(0.1),
        {"CATALOG_REMOTE_TOTAL_TIMEOUT": "5"},
    ),
    Case(
        "slow drip headers, a byte / 0.1 s",
        hostile.slow_headers(0.1),
        {"CATALOG_REMOTE_TOTAL_TIMEOUT": "5"},
    ),
    Case("silent server", hostile.silent, {"CATALOG_REMOTE_REQUEST_TIMEOUT": "2"}),
    Case("file:// URL", hostile.empty_listings, url=lambda server: "file:///etc/passwd"),
]


def environment(database: Path, overrides: dict[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    return kept | {"DATABASE_URL": f"sqlite:///{database}"} | overrides


CHILD = """
import io, sys, time, django
django.setup()
from django.core.management import call_command
from django.core.management.base import CommandError
started = time.perf_counter()
output = io.StringIO()
try:
    call_command("import_deployments", "--from-api", sys.argv[1], "--quiet",
                 "--api-key", sys.argv[2], stdout=output)
    line, status = output.getvalue().splitlines()[-1], 0
except CommandError as exc:
    line, status = str(exc).splitlines()[-1], 1
print(time.perf_counter() - started)
print(line)
sys.exit(status)
"""


def run_child(url: str, env: dict[str, str]) -> tuple[float, float, int, str]:
    """Seconds the command took (Django started), the child's peak RSS in MiB, its exit
    status and the command's last line."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, KEY],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "config.settings"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = child.stdout.read().decode("utf-8", "replace").splitlines()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    try:
        seconds, last = float(output[-2]), output[-1]
    except (IndexError, ValueError):
        seconds, last = float("nan"), " | ".join(output[-3:])
    return seconds, usage.ru_maxrss / 1024, child.returncode, last


def run_case(case: Case, database: Path) -> str:
    holder: dict = {}
    scenario = case.scenario or cross_origin(holder)
    with HostileServer(hostile.empty_listings) as elsewhere, HostileServer(scenario) as server:
        holder["elsewhere"] = elsewhere
        env = environment(database, case.settings)
        seconds, peak, code, last = run_child(case.url(server), env)
        leaked = sum(KEY in str(seen.headers) for seen in elsewhere.seen)
    budgets = " ".join(f"{k.removeprefix('CATALOG_REMOTE_')}={v}" for k, v in case.settings.items())
    return (
        f"{case.name:36} {seconds:7.2f} s {peak:7.1f} MiB  requests={len(server.seen):<5} "
        f"sent={server.bytes_sent / 2**20:6.1f} MiB  exit={code}"
        + (f"  key-elsewhere={leaked}" if case.elsewhere else "")
        + (f"  [{budgets}]" if budgets else "")
        + f"\n    {last}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help="run only the cases whose name contains this")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "bench.sqlite3"
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=ROOT,
            env=environment(database, {}),
            check=True,
        )
        print(f"{'case':36} {'time':>9} {'peak RSS':>11}")
        for case in CASES:
            if arguments.case and arguments.case not in case.name:
                continue
            print(run_case(case, database), flush=True)
    print("\ncommand: uv run python bench/abuse_remote.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
