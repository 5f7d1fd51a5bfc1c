"""The admin in a real headless browser: Debian's Chromium driven by Selenium through
Debian's chromedriver, against the live server. Screenshots of the list, the form and the
fleet calendar are saved in the folder tests/browser.py names."""

import json
import urllib.request

import pytest
from django.contrib.auth.models import User
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from catalog.importing.run import import_paths
from catalog.models import Deployment, DeploymentSchedule, Version
from tests.browser import PASSWORD, log_in, page_change, screenshot
from tests.conftest import prefect_file

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalog(live_server):
    import_paths(
        [
            prefect_file("20_get_deployment_full.json"),
            prefect_file("21_get_deployment_minimal.json"),
            prefect_file("22_get_deployment_gcl_linked.json"),
        ],
        flow_name="anchor-etl",
    )
    User.objects.create_superuser("ops", password=PASSWORD)
    return live_server


def deployment_versions(deployment: Deployment):
    return Version.objects.filter(object_type="deployment", object_id=deployment.pk)


def listed_names(browser) -> list[str]:
    return sorted(
        cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody th a")
    )


def filter_link(browser, title: str, choice: str):
    section = browser.find_element(
        By.CSS_SELECTOR, f"#changelist-filter details[data-filter-title='{title}']"
    )
    if not section.get_attribute("open"):
        section.find_element(By.TAG_NAME, "summary").click()
    return section.find_element(By.LINK_TEXT, choice)


def cron_input(browser):
    return browser.find_element(By.CSS_SELECTOR, "input[name$='-cron'][value='30 9 1-7 * 1']")


