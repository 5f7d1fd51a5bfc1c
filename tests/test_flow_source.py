"""Reading flows from source as `prefect deploy` reads them, without running them.

tests/data/flows/expected.json holds what the real Prefect 3.9.1 gave for every flow in
tests/data/flows/ (scripts/capture_flow_schemas.py); these tests never need Prefect.
"""

import hashlib
import json
from pathlib import Path

import pytest

from catalog.importing.flow_source import FlowInfo, FlowSourceError, read_flow

FLOWS = Path(__file__).parent / "data" / "flows"
EXPECTED = json.loads((FLOWS / "expected.json").read_text())


def write(directory: Path, name: str, source: str) -> Path:
    path = directory / name
    path.write_text(source)
    return path


def test_it_has_captured_a_dozen_flows_or_more() -> None:
    assert len(EXPECTED) >= 12
    assert {entrypoint.split(":")[0] for entrypoint in EXPECTED} == {
        path.name for path in FLOWS.glob("*.py")
    }


# The one flow where the catalog deliberately gives less than Prefect: an enum from an
# installed package (Prefect's StateType), whose source the catalog never reads.
KNOWN_DIFFERENCES = {"external.py:fetch_pages"}


@pytest.mark.parametrize("entrypoint", [e for e in EXPECTED if e not in KNOWN_DIFFERENCES])
def test_it_derives_what_prefect_derives(entrypoint: str) -> None:
    expected = EXPECTED[entrypoint]
    flow = read_flow(entrypoint, FLOWS)

    assert flow is not None
    assert (flow.name, flow.description, flow.version) == (
        expected["name"],
        expected["description"],
        expected["version"],
    )
    # Compared as JSON text, so the order of keys counts too.
    assert json.dumps(flow.parameter_openapi_schema) == json.dumps(
        expected["parameter_openapi_schema"]
    )
    assert flow.warnings == ()


def test_it_leaves_open_a_type_from_an_installed_package_and_says_so() -> None:
    """Prefect cannot describe httpx's URL either: `{}`, as the catalog gives. It can
    describe StateType, an enum of an installed package the catalog cannot read: the
    catalog leaves it open too, with its default, and warns of both."""
    expected = json.loads(json.dumps(EXPECTED["external.py:fetch_pages"]))
    schema = expected["parameter_openapi_schema"]
    schema["properties"]["state"] = {"position": 1, "title": "state"}
    del schema["definitions"]

    flow = read_flow("external.py:fetch_pages", FLOWS)

    assert flow is not None
    assert json.dumps(flow.parameter_openapi_schema) == json.dumps(schema)
    where = "warning: external.py, line 21: flow 'fetch-pages', parameter"
    outside = (
        "is not defined in the project folder, so its schema is left open ({}) "
        "as Prefect leaves a type it cannot describe"
    )
    url = f"'httpx.URL' {outside}"
    state = f"'prefect.client.schemas.objects.StateType' {outside}"
    assert flow.warnings == (
        f"{where} 'url': {url}",
        f"{where} 'state': {state}",
        f"{where} 'state': its default is left out: static reading cannot compute it",
        f"{where} 'urls': {url}",
        f"{where} 'maybe': {url}",
    )


def test_it_hashes_the_file_for_the_default_version() -> None:
    flow = read_flow("etl.py:backfill_orders", FLOWS)

    assert flow is not None
    assert flow.version == hashlib.md5((FLOWS / "etl.py").read_bytes()).hexdigest()


def test_it_reads_entrypoints_relative_to_the_base_dir(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    write(tmp_path / "flows", "hello.py", "from prefect import flow\n\n@flow\ndef hi(): pass\n")

    flow = read_flow("flows/hello.py:hi", tmp_path)

    assert flow == FlowInfo(
        name="hi",
        description=None,
        version=hashlib.md5((tmp_path / "flows" / "hello.py").read_bytes()).hexdigest(),
        parameter_openapi_schema={"title": "Parameters", "type": "object", "properties": {}},
    )


def test_it_gives_none_for_a_missing_file(tmp_path: Path) -> None:
    assert read_flow("missing.py:main", tmp_path) is None


def test_it_gives_none_for_a_missing_function() -> None:
    assert read_flow("etl.py:no_such_flow", FLOWS) is None


def test_it_gives_none_for_an_entrypoint_without_a_function() -> None:
    assert read_flow("etl.py", FLOWS) is None


def test_it_names_the_file_and_line_of_a_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "from prefect import flow\n\n@flow\ndef main(:\n    pass\n")

    with pytest.raises(FlowSourceError) as error:
        read_flow("broken.py:main", tmp_path)

    assert str(path) in str(error.value)
    assert "line 4" in str(error.value)


