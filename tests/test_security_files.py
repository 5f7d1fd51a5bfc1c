"""Untrusted prefect.yaml, JSON and flow files: each budget refuses the input just past it
with a one-line error naming it, writes nothing, and takes the input just under it.

The budgets are the production defaults (config/settings.py); every case runs the
importer as operators do, through `import_deployments` or `import_paths`.
"""

import itertools
import json
import os
import textwrap
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from catalog.importing.records import ImportFailed
from catalog.importing.run import import_paths
from catalog.importing.sources.json_files import read_json
from catalog.models import Deployment, Variable
from tests.replay import database_fingerprint

pytestmark = pytest.mark.django_db

FLOW = "from prefect import flow\n\n\n@flow\ndef f(n: int = 1):\n    pass\n"


def refused_by_command(*paths: Path) -> list[str]:
    """The problems `import_deployments` lists, after checking it wrote nothing."""
    before = database_fingerprint()
    with pytest.raises(CommandError) as error:
        call_command("import_deployments", *map(str, paths), "--quiet", stdout=StringIO())
    first, *problems = str(error.value).split("\n")
    assert first == "Import refused; nothing was written."
    assert database_fingerprint() == before
    return problems


def refused_by_service(*paths: Path) -> list[str]:
    before = database_fingerprint()
    with pytest.raises(ImportFailed) as error:
        import_paths(list(paths))
    assert database_fingerprint() == before
    return error.value.problems


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def project(tmp_path: Path, flow_source: str, entrypoint: str = "flows/f.py:f") -> Path:
    """A project folder: one flow file and a prefect.yaml whose deployment `d` names it."""
    write(tmp_path / "flows" / "f.py", flow_source)
    deployment = f"deployments:\n- name: d\n  entrypoint: {entrypoint}\n"
    return write(tmp_path / "prefect.yaml", deployment)


def entrypoint_problem(prefect_yaml: Path, message: str) -> str:
    return f"{prefect_yaml}:3: deployments[0].entrypoint: {message}"


# prefect.yaml: aliases ------------------------------------------------------------------


def alias_bomb(levels: int, size: int) -> str:
    """The "billion laughs": each level a list of nine aliases of the one before, padded
    with a comment to `size` bytes."""
    names = "abcdefghijklmnopq"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for before, name in itertools.pairwise(names[:levels]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{before}"] * 9) + "]")
    lines.append(
        f"deployments:\n- name: bomb\n  flow_name: f\n  parameters: {{p: *{names[levels - 1]}}}"
    )
    text = "\n".join(lines) + "\n"
    return text + "#" * (size - len(text) - 1) + "\n"


@pytest.mark.parametrize(("levels", "size"), [(10, 448), (14, 592)])
def test_it_refuses_an_alias_bomb_by_the_node_budget(tmp_path, levels, size):
    path = write(tmp_path / "prefect.yaml", alias_bomb(levels, size))
    assert path.stat().st_size == size

    assert refused_by_command(path) == [
        f"{path}:5: YAML too large: more than 50,000 nodes once aliases are expanded "
        "(CATALOG_YAML_MAX_NODES)"
    ]


def expanded_nodes(node: yaml.Node) -> int:
    """Nodes counted as PyYAML's plain composer gives them, an alias each time it is used."""
    if isinstance(node, yaml.ScalarNode):
        return 1
    if isinstance(node, yaml.SequenceNode):
        return 1 + sum(map(expanded_nodes, node.value))
    return 1 + sum(expanded_nodes(key) + expanded_nodes(value) for key, value in node.value)


