"""The shape of `catalog/`: every module small, with a first line saying its job. Which
layer may import which is checked by import-linter (`uv run lint-imports`, in CI), from
the contracts in pyproject.toml."""

import ast
from pathlib import Path

import pytest

CATALOG = Path(__file__).resolve().parent.parent / "catalog"
MAX_LINES = 600
MODULES = sorted(
    path for path in CATALOG.rglob("*.py") if "migrations" not in path.relative_to(CATALOG).parts
)


def module_id(path: Path) -> str:
    return str(path.relative_to(CATALOG.parent))


@pytest.mark.parametrize("path", MODULES, ids=module_id)
def test_no_module_is_over_600_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("path", MODULES, ids=module_id)
def test_each_module_states_its_job_in_its_first_line(path):
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring, "a module docstring"
    assert docstring.splitlines()[0].strip()
