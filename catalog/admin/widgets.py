"""Widgets of the deployment page: a JSON editor with line numbers that checks the text as
it is typed (catalog/static/catalog/json_editor.js), a time-zone input that searches the
IANA zones, and the read-only JSON panel with line numbers and a copy button."""

import json
from functools import cache

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalog.rules import schedules

# The one <datalist> of zones that every time-zone input of a page names (the deployment
# page renders it once, not once for each schedule: it has ~600 entries).
TIMEZONE_LIST_ID = "catalog-timezones"
JSON_EDITOR_MEDIA = forms.Media(
    css={"all": ["catalog/json_editor.css"]}, js=["catalog/json_editor.js"]
)


class JSONEditor(forms.Textarea):
    """A textarea for JSON beside a gutter of line numbers, with a line under it where the
    browser names the line and column of a syntax error as the user types (the same
    message the server gives on saving)."""

    def __init__(self, attrs=None):
        defaults = {
            "rows": 6,
            "cols": 80,
            "class": "vLargeTextField json-editor-text",
            "spellcheck": "false",
            "wrap": "off",
            "autocomplete": "off",
        }
        super().__init__({**defaults, **(attrs or {})})

    @property
    def media(self):
        return JSON_EDITOR_MEDIA

    def render(self, name, value, attrs=None, renderer=None):
        textarea = super().render(name, value, attrs, renderer)
        return format_html(
            '<div class="json-field"><div class="json-editor" data-json-editor>'
            '<div class="json-editor-gutter" aria-hidden="true"></div>{}</div>'
            '<div class="json-editor-error" role="status" aria-live="polite"></div></div>',
            textarea,
        )


class TimezoneInput(forms.TextInput):
    """A zone typed with suggestions: the browser offers the IANA names that match."""

    def __init__(self, attrs=None):
        defaults = {
            "list": TIMEZONE_LIST_ID,
            "size": 28,
            "autocomplete": "off",
            "spellcheck": "false",
            "placeholder": "UTC",
            "class": "timezone-input",
        }
        super().__init__({**defaults, **(attrs or {})})


@cache
def timezone_datalist() -> SafeString:
    options = format_html_join(
        "", '<option value="{}">', ((name,) for name in schedules.timezone_choices())
    )
    return format_html('<datalist id="{}">{}</datalist>', TIMEZONE_LIST_ID, options)


def json_panel(data) -> SafeString:
    """`data` indented, keys in its own order, each line numbered in a gutter that is not
    part of the text (selecting or copying the text leaves the numbers out)."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    numbers = "\n".join(str(n) for n in range(1, text.count("\n") + 2))
    return format_html(
        '<div class="json-panel" data-json-panel>'
        '<div class="json-panel-tools">'
        '<button type="button" class="button json-copy">Copy</button> '
        '<span class="json-copied" role="status" aria-live="polite"></span></div>'
        '<div class="json-panel-body" tabindex="0">'
        '<pre class="json-gutter" aria-hidden="true">{}</pre>'
        '<pre class="json-text">{}</pre></div></div>',
        numbers,
        text,
    )
