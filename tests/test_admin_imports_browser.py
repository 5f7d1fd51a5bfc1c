"""The import page in headless Chromium at 1400x900: upload a Prefect JSON file through the
file input, read the plan (a deployment created, a field changed old → new, an error with
its place), confirm it, and read the result; a file past the page's limit is refused
beside the field before it is sent. Screenshots in the folder tests/browser.py names."""

import pytest
from django.contrib.auth.models import User
from selenium.webdriver.common.by import By

from catalog.importing.run import import_paths
from catalog.models import Deployment
from tests.admin_imports_data import CHANGED_DESCRIPTION, MINIMAL, mixed_json
from tests.browser import PASSWORD, log_in, page_change, page_width, screenshot
from tests.conftest import prefect_file

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/admin/catalog/deployment/import/"


@pytest.fixture
def catalog(live_server, settings, tmp_path):
    settings.CATALOG_ADMIN_IMPORT_DIR = str(tmp_path / "pending")
    import_paths(
        [prefect_file(name) for name in ("20_get_deployment_full.json", MINIMAL)],
        flow_name="anchor-etl",
    )
    User.objects.create_superuser("ops", password=PASSWORD)
    return live_server


def text_of(browser, selector: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, selector).text


def section_texts(browser) -> list[str]:
    return [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#import-plan h3")]


def test_an_upload_is_planned_confirmed_and_imported(browser, catalog, tmp_path):
    browser.set_window_size(1400, 900)
    upload = tmp_path / "mixed.json"
    upload.write_bytes(mixed_json())
    log_in(browser, catalog, next_page="/admin/catalog/deployment/")
    with page_change(browser):
        browser.find_element(By.CSS_SELECTOR, f".object-tools a[href='{PAGE}']").click()
    browser.find_element(By.CSS_SELECTOR, "input[type=file][name=file]").send_keys(str(upload))
    browser.find_element(By.NAME, "change_reason").send_keys("weekly sync")
    with page_change(browser):
        browser.find_element(By.CSS_SELECTOR, "button[value=upload]").click()

    assert section_texts(browser) == [
        "Errors: left out of the import (1)",
        "Created (1)",
        "Changed (1)",
    ]
    errors = text_of(browser, "ul.plan-error")
    assert "broken" in errors and "mixed.json: [2].schedules[0].schedule.cron:" in errors
    assert "anchor-etl/brand-new" in text_of(browser, "ul.plan-create")
    changed = text_of(browser, "ul.plan-update")
    assert "anchor-etl/anchor-minimal" in changed
    assert f'description: null → "{CHANGED_DESCRIPTION}"' in changed
    counts = text_of(browser, ".plan-counts")
    assert "deployments: would be created=1 updated=1 unchanged=0 errors=1" in counts
    assert page_width(browser) <= 1400
    screenshot(browser, "admin-import-plan")
    assert not Deployment.objects.filter(name="brand-new").exists()

    with page_change(browser):
        browser.find_element(By.CSS_SELECTOR, "button[value=confirm]").click()
    message = text_of(browser, ".messagelist")
    assert "Imported mixed.json" in message and "created=1 updated=1 unchanged=0" in message
    assert "1 deployment(s) with errors left out" in message
    assert not browser.find_elements(By.ID, "import-plan")
    screenshot(browser, "admin-import-done")
    assert Deployment.objects.get(name="anchor-minimal").description == CHANGED_DESCRIPTION

    minimal = Deployment.objects.get(name="anchor-minimal")
    browser.get(f"{catalog.url}/admin/catalog/deployment/{minimal.pk}/history/")
    history = text_of(browser, "#content")
    assert "ops (user)" in history and "weekly sync" in history


def test_a_file_past_the_limit_is_refused_before_it_is_sent(browser, catalog, tmp_path, settings):
    settings.CATALOG_ADMIN_IMPORT_MAX_BYTES = 100
    upload = tmp_path / "big.json"
    upload.write_bytes(mixed_json())
    log_in(browser, catalog, next_page=PAGE)
    browser.find_element(By.CSS_SELECTOR, "input[type=file][name=file]").send_keys(str(upload))
    browser.find_element(By.CSS_SELECTOR, "button[value=upload]").click()
    alert = text_of(browser, ".upload-too-large")
    assert "more than the 100 this page takes (CATALOG_ADMIN_IMPORT_MAX_BYTES)" in alert
    assert browser.current_url.endswith(PAGE)
    screenshot(browser, "admin-import-too-large")
