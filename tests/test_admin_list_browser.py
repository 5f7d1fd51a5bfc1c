"""The deployment list in headless Chromium at 1400x900 (issue 16): every column in sight
beside the filters, a paused/running badge, zones in the summaries, several tags picked
in the sidebar, "export all matching", an action that changed nothing, and the landing
page "View site" leads to. Each test saves a screenshot (tests/browser.py)."""

import json
import re
import urllib.request

import pytest
import yaml
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from catalog.importing.run import import_paths
from catalog.management.commands.setup_demo import DEMO_BUNDLE
from catalog.models import ChangeSet, Deployment, Version
from tests.browser import PASSWORD, log_in, page_change, page_width, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH, HEIGHT = 1400, 900
LIST = "/admin/catalog/deployment/"
ZONE = re.compile(r"\bUTC\b|\b[A-Z][a-z]+/[A-Za-z_]+\b")


@pytest.fixture
def catalog(live_server, browser):
    """The demo catalog (12 deployments: interval, cron and rrule schedules, some paused),
    and an ops superuser signed in at 1400x900."""
    import_paths([DEMO_BUNDLE])
    User.objects.create_superuser("ops", password=PASSWORD)
    browser.set_window_size(WIDTH, HEIGHT)
    log_in(browser, live_server, next_page=LIST)
    return live_server


def listed_names(browser) -> list[str]:
    return sorted(
        cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody th a")
    )


def names_with_tags(tags: set[str], *, every: bool) -> list[str]:
    def matches(deployment) -> bool:
        return tags <= set(deployment.tags) if every else bool(tags & set(deployment.tags))

    return sorted(d.name for d in Deployment.objects.all() if matches(d))


def column_cells(browser, name: str) -> list:
    return browser.find_elements(By.CSS_SELECTOR, f"#result_list tbody td.field-{name}")


def tag_link(browser, tag: str):
    section = browser.find_element(
        By.CSS_SELECTOR, "#changelist-filter details[data-filter-title='tag']"
    )
    return section.find_element(By.XPATH, f".//ul[@class='tags-filter-tags']//a[text()='{tag}']")


def history_counts() -> tuple[int, int, int]:
    return Version.objects.count(), ChangeSet.objects.count(), LogEntry.objects.count()


def fetched_with_session(browser, url: str):
    """The URL fetched as the signed-in browser would, with its session cookie."""
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    request = urllib.request.Request(url, headers={"Cookie": cookies})
    return urllib.request.urlopen(request)


def test_every_column_fits_1400_px_beside_the_filters(browser, catalog):
    assert browser.execute_script("return window.innerWidth") <= WIDTH
    assert browser.find_element(By.ID, "changelist-filter").is_displayed()
    assert page_width(browser) <= WIDTH
    results = browser.find_element(By.CSS_SELECTOR, "#changelist .results")
    assert browser.execute_script("return arguments[0].scrollWidth", results) <= (
        browser.execute_script("return arguments[0].clientWidth", results)
    )
    headers = browser.find_elements(By.CSS_SELECTOR, "#result_list thead th")
    assert [header.text for header in headers[1:]] == [
        "NAME",
        "FLOW",
        "SCHEDULE",
        "STATE",
        "POOL / QUEUE",
        "TAGS",
        "NEXT RUN (UTC)",
        "UPDATED (UTC)",
    ]
    for header in headers:
        assert browser.execute_script(
            "return arguments[0].getBoundingClientRect().right", header
        ) <= (WIDTH)
    screenshot(browser, "list-1400-columns")


def test_the_state_is_a_badge_saying_paused_or_running(browser, catalog):
    paused = set(Deployment.objects.filter(paused=True).values_list("name", flat=True))
    assert paused
    for row in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr"):
        name = row.find_element(By.CSS_SELECTOR, "th a").text
        badge = row.find_element(By.CSS_SELECTOR, "td.field-state .state-badge")
        assert badge.get_attribute("textContent") == ("paused" if name in paused else "running")
        assert badge.text == ("PAUSED" if name in paused else "RUNNING")
    # No tick or cross icons (asked with a script: a search that finds nothing waits).
    icons = "return document.querySelectorAll('#result_list td.field-state img').length"
    assert browser.execute_script(icons) == 0
    colours = {
        badge.get_attribute("textContent"): badge.value_of_css_property("background-color")
        for badge in browser.find_elements(By.CSS_SELECTOR, ".state-badge")
    }
    assert colours["paused"] != colours["running"]
    screenshot(browser, "list-1400-state-badges")


def test_every_schedule_summary_names_its_zone(browser, catalog):
    summaries = [cell.text for cell in column_cells(browser, "schedule_summary")]
    scheduled = [summary for summary in summaries if summary != "-"]
    assert len(scheduled) >= 10
    assert any(summary.startswith("rrule") for summary in scheduled)
    for summary in scheduled:
        assert ZONE.search(summary), summary
    for cell in column_cells(browser, "schedule_summary"):
        if cell.text != "-":
            assert "active" in cell.find_element(By.CSS_SELECTOR, ".clip").get_attribute("title")
    screenshot(browser, "list-1400-schedule-zones")


