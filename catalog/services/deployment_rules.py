"""Every rule of a deployment's values, in one place: each column's own rule, and the
rules across columns (parameters against an enforced schema, job variables against the
work pool's, a grace period only with a collision strategy). The API's writes, the
admin's form and the importer all ask `deployment_problems`.

Problems name fields as Prefect's JSON does (`concurrency_options.grace_period_seconds`
for the column `concurrency_grace_period_seconds`), so each door can point at its own.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

from catalog.models import WorkPool
from catalog.rules import limits, parameters
from catalog.rules.problems import Problem
from catalog.rules.schema_patterns import PatternBudget
from catalog.services.checks import problems_of
from catalog.services.errors import Invalid
from catalog.services.work_pools import check_job_variables

NO_PARAMETER_SCHEMA = (
    "Cannot update parameters because parameter schema enforcement is enabled and the "
    "deployment does not have a valid parameter schema."
)
OPTIONS = "concurrency_options"

COLUMN_RULES = {
    "name": (("name",), limits.check_deployment_name),
    "version": (("version",), limits.check_short_text),
    "description": (("description",), limits.check_text),
    "tags": (("tags",), limits.check_tags),
    "labels": (("labels",), limits.check_labels),
    "parameters": (("parameters",), limits.check_parameters),
    "job_variables": (("job_variables",), limits.check_json_object),
    "parameter_openapi_schema": (
        ("parameter_openapi_schema",),
        limits.check_optional_json_object,
    ),
    "pull_steps": (("pull_steps",), limits.check_pull_steps),
    "path": (("path",), limits.check_text),
    "entrypoint": (("entrypoint",), limits.check_text),
    "concurrency_collision_strategy": (
        (OPTIONS, "collision_strategy"),
        lambda value: limits.check_choice(value, limits.COLLISION_STRATEGIES, nullable=True),
    ),
    "concurrency_grace_period_seconds": (
        (OPTIONS, "grace_period_seconds"),
        limits.check_grace_period,
    ),
    "status": (("status",), lambda value: limits.check_choice(value, limits.DEPLOYMENT_STATUSES)),
    "created_by": (("created_by",), limits.check_actor),
    "updated_by": (("updated_by",), limits.check_actor),
}
PARAMETER_COLUMNS = {"parameters", "parameter_openapi_schema", "enforce_parameter_schema"}
OPTION_COLUMNS = {"concurrency_collision_strategy", "concurrency_grace_period_seconds"}


def deployment_problems(
    columns: Mapping[str, Any],
    *,
    changed: Iterable[str] | None = None,
    pool: WorkPool | None = None,
    check_parameters: bool = True,
) -> list[Problem]:
    """The problems of a deployment's columns: each `changed` column's own rule (all of
    them if None), then the rules across the columns those touch. `pool`, when given, is
    the work pool whose variables schema the job variables must fit; `check_parameters`
    is off where the writer has checked parameters with Prefect's rule for its route."""
    changed = set(columns if changed is None else changed)
    given = {name: columns[name] for name in changed if name in columns}
    problems = problems_of(given, COLUMN_RULES)
    broken = {problem.field for problem in problems}
    return problems + cross_field_problems(
        columns, changed=changed, pool=pool, check_parameters=check_parameters, broken=broken
    )


def cross_field_problems(
    columns: Mapping[str, Any],
    *,
    changed: Iterable[str] | None = None,
    pool: WorkPool | None = None,
    check_parameters: bool = True,
    broken: frozenset | set = frozenset(),
) -> list[Problem]:
    """The rules across a deployment's columns, where `changed` columns (all if None) are
    among their inputs; `broken` fields have problems of their own already."""
    changed = set(columns if changed is None else changed)
    problems = []
    parameters_broken = broken & {"parameters", "parameter_openapi_schema"}
    if check_parameters and changed & PARAMETER_COLUMNS and not parameters_broken:
        problems += parameter_problems(
            columns.get("parameters"),
            columns.get("parameter_openapi_schema"),
            columns.get("enforce_parameter_schema", True),
        )
    if changed & OPTION_COLUMNS and OPTIONS not in broken:
        problems += option_problems(columns)
    if pool is not None and "job_variables" not in broken:
        problems += job_variable_problems(pool, columns.get("job_variables"))
    return problems


def parameter_problems(values: Any, schema: Any, enforce: bool) -> list[Problem]:
    """Parameters must fit the parameter schema when it is enforced (required keys aside:
    a deployment may leave some to each run), as Prefect checks them on update."""
    if not enforce or not isinstance(values, dict):
        return []
    if not isinstance(schema, dict):
        if not values:
            return []
        return [Problem(("parameter_openapi_schema",), NO_PARAMETER_SCHEMA, "no_parameter_schema")]
    key = parameters.schema_key(schema)
    try:
        parameters.check_schema(schema, key)
    except parameters.ParameterSchemaError as exc:
        return [Problem(("parameter_openapi_schema",), str(exc), "schema_invalid")]
    try:
        parameters.check_parameters_preprocessed(values, schema, key=key)
    except parameters.CircularSchemaError as exc:
        return [Problem(("parameter_openapi_schema",), str(exc), "circular_schema")]
    except parameters.SchemaPatternError as exc:
        return [Problem(("parameter_openapi_schema",), str(exc), "schema_pattern_refused")]
    except parameters.ParameterSchemaError as exc:
        return [Problem(("parameters",), str(exc), "parameters_off_schema")]
    return []


def option_problems(columns: Mapping[str, Any]) -> list[Problem]:
    """A grace period only means something with a collision strategy."""
    if columns.get("concurrency_grace_period_seconds") is None:
        return []
    if columns.get("concurrency_collision_strategy") is None:
        return [Problem((OPTIONS, "collision_strategy"), "Field required", "missing")]
    return []


def job_variable_problems(pool: WorkPool, job_variables: Any) -> list[Problem]:
    try:
        check_job_variables(pool, job_variables)
    except Invalid as exc:
        return exc.problems
    return []


# The budget of the schemas' patterns ----------------------------------------------------

PATTERN_SETTINGS = {
    "CATALOG_SCHEMA_MAX_PATTERN_LENGTH": "max_length",
    "CATALOG_SCHEMA_PATTERN_MAX_MEMORY": "max_memory",
    "CATALOG_SCHEMA_PATTERN_MATCH_BUDGET": "max_match_work",
    "CATALOG_SCHEMA_CHECK_BUDGET": "max_check_steps",
}


def apply_pattern_budget() -> None:
    """The rules layer checks schemas' patterns within the budget the settings give."""
    given = {field: getattr(settings, name) for name, field in PATTERN_SETTINGS.items()}
    parameters.set_pattern_budget(PatternBudget(**given))


def pattern_setting_changed(*, setting: str, **_) -> None:
    if setting in PATTERN_SETTINGS:
        apply_pattern_budget()
