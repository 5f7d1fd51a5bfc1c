"""What an import reads and reports: records with their places, the bundle of them,
what went wrong, and what changed."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from catalog.rules.problems import joined, one_line

# The kinds of record a bundle holds, under these keys in an export bundle's JSON.
BUNDLE_KEYS = ("flows", "deployments", "concurrency_limits", "work_pools", "variables")
# A key a record does not give (None is a value a record may give).
MISSING: Any = object()


class RecordError(ValueError):
    """A bad value inside one record; `where` is its path inside the record, and `also`
    the path of another value the problem is about (the first of two repeated slugs)."""

    def __init__(self, where: str, message: str, also: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message
        self.also = also

    def inside(self, outer: str) -> "RecordError":
        """The same error, seen from the object that holds this one at `outer`."""
        also = joined(outer, self.also) if self.also else ""
        return RecordError(joined(outer, self.where), self.message, also)


class ImportFailed(Exception):
    """The import was refused and nothing was written; each problem names its place.
    Every import error passes here, and each is made one line (`one_line`): text the
    user gave (an rrule, a name) may hold newlines or other control characters."""

    def __init__(self, problems: list[str], total: int | None = None) -> None:
        problems = [one_line(problem) for problem in problems]
        super().__init__("\n".join(problems))
        self.problems = problems
        # How many problems there were: more than listed when only the first are kept.
        self.total = len(problems) if total is None else total


@dataclass
class Record:
    """One object read from a source, and how to name a place inside it.

    `place` turns a path inside the record, written the API's way
    (`schedules[0].schedule.cron`), into the place a person finds it: the source, the
    line where known, and the path as written in that source.
    """

    source: str
    path: str
    data: Any
    line: int | None = None
    place: Callable[["Record", str], str] | None = None

    def where(self, inner: str = "") -> str:
        if self.place is not None:
            return self.place(self, inner)
        full = joined(self.path, inner)
        return f"{self.source}:{self.line}: {full}" if self.line else f"{self.source}: {full}"

    def problem(self, error: RecordError) -> str:
        also = f" (and {self.where(error.also)})" if error.also else ""
        return f"{self.where(error.where)}: {error.message}{also}"


@dataclass
class Bundle:
    """Everything the sources read, before any check."""

    flows: list[Record] = field(default_factory=list)
    deployments: list[Record] = field(default_factory=list)
    concurrency_limits: list[Record] = field(default_factory=list)
    work_pools: list[Record] = field(default_factory=list)
    variables: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def records(self) -> list[Record]:
        return [record for name in BUNDLE_KEYS for record in getattr(self, name)]

    def extend(self, other: "Bundle") -> None:
        for name in (*BUNDLE_KEYS, "problems", "notes"):
            getattr(self, name).extend(getattr(other, name))


@dataclass
class Input:
    """What an import reads, its deployments streamed: every other record, problem and note
    at hand in `shared` (they are few), the deployments counted, and read (again) in order
    when asked for, so that none need be held all at once."""

    shared: Bundle = field(default_factory=Bundle)
    count: int = 0
    parts: list[Callable[[], Iterable[Record]]] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, bundle: Bundle) -> "Input":
        shared = Bundle(**{name: list(getattr(bundle, name)) for name in vars(Bundle())})
        shared.deployments = []
        deployments = bundle.deployments
        sources = {record.source for record in bundle.records()}
        return cls(shared, len(deployments), [lambda: deployments], sources)

    def deployments(self) -> Iterator[Record]:
        for part in self.parts:
            yield from part()

    def extend(self, other: "Input") -> None:
        self.shared.extend(other.shared)
        self.count += other.count
        self.parts += other.parts
        self.sources |= other.sources

    def as_bundle(self) -> Bundle:
        bundle = Bundle()
        bundle.extend(self.shared)
        bundle.deployments = list(self.deployments())
        return bundle


@dataclass
class Change:
    """What an import did, or would do, to one deployment."""

    action: str  # "create", "update" or "unchanged"
    flow_name: str
    name: str
    fields: list[str] = field(default_factory=list)

    def describe(self) -> str:
        target = f"{self.flow_name}/{self.name}"
        if self.action == "update":
            return f"update {target}: {', '.join(self.fields)}"
        return f"{self.action} {target}"


@dataclass
class KindCounts:
    """What an import did, or would do, to the rows of one kind."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def count(self, action: str, number: int = 1) -> None:
        """`action`: "create", "update" or "unchanged"."""
        name = {"create": "created", "update": "updated"}.get(action, action)
        setattr(self, name, getattr(self, name) + number)

    def text(self) -> str:
        return f"created={self.created} updated={self.updated} unchanged={self.unchanged}"


# The kinds besides deployments an import counts, in the order its report lists them.
COUNTED_KINDS = (
    ("flows", "flows"),
    ("work pools", "work_pools"),
    ("work queues", "work_queues"),
    ("concurrency limits", "concurrency_limits"),
    ("variables", "variables"),
)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    flows: KindCounts = field(default_factory=KindCounts)
    work_pools: KindCounts = field(default_factory=KindCounts)
    work_queues: KindCounts = field(default_factory=KindCounts)
    concurrency_limits: KindCounts = field(default_factory=KindCounts)
    variables: KindCounts = field(default_factory=KindCounts)
    schedules_created: int = 0
    schedules_updated: int = 0
    schedules_deleted: int = 0
    dry_run: bool = False
    # The first `changes_kept` changes; the others are only counted.
    changes: list[Change] = field(default_factory=list)
    changes_left_out: int = 0
    changes_kept: int = 10_000
    notes: list[str] = field(default_factory=list)

    def keep(self, change: Change) -> None:
        if len(self.changes) < self.changes_kept:
            self.changes.append(change)
        else:
            self.changes_left_out += 1

    @property
    def deployments_created(self) -> int:
        return self.created

    @property
    def deployments_updated(self) -> int:
        return self.updated

    @property
    def flows_created(self) -> int:
        return self.flows.created

    @property
    def work_pools_created(self) -> int:
        return self.work_pools.created

    @property
    def work_queues_created(self) -> int:
        return self.work_queues.created

    def deployment_counts(self) -> str:
        return (
            f"created={self.created} updated={self.updated} "
            f"unchanged={self.unchanged} errors={self.errors}"
        )

    def summary(self) -> str:
        """The deployments' counts in one line (the last line of `report`)."""
        prefix = "dry run, nothing written: " if self.dry_run else ""
        return prefix + self.deployment_counts()

    def report(self) -> list[str]:
        """A line a kind, deployments last; a dry run's say what it would do."""
        would = "would be " if self.dry_run else ""
        lines = ["dry run, nothing written"] if self.dry_run else []
        for label, name in COUNTED_KINDS:
            lines.append(f"{label}: {would}{getattr(self, name).text()}")
        lines.append(f"deployments: {would}{self.deployment_counts()}")
        return lines

    def details(self) -> str:
        return (
            f"schedules: {self.schedules_created} created, {self.schedules_updated} updated, "
            f"{self.schedules_deleted} deleted"
        )
