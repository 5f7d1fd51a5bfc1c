"""The write core's refusals. Each door turns them into its own answer: the API into
Prefect's status codes and bodies (`catalog.api.errors`), the admin into form errors, the
importer into `file:line: path: message` lines."""

from catalog.rules.problems import Path, Problem

INTEGRITY_CONFLICT = (
    "Data integrity conflict. This usually means a unique or foreign key constraint was "
    "violated. See server logs for details."
)

# A value the database refused that no rule caught first (its own words are logged).
VALUE_REFUSED = "The database refused a value in this request."


class CatalogError(Exception):
    """Something the catalog refuses to write; nothing has been written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(CatalogError):
    """Values that break the catalog's rules, each problem naming its field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.where()}: {p.message}" for p in problems))
        self.problems = problems

    @classmethod
    def at(cls, path: Path, message: str, code: str = "invalid") -> "Invalid":
        return cls([Problem(tuple(path), message, code)])

    @property
    def first(self) -> Problem:
        return self.problems[0]


class NotFound(CatalogError):
    """A row the write names does not exist; `resource` says which kind."""

    def __init__(self, resource: str, message: str | None = None) -> None:
        super().__init__(message or f"{resource.capitalize()} not found")
        self.resource = resource


class Conflict(CatalogError):
    """The write would break a uniqueness or reference rule of the stored catalog."""

    def __init__(self, message: str = INTEGRITY_CONFLICT, path: Path = ()) -> None:
        super().__init__(message)
        self.path = path
