"""What checking values against a JSON schema may cost, known before anything runs.

The Rust validator (`parameters.surely_valid`) cannot be metered as `jsonschema` is
(`schema_patterns.check_budget`), so it runs only where the schema's size, with each local
reference counted as the size of what it points to, times the number of values stays
within a bound. References nested ten deep and ten wide make a schema of a few hundred
bytes weigh ten billion keywords: such a check goes to the metered path, which stops at
its budget.
"""

import json
from functools import lru_cache
from typing import Any

REFERENCE_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
DEFINITION_KEYWORDS = ("definitions", "$defs")
# Larger weights are all the same to the caller: too much.
MOST = 10**18


@lru_cache(maxsize=256)
def schema_weight(schema_text: str) -> int:
    """The keywords of the schema, each local reference weighing what it points to (a
    reference back into itself weighs one: recursion follows the values, counted apart)."""
    return _Weigher(json.loads(schema_text)).weight_of_root()


class _Weigher:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.weights: dict[str, int] = {}
        self.weighing: set[str] = set()

    def weight_of_root(self) -> int:
        return min(self.weight(self.root), MOST)

    def weight(self, node: Any) -> int:
        if isinstance(node, dict):
            total = 1
            for key, value in node.items():
                if key in REFERENCE_KEYWORDS and isinstance(value, str):
                    total += self.referenced(value)
                elif key not in DEFINITION_KEYWORDS:  # weighed where they are referenced
                    total += self.weight(value)
            return min(total, MOST)
        if isinstance(node, list):
            return min(1 + sum(self.weight(item) for item in node), MOST)
        return 1

    def referenced(self, reference: str) -> int:
        if reference in self.weights:
            return self.weights[reference]
        if reference in self.weighing or not reference.startswith("#"):
            return 1
        self.weighing.add(reference)
        target = pointed_at(self.root, reference[1:])
        weight = 1 if target is None else self.weight(target)
        self.weighing.discard(reference)
        self.weights[reference] = weight
        return weight


def pointed_at(root: Any, pointer: str) -> Any:
    """The node a JSON pointer (`/definitions/x`) names, or None."""
    node = root
    for part in pointer.split("/")[1:] if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def values_count(values: Any) -> int:
    """Every value, those inside lists and objects included."""
    count, pending = 0, [values]
    while pending:
        value = pending.pop()
        count += 1
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return count