def aliased_yaml(nodes: int) -> str:
    """A deployment whose parameter unfolds a shared list into exactly `nodes` nodes."""
    shared = "shared: &shared [" + ", ".join(["0"] * 999) + "]\n"

    def document(padding: int) -> str:
        items = ["*shared"] * (nodes // 1000 - 2) + ["0"] * padding
        return shared + (
            "deployments:\n- name: wide\n  flow_name: wide-flow\n"
            f"  parameters:\n    p: [{', '.join(items)}]\n"
        )

    padding = nodes - expanded_nodes(yaml.compose(document(0)))
    text = document(padding)
    assert expanded_nodes(yaml.compose(text)) == nodes
    return text


def test_it_takes_a_file_of_as_many_nodes_as_the_budget(tmp_path):
    path = write(tmp_path / "prefect.yaml", aliased_yaml(50_000))

    assert import_paths([path]).summary() == "created=1 updated=0 unchanged=0 errors=0"
    unfolded = Deployment.objects.get(name="wide").parameters["p"]
    assert unfolded[:48] == [[0] * 999] * 48


def test_it_refuses_a_file_of_one_node_past_the_budget(tmp_path):
    path = write(tmp_path / "prefect.yaml", aliased_yaml(50_001))

    assert refused_by_service(path) == [
        f"{path}:6: YAML too large: more than 50,000 nodes once aliases are expanded "
        "(CATALOG_YAML_MAX_NODES)"
    ]


@pytest.mark.parametrize(
    ("text", "line", "anchor"),
    [
        ("a: &a [1, *a]\n", 1, "a"),
        ("a: &a {x: 1, <<: *a}\n", 1, "a"),
        ("deployments:\n- &d {name: d, flow_name: f, parameters: {me: *d}}\n", 2, "d"),
    ],
)
def test_it_refuses_a_structure_that_holds_itself(tmp_path, text, line, anchor):
    path = write(tmp_path / "prefect.yaml", text)

    assert refused_by_command(path) == [
        f"{path}:{line}: YAML alias *{anchor} refers to a node that holds it: a structure "
        "that contains itself cannot be imported"
    ]


# prefect.yaml: size, depth, values ------------------------------------------------------


def deployment_yaml(extra: str = "") -> str:
    return f"deployments:\n- name: d\n  flow_name: f\n{extra}"


def test_it_takes_a_prefect_yaml_as_large_as_the_budget(tmp_path):
    text = deployment_yaml()
    path = write(tmp_path / "prefect.yaml", text + "#" * (1_000_000 - len(text) - 1) + "\n")

    assert import_paths([path]).summary() == "created=1 updated=0 unchanged=0 errors=0"


@pytest.mark.parametrize("name", ["prefect.yaml", "prefect.txt"])
def test_it_refuses_a_prefect_yaml_one_byte_past_the_budget(tmp_path, name):
    text = deployment_yaml()
    path = write(tmp_path / name, text + "#" * (1_000_001 - len(text) - 1) + "\n")

    assert refused_by_command(path) == [
        f"{path}: the file is 1,000,001 bytes; a prefect.yaml may be at most 1,000,000 "
        "bytes (CATALOG_YAML_MAX_BYTES)"
    ]


def nested_yaml(levels: int) -> str:
    """A prefect.yaml nesting `levels` levels, the document's own mapping the first."""
    inner = levels - 1
    return "definitions: " + "[" * inner + "]" * inner + "\n" + deployment_yaml()


def test_it_takes_yaml_as_deep_as_the_budget(tmp_path):
    path = write(tmp_path / "prefect.yaml", nested_yaml(300))

    assert import_paths([path]).summary() == "created=1 updated=0 unchanged=0 errors=0"


@pytest.mark.parametrize("levels", [301, 100_000])
def test_it_refuses_yaml_one_level_past_the_depth_budget(tmp_path, levels):
    path = write(tmp_path / "prefect.yaml", nested_yaml(levels))

    assert refused_by_command(path) == [
        f"{path}:1: YAML nested too deeply: more than 300 levels (CATALOG_IMPORT_MAX_DEPTH)"
    ]


def test_it_refuses_deep_block_yaml_with_the_depth_budget(tmp_path):
    block = "".join(f"{'  ' * level}k:\n" for level in range(400))
    path = write(tmp_path / "prefect.yaml", deployment_yaml() + "definitions:\n  " + block)

    assert refused_by_service(path) == [
        f"{path}:305: YAML nested too deeply: more than 300 levels (CATALOG_IMPORT_MAX_DEPTH)"
    ]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            "1" * 5000,
            "an integer of 5,000 digits; at most 4,300 can be read",
        ),
        ("2026-13-45", "month must be in 1..12"),
    ],
)
def test_it_names_a_yaml_value_python_cannot_make(tmp_path, value, problem):
    path = write(tmp_path / "prefect.yaml", deployment_yaml(f"  parameters: {{x: {value}}}\n"))

    assert refused_by_command(path) == [f"{path}:4: YAML value cannot be read: {problem}"]


# JSON and JSON Lines --------------------------------------------------------------------


