"""A work pool's base job template: Prefect's check that every placeholder its job
configuration uses is a property of its variables schema.

Prefect finds the placeholders in the JSON text of each job configuration value
(`json.dumps`, so keys nested in a value count, the top-level keys do not, and a name with
a non-ASCII letter or an escaped newline inside the braces is no placeholder). Where
Prefect's server fails on a template (a job configuration, variables schema or
`properties` that is not an object), the catalog refuses it with a message saying which.
"""

import json
import re
from typing import Any

from catalog.rules.problems import RuleError

# Prefect's placeholder, in job templates and in prefect.yaml: `{{ name }}`, the name of
# word characters, dots, dashes, brackets and `$`.
PLACEHOLDER = re.compile(r"{{\s*([\w\.\-\[\]$]+)\s*}}")

BOTH_KEYS = (
    "The `base_job_template` must contain both a `job_configuration` key and a `variables` key."
)
UNDECLARED = (
    "The variables specified in the job configuration template must be present as "
    "properties in the variables schema. Your job configuration uses the following "
    "undeclared variable(s): {names}."
)
NOT_AN_OBJECT = "The `{part}` of the `base_job_template` must be an object."


def check_base_job_template(template: dict[str, Any]) -> dict[str, Any]:
    """`template` if it is empty or every placeholder of its job configuration is a
    variable it declares; else a `RuleError` saying what is wrong."""
    if template == {}:
        return template
    configuration = template.get("job_configuration")
    variables = template.get("variables")
    if not (configuration and variables):
        raise RuleError(BOTH_KEYS, "value_error")
    used = placeholders_of(object_part(configuration, "job_configuration"))
    declared = object_part(variables, "variables").get("properties", {})
    missing = used - set(object_part(declared, "variables.properties"))
    if missing:
        # Prefect joins a set, in no set order, with " ,"; the catalog sorts the names.
        raise RuleError(UNDECLARED.format(names=" ,".join(sorted(missing))), "value_error")
    return template


def object_part(value: Any, part: str) -> dict:
    if not isinstance(value, dict):
        raise RuleError(NOT_AN_OBJECT.format(part=part), "value_error")
    return value


def placeholders_of(configuration: dict) -> set[str]:
    names: set[str] = set()
    for value in configuration.values():
        try:
            text = json.dumps(value)
        except RecursionError:
            raise RuleError(
                "The `job_configuration` is nested too deeply.", "value_error"
            ) from None
        names.update(PLACEHOLDER.findall(text))
    return names
