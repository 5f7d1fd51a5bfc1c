"""Running an import: read the sources, skip what is unchanged, check every record, then
write them all in one transaction, or nothing at all."""

import gc
from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction

from catalog.importing.checks import check_bundle
from catalog.importing.fingerprints import skip_unchanged
from catalog.importing.progress import Progress
from catalog.importing.records import Bundle, ImportFailed, ImportResult
from catalog.importing.writer import Writer
from catalog.rules.problems import one_line
from catalog.services.context import Actor, Door, WriteContext
from catalog.services.history import change_set

# Serialises imports on PostgreSQL, so that concurrent imports of the same file cannot
# both insert one deployment (SQLite's IMMEDIATE transactions already serialise writers).
IMPORT_LOCK = 7_240_517_310


def import_bundle(
    bundle: Bundle,
    *,
    flow_name: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    context: WriteContext | None = None,
) -> ImportResult:
    """Check every record, then write them all in one transaction, or nothing at all.
    `context` says who imports and why (by default: an import of the bundle's sources)."""
    result = ImportResult(dry_run=dry_run, notes=[one_line(note) for note in bundle.notes])
    context = context or import_context(bundle)
    try:
        with cyclic_gc_paused(), change_set(context):
            take_import_lock()
            bundle, candidates = skip_unchanged(bundle, result)
            checked = check_bundle(bundle)
            Writer(result, progress, candidates, context).write(checked, flow_name)
            if dry_run:
                transaction.set_rollback(True)
    except DatabaseError as exc:
        raise ImportFailed([f"the database refused the import: {exc}".strip()]) from None
    return result


def import_context(bundle: Bundle, reason: str | None = None) -> WriteContext:
    """An import, named by the sources its records come from."""
    sources = sorted({record.source for record in bundle.records()})
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
    """Read files (JSON, JSON Lines, prefect.yaml) and import them; see `import_bundle`."""
    from catalog.importing.sources import read_paths

    with cyclic_gc_paused():
        bundle = read_paths(paths, file_format=file_format)
    return import_bundle(
        bundle,
        flow_name=flow_name,
        dry_run=dry_run,
        progress=progress,
        context=context,
    )
