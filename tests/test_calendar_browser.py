"""The fleet calendar in headless Chromium: the heatmap of a DST week in the zone picked,
the busiest minutes, and a slot's deployments a click away. Screenshots go into the folder
tests/browser.py names."""

from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from selenium.webdriver.common.by import By

from catalog.rules.schedules import CronSchedule, IntervalSchedule
from tests.browser import PASSWORD, log_in, page_change, page_width, screenshot
from tests.factories import DeploymentFactory, DeploymentScheduleFactory, WorkQueueFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fleet(live_server):
    """Twelve deployments firing at 09:30 Berlin on weekdays, four every hour; one paused
    deployment and one inactive schedule at 09:30 too, which the calendar leaves out."""
    queue = WorkQueueFactory(name="nightly")
    for number in range(12):
        deployment = DeploymentFactory(
            name=f"report-{number:02d}", work_queue=queue, tags=["reports"]
        )
        DeploymentScheduleFactory(
            deployment=deployment,
            schedule=CronSchedule("30 9 * * 1-5", "Europe/Berlin"),
            slug="morning",
        )
    for number in range(4):
        DeploymentScheduleFactory(
            deployment=DeploymentFactory(name=f"sync-{number}"),
            schedule=IntervalSchedule(3600.0, datetime(2026, 1, 1, 0, number, tzinfo=UTC), "UTC"),
            slug="hourly",
        )
    DeploymentScheduleFactory(
        deployment=DeploymentFactory(name="paused-report", paused=True),
        schedule=CronSchedule("30 9 * * 1-5", "Europe/Berlin"),
    )
    DeploymentScheduleFactory(
        deployment=DeploymentFactory(name="inactive-report"),
        schedule=CronSchedule("30 9 * * 1-5", "Europe/Berlin"),
        active=False,
    )
    User.objects.create_superuser("ops", password=PASSWORD)
    return live_server


def test_the_calendar_shows_a_dst_week_and_lists_a_slots_deployments(browser, fleet):
    browser.set_window_size(1400, 900)
    log_in(browser, fleet, next_page="/admin/catalog/deployment/calendar/")
    assert "Fleet calendar" in browser.title

    zone = browser.find_element(By.NAME, "zone")
    zone.clear()
    zone.send_keys("Europe/Berlin")
    day = browser.find_element(By.NAME, "day")
    browser.execute_script("arguments[0].value = '2026-03-23'", day)
    with page_change(browser):
        browser.find_element(By.CSS_SELECTOR, ".calendar-filters input[type=submit]").click()

    assert browser.find_element(By.ID, "calendar-zone").text == "Europe/Berlin"
    summary = browser.find_element(By.ID, "calendar-summary").text
    assert "Paused deployments and inactive schedules are left out" in summary
    rows = browser.find_elements(By.CSS_SELECTOR, "#calendar-heatmap tbody tr")
    assert len(rows) == 7
    assert "23 h (DST)" in rows[6].text
    assert len(rows[6].find_elements(By.CSS_SELECTOR, "a.calendar-slot")) == 23
    # 12 weekday runs at 09:30 on five days, 4 hourly runs in each of 167 hours.
    assert browser.find_element(By.ID, "calendar-runs").text == str(12 * 5 + 4 * 167)
    monday_nine = rows[0].find_elements(By.CSS_SELECTOR, "td.calendar-hour")[9]
    assert monday_nine.text == "16"

    busiest = browser.find_elements(By.CSS_SELECTOR, "#calendar-busiest tbody tr")
    assert len(busiest) == 10
    assert busiest[0].text.startswith("Mon 2026-03-23 09:30 CET")
    assert busiest[0].text.endswith("12")
    assert page_width(browser) <= 1400
    screenshot(browser, "fleet-calendar-dst-week")

    with page_change(browser):
        monday_nine.find_element(By.CSS_SELECTOR, "a.calendar-slot").click()
    assert (
        "16 deployments with a run in this slot" in browser.find_element(By.ID, "slot-count").text
    )
    names = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#slot-deployments td a")]
    assert names == [f"report-{n:02d}" for n in range(12)] + [f"sync-{n}" for n in range(4)]
    title = browser.find_element(By.ID, "slot-title").text
    assert "Runs from Mon 2026-03-23 09:00 CET to 10:00 CET" in title
    assert "(Europe/Berlin; 2026-03-23 08:00 to 09:00 UTC)" in title
    screenshot(browser, "fleet-calendar-slot")

    with page_change(browser):
        browser.find_element(By.LINK_TEXT, "report-03").click()
    assert "report-03" in browser.title


def test_the_busiest_minute_lists_its_deployments_with_a_tag_filter(browser, fleet):
    browser.set_window_size(1400, 900)
    log_in(
        browser,
        fleet,
        next_page=quote("/admin/catalog/deployment/calendar/?view=day&day=2026-03-24&tags=reports"),
    )
    assert browser.find_element(By.ID, "calendar-zone").text == "UTC"
    assert browser.find_element(By.ID, "calendar-runs").text == "12"
    cells = browser.find_elements(By.CSS_SELECTOR, "#calendar-heatmap a.calendar-slot")
    assert len(cells) == 24
    assert [cell.text for cell in cells].count("12") == 1
    busiest = browser.find_elements(By.CSS_SELECTOR, "#calendar-busiest tbody tr")
    assert len(busiest) == 1
    assert "Tue 2026-03-24 08:30 UTC" in busiest[0].text
    screenshot(browser, "fleet-calendar-day-tag")
    with page_change(browser):
        busiest[0].find_element(By.TAG_NAME, "a").click()
    rows = browser.find_elements(By.CSS_SELECTOR, "#slot-deployments tbody tr")
    assert len(rows) == 12
    assert all(row.text.endswith("1") for row in rows)


def test_the_hour_dst_repeats_has_two_cells_in_new_york(browser, fleet):
    browser.set_window_size(1400, 900)
    log_in(
        browser,
        fleet,
        next_page=quote("/admin/catalog/deployment/calendar/?day=2026-10-29&zone=America/New_York"),
    )
    assert browser.find_element(By.ID, "calendar-zone").text == "America/New_York"
    rows = browser.find_elements(By.CSS_SELECTOR, "#calendar-heatmap tbody tr")
    sunday = rows[3]
    assert sunday.find_element(By.TAG_NAME, "th").text == "Sun 01 Nov 25 h (DST)"
    one_am = sunday.find_elements(By.CSS_SELECTOR, "td.calendar-hour")[1]
    halves = one_am.find_elements(By.CSS_SELECTOR, "a.calendar-slot")
    assert [half.text for half in halves] == ["4", "4"]
    assert "EDT" in halves[0].get_attribute("title") and "EST" in halves[1].get_attribute("title")
    # 12 x 5 weekday runs (09:30 Berlin is 04:30 or 03:30 in New York) and 4 an hour.
    assert browser.find_element(By.ID, "calendar-runs").text == str(12 * 5 + 4 * (7 * 24 + 1))
    assert page_width(browser) <= 1400
    screenshot(browser, "fleet-calendar-autumn-new-york")
