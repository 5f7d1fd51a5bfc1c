"""Real processes for the production tests: `manage.py` commands and gunicorn, run with the
environment a server would have, on scratch databases of the backend under test (SQLite
files, or PostgreSQL databases named after the test database)."""

import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_PREFIXES = ("DJANGO_", "DATABASE_", "CATALOG_", "GUNICORN_")
STARTUP_SECONDS = 60


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
def gunicorn(env: dict[str, str], log: Path) -> Iterator[str]:
    """Gunicorn with config/gunicorn.conf.py on a free loopback port, until the block ends;
    yields its URL. Everything it prints goes to `log`."""
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
    # One worker: each one imports the whole app, which is most of the start-up time.
    env = env | {"GUNICORN_BIND": "127.0.0.1:0", "GUNICORN_WORKERS": "1"}
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
