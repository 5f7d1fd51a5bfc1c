"""The templates of a prefect.yaml deployment, filled as `prefect deploy` (Prefect 3.9.1)
fills them, without running any build, push or pull step.

What Prefect does, and so what this does, for one deployment:

- Pull steps (the deployment's own, else the file's) are the ones written, with only
  `{{ $VAR }}` filled from the environment; an unset one, `{{ prefect.variables.x }}`,
  `{{ prefect.blocks.… }}` and step outputs such as `{{ build-image.image }}` stay as
  written, for the worker to fill at run time.
- Everywhere else: `{{ prefect.variables.x }}` is filled from the catalog's variables (a
  template that is the whole string takes the variable's JSON value; inside text, its
  Python `str()`); a missing variable becomes `""` as a whole string and is cut out of
  text. Then `{{ $VAR }}`, and a bare `{{ NAME }}`, are filled from the environment.
  Then the step outputs are applied, and the import runs no step, so: an unset `{{ $VAR }}`
  becomes `""`, a bare `{{ name }}` the environment does not hold is removed (the key from
  its mapping, the item from its list) when it is the whole string and becomes `""`
  inside text, except `{{ ctx.… }}` outside schedules, which workers fill.
- `{{ prefect.blocks.… }}` outside pull steps is refused: the catalog keeps no blocks.

Each value changed from what was written in a way a person may not expect gives a
warning through `warn(path, message)`; `path` is the value's place inside the
deployment (or inside the file, for the file's own pull steps)."""

import re
from collections.abc import Callable, Mapping
from typing import Any

from catalog.importing.records import RecordError
from catalog.rules.job_templates import PLACEHOLDER
from catalog.rules.problems import path_text

VARIABLE_PREFIX = "prefect.variables."
BLOCK_PREFIX = "prefect.blocks."
RUN_TIME_PREFIX = "ctx."
# The sections Prefect sets aside before it applies step outputs to the rest.
SET_ASIDE = ("schedules", "triggers", "pull")
DROP: Any = object()  # a whole-string template Prefect removes with its key or item

Warn = Callable[[str, str], None]


def kind_of(name: str) -> str:
    if name.startswith(BLOCK_PREFIX):
        return "block"
    if name.startswith(VARIABLE_PREFIX):
        return "variable"
    if name.startswith("$"):
        return "env"
    return "standard"


def placeholders(text: str) -> dict[str, str]:
    """The distinct placeholders of a text: each full match and its name."""
    return {match.group(0): match.group(1) for match in PLACEHOLDER.finditer(text)}


