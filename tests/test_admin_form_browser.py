"""The deployment change page in headless Chromium at 1400x900, as an ops user sees it:
the API's JSON panel, the JSON editors' live errors, and each schedule's kind, zone and
live preview of its next runs. Each test saves a screenshot in the folder tests/browser.py
names."""

import json
import re
import urllib.request

import pytest
from django.contrib.auth.models import User
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from catalog.admin.fields import syntax_error
from catalog.importing.run import import_paths
from catalog.models import Deployment, DeploymentSchedule
from tests.browser import PASSWORD, log_in, page_change, page_width, screenshot
from tests.conftest import prefect_file

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH, HEIGHT = 1400, 900
# Texts the browser's JSON check and the server's must judge alike.
JSON_TEXTS = [
    "{not json",
    '{"a": 1 "b": 2}',
    '{"a": 1,\n  "b": 2,\n}',
    "[1, 2,]",
    "",
    " ",
    "[",
    '"abc',
    '"a\\qb"',
    '"\\u12zz"',
    '"a\tb"',
    '{"a" 1}',
    "1 2",
    "01",
    "-",
    "[NaN, -Infinity, 1e5, -0.5e-3]",
    "tru",
    '\n\n  {"x": 1,\n   "y": [1,,2]}',
    '{"a": 1\r\n "b": 2}',
    '{"k": ["v", {"n": null}]}',
]


@pytest.fixture
def server(live_server):
    import_paths(
        [
            prefect_file("20_get_deployment_full.json"),
            prefect_file("21_get_deployment_minimal.json"),
        ],
        flow_name="anchor-etl",
    )
    User.objects.create_superuser("ops", password=PASSWORD)
    return live_server


@pytest.fixture
def deployment(server) -> Deployment:
    return Deployment.objects.get(name="anchor-full")


@pytest.fixture
def page(browser, server, deployment):
    """The change page of the deployment with every field filled, at 1400x900."""
    browser.set_window_size(WIDTH, HEIGHT)
    log_in(browser, server, next_page=f"/admin/catalog/deployment/{deployment.pk}/change/")
    return browser


def wait_until(browser, condition, timeout: float = 10):
    return WebDriverWait(browser, timeout).until(lambda _: condition())


def save(browser) -> None:
    with page_change(browser):
        browser.find_element(By.NAME, "_save").click()


def schedule_of(browser, slug: str):
    return browser.find_element(
        By.XPATH,
        "//div[contains(@class, 'inline-related')]"
        f"[.//input[contains(@name, '-slug') and @value='{slug}']]",
    )


def field(schedule, name: str):
    return schedule.find_element(By.CSS_SELECTOR, f"[name$='-{name}']")


def retype(element, text: str) -> None:
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.DELETE)
    element.send_keys(text)


def runs_box(schedule):
    return schedule.find_element(By.CSS_SELECTOR, ".schedule-runs")


def shown_runs(box) -> list[tuple[str, str]]:
    """The runs listed, each (in the schedule's zone, in UTC), read in one step."""
    rows = box.parent.execute_script(
        "return Array.from(arguments[0].querySelectorAll('tbody tr'),"
        " (row) => Array.from(row.cells, (cell) => cell.textContent))",
        box,
    )
    return [tuple(row) for row in rows]


def headers(box) -> list[str]:
    return box.parent.execute_script(
        "return Array.from(arguments[0].querySelectorAll('thead th'), (th) => th.textContent)",
        box,
    )


def box_text(box, selector: str) -> str:
    return box.parent.execute_script(
        "const found = arguments[0].querySelector(arguments[1]);"
        " return found ? found.textContent : ''",
        box,
        selector,
    )


def wait_for_preview(browser, box, condition):
    """Wait for a preview answered after the typing (not the saved runs) that `condition`
    accepts."""
    wait_until(
        browser,
        lambda: (
            box.get_attribute("data-state") == "done"
            and box_text(box, ".schedule-preview-caption")
            and condition()
        ),
    )


def utc_hours(local: str, utc: str) -> int:
    """How many hours UTC is ahead of the local time of a shown run."""
    local_time = re.search(r"(\d\d):(\d\d)", local).groups()
    utc_time = re.search(r"(\d\d):(\d\d)", utc).groups()
    return (int(utc_time[0]) - int(local_time[0])) % 24


def visible(schedule, name: str) -> bool:
    return field(schedule, name).is_displayed()


# The API's JSON ---------------------------------------------------------------------------