def nested_json(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_it_reads_json_as_deep_as_the_budget():
    assert read_json("deep.json", nested_json(300)).problems == []


@pytest.mark.parametrize("levels", [301, 100_000])
def test_it_refuses_json_one_level_past_the_depth_budget(tmp_path, levels):
    path = write(tmp_path / "deep.json", nested_json(levels))

    assert refused_by_command(path) == [
        f"{path}:1: JSON nested too deeply: more than 300 levels (CATALOG_IMPORT_MAX_DEPTH)"
    ]


def test_it_names_the_line_of_a_json_lines_record_past_the_depth_budget(tmp_path):
    path = write(tmp_path / "deep.jsonl", '{"name": "v", "value": 1}\n' + nested_json(100_000))

    assert refused_by_service(path) == [
        f"{path}:2: JSON nested too deeply: more than 300 levels (CATALOG_IMPORT_MAX_DEPTH)"
    ]


def test_it_names_a_json_number_python_cannot_read(tmp_path):
    path = write(tmp_path / "big.json", '{"name": "v", "value": ' + "1" * 5000 + "}")

    assert refused_by_command(path) == [
        f"{path}: JSON value cannot be read: an integer of 5,000 digits; at most 4,300 can be read"
    ]


def test_it_leaves_room_for_the_deepest_json_value_the_catalog_stores(tmp_path):
    deepest = json.loads(nested_json(254))
    path = write(
        tmp_path / "bundle.json", json.dumps({"variables": [{"name": "v", "value": deepest}]})
    )

    import_paths([path])

    assert Variable.objects.get(name="v").value == deepest


# Flow source files ----------------------------------------------------------------------

VALUE_BUDGET = (
    "the values and annotations it reads come to more than 1,000,000 characters, digits "
    "and items (CATALOG_FLOW_SOURCE_MAX_VALUE_SIZE)"
)


def test_it_refuses_a_default_that_would_explode_before_computing_it(tmp_path):
    source = (
        "from prefect import flow\n\n\n@flow\ndef f(n: int = ((10**1000)**1000)**1000):\n    pass\n"
    )
    path = project(tmp_path, source)

    assert refused_by_command(path) == [
        entrypoint_problem(path, f"{tmp_path}/flows/f.py, line 5: {VALUE_BUDGET}")
    ]


def value_budget_flow(extra_items: int) -> str:
    """A flow whose `@flow(description=...)` unfolds a constant into exactly 1,000,000
    units of the budget, plus `extra_items`: each reference of Z costs its 999 zeros,
    its list and the name itself (1,001), the outer list one."""
    zeros = ", ".join(["0"] * 999)
    items = ", ".join(["Z"] * 999 + ["0"] * extra_items)
    return flow_describing(zeros, items)


def flow_describing(zeros: str, items: str) -> str:
    return (
        f"from prefect import flow\n\nZ = [{zeros}]\n\n\n"
        f"@flow(description=[{items}])\ndef f():\n    pass\n"
    )


def test_it_takes_a_flow_that_reads_as_much_as_the_value_budget(tmp_path):
    path = project(tmp_path, value_budget_flow(0))

    assert import_paths([path]).summary() == "created=1 updated=0 unchanged=0 errors=0"


def test_it_refuses_a_flow_that_reads_one_past_the_value_budget(tmp_path):
    path = project(tmp_path, value_budget_flow(1))

    assert refused_by_service(path) == [
        entrypoint_problem(path, f"{tmp_path}/flows/f.py, line 6: {VALUE_BUDGET}")
    ]


def test_it_refuses_constants_that_unfold_past_the_value_budget(tmp_path):
    lines = ["from prefect import flow", "L0 = 'xxxxxxxxxx'"]
    lines += [f"L{n} = [{', '.join([f'L{n - 1}'] * 10)}]" for n in range(1, 12)]
    source = "\n".join(lines) + "\n\n\n@flow\ndef f(n: list = L11):\n    pass\n"
    path = project(tmp_path, source)

    problem = refused_by_command(path)[0]

    assert problem.startswith(entrypoint_problem(path, f"{tmp_path}/flows/f.py, line "))
    assert problem.endswith(VALUE_BUDGET)


def test_it_refuses_annotations_that_unfold_past_the_value_budget(tmp_path):
    lines = ["from prefect import flow", "A0 = int"]
    lines += [f"A{n} = tuple[{', '.join([f'A{n - 1}'] * 10)}]" for n in range(1, 30)]
    source = "\n".join(lines) + "\n\n\n@flow\ndef f(n: A29 = None):\n    pass\n"
    path = project(tmp_path, source)

    problem = refused_by_service(path)[0]

    assert problem.startswith(entrypoint_problem(path, f"{tmp_path}/flows/f.py, line "))
    assert problem.endswith(VALUE_BUDGET)


def nested_default(levels: int) -> str:
    default = "[" * levels + "]" * levels
    return f"from prefect import flow\n\n\n@flow\ndef f(n: list = {default}):\n    pass\n"


def test_it_takes_a_default_as_deep_as_the_depth_budget(tmp_path):
    path = project(tmp_path, nested_default(100))

    import_paths([path])

    default = Deployment.objects.get(name="d").parameter_openapi_schema["properties"]["n"]
    assert json.dumps(default["default"], separators=(",", ":")) == nested_json(100)


def test_it_refuses_a_default_one_level_past_the_depth_budget(tmp_path):
    path = project(tmp_path, nested_default(101))

    assert refused_by_command(path) == [
        entrypoint_problem(
            path,
            f"{tmp_path}/flows/f.py, line 5: nested too deeply: more than 100 levels "
            "(CATALOG_FLOW_SOURCE_MAX_DEPTH)",
        )
    ]


def test_it_counts_the_depth_of_a_default_through_the_names_it_uses(tmp_path):
    source = (
        f"from prefect import flow\n\nA = {'[' * 60}{']' * 60}\n\n\n"
        f"@flow\ndef f(n: list = {'[' * 50}A{']' * 50}):\n    pass\n"
    )
    path = project(tmp_path, source)

    assert refused_by_service(path) == [
        entrypoint_problem(
            path,
            f"{tmp_path}/flows/f.py, line 3: nested too deeply: more than 100 levels "
            "(CATALOG_FLOW_SOURCE_MAX_DEPTH)",
        )
    ]


def test_it_names_code_too_deep_for_pythons_own_parser(tmp_path):
    source = f"from prefect import flow\n\n\n@flow\ndef f(n: int = {'1+' * 100_000}1):\n    pass\n"
    path = project(tmp_path, source)

    assert refused_by_command(path) == [
        entrypoint_problem(path, f"{tmp_path}/flows/f.py: nested too deeply for Python's parser")
    ]


def test_it_leaves_out_a_default_that_refers_to_itself(tmp_path):
    source = (
        "from prefect import flow\n\nA = [B]\nB = [A]\nX = list[X]\n\n\n"
        "@flow\ndef f(n: X = A):\n    pass\n"
    )
    path = project(tmp_path, source)

    import_paths([path])

    schema = Deployment.objects.get(name="d").parameter_openapi_schema
    assert schema["properties"]["n"] == {"items": {}, "position": 0, "title": "n", "type": "array"}


def test_it_takes_a_flow_file_as_large_as_the_budget(tmp_path):
    path = project(tmp_path, FLOW + "#" * (500_000 - len(FLOW) - 1) + "\n")

    assert import_paths([path]).summary() == "created=1 updated=0 unchanged=0 errors=0"


def test_it_refuses_a_flow_file_one_byte_past_the_budget(tmp_path):
    path = project(tmp_path, FLOW + "#" * (500_001 - len(FLOW) - 1) + "\n")

    assert refused_by_command(path) == [
        entrypoint_problem(
            path,
            f"{tmp_path}/flows/f.py: the file is larger than 500,000 bytes "
            "(CATALOG_FLOW_SOURCE_MAX_BYTES)",
        )
    ]


# Entrypoints ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entrypoint",
    ["/etc/passwd:flow", "../../etc/passwd:x", "/proc/self/environ:x", "flows/../../f.py:f"],
)
def test_it_refuses_an_entrypoint_outside_the_project_folder(tmp_path, entrypoint):
    root = tmp_path / "project"
    path = project(root, FLOW, entrypoint)

    assert refused_by_command(path) == [
        entrypoint_problem(
            path,
            f"deployment 'd': entrypoint {entrypoint!r} is outside the project folder "
            f"{root.resolve()}",
        )
    ]


