"""What the browser tests share: logging in, waiting for a page to be replaced, and
screenshots. Every screenshot goes into one folder, `test-artifacts/screenshots/` (or
`$TEST_ARTIFACTS/screenshots/`), which the run names at its end (tests/conftest.py)."""

from contextlib import contextmanager

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ARTIFACTS

SCREENSHOTS = ARTIFACTS / "screenshots"
SAVED: list[str] = []
PASSWORD = "a-long-test-password"


def screenshot(browser, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    SAVED.append(name)


def log_in(
    browser, server, username: str = "ops", next_page: str = "/admin/catalog/deployment/"
) -> None:
    browser.get(f"{server.url}/admin/login/?next={next_page}")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    with page_change(browser):
        browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


@contextmanager
def page_change(browser):
    """Wait for the page the block leaves to be replaced: a submit by Enter returns
    before the next page loads, and reading the old page then finds stale elements.

    The old page is marked by a window property rather than watched through an
    element: while Chromium swaps documents, asking about an old element can fail
    with errors other than staleness ("Node ... does not belong to the document")."""
    browser.execute_script("window.catalogPageLeft = true")
    yield
    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script(
            "return !window.catalogPageLeft && document.readyState === 'complete'"
        )
    )


def page_width(browser) -> int:
    """How wide the page's content is, scrolled parts included."""
    return browser.execute_script("return document.documentElement.scrollWidth")
