"""Real processes for the production tests: `manage.py` commands and gunicorn, run with the
environment a server would have, on scratch databases of the backend under test (SQLite
files, or PostgreSQL databases named after the test database), and private PostgreSQL
clusters that a test may stop and start."""

import os
import pwd
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_PREFIXES = ("DJANGO_", "DATABASE_", "CATALOG_", "GUNICORN_")
STARTUP_SECONDS = 60


def production_variables() -> dict[str, str]:
    """The variables of config/production.env.example, as a deploy would set them."""
    variables = {}
    for line in (ROOT / "config" / "production.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            variables[name] = value
    return variables


def server_environment(**variables: str) -> dict[str, str]:
    """This process's environment without any of the app's variables, plus `variables`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    return environment | variables


def manage(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "manage.py", *arguments]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def managed(*arguments: str, env: dict[str, str]) -> str:
    """Runs a `manage.py` command that must succeed; its output."""
    finished = manage(*arguments, env=env)
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


# Gunicorn ------------------------------------------------------------------------------


@contextmanager
def gunicorn(env: dict[str, str], log: Path, workers: int = 1) -> Iterator[str]:
    """Gunicorn with config/gunicorn.conf.py on a free loopback port, until the block ends;
    yields its URL. Everything it prints goes to `log`."""
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
    # One worker unless asked: each one imports the whole app, most of the start-up time.
    env = env | {"GUNICORN_BIND": "127.0.0.1:0", "GUNICORN_WORKERS": str(workers)}
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        url = f"http://127.0.0.1:{listening_port(server, log)}"
        wait_until_healthy(url, server, log)
        yield url
    finally:
        stop(server)


def listening_port(server: subprocess.Popen, log: Path) -> int:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log.read_text())
        if found:
            return int(found[1])
        if server.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()}")


def wait_until_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn does not answer:\n{log.read_text()}")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def write_key_for(env: dict[str, str]) -> str:
    """A new write key in the database `env` names; what a client sends as its bearer."""
    name = f"tests-{os.getpid()}-{time.monotonic_ns()}"
    return managed("create_api_key", name, "--write", env=env).strip()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def send(url: str, method: str = "GET", body: bytes | None = None, opener=None, **headers):
    """One HTTP request; an error status is an answer like any other. Header names are
    given with `_` for `-`."""
    request = urllib.request.Request(url, data=body, method=method)
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=30) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read())


# Scratch databases ---------------------------------------------------------------------


@dataclass
class ScratchDatabase:
    """An empty database of the backend the suite runs on, for a server process."""

    url: str
    name: str

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite:")

    def rows(self, sql: str) -> list[tuple]:
        with self.connection() as connection:
            return list(connection.execute(sql).fetchall())

    def execute(self, sql: str) -> None:
        with self.connection() as connection:
            connection.execute(sql)

    @contextmanager
    def connection(self):
        if self.is_sqlite:
            connection = sqlite3.connect(self.name)
            try:
                yield connection
                connection.commit()
            finally:
                connection.close()
        else:
            with psycopg.connect(postgres_conninfo(self.name), autocommit=True) as connection:
                yield connection

    def table_names(self) -> set[str]:
        if self.is_sqlite:
            rows = self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = self.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {name for (name,) in rows}

    def copy_from(self, primary: "ScratchDatabase") -> None:
        """Makes this database what a replica starts from: a copy of `primary` as it is."""
        if self.is_sqlite:
            source, target = sqlite3.connect(primary.name), sqlite3.connect(self.name)
            try:
                source.backup(target)
            finally:
                source.close()
                target.close()
            return
        with maintenance_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{primary.name}"')

    def drop(self) -> None:
        if self.is_sqlite:
            for path in Path(self.name).parent.glob(Path(self.name).name + "*"):
                path.unlink()
            return
        with maintenance_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def scratch_database(suffix: str, directory: Path) -> ScratchDatabase:
    """A new, empty database: an SQLite file in `directory`, or a PostgreSQL database on
    the suite's server named `test_<suite database>_<suffix>`."""
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        path = directory / f"{suffix}.sqlite3"
        return ScratchDatabase(url=f"sqlite:///{path}", name=str(path))
    base = settings.DATABASES["default"]["NAME"].removeprefix("test_")
    name = f"test_{base}_{suffix}"
    database = ScratchDatabase(url=postgres_url(name), name=name)
    database.drop()
    with maintenance_connection() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return database


def postgres_url(name: str) -> str:
    default = settings.DATABASES["default"]
    credentials = quote(default["USER"], safe="")
    if default.get("PASSWORD"):
        credentials += ":" + quote(default["PASSWORD"], safe="")
    return f"postgres://{credentials}@{default['HOST']}:{default['PORT']}/{name}"


def postgres_conninfo(name: str) -> str:
    return postgres_url(name).replace("postgres://", "postgresql://", 1)


@contextmanager
def maintenance_connection():
    with psycopg.connect(postgres_conninfo("postgres"), autocommit=True) as connection:
        yield connection


# A private PostgreSQL ------------------------------------------------------------------

POSTGRES_PROGRAMS = Path("/usr/lib/postgresql/15/bin")


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of one test's own, in `directory`, on a loopback `port`, with
    trust authentication: unlike the suite's shared server, a test may stop it mid-run and
    start it again."""

    directory: Path
    port: int

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        # Sockets in `directory`, not /var/run/postgresql, which belongs to the shared
        # server; no fsync, since the cluster is thrown away.
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        as_postgres("pg_ctl", "start", "-w", "-D", self.data, "-l", self.log, "-o", options)

    def stop(self) -> None:
        """A fast shutdown: every open session is cut off, as when the database goes away."""
        as_postgres("pg_ctl", "stop", "-w", "-m", "fast", "-D", self.data)

    def is_running(self) -> bool:
        command = postgres_command("pg_ctl", "status", "-D", self.data)
        status = subprocess.run(command, capture_output=True, timeout=60)
        return status.returncode == 0

    def rows(self, sql: str) -> list[tuple]:
        with self.connection() as connection:
            return list(connection.execute(sql).fetchall())

    def create_database(self, name: str) -> None:
        with self.connection() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')

    def connection(self, database: str = "postgres") -> psycopg.Connection:
        """A connection to `database`, closed at the end of a `with` block."""
        conninfo = f"postgresql://postgres@127.0.0.1:{self.port}/{database}"
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=10)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A new cluster, started, until the block ends; then stopped and deleted."""
    # Not pytest's tmp_path: the `postgres` user cannot enter /tmp/pytest-of-root, and a
    # socket's path must stay under 108 bytes.
    directory = Path(tempfile.mkdtemp(prefix="catalog-postgres-"))
    try:
        hand_to_postgres(directory)
        cluster = PrivatePostgres(directory, free_port())
        as_postgres("initdb", "-U", "postgres", "--auth=trust", "--no-sync", "-D", cluster.data)
        cluster.start()
        try:
            yield cluster
        finally:
            if cluster.is_running():
                cluster.stop()
    finally:
        shutil.rmtree(directory)


@contextmanager
def streaming_replica(primary: PrivatePostgres) -> Iterator[PrivatePostgres]:
    """A hot standby of `primary`, made as production makes one: `pg_basebackup -R` copies
    the primary's files and writes the settings that stream its WAL from it. Started,
    caught up, until the block ends; then stopped and deleted."""
    directory = Path(tempfile.mkdtemp(prefix="catalog-replica-"))
    try:
        hand_to_postgres(directory)
        replica = PrivatePostgres(directory, free_port())
        source = ["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
        as_postgres("pg_basebackup", *source, "-D", replica.data, "-R", "-X", "stream")
        replica.start()
        try:
            wait_until_streaming(primary)
            yield replica
        finally:
            if replica.is_running():
                replica.stop()
    finally:
        shutil.rmtree(directory)


def wait_until_streaming(primary: PrivatePostgres) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if primary.rows("SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'"):
            return
        time.sleep(0.1)
    raise RuntimeError("the replica did not start streaming from the primary")


def postgres_command(program: str, *arguments: str | Path) -> list[str]:
    command = [str(POSTGRES_PROGRAMS / program), *map(str, arguments)]
    # initdb and postgres refuse to run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def as_postgres(program: str, *arguments: str | Path) -> None:
    command = postgres_command(program, *arguments)
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if finished.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{finished.stdout}{finished.stderr}")


def hand_to_postgres(directory: Path) -> None:
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Concurrency ---------------------------------------------------------------------------


def at_once(work: Callable[[int], object], count: int) -> list:
    """Runs `work(n)` in `count` threads released together; their results, in order (an
    exception a thread raised is its result)."""
    results: list = [None] * count
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = work(n)
        except Exception as exc:  # reported by the test's assertions
            results[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