def test_it_refuses_a_function_that_is_not_a_flow() -> None:
    with pytest.raises(FlowSourceError, match=r"decorators\.py, line \d+: 'helper' is not a flow"):
        read_flow("decorators.py:helper", FLOWS)


def test_it_refuses_prefects_reserved_parameter_names(tmp_path: Path) -> None:
    write(tmp_path, "reserved.py", "from prefect import flow\n\n@flow\ndef f(wait_for=None): ...\n")

    with pytest.raises(FlowSourceError, match="'wait_for' is a reserved argument name"):
        read_flow("reserved.py:f", tmp_path)


def test_it_refuses_a_flow_name_prefect_refuses(tmp_path: Path) -> None:
    write(tmp_path, "slash.py", 'from prefect import flow\n\n@flow(name="a/b")\ndef f(): ...\n')

    with pytest.raises(FlowSourceError, match="Name 'a/b' contains an invalid character"):
        read_flow("slash.py:f", tmp_path)


def test_it_never_executes_the_file(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    source = (
        "import pathlib\n"
        "from prefect import flow\n"
        f"pathlib.Path({str(marker)!r}).write_text('ran')\n"
        "raise SystemExit('imported')\n"
        "\n"
        "@flow\n"
        "def main(count: int = 1):\n"
        "    pass\n"
    )
    write(tmp_path, "side_effect.py", source)

    flow = read_flow("side_effect.py:main", tmp_path)

    assert flow is not None
    assert flow.name == "main"
    assert not marker.exists()


def test_it_takes_the_last_definition_of_a_function(tmp_path: Path) -> None:
    source = (
        "from prefect import flow\n\n"
        "@flow\ndef main(a: int): ...\n\n"
        "@flow(name='second')\ndef main(b: str): ...\n"
    )
    write(tmp_path, "twice.py", source)

    flow = read_flow("twice.py:main", tmp_path)

    assert flow is not None
    assert flow.name == "second"
    assert list(flow.parameter_openapi_schema["properties"]) == ["b"]


def test_it_leaves_out_a_default_it_cannot_compute(tmp_path: Path) -> None:
    source = "import os\nfrom prefect import flow\n\n@flow\ndef f(home: str = os.getcwd()): ...\n"
    write(tmp_path, "dynamic.py", source)

    flow = read_flow("dynamic.py:f", tmp_path)

    assert flow is not None
    assert flow.parameter_openapi_schema["properties"]["home"] == {
        "position": 0,
        "title": "home",
        "type": "string",
    }
    assert "required" not in flow.parameter_openapi_schema


def model_flow(directory: Path, models: str, parameters: str, name: str = "app.py") -> None:
    write(
        directory, name, f"from prefect import flow\n{models}\n\n@flow\ndef f({parameters}): ...\n"
    )


def test_it_ends_a_chain_of_models_longer_than_the_depth_budget(tmp_path: Path) -> None:
    """Definitions are built one after another, not one inside another: a chain of two
    thousand models reads like any other."""
    models = "from pydantic import BaseModel\n" + "".join(
        f"class M{n}(BaseModel):\n    next: 'M{n + 1} | None' = None\n" for n in range(2000)
    )
    model_flow(tmp_path, models + "class M2000(BaseModel):\n    end: int\n", "m: M0")

    flow = read_flow("app.py:f", tmp_path)

    assert flow is not None
    definitions = flow.parameter_openapi_schema["definitions"]
    assert len(definitions) == 2001
    assert definitions["M1999"]["properties"]["next"] == {
        "anyOf": [{"$ref": "#/definitions/M2000"}, {"type": "null"}],
        "default": None,
    }
    assert flow.warnings == ()


def test_it_refuses_definitions_past_the_value_budget(tmp_path: Path) -> None:
    """Five files of 500 models each, fifty fields a model, each model naming the next."""
    fields = "".join(f"    f{n}: int\n" for n in range(50))
    for part in range(5):
        source = f"from pydantic import BaseModel\nfrom part{part + 1} import M{500 * part + 500}\n"
        for n in range(500 * part, 500 * part + 500):
            source += f"class M{n}(BaseModel):\n{fields}    next: 'M{n + 1}'\n"
        write(tmp_path, f"part{part}.py", source)
    model_flow(tmp_path, "from part0 import M0", "m: M0")

    with pytest.raises(FlowSourceError) as error:
        read_flow("app.py:f", tmp_path)

    assert str(error.value) == (
        f"{tmp_path / 'app.py'}: class 'M961' (part1.py, line 23975): the values and "
        "annotations it reads come to more than 1,000,000 characters, digits and items "
        "(CATALOG_FLOW_SOURCE_MAX_VALUE_SIZE)"
    )


def test_it_follows_imports_in_a_circle_no_further_than_once_round(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "from b import Thing\n")
    write(tmp_path, "b.py", "from a import Thing\n")
    model_flow(tmp_path, "from a import Thing", "thing: Thing")

    flow = read_flow("app.py:f", tmp_path)

    assert flow is not None
    assert flow.parameter_openapi_schema["properties"]["thing"] == {"position": 0, "title": "thing"}
    assert flow.warnings == (
        "warning: app.py, line 5: flow 'f', parameter 'thing': "
        "'a.Thing' is not a class static reading can describe",
    )


def test_it_reads_no_file_outside_the_project_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write(
        outside,
        "shapes.py",
        "from pydantic import BaseModel\nclass Shape(BaseModel):\n    x: int\n",
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "shapes.py").symlink_to(outside / "shapes.py")
    model_flow(project, "from shapes import Shape\nfrom ..up import Other", "s: Shape, o: Other")

    flow = read_flow("app.py:f", project)

    assert flow is not None
    assert "definitions" not in flow.parameter_openapi_schema
    assert flow.warnings == (
        "warning: app.py, line 6: flow 'f', parameter 's': 'shapes.Shape' is not defined in "
        "the project folder, so its schema is left open ({}) as Prefect leaves a type it "
        "cannot describe",
        "warning: app.py, line 6: flow 'f', parameter 'o': "
        "'..up.Other' is not a class static reading can describe",
    )


def test_it_warns_of_what_it_leaves_out_of_a_model(tmp_path: Path) -> None:
    models = (
        "import os\nfrom pydantic import BaseModel, Field\n"
        "class Base:\n    def __get_pydantic_core_schema__(cls, source, handler): ...\n"
        "class Odd(BaseModel):\n"
        "    a: int = Field(1, discriminator='x')\n"
        "    b: str = os.getcwd()\n"
        "    c: list[int] = Field([], ge=1)\n"
        "    d: Base = None\n"
    )
    model_flow(tmp_path, models, "odd: Odd")

    flow = read_flow("app.py:f", tmp_path)

    assert flow is not None
    where = "warning: app.py, line 14: flow 'f', parameter 'odd', class 'Odd'"
    assert flow.warnings == (
        f"{where}, field 'a': Field's discriminator= is left out of the schema",
        f"{where}, field 'b': its default is left out: static reading cannot compute it",
        f"{where}, field 'c': the constraint ge= is left out: static reading cannot apply it here",
        f"{where}, field 'd': class 'Base' is not one static reading can describe",
    )
    assert flow.parameter_openapi_schema["definitions"]["Odd"]["properties"] == {
        "a": {"default": 1, "title": "A", "type": "integer"},
        "b": {"title": "B", "type": "string"},
        "c": {"default": [], "items": {"type": "integer"}, "title": "C", "type": "array"},
        "d": {"default": None, "title": "D"},
    }


def test_it_warns_when_two_classes_share_a_definition_name(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    write(
        tmp_path / "other", "__init__.py", "from enum import Enum\nclass Kind(Enum):\n    A = 1\n"
    )
    models = "from enum import Enum\nimport other\nclass Kind(Enum):\n    B = 2\n"
    model_flow(tmp_path, models, "a: Kind, b: other.Kind")

    flow = read_flow("app.py:f", tmp_path)

    assert flow is not None
    assert flow.warnings == (
        "warning: app.py, line 9: flow 'f', parameter 'b': "
        "two classes are named 'Kind'; pydantic would rename their definitions",
    )


def test_it_warns_of_a_standard_library_type_it_does_not_describe(tmp_path: Path) -> None:
    model_flow(tmp_path, "import typing", "items: typing.Iterable = ()")

    flow = read_flow("app.py:f", tmp_path)

    assert flow is not None
    assert flow.warnings == (
        "warning: app.py, line 5: flow 'f', parameter 'items': "
        "static reading cannot describe 'typing.Iterable'",
    )
