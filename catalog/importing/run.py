"""Running an import: read the sources, skip what is unchanged, check every record, and
write them all in one transaction, or nothing at all; deployments a batch at a time."""

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from catalog.importing.checks import Duplicates, Problems, check_deployments, check_shared
from catalog.importing.fingerprints import skip_unchanged
from catalog.importing.progress import Progress
from catalog.importing.records import Bundle, ImportFailed, ImportResult, Input, Record
from catalog.importing.writer import Writer
from catalog.rules.problems import one_line
from catalog.services.context import Actor, Door, WriteContext
from catalog.services.history import change_set

# Serialises imports on PostgreSQL, so that concurrent imports of the same file cannot
# both insert one deployment (SQLite's IMMEDIATE transactions already serialise writers).
IMPORT_LOCK = 7_240_517_310
# Batches between two runs of the cyclic garbage collector, which an import pauses.
COLLECT_EVERY = 10


def import_bundle(
    bundle: Bundle,
    *,
    flow_name: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    context: WriteContext | None = None,
) -> ImportResult:
    """Import the records of a bundle held in memory; see `import_input`."""
    return import_input(
        Input.of(bundle), flow_name=flow_name, dry_run=dry_run, progress=progress, context=context
    )


def import_input(
    given: Input,
    *,
    flow_name: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    context: WriteContext | None = None,
) -> ImportResult:
    """Check every record, and write them all in one transaction, or nothing at all: the
    deployments a batch at a time (`CATALOG_IMPORT_BATCH`), so that memory holds one batch
    whatever the input's size. `context` says who imports and why (by default: an import
    of the input's sources)."""
    result = ImportResult(
        dry_run=dry_run,
        notes=[one_line(note) for note in given.shared.notes],
        changes_kept=settings.CATALOG_IMPORT_CHANGES_KEPT,
    )
    context = context or import_context(given)
    try:
        with cyclic_gc_paused(), change_set(context):
            take_import_lock()
            Pipeline(result, context, flow_name, progress).run(given)
            if dry_run:
                transaction.set_rollback(True)
    except DatabaseError as exc:
        raise ImportFailed([f"the database refused the import: {exc}".strip()]) from None
    return result


class Pipeline:
    """The other records first, then each batch of deployments: skip the unchanged, check
    the rest, write them. Once any problem is found nothing more is written, but every
    batch is still checked, so that the refusal lists every problem; the transaction
    around it all is rolled back."""

    def __init__(self, result: ImportResult, context, flow_name, progress) -> None:
        self.result = result
        self.flow_name = flow_name
        self.writer = Writer(result, context)
        self.problems = Problems()
        self.duplicates = Duplicates()
        self.progress = progress
        self.now = timezone.now()

    def run(self, given: Input) -> None:
        shared = check_shared(given.shared, self.problems)
        if not self.problems:
            self.writer.write_shared(shared)
        done = 0
        for number, batch in enumerate(batches(given.deployments(), settings.CATALOG_IMPORT_BATCH)):
            self.import_batch(batch)
            done += len(batch)
            if self.progress:
                self.progress(done, given.count)
            if number % COLLECT_EVERY == COLLECT_EVERY - 1:
                gc.collect()  # what the batches left in cycles (the collector is paused)
        self.problems.raise_any()
        self.writer.finish()

    def import_batch(self, records: list[Record]) -> None:
        self.problems.add("repeats", self.duplicates.across(records))
        kept, candidates = skip_unchanged(Bundle(deployments=records), self.result)
        specs = check_deployments(kept.deployments, self.problems, self.now)
        self.problems.add("repeats", self.duplicates.within(specs))
        if not self.problems:
            self.writer.write_batch(specs, candidates, self.flow_name)


def batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_context(given: Bundle | Input, reason: str | None = None) -> WriteContext:
    """An import, named by the sources its records come from."""
    if isinstance(given, Bundle):
        given = Input.of(given)
    sources = sorted(given.sources)
    return WriteContext(Actor.of_import(", ".join(sources) or "nothing"), Door.IMPORT, reason)


@contextmanager
def cyclic_gc_paused():
    """Large imports build hundreds of thousands of dicts and lists, none of them in a
    reference cycle; Python's cyclic collector would scan them all again and again
    (a third of a 10,000-deployment import). Plain reference counting still frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def take_import_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])


def import_paths(
    paths, *, flow_name=None, dry_run=False, file_format=None, progress=None, context=None
):
    """Read files (JSON, JSON Lines, prefect.yaml) and import them; see `import_input`."""
    from catalog.importing.sources import open_paths

    with cyclic_gc_paused():
        given = open_paths(paths, file_format=file_format)
    return import_input(
        given,
        flow_name=flow_name,
        dry_run=dry_run,
        progress=progress,
        context=context,
    )
