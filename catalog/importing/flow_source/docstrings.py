"""Parameter descriptions from a docstring's Google-style `Args:` section, by griffe's rules."""

import inspect
import re

PARAMETER_SECTIONS = frozenset({"args", "arguments", "params", "parameters"})
# Every Google docstring section griffe knows; each one consumes its indented block.
DOCSTRING_SECTIONS = PARAMETER_SECTIONS | {
    "keyword args",
    "keyword arguments",
    "other args",
    "other arguments",
    "other params",
    "other parameters",
    "type args",
    "type arguments",
    "type params",
    "type parameters",
    "raises",
    "exceptions",
    "returns",
    "yields",
    "receives",
    "examples",
    "attributes",
    "functions",
    "methods",
    "classes",
    "type aliases",
    "modules",
    "warns",
    "warnings",
}
_SECTION_HEADER = re.compile(r"^(?P<kind>\w[\w\s-]*):(?:\s+\S.*)?\s*$", re.IGNORECASE)


def parameter_descriptions(docstring: str | None) -> dict[str, str]:
    """The last `Args:` (or `Arguments:`, `Params:`, `Parameters:`) section, by name."""
    if not docstring:
        return {}
    lines = inspect.cleandoc(docstring.rstrip()).split("\n")
    descriptions: dict[str, str] = {}
    offset, in_code = 0, False
    while offset < len(lines):
        line = lines[offset]
        if line.lstrip(" ").startswith("```"):
            in_code = not in_code
        elif not in_code and is_section_header(lines, offset):
            kind = _SECTION_HEADER.match(line)["kind"].lower()
            offset, items = read_section(lines, offset + 1, kind)
            if kind in PARAMETER_SECTIONS:
                descriptions = described_parameters(items)
        offset += 1
    return descriptions


def is_blank(line: str) -> bool:
    return not line or line.isspace()


def is_section_header(lines: list[str], offset: int) -> bool:
    """`Word:` with a blank line above and indented content right below."""
    if not _SECTION_HEADER.match(lines[offset]):
        return False
    blank_above = offset == 0 or is_blank(lines[offset - 1])
    blank_below = offset + 1 < len(lines) and is_blank(lines[offset + 1])
    indented_below = indented_at(lines, offset + 1)
    indented_two_below = indented_at(lines, offset + 2)
    if not (indented_below or indented_two_below) or not blank_above:
        return False
    return not (indented_two_below and blank_below)


def indented_at(lines: list[str], offset: int) -> bool:
    return offset < len(lines) and not is_blank(lines[offset]) and lines[offset].startswith(" ")


def read_section(lines: list[str], offset: int, kind: str) -> tuple[int, list[list[str]]]:
    """The offset of the section's last line, and its items (for item sections)."""
    if kind in DOCSTRING_SECTIONS and kind != "examples":
        return read_items(lines, offset)
    return read_block_end(lines, offset), []


def read_items(lines: list[str], offset: int) -> tuple[int, list[list[str]]]:
    """Items start at the block's indent; deeper lines continue the current item."""
    while offset < len(lines) and is_blank(lines[offset]):
        offset += 1
    if offset >= len(lines):
        return offset - 1, []
    indent = len(lines[offset]) - len(lines[offset].lstrip())
    if indent == 0:
        return offset - 1, []
    items = [[lines[offset][indent:]]]
    offset += 1
    while in_block(lines, offset, indent):
        items_add_line(items, lines[offset], indent)
        offset += 1
    return offset - 1, items


def in_block(lines: list[str], offset: int, indent: int) -> bool:
    return offset < len(lines) and (
        lines[offset].startswith(" " * indent) or is_blank(lines[offset])
    )


def items_add_line(items: list[list[str]], line: str, indent: int) -> None:
    if is_blank(line):
        items[-1].append("")
    elif line.startswith(" " * (indent * 2)):
        items[-1].append(line[indent * 2 :])
    elif line.startswith(" " * (indent + 1)):
        items[-1].append(line.lstrip())
    else:
        items.append([line[indent:]])


def read_block_end(lines: list[str], offset: int) -> int:
    start = offset
    while offset < len(lines) and is_blank(lines[offset]):
        offset += 1
    if offset >= len(lines):
        return start - 1
    indent = len(lines[offset]) - len(lines[offset].lstrip())
    if indent == 0:
        return start - 1
    offset += 1
    while in_block(lines, offset, indent):
        offset += 1
    return offset - 1


def described_parameters(items: list[list[str]]) -> dict[str, str]:
    descriptions: dict[str, str] = {}
    for first, *rest in items:
        if ":" not in first:
            continue
        name, description = first.split(":", 1)
        if "(" in name and name.endswith(")"):
            name = name.split("(", 1)[0].strip()
        descriptions[name] = "\n".join([description.lstrip(), *rest]).rstrip("\n")
    return descriptions