def test_ops_staff_triage_edit_and_act_in_the_admin(browser, catalog):
    server = catalog
    log_in(browser, server)
    assert listed_names(browser) == ["anchor-full", "anchor-gcl-linked", "anchor-minimal"]
    screenshot(browser, "deployment-list")

    with page_change(browser):
        filter_link(browser, "tag", "nightly").click()
    assert listed_names(browser) == ["anchor-full"]
    browser.get(f"{server.url}/admin/catalog/deployment/")
    with page_change(browser):
        filter_link(browser, "paused", "No").click()
    assert len(listed_names(browser)) == 3

    search = browser.find_element(By.ID, "searchbar")
    search.clear()
    with page_change(browser):
        search.send_keys("minimal\n")
    assert listed_names(browser) == ["anchor-minimal"]

    browser.get(f"{server.url}/admin/catalog/deployment/")
    with page_change(browser):
        browser.find_element(By.LINK_TEXT, "anchor-full").click()
    assert "anchor-full" in browser.title
    screenshot(browser, "deployment-form")

    field = cron_input(browser)
    field.clear()
    field.send_keys("61 * * * *")
    with page_change(browser):
        browser.find_element(By.NAME, "_save").click()
    error = browser.find_element(By.CSS_SELECTOR, ".field-cron .errorlist")
    assert 'Invalid cron string: "61 * * * *"' in error.text
    assert DeploymentSchedule.objects.filter(cron="30 9 1-7 * 1").exists()
    assert not DeploymentSchedule.objects.filter(cron="61 * * * *").exists()

    field = browser.find_element(By.CSS_SELECTOR, "input[name$='-cron'][value='61 * * * *']")
    field.clear()
    field.send_keys("45 8 * * 1-5")
    with page_change(browser):
        browser.find_element(By.NAME, "_save").click()
    assert "was changed successfully" in browser.find_element(By.CSS_SELECTOR, ".messagelist").text

    deployment = Deployment.objects.get(name="anchor-full")
    with urllib.request.urlopen(f"{server.url}/api/deployments/{deployment.id}") as response:
        body = json.loads(response.read())
    assert {"cron": "45 8 * * 1-5", "timezone": "America/New_York", "day_or": False} in [
        schedule["schedule"] for schedule in body["schedules"]
    ]

    browser.get(f"{server.url}/admin/catalog/deployment/upcoming/")
    assert browser.find_elements(By.CSS_SELECTOR, "#calendar-heatmap a.calendar-slot")
    screenshot(browser, "fleet-calendar-after-edit")

    browser.get(f"{server.url}/admin/catalog/deployment/")
    chosen = Deployment.objects.filter(name__in=["anchor-full", "anchor-minimal"])
    for row in chosen:
        browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{row.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("pause")
    with page_change(browser):
        browser.find_element(By.NAME, "index").click()
    assert "2 deployment(s) changed." in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    for row in chosen:
        browser.get(f"{server.url}/admin/catalog/deployment/{row.pk}/history/")
        history = browser.find_element(By.ID, "change-history").text
        assert "ops (user)" in history and "paused: false → true" in history
    assert set(Deployment.objects.filter(paused=True).values_list("name", flat=True)) == {
        "anchor-full",
        "anchor-minimal",
    }

    browser.get(f"{server.url}/admin/catalog/deployment/")
    with page_change(browser):
        browser.find_element(By.CSS_SELECTOR, ".object-tools a[href$='/calendar/']").click()
    assert "Fleet calendar" in browser.title
    assert browser.find_elements(By.CSS_SELECTOR, "#calendar-heatmap a.calendar-slot")


def test_the_schedule_form_shows_only_the_fields_of_the_chosen_kind(browser, catalog):
    server = catalog
    log_in(browser, server)
    deployment = Deployment.objects.get(name="anchor-full")
    browser.get(f"{server.url}/admin/catalog/deployment/{deployment.pk}/change/")
    cron = cron_input(browser)
    interval_field = cron.find_element(
        By.XPATH, "ancestor::fieldset//input[contains(@name, '-interval')]"
    )
    assert cron.is_displayed()
    assert not interval_field.is_displayed()


def test_a_row_of_many_tags_shows_five_then_a_count(browser, catalog):
    """Five tags, cut to a width, then "+N"; a tag's link keeps its non-ASCII characters
    (an IRI), which the browser encodes when it follows it. A refused search says why."""
    server = catalog
    long_tag = "überlang-" + "x" * 246
    deployment = Deployment.objects.get(name="anchor-minimal")
    deployment.tags = [long_tag, *[f"t{n}" for n in range(9)]]
    deployment.save()
    log_in(browser, server)
    row = browser.find_element(By.XPATH, "//tr[.//a[text()='anchor-minimal']]")
    tags = row.find_elements(By.CSS_SELECTOR, "a.tag")
    assert [tag.text for tag in tags] == ["überlang-" + "x" * 30 + "…", "t0", "t1", "t2", "t3"]
    assert row.find_element(By.CSS_SELECTOR, ".more-tags").text == "+5"
    with page_change(browser):
        tags[0].click()
    assert listed_names(browser) == ["anchor-minimal"]

    search = browser.find_element(By.ID, "searchbar")
    with page_change(browser):
        search.send_keys("x" * 201 + "\n")
    message = browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert message == "Search for at most 200 characters (201 given). The list is shown unfiltered."
    assert len(listed_names(browser)) == 3


def test_ops_staff_read_the_history_restore_a_version_and_audit_the_catalog(browser, catalog):
    server = catalog
    log_in(browser, server)
    chosen = Deployment.objects.filter(name__in=["anchor-full", "anchor-minimal"])
    for row in chosen:
        browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{row.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("pause")
    browser.find_element(By.NAME, "change_reason").send_keys("maintenance window")
    screenshot(browser, "deployment-action-bar")
    with page_change(browser):
        browser.find_element(By.NAME, "index").click()
    assert "2 deployment(s) changed." in browser.find_element(By.CSS_SELECTOR, ".messagelist").text

    # Numbered from the database: on SQLite the flush that ended an earlier test left
    # marks that the import records first, as deletions from outside the catalog.
    deployment = Deployment.objects.get(name="anchor-full")
    imported, paused = (
        deployment_versions(deployment).get(change_set__door=door).number
        for door in ("import", "admin")
    )
    with page_change(browser):
        browser.find_element(By.LINK_TEXT, "anchor-full").click()
    with page_change(browser):
        browser.find_element(By.CSS_SELECTOR, ".object-tools a.historylink").click()
    pause = browser.find_element(By.ID, f"version-{paused}")
    assert pause.find_element(By.CSS_SELECTOR, ".changes").text == "paused: false → true"
    assert pause.find_element(By.CSS_SELECTOR, ".reason").text == "maintenance window"
    assert pause.find_element(By.CSS_SELECTOR, ".actor").text == "ops (user)"
    screenshot(browser, "deployment-history")

    earlier = browser.find_element(By.ID, f"version-{imported}")
    earlier.find_element(By.NAME, "change_reason").send_keys("pause was a mistake")
    with page_change(browser):
        earlier.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    message = browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert message == f"Version {imported} restored as version {paused + 1}."
    restored = browser.find_element(By.ID, f"version-{paused + 1}")
    assert restored.find_element(By.CSS_SELECTOR, ".kind").text == f"restores version {imported}"
    assert restored.find_element(By.CSS_SELECTOR, ".changes").text == "paused: true → false"
    assert not Deployment.objects.get(name="anchor-full").paused

    browser.get(f"{server.url}/admin/catalog/version/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Change history"
    with page_change(browser):
        filter_link(browser, "door", "admin").click()
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    shown = sorted(
        (
            row.find_element(By.CSS_SELECTOR, ".field-flow_and_name").text,
            row.find_element(By.CSS_SELECTOR, ".field-kind_shown").text,
            row.find_element(By.CSS_SELECTOR, ".field-door").text,
        )
        for row in rows
    )
    assert shown == [
        ("anchor-etl/anchor-full", "changed", "admin"),
        ("anchor-etl/anchor-full", f"restores version {imported}", "admin"),
        ("anchor-etl/anchor-minimal", "changed", "admin"),
    ]
    screenshot(browser, "change-history")