def test_the_api_panel_shows_numbered_indented_lines_inside_the_page_and_copies(
    page, server, deployment
):
    panel_fieldset = page.find_element(By.CSS_SELECTOR, ".field-api_json")
    panel_fieldset.find_element(By.XPATH, "ancestor::details/summary").click()
    panel = page.find_element(By.CSS_SELECTOR, ".json-panel")
    page.execute_script("arguments[0].scrollIntoView()", panel)

    text = panel.find_element(By.CSS_SELECTOR, ".json-text").get_attribute("textContent")
    lines = text.split("\n")
    with urllib.request.urlopen(f"{server.url}/api/deployments/{deployment.pk}") as response:
        api_text = response.read().decode()
    in_order = json.loads(api_text, object_pairs_hook=list)
    assert json.loads(text, object_pairs_hook=list) == in_order
    assert len(lines) > 50
    assert lines[1] == f'  "id": "{deployment.pk}",'
    numbers = panel.find_element(By.CSS_SELECTOR, ".json-gutter").get_attribute("textContent")
    assert numbers.split("\n") == [str(n) for n in range(1, len(lines) + 1)]

    body = panel.find_element(By.CSS_SELECTOR, ".json-panel-body")
    box = page.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left, r.right]", body
    )
    assert 0 < box[0] < box[1] <= WIDTH
    assert page_width(page) <= WIDTH
    assert body.find_element(By.CSS_SELECTOR, ".json-text").is_displayed()

    page.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": server.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    panel.find_element(By.CSS_SELECTOR, "button.json-copy").click()
    wait_until(page, lambda: panel.find_element(By.CSS_SELECTOR, ".json-copied").text == "Copied")
    copied = page.execute_async_script(
        "const done = arguments[0];"
        "navigator.clipboard.readText().then(done, () => done(String(window.getSelection())))"
    )
    assert copied == text
    screenshot(page, "form-api-json-panel")


def test_short_fields_are_one_line_inputs(page, deployment):
    for name in ("entrypoint", "path", "version", "name"):
        element = page.find_element(By.NAME, name)
        assert (element.tag_name, element.get_attribute("type")) == ("input", "text"), name
        assert element.size["height"] < 40, name
    for name in ("cron", "slug", "timezone"):
        assert field(schedule_of(page, "first-monday-cron"), name).tag_name == "input", name
    entrypoint = page.find_element(By.NAME, "entrypoint")
    assert entrypoint.get_attribute("value") == deployment.entrypoint
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", entrypoint)
    screenshot(page, "form-short-fields")


# JSON fields ----------------------------------------------------------------------------


def test_a_json_syntax_error_names_its_line_and_column_as_typed_and_after_saving(page, deployment):
    textarea = page.find_element(By.CSS_SELECTOR, "textarea[name='parameters']")
    editor = textarea.find_element(By.XPATH, "..")
    report = editor.find_element(By.XPATH, "following-sibling::div[@class='json-editor-error']")
    gutter = editor.find_element(By.CSS_SELECTOR, ".json-editor-gutter")
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", textarea)
    assert report.text == ""
    retype(textarea, '{\n"count": 3\n"region": "eu"\n}')
    expected = "Enter valid JSON: line 3, column 1: Expecting ',' delimiter."
    wait_until(page, lambda: report.text == expected)
    assert gutter.text.split("\n") == ["1", "2", "3", "4"]
    assert gutter.find_element(By.CSS_SELECTOR, ".error-line").text == "3"
    screenshot(page, "form-json-error-live")

    before = dict(deployment.parameters)
    save(page)
    textarea = page.find_element(By.CSS_SELECTOR, "textarea[name='parameters']")
    server_error = textarea.find_element(
        By.XPATH, "ancestor::div[contains(@class, 'form-row')]//ul[@class='errorlist']/li"
    )
    assert server_error.text == expected
    report = textarea.find_element(
        By.XPATH, "../following-sibling::div[@class='json-editor-error']"
    )
    assert report.text == ""  # said once, by the server
    deployment.refresh_from_db()
    assert deployment.parameters == before
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", textarea)
    screenshot(page, "form-json-error-saved")

    retype(textarea, '{"count": 3,}')
    wait_until(page, lambda: report.text.startswith("Enter valid JSON: line 1, column 13"))
    assert not server_error.is_displayed()
    retype(textarea, '{"count": 3}')
    wait_until(page, lambda: report.text == "")
    assert (
        page.execute_script("return document.querySelectorAll('.json-editor.invalid').length") == 0
    )

    judged = page.execute_script(
        "return arguments[0].map((text) => window.catalogJSONProblem(text))", JSON_TEXTS
    )
    assert judged == [server_judgement(text) for text in JSON_TEXTS]


