import json
import os
import shutil
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from catalog.importing.run import import_paths
from catalog.models import ApiKey
from tests.factories import ApiKeyFactory

DATA = Path(__file__).parent / "data"
PREFECT = DATA / "prefect"
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Chromium must not reach for Google's services: this machine's network is closed.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1500,1100",
]


def prefect_file(name: str) -> Path:
    """A file captured from a real Prefect 3.9.1 server (see tests/data/prefect/README.md)."""
    return PREFECT / name


def prefect_json(name: str):
    return json.loads(prefect_file(name).read_bytes())


def page_queries() -> int:
    """The queries of a page of deployments' kept bodies: on PostgreSQL one, its ids and
    their bodies together (`json_cache.page_bodies`); on SQLite its ids, then their bodies."""
    return 1 if connection.vendor == "postgresql" else 2


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing costs ~0.3 s a user; tests need no protection for their passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache (the admin caches the catalog's tag list)."""
    cache.clear()


@pytest.fixture
def write_key(db) -> ApiKey:
    return ApiKeyFactory(name="test-writer")


@pytest.fixture
def api_client(write_key) -> APIClient:
    """A client that may write, as the key `write_key`. DRF authenticates it without
    looking the key up, so query counts stay the views' own; tests/test_auth.py sends
    real credentials."""
    client = APIClient()
    client.force_authenticate(token=write_key)
    return client


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


@pytest.fixture
def reference_deployments(db) -> dict[str, dict]:
    """The three deployments of the reference capture, imported from their GET bodies."""
    names = [
        "20_get_deployment_full.json",
        "21_get_deployment_minimal.json",
        "22_get_deployment_gcl_linked.json",
    ]
    import_paths([prefect_file(name) for name in names], flow_name="anchor-etl")
    return {name: prefect_json(name) for name in names}


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Debian's chromedriver. Its performance log
    records every request a page makes (`Network.requestWillBeSent`)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: install Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def pytest_terminal_summary(terminalreporter) -> None:
    report_screenshots(terminalreporter)
    report_schemathesis(terminalreporter)


def report_screenshots(terminalreporter) -> None:
    """Where the browser tests' screenshots went (tests/browser.py)."""
    import sys

    module = sys.modules.get("tests.browser")
    saved = getattr(module, "SAVED", None)
    if saved:
        terminalreporter.section("browser screenshots")
        terminalreporter.write_line(f"{len(saved)} screenshots in {module.SCREENSHOTS}")


def report_schemathesis(terminalreporter) -> None:
    """The requests tests/test_schemathesis.py made, by operation and status."""
    import sys

    module = sys.modules.get("tests.test_schemathesis")
    statuses = getattr(module, "STATUSES", None)
    if not statuses:
        return
    by_operation: dict[str, dict[int, int]] = {}
    for (operation, status), count in statuses.items():
        by_operation.setdefault(operation, {})[status] = count
    write = terminalreporter.write_line
    terminalreporter.section("schemathesis: requests by operation and status")
    for operation in sorted(by_operation):
        counts = by_operation[operation]
        spread = ", ".join(f"{status}: {counts[status]}" for status in sorted(counts))
        write(f"{sum(counts.values()):5d}  {operation}  ({spread})")
    total = sum(statuses.values())
    server_errors = sum(count for (_, status), count in statuses.items() if status >= 500)
    write(f"{total} requests over {len(by_operation)} operations; 5xx answers: {server_errors}")