def test_picking_two_tags_in_the_sidebar_keeps_the_right_rows(browser, catalog):
    with page_change(browser):
        tag_link(browser, "etl").click()
    assert listed_names(browser) == names_with_tags({"etl"}, every=True)
    with page_change(browser):
        tag_link(browser, "crm").click()
    assert "tag=etl&tag=crm" in browser.current_url
    both = names_with_tags({"etl", "crm"}, every=True)
    assert both and listed_names(browser) == both
    chosen = browser.find_elements(By.CSS_SELECTOR, ".tags-filter-tags li.selected a")
    assert sorted(link.text for link in chosen) == ["crm", "etl"]
    screenshot(browser, "list-two-tags-all")

    with page_change(browser):
        browser.find_element(By.LINK_TEXT, "match any").click()
    either = names_with_tags({"etl", "crm"}, every=False)
    assert len(either) > len(both)
    assert listed_names(browser) == either
    assert page_width(browser) <= WIDTH
    screenshot(browser, "list-two-tags-any")

    with page_change(browser):
        tag_link(browser, "etl").click()
    assert listed_names(browser) == names_with_tags({"crm"}, every=True)


def test_export_all_matching_downloads_every_row_the_filters_keep(browser, catalog):
    browser.get(f"{catalog.url}{LIST}?tag=finance&tag=ops&tag_match=any")
    expected = names_with_tags({"finance", "ops"}, every=False)
    assert listed_names(browser) == expected
    before = history_counts()
    links = browser.find_elements(By.CSS_SELECTOR, ".object-tools a.export-matching")
    assert [link.text for link in links] == [
        "EXPORT MATCHING AS JSON",
        "EXPORT MATCHING AS PREFECT.YAML",
    ]
    screenshot(browser, "list-export-matching")
    json_url, yaml_url = (link.get_attribute("href") for link in links)

    with fetched_with_session(browser, json_url) as response:
        assert response.headers["Content-Disposition"].startswith("attachment;")
        bundle = json.loads(response.read())
    assert sorted(d["name"] for d in bundle["deployments"]) == expected
    with fetched_with_session(browser, yaml_url) as response:
        document = yaml.safe_load(response.read())
    assert sorted(entry["name"] for entry in document["deployments"]) == expected
    assert history_counts() == before


def test_pausing_paused_deployments_says_nothing_changed(browser, catalog):
    browser.get(f"{catalog.url}{LIST}?paused__exact=1")
    paused = listed_names(browser)
    assert paused == sorted(Deployment.objects.filter(paused=True).values_list("name", flat=True))
    before = history_counts()
    browser.find_element(By.ID, "action-toggle").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("pause")
    with page_change(browser):
        browser.find_element(By.NAME, "index").click()
    message = browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert message == f"Nothing changed: {len(paused)} already paused."
    assert history_counts() == before
    screenshot(browser, "list-no-op-action")


def test_view_site_leads_to_a_landing_page_with_useful_links(browser, catalog):
    with page_change(browser):
        browser.find_element(By.LINK_TEXT, "VIEW SITE").click()
    assert browser.current_url == f"{catalog.url}/"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Prefect catalog"
    links = {
        link.text: link.get_attribute("href") for link in browser.find_elements(By.TAG_NAME, "a")
    }
    assert links == {
        "The admin": f"{catalog.url}/admin/",
        "API docs": f"{catalog.url}/api/docs",
        "API reference": f"{catalog.url}/api/redoc",
        "OpenAPI schema": f"{catalog.url}/api/openapi.json",
        "/api/health": f"{catalog.url}/api/health",
        "/api/ready": f"{catalog.url}/api/ready",
        "/api/version": f"{catalog.url}/api/version",
        "/api/admin/version": f"{catalog.url}/api/admin/version",
    }
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    assert all(url.startswith(catalog.url) for url in resources), resources
    screenshot(browser, "landing-page")

    with urllib.request.urlopen(links["/api/health"]) as response:
        assert json.loads(response.read()) is True
    with page_change(browser):
        browser.find_element(By.LINK_TEXT, "The admin").click()
    assert "Site administration" in browser.title


def test_long_values_are_cut_to_fit_with_the_whole_value_in_a_tooltip(browser, catalog):
    from catalog.rules import schedules
    from tests.factories import DeploymentScheduleFactory, FlowFactory, WorkQueueFactory

    name, flow = "n" * 200, "f" * 200
    queue = WorkQueueFactory(name="q" * 100)
    deployment = Deployment.objects.create(
        name=name,
        flow=FlowFactory(name=flow),
        work_queue=queue,
        tags=[f"{n}-" + "t" * 60 for n in range(8)],
    )
    cron = schedules.CronSchedule(
        "0 0,6,12,18 1-7,15-21 1,4,7,10 1-5", "America/Argentina/Buenos_Aires", False
    )
    DeploymentScheduleFactory(deployment=deployment, schedule=cron)
    browser.get(f"{catalog.url}{LIST}?q={'n' * 50}")
    assert listed_names(browser) == [name]
    assert page_width(browser) <= WIDTH
    results = browser.find_element(By.CSS_SELECTOR, "#changelist .results")
    assert browser.execute_script("return arguments[0].scrollWidth", results) <= (
        browser.execute_script("return arguments[0].clientWidth", results)
    )
    link = browser.find_element(By.CSS_SELECTOR, "#result_list .field-name a")
    assert link.get_attribute("title") == name
    assert link.size["width"] < 200
    assert (
        browser.find_element(By.CSS_SELECTOR, ".field-flow_cell .clip").get_attribute("title")
        == flow
    )
    summary = browser.find_element(By.CSS_SELECTOR, ".field-schedule_summary .clip")
    assert "America/Argentina/Buenos_Aires" in summary.text
    screenshot(browser, "list-1400-long-values")