def server_judgement(text: str) -> str:
    if text == "":
        return ""
    try:
        json.loads(text)
    except ValueError:
        return syntax_error(text)
    return ""


# Schedules ------------------------------------------------------------------------------


def test_the_preview_follows_a_typed_cron_and_a_kind_shows_only_its_fields(page, deployment):
    schedule = schedule_of(page, "first-monday-cron")
    box = runs_box(schedule)
    saved = shown_runs(box)
    assert len(saved) == 10 and all(" 09:30 E" in local for local, _ in saved)
    assert headers(box) == ["America/New_York", "UTC"]
    assert visible(schedule, "cron") and visible(schedule, "day_or")
    assert not visible(schedule, "interval") and not visible(schedule, "rrule")
    help_ids = {
        name: field(schedule, name).get_attribute("aria-describedby")
        for name in ("interval", "anchor_date", "cron", "day_or", "rrule")
    }
    assert page.find_element(By.ID, help_ids["day_or"]).is_displayed()
    assert "OR, as standard cron" in page.find_element(By.ID, help_ids["day_or"]).text
    assert not page.find_element(By.ID, help_ids["interval"]).is_displayed()
    assert not page.find_element(By.ID, help_ids["anchor_date"]).is_displayed()

    cron = field(schedule, "cron")
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", cron)
    retype(cron, "15 6 * * *")
    wait_for_preview(page, box, lambda: shown_runs(box) and shown_runs(box) != saved)
    runs = shown_runs(box)
    assert len(runs) == 10
    assert headers(box) == ["America/New_York", "UTC"]
    for local, utc in runs:
        assert re.search(r" 06:15 E[SD]T$", local) and utc.endswith(" UTC")
        assert utc_hours(local, utc) == (5 if local.endswith("EST") else 4)
    screenshot(page, "form-schedule-preview-cron")

    retype(cron, "61 * * * *")
    error = 'Invalid cron string: "61 * * * *"'
    wait_for_preview(page, box, lambda: box_text(box, ".schedule-preview-error") == error)
    assert shown_runs(box) == []
    save(page)
    assert DeploymentSchedule.objects.filter(cron="30 9 1-7 * 1").exists()
    schedule = schedule_of(page, "first-monday-cron")
    box = runs_box(schedule)
    wait_for_preview(page, box, lambda: box_text(box, ".schedule-preview-error") == error)
    assert shown_runs(box) == []

    Select(field(schedule, "kind")).select_by_value("interval")
    assert visible(schedule, "interval") and visible(schedule, "anchor_date")
    assert not visible(schedule, "cron") and not visible(schedule, "day_or")
    assert not visible(schedule, "rrule")
    assert page.find_element(By.ID, help_ids["interval"]).is_displayed()
    assert not page.find_element(By.ID, help_ids["day_or"]).is_displayed()
    required = "This field is required for this kind of schedule."
    wait_for_preview(page, box, lambda: box_text(box, ".schedule-preview-error") == required)
    field(schedule, "interval").send_keys("5400")
    field(schedule, "anchor_date").send_keys("2026-01-05T09:00:00-05:00")
    wait_for_preview(page, box, lambda: len(shown_runs(box)) == 10)
    minutes = {local.split(" ")[2][3:5] for local, _ in shown_runs(box)}
    assert minutes == {"00", "30"}

    Select(field(schedule, "kind")).select_by_value("rrule")
    assert visible(schedule, "rrule")
    assert not visible(schedule, "interval") and not visible(schedule, "cron")
    rrule_help = page.find_element(By.ID, help_ids["rrule"]).text
    assert "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9" in rrule_help
    assert "DTSTART:20260105T093000" in rrule_help and "RRULE:FREQ=DAILY" in rrule_help
    field(schedule, "rrule").send_keys("FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0")
    wait_for_preview(page, box, lambda: box_text(box, ".schedule-preview-error") == "")
    runs = shown_runs(box)
    assert len(runs) == 10 and {local[:3] for local, _ in runs} == {"Mon", "Wed"}
    assert all(" 09:00 E" in local for local, _ in runs)
    screenshot(page, "form-schedule-kind-rrule")


