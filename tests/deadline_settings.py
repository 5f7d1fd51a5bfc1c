"""The catalog's settings with the slow routes of tests/deadline_urls.py, for gunicorn."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.deadline_urls"
