"""Form fields for the admin: JSON shown indented and checked, and tags as one list."""

import json
import re

from django import forms

from catalog.admin.widgets import JSONEditor
from catalog.rules.limits import MAX_JSON_DEPTH
from catalog.rules.text import text_problem, unreadable, unstorable


class PrettyJSONField(forms.JSONField):
    """JSON shown indented, with non-ASCII characters as they are, in an editor with line
    numbers; a syntax error names its line and column."""

    widget = JSONEditor

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)

    def to_python(self, value):
        """Django's reading, with what Python's JSON reader cannot make (deep nesting, an
        integer of thousands of digits) a form error rather than a server error."""
        try:
            return super().to_python(value)
        except forms.ValidationError:
            raise forms.ValidationError(syntax_error(value), code="invalid") from None
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


def syntax_error(text: str) -> str:
    """Where Python's JSON reader stops in `text`, and why, with the words the browser's
    check uses too (catalog/static/catalog/json_editor.js)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"Enter valid JSON: line {exc.lineno}, column {exc.colno}: {readable(exc.msg)}."
    except (RecursionError, ValueError):
        pass
    return "Enter valid JSON."


def readable(message: str) -> str:
    """Python's message without its trailing "at" (the place is said before it)."""
    if message.startswith("Unterminated string"):
        return "Unterminated string"
    return message.removesuffix(" at")


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