def test_the_zone_is_searched_named_in_the_preview_and_refused_when_unknown(page):
    schedule = schedule_of(page, "first-monday-cron")
    box = runs_box(schedule)
    zone = field(schedule, "timezone")
    assert (zone.tag_name, zone.get_attribute("list")) == ("input", "catalog-timezones")
    offered = page.execute_script(
        "return Array.from(document.querySelectorAll('datalist#catalog-timezones option'),"
        " (option) => option.value)"
    )
    assert len(page.find_elements(By.TAG_NAME, "datalist")) == 1
    assert len(offered) > 500 and "Asia/Tokyo" in offered and "America/New_York" in offered

    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", zone)
    retype(zone, "Asia/Tokyo")
    wait_for_preview(page, box, lambda: headers(box) == ["Asia/Tokyo", "UTC"])
    runs = shown_runs(box)
    assert len(runs) == 10
    for local, utc in runs:
        assert re.search(r" 09:30 JST$", local) and re.search(r" 00:30 UTC$", utc)
    screenshot(page, "form-schedule-zone")

    retype(zone, "Mars/Olympus")
    message = 'Invalid timezone: "Mars/Olympus"'
    wait_for_preview(
        page, box, lambda: box_text(box, ".schedule-preview-error").startswith(message)
    )
    save(page)
    schedule = schedule_of(page, "first-monday-cron")
    error = schedule.find_element(By.CSS_SELECTOR, ".field-timezone .errorlist")
    assert error.text.startswith(message)
    assert DeploymentSchedule.objects.get(slug="first-monday-cron").timezone == "America/New_York"


def test_inactive_schedules_and_a_paused_deployment_are_marked_as_not_running(page):
    inactive = runs_box(schedule_of(page, "mwf-rrule"))
    active = runs_box(schedule_of(page, "first-monday-cron"))
    assert box_text(inactive, ".schedule-not-running") == (
        "inactive: these runs will not be scheduled"
    )
    assert len(shown_runs(inactive)) == 10
    assert box_text(active, ".schedule-not-running") == ""

    paused = page.find_element(By.NAME, "paused")
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", paused)
    paused.click()
    note = "deployment paused: these runs will not be scheduled"
    wait_for_preview(page, active, lambda: box_text(active, ".schedule-not-running") == note)
    both = "inactive, and the deployment is paused: these runs will not be scheduled"
    wait_for_preview(page, inactive, lambda: box_text(inactive, ".schedule-not-running") == both)

    paused.click()
    field(schedule_of(page, "first-monday-cron"), "active").click()
    wait_for_preview(
        page,
        active,
        lambda: (
            box_text(active, ".schedule-not-running")
            == "inactive: these runs will not be scheduled"
        ),
    )
    assert len(shown_runs(active)) == 10
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", inactive)
    screenshot(page, "form-schedule-inactive")


def test_a_schedule_added_on_the_page_previews_and_checks_its_json_too(page, deployment):
    add = page.find_element(By.CSS_SELECTOR, ".inline-group .add-row a")
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", add)
    add.click()
    schedule = page.find_element(By.ID, "schedules-3")
    Select(field(schedule, "kind")).select_by_value("cron")
    assert visible(schedule, "cron") and not visible(schedule, "interval")
    field(schedule, "cron").send_keys("0 7 * * *")
    field(schedule, "timezone").send_keys("Europe/Berlin")
    field(schedule, "slug").send_keys("added-in-the-browser")
    box = runs_box(schedule)
    wait_for_preview(page, box, lambda: headers(box) == ["Europe/Berlin", "UTC"])
    runs = shown_runs(box)
    assert len(runs) == 10
    assert all(re.search(r" 07:00 CES?T$", local) for local, _ in runs)

    parameters = schedule.find_element(By.CSS_SELECTOR, "textarea[name$='-parameters']")
    report = parameters.find_element(
        By.XPATH, "../following-sibling::div[@class='json-editor-error']"
    )
    retype(parameters, '{"a": 1,, "b": 2}')
    expected = "Enter valid JSON: line 1, column 9: Expecting property name enclosed in double"
    wait_until(page, lambda: report.text == f"{expected} quotes.")
    retype(parameters, '{"a": 1}')
    wait_until(page, lambda: report.text == "")
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    screenshot(page, "form-schedule-added")
    save(page)
    assert "was changed successfully" in page.find_element(By.CSS_SELECTOR, ".messagelist").text
    added = DeploymentSchedule.objects.get(slug="added-in-the-browser")
    assert (added.deployment_id, added.cron, added.timezone, added.parameters) == (
        deployment.pk,
        "0 7 * * *",
        "Europe/Berlin",
        {"a": 1},
    )
