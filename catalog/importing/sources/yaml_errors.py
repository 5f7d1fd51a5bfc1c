"""A prefect.yaml syntax error told by its line and column and by the deployment it is
in, found from the parser's events read up to the error."""

import json

import yaml

from catalog.rules.problems import path_text


class Frame:
    """A mapping or a sequence the parser is inside: where the next node goes."""

    def __init__(self, is_mapping: bool) -> None:
        self.is_mapping = is_mapping
        self.key: object = None
        self.wants_key = True
        self.index = -1

    def place(self) -> str | int | None:
        if self.is_mapping:
            return None if self.wants_key else self.key
        return self.index


class Places:
    """Follows the parser's events: the path of the node being read, and the name of
    each deployment as soon as it is read."""

    def __init__(self) -> None:
        self.stack: list[Frame] = []
        self.names: dict[int, str] = {}

    def path(self) -> tuple:
        return tuple(p for frame in self.stack if (p := frame.place()) is not None)

    def starts(self, event: yaml.Event) -> None:
        """A node starts: a mapping's key or value, or a sequence's next item."""
        if not self.stack:
            return
        frame = self.stack[-1]
        if not frame.is_mapping:
            frame.index += 1
        elif frame.wants_key:
            frame.key = event.value if isinstance(event, yaml.ScalarEvent) else None
        elif isinstance(event, yaml.ScalarEvent):
            path = self.path()
            if len(path) == 3 and path[0] == "deployments" and path[2] == "name":
                self.names[path[1]] = event.value

    def ends(self) -> None:
        """A node ended: after a key, its mapping reads a value, and after a value a key."""
        if self.stack and self.stack[-1].is_mapping:
            self.stack[-1].wants_key = not self.stack[-1].wants_key

    def follow(self, event: yaml.Event) -> None:
        if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
            self.starts(event)
            self.ends()
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self.starts(event)
            self.stack.append(Frame(isinstance(event, yaml.MappingStartEvent)))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self.stack.pop()
            self.ends()


def syntax_error(source: str, text: str, exc: yaml.YAMLError) -> str:
    """`prefect.yaml:14:7: YAML syntax error in deployment "nightly" (deployments[1].tags):
    <problem>`, the deployment's name once the parser has read it."""
    places = Places()
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            places.follow(event)
    except yaml.YAMLError:
        pass
    mark = getattr(exc, "problem_mark", None)
    at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark:
        problem += f" ({context} at line {context_mark.line + 1}, column {context_mark.column + 1})"
    return f"{source}{at}: YAML syntax error{inside(places)}: {problem}"


def inside(places: Places) -> str:
    path = places.path()
    if len(path) < 2 or path[0] != "deployments" or not isinstance(path[1], int):
        return f" at {path_text(path)}" if path else ""
    name = places.names.get(path[1])
    named = f" {json.dumps(name)}" if name is not None else ""
    return f" in deployment{named} ({path_text(path)})"
