"""Capture what the real Prefect derives from each flow in tests/data/flows/.

Run with the interop virtualenv, which has Prefect 3.9.1 installed:

    scripts/interop-venv && .venv-interop/bin/python scripts/capture_flow_schemas.py

For every `file.py:function` entrypoint whose function is a flow, it records the flow's
name, description and version, and the `parameter_openapi_schema` exactly as
`prefect deploy` sends it (`parameter_schema(flow).model_dump(exclude_unset=True)`), in
tests/data/flows/expected.json. The tests read that file; they never need Prefect.
"""

import ast
import json
import os
import tempfile
from pathlib import Path

FLOWS_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "flows"
EXPECTED = FLOWS_DIR / "expected.json"


def function_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_bytes(), filename=str(path))
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    return [node.name for node in tree.body if isinstance(node, functions)]


def capture(entrypoint: str) -> dict | None:
    from prefect.exceptions import MissingFlowError
    from prefect.flows import load_flow_from_entrypoint
    from prefect.utilities.callables import parameter_schema

    try:
        flow = load_flow_from_entrypoint(entrypoint, use_placeholder_flow=False)
    except MissingFlowError:
        return None  # a helper function, not a flow
    return {
        "name": flow.name,
        "description": flow.description,
        "version": flow.version,
        "parameter_openapi_schema": parameter_schema(flow).model_dump(exclude_unset=True),
    }


def capture_all() -> dict[str, dict]:
    """Entrypoints relative to the flows' folder, as `prefect deploy` runs from there."""
    os.chdir(FLOWS_DIR)
    captured: dict[str, dict] = {}
    for path in sorted(FLOWS_DIR.glob("*.py")):
        for name in function_names(path):
            entrypoint = f"{path.name}:{name}"
            if (flow := capture(entrypoint)) is not None:
                captured[entrypoint] = flow
    return captured


def main() -> None:
    # Loading flows needs no server; keep Prefect's settings and logs out of ~/.prefect.
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
    captured = capture_all()
    EXPECTED.write_text(json.dumps(captured, indent=2, ensure_ascii=False) + "\n")
    print(f"{len(captured)} flows written to {EXPECTED}")


if __name__ == "__main__":
    main()