def test_it_refuses_a_link_inside_the_project_to_a_file_outside(tmp_path):
    outside = write(tmp_path / "elsewhere" / "f.py", FLOW)
    root = tmp_path / "project"
    path = project(root, FLOW, "flows/link.py:f")
    os.symlink(outside, root / "flows" / "link.py")

    assert refused_by_service(path) == [
        entrypoint_problem(
            path,
            "deployment 'd': entrypoint 'flows/link.py:f' is outside the project folder "
            f"{root.resolve()}",
        )
    ]


def test_it_follows_a_link_that_stays_inside_the_project(tmp_path):
    path = project(tmp_path, FLOW, "flows/link.py:f")
    os.symlink(tmp_path / "flows" / "f.py", tmp_path / "flows" / "link.py")

    import_paths([path])

    assert Deployment.objects.get(name="d").flow.name == "f"


def test_it_reads_a_flow_file_once_for_every_deployment_naming_it(tmp_path):
    """The value budget is the file's, whatever the number of deployments: a constant
    that takes most of it, read by two deployments, goes past it."""
    zeros = ", ".join(["0"] * 999)
    refs = ", ".join(["Z"] * 600)
    write(tmp_path / "flows" / "f.py", flow_describing(zeros, refs))
    deployments = "".join(f"- name: d{n}\n  entrypoint: flows/f.py:f\n" for n in range(2))
    path = write(tmp_path / "prefect.yaml", textwrap.dedent("deployments:\n") + deployments)

    assert refused_by_service(path) == [
        f"{path}:5: deployments[1].entrypoint: {tmp_path}/flows/f.py, line 3: {VALUE_BUDGET}"
    ]
