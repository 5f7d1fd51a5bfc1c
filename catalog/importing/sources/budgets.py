"""What reading one import file may cost: its size, how deep it nests, and for YAML how
many nodes its aliases unfold into (settings `CATALOG_YAML_MAX_BYTES`,
`CATALOG_YAML_MAX_NODES`, `CATALOG_IMPORT_MAX_DEPTH`; README "Security")."""

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml
from django.conf import settings

from catalog.rules.text import unreadable


@dataclass(frozen=True)
class FileBudgets:
    yaml_max_bytes: int
    yaml_max_nodes: int
    max_depth: int

    @classmethod
    def from_settings(cls) -> "FileBudgets":
        return cls(
            yaml_max_bytes=settings.CATALOG_YAML_MAX_BYTES,
            yaml_max_nodes=settings.CATALOG_YAML_MAX_NODES,
            max_depth=settings.CATALOG_IMPORT_MAX_DEPTH,
        )


def too_deep(max_depth: int) -> str:
    return f"nested too deeply: more than {max_depth:,} levels (CATALOG_IMPORT_MAX_DEPTH)"


def yaml_too_large(size: int, max_bytes: int) -> str:
    return (
        f"the file is {size:,} bytes; a prefect.yaml may be at most {max_bytes:,} bytes "
        "(CATALOG_YAML_MAX_BYTES)"
    )


# YAML -----------------------------------------------------------------------------------


class YamlRefused(yaml.MarkedYAMLError):
    """A document past a budget, one that holds itself, or a value Python cannot make;
    `problem` says which."""


class BoundedYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting as it composes: an alias costs every node it stands
    for, and an alias may not point into the node it sits in (a recursive structure)."""

    def __init__(self, text: str, budgets: FileBudgets) -> None:
        super().__init__(text)
        self.budgets = budgets
        self.nodes = 0
        self.depth = 0
        # id(node) -> (nodes it unfolds into, levels it nests), once it is composed.
        self.measured: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """PyYAML's own, measuring each node; written out rather than calling it, so that
        a level of nesting takes two frames of Python's stack, not three."""
        if self.check_event(yaml.AliasEvent):
            return self.compose_alias()
        event = self.peek_event()
        if event.anchor is not None and event.anchor in self.anchors:
            raise yaml.composer.ComposerError(
                f"found duplicate anchor {event.anchor!r}; first occurrence",
                self.anchors[event.anchor].start_mark,
                "second occurrence",
                event.start_mark,
            )
        is_collection = not self.check_event(yaml.ScalarEvent)
        self.depth += is_collection
        self.spend(1, self.depth, event.start_mark)
        first = self.nodes
        self.descend_resolver(parent, index)
        if self.check_event(yaml.ScalarEvent):
            node = self.compose_scalar_node(event.anchor)
        elif self.check_event(yaml.SequenceStartEvent):
            node = self.compose_sequence_node(event.anchor)
        else:
            node = self.compose_mapping_node(event.anchor)
        self.ascend_resolver()
        self.depth -= is_collection
        self.measured[id(node)] = (self.nodes - first + 1, levels_of(node, self.measured))
        return node

    def compose_alias(self) -> yaml.Node:
        event = self.get_event()
        node = self.anchors.get(event.anchor)
        if node is None:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias {event.anchor!r}", event.start_mark
            )
        size = self.measured.get(id(node))
        if size is None:
            raise YamlRefused(
                problem=f"alias *{event.anchor} refers to a node that holds it: "
                "a structure that contains itself cannot be imported",
                problem_mark=event.start_mark,
            )
        nodes, levels = size
        self.spend(nodes, self.depth + levels, event.start_mark)
        return node

    def spend(self, nodes: int, depth: int, mark: yaml.Mark) -> None:
        self.nodes += nodes
        if self.nodes > self.budgets.yaml_max_nodes:
            raise YamlRefused(
                problem=f"too large: more than {self.budgets.yaml_max_nodes:,} nodes once "
                "aliases are expanded (CATALOG_YAML_MAX_NODES)",
                problem_mark=mark,
            )
        if depth > self.budgets.max_depth:
            raise YamlRefused(problem=too_deep(self.budgets.max_depth), problem_mark=mark)

    def fetch_flow_collection_start(self, token_class: type) -> None:
        """The scanner reads ahead of the composer, and each open `[` or `{` makes every
        later token cost more: it stops at the depth budget too."""
        if self.flow_level >= self.budgets.max_depth:
            problem = too_deep(self.budgets.max_depth)
            raise YamlRefused(problem=problem, problem_mark=self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A value Python cannot make (a 5,000-digit integer, the 13th month) is an error
        at its line, not a traceback."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            raise YamlRefused(
                problem=f"value cannot be read: {unreadable(exc)}", problem_mark=node.start_mark
            ) from None


def levels_of(node: yaml.Node, measured: dict[int, tuple[int, int]]) -> int:
    """How many levels of collections a composed node nests, its children measured."""
    if isinstance(node, yaml.ScalarNode):
        return 0
    children = node.value if isinstance(node, yaml.SequenceNode) else _flat(node.value)
    return 1 + max((measured[id(child)][1] for child in children), default=0)


def _flat(pairs: list[tuple[yaml.Node, yaml.Node]]) -> list[yaml.Node]:
    return [node for pair in pairs for node in pair]


# JSON -----------------------------------------------------------------------------------

JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nests_deeper_than(value: Any, max_depth: int) -> bool:
    """Whether a decoded JSON value nests more than `max_depth` levels, level by level."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        inner: list = []
        for container in level:
            items = container.values() if isinstance(container, dict) else container
            inner.extend(item for item in items if isinstance(item, dict | list))
        level = inner
    return False


def line_too_deep(text: str, max_depth: int) -> int | None:
    """The line where a JSON text first opens more than `max_depth` levels."""
    depth = 0
    for token in JSON_TOKENS.finditer(text):
        bracket = token.group()
        if bracket in ("[", "{"):
            depth += 1
            if depth > max_depth:
                return text.count("\n", 0, token.start()) + 1
        elif bracket in ("]", "}"):
            depth -= 1
    return None


def decode_json(text: str, max_depth: int) -> Any:
    """`json.loads` within the depth budget. Raises JSONDecodeError for bad syntax and
    JsonRefused (with the line where known) for what the budgets refuse."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise JsonRefused(too_deep(max_depth), line_too_deep(text, max_depth)) from None
    except ValueError as exc:  # an integer past Python's 4,300 digits
        raise JsonRefused(f"value cannot be read: {unreadable(exc)}", None) from None
    if nests_deeper_than(value, max_depth):
        raise JsonRefused(too_deep(max_depth), line_too_deep(text, max_depth))
    return value


class JsonRefused(ValueError):
    def __init__(self, problem: str, line: int | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