class DeploymentTemplates:
    """Fills one deployment's templates from `environ` and the catalog's `variables`."""

    def __init__(self, environ: Mapping[str, str], variables: Mapping[str, Any], warn: Warn):
        self.environ = environ
        self.variables = variables
        self.warn = warn

    # Pull steps -------------------------------------------------------------------------

    def pull_steps(self, steps: Any, at: tuple) -> Any:
        return walk(steps, at, self.pull_text)

    def pull_text(self, text: str, at: tuple) -> Any:
        def fill(match: re.Match) -> str:
            name = match.group(1)
            if kind_of(name) == "env" and name.lstrip("$") in self.environ:
                return self.environ[name.lstrip("$")]
            return match.group(0)

        return PLACEHOLDER.sub(fill, text)

    # The deployment's fields ------------------------------------------------------------

    def deployment(self, config: Mapping) -> dict:
        """The deployment's fields but `pull`, filled in Prefect's order."""
        rest = {key: value for key, value in config.items() if key != "pull"}
        rest = walk(rest, (), self.refuse_blocks)
        rest = walk(rest, (), self.variables_text)
        rest = walk(rest, (), self.environment_text)
        set_aside = {key: rest.pop(key) for key in SET_ASIDE if key in rest}
        if set_aside.get("schedules") is not None:
            set_aside["schedules"] = walk(
                set_aside["schedules"], ("schedules",), self.outputs_text(skip=())
            )
        rest = walk(rest, (), self.outputs_text(skip=(RUN_TIME_PREFIX,)))
        return {**rest, **set_aside}

    def refuse_blocks(self, text: str, at: tuple) -> Any:
        for full, name in placeholders(text).items():
            if kind_of(name) == "block":
                raise RecordError(
                    path_text(at),
                    f"{full} names a block; the catalog keeps no blocks, so it cannot be "
                    "filled (in pull steps it is kept for run time)",
                )
        return text

    def variables_text(self, text: str, at: tuple) -> Any:
        found = placeholders(text)
        named = {full: name for full, name in found.items() if kind_of(name) == "variable"}
        if not named:
            return text
        if len(found) == 1 and text in named:
            return self.variable(named[text], at, whole=True)
        for full, name in named.items():
            value = self.variable(name, at, whole=False)
            text = text.replace(full, str(value))
        return text

    def variable(self, name: str, at: tuple, *, whole: bool) -> Any:
        key = name.removeprefix(VARIABLE_PREFIX)
        if key in self.variables:
            return self.variables[key]
        done = 'stored as ""' if whole else "cut out of the text"
        self.warn(
            path_text(at),
            f"variable {key!r} does not exist; {{{{ {name} }}}} {done}, as prefect deploy does",
        )
        return ""

    def environment_text(self, text: str, at: tuple) -> Any:
        """Prefect's first pass, over the environment: what is not set stays as written."""
        found = placeholders(text)
        if not found:
            return text
        if len(found) == 1 and text in found and kind_of(found[text]) == "standard":
            value = from_path(self.environ, found[text])
            return text if value is DROP else value

        def fill(match: re.Match) -> str:
            value = self.from_environment(match.group(1))
            return match.group(0) if value is DROP else str(value)

        return PLACEHOLDER.sub(fill, text)

    def from_environment(self, name: str) -> Any:
        kind = kind_of(name)
        if kind == "env":
            return self.environ.get(name.lstrip("$"), DROP)
        if kind == "standard":
            return from_path(self.environ, name)
        return DROP

    def outputs_text(self, skip: tuple[str, ...]) -> Callable[[str, tuple], Any]:
        """Prefect's pass over the outputs of build and push steps, which an import does
        not run: what is still a template is emptied or removed."""

        def outputs(text: str, at: tuple) -> Any:
            found = {
                full: name for full, name in placeholders(text).items() if not name.startswith(skip)
            }
            if len(found) == 1 and text in found and kind_of(found[text]) == "standard":
                self.warn(path_text(at), f"{text} {NO_STEP}; removed, as prefect deploy does")
                return DROP
            emptied = {
                full: name for full, name in found.items() if kind_of(name) in ("env", "standard")
            }
            for full, name in emptied.items():
                self.warn(path_text(at), f"{full} {unset(name)}; emptied, as prefect deploy does")
            return PLACEHOLDER.sub(lambda m: "" if m.group(0) in emptied else m.group(0), text)

        return outputs


NO_STEP = "names a step output, and an import runs no build or push step"


def unset(name: str) -> str:
    return "is not set in the environment" if kind_of(name) == "env" else NO_STEP


def walk(value: Any, at: tuple, on_text: Callable[[str, tuple], Any]) -> Any:
    """`value` with each string passed through `on_text`; a string it turns into `DROP`
    leaves its mapping or list."""
    if isinstance(value, str):
        return on_text(value, at) if "{{" in value else value
    if isinstance(value, Mapping):
        pairs = ((key, walk(item, (*at, key), on_text)) for key, item in value.items())
        return {key: item for key, item in pairs if item is not DROP}
    if isinstance(value, list):
        items = (walk(item, (*at, n), on_text) for n, item in enumerate(value))
        return [item for item in items if item is not DROP]
    return value


def from_path(values: Mapping[str, Any], name: str) -> Any:
    """`name` looked up the way Prefect reads `a.b[0]` from a mapping; DROP if absent."""
    value: Any = values
    try:
        for key in name.replace("[", ".").replace("]", "").split("."):
            if not isinstance(value, Mapping):
                key = int(key) if key.lstrip("-").isdigit() else key
            value = value[key]
    except (TypeError, KeyError, IndexError):
        return DROP
    return value
