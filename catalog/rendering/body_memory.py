"""Bodies a worker process holds in memory, so that a page it served before does not
bring its bodies from the database again.

A page of 200 kept bodies is some 400 KB that PostgreSQL decompresses and sends, and
that takes half the time of a page read from the database (`bench/README.md`). Pages
are read again and again (the Prefect UI polls the same filter; a dashboard its tag),
most often with none of their deployments changed. So each worker remembers, for each
page query it ran lately, the versions of the bodies it served, and holds those bodies;
the next reading of that page asks the database for a body only where the version
differs (`json_cache.page_bodies`), in the same single query.

Held by version alone: on PostgreSQL every kept body's version is drawn from one
sequence (migration 0027), so a version names one body of one deployment for as long
as the database lives. A write gives the deployment a new version; a held body can be
dropped from memory but never be stale. (Restoring the database from a backup takes the
sequence back: restart the workers with it.)

Memory is bounded: at most `CATALOG_BODY_MEMORY_MB` of bodies and `PAGES` page queries
a process, the least recently used dropped first; 0 turns it off.
"""

import threading
from array import array
from collections import OrderedDict
from collections.abc import Hashable, Iterable

from django.conf import settings

# Page queries remembered a process: each holds its versions, 8 bytes each (some 2 KB).
PAGES = 1000


class BodyMemory:
    """One database's bodies by version, at most `capacity` bytes of them, and the
    versions of the last reading of each of at most `pages` page queries, by key.
    Thread-safe."""

    def __init__(self, capacity: int, pages: int = PAGES) -> None:
        self.capacity, self.page_capacity = capacity, pages
        self.bodies: OrderedDict[int, bytes] = OrderedDict()
        self.pages: OrderedDict[Hashable, array] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def held_for(self, page: Hashable) -> dict[int, bytes]:
        """The bodies held of the page's last reading, by version."""
        with self.lock:
            versions = self.pages.get(page)
            if not versions:
                return {}
            self.pages.move_to_end(page)
            bodies, held = self.bodies, {}
            for version in versions:
                body = bodies.get(version)
                if body is not None:
                    bodies.move_to_end(version)
                    held[version] = body
            return held

    def remember(
        self,
        page: Hashable,
        versions: Iterable[int | None],
        new_bodies: Iterable[tuple[int, bytes]],
    ) -> None:
        """The page's versions as just read (None for a deployment with no kept row), and
        the bodies of them the database sent."""
        if self.capacity <= 0:
            return
        with self.lock:
            for version, body in new_bodies:
                self.hold(version, body)
            self.pages[page] = array("q", (version for version in versions if version is not None))
            self.pages.move_to_end(page)
            while len(self.pages) > self.page_capacity:
                self.pages.popitem(last=False)

    def hold(self, version: int, body: bytes) -> None:
        if len(body) > self.capacity:
            return
        previous = self.bodies.pop(version, None)
        if previous is not None:
            self.size -= len(previous)
        self.bodies[version] = body
        self.size += len(body)
        while self.size > self.capacity:
            _, dropped = self.bodies.popitem(last=False)
            self.size -= len(dropped)


class BodyMemories:
    """A `BodyMemory` for each database the process reads (by host, port and name): the
    same version on two databases is two bodies."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.memories: dict[Hashable, BodyMemory] = {}
        self.lock = threading.Lock()

    def of(self, database: Hashable) -> BodyMemory:
        memory = self.memories.get(database)
        if memory is None:
            with self.lock:
                memory = self.memories.setdefault(database, BodyMemory(self.capacity))
        return memory


MEMORIES = BodyMemories(settings.CATALOG_BODY_MEMORY_MB * 1024 * 1024)
