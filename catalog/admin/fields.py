"""Form fields for the admin: JSON shown indented and checked, tags as one list, and a
select fast enough for the ~600 IANA zones."""

import json
import re

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from catalog.rules import schedules
from catalog.rules.limits import MAX_JSON_DEPTH
from catalog.rules.text import text_problem, unreadable, unstorable


class PrettyJSONField(forms.JSONField):
    """JSON shown indented, with non-ASCII characters as they are."""

    widget = forms.Textarea(attrs={"rows": 6, "cols": 80, "class": "vLargeTextField json"})

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)

    def to_python(self, value):
        """Django's reading, with what Python's JSON reader cannot make (deep nesting, an
        integer of thousands of digits) a form error rather than a server error."""
        try:
            return super().to_python(value)
        except RecursionError:
            message = f"Enter valid JSON: nested more than {MAX_JSON_DEPTH} levels deep."
        except ValueError as exc:
            message = f"Enter valid JSON: {unreadable(exc)}."
        raise forms.ValidationError(message, code="invalid")

    def bound_data(self, data, initial):
        """The text sent back as it was when Python cannot read it (the form shows it
        again beside its error)."""
        try:
            return super().bound_data(data, initial)
        except (RecursionError, ValueError):
            return forms.fields.InvalidJSONInput(data)

    def validate(self, value):
        super().validate(value)
        found = unstorable(value)
        if found:
            where, problem = found
            raise forms.ValidationError(f"{problem} (at {where})" if where else problem)


class TagsField(forms.CharField):
    """Tags edited as one list: separated by commas or new lines, order kept, no repeats."""

    widget = forms.TextInput(attrs={"size": 80, "placeholder": "etl, nightly"})

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list):
            return value
        tags = [tag.strip() for tag in re.split(r"[,\n]", value or "")]
        return list(dict.fromkeys(tag for tag in tags if tag))

    def validate(self, value):
        super().validate(value)
        for tag in value:
            problem = text_problem(tag)
            if problem:
                raise forms.ValidationError(problem)


class LongSelect(forms.Select):
    """A select rendered in one pass: the IANA list has ~600 zones, and the template-per-
    option rendering of Django's Select costs ~0.1 s for each schedule on the form."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        chosen = "" if value is None else str(value)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option, mark_safe(" selected") if str(option) == chosen else "", label)
                for option, label in self.choices
            ),
        )
        return format_html("<select{}>{}</select>", flatatt(attrs), options)


def timezone_choices() -> list[tuple[str, str]]:
    return [("", "(default for the kind)")] + [(z, z) for z in schedules.timezone_choices()]
