"""Uploads waiting for their confirmation on the import page: each a folder named by a
random token, holding the file as uploaded and what the page needs to plan it again (its
name, format, flow name, reason, the user's id and the plan's fingerprint). Only the user
who uploaded may confirm it; a few wait per user, none longer than
`CATALOG_ADMIN_IMPORT_PENDING_MINUTES`."""

import json
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings

TOKEN = re.compile(r"[0-9a-f]{32}")
CONTENT = "content"
FACTS = "facts.json"
# Uploads one user may have waiting at once; a new one ends the oldest.
PER_USER = 3


@dataclass
class PendingImport:
    token: str
    user_id: int
    name: str
    file_format: str
    flow_name: str
    reason: str
    fingerprint: str
    saved_at: float

    def content(self) -> bytes:
        return (folder() / self.token / CONTENT).read_bytes()

    def save_fingerprint(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        write_facts(self)


def folder() -> Path:
    configured = settings.CATALOG_ADMIN_IMPORT_DIR
    path = Path(configured) if configured else Path(tempfile.gettempdir()) / "catalog-admin-imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def pending_save(
    *, user_id: int, name: str, file_format: str, content: bytes, **facts
) -> PendingImport:
    """Keep an upload until it is confirmed or cancelled; older ones are swept."""
    sweep(user_id)
    pending = PendingImport(
        token=secrets.token_hex(16),
        user_id=user_id,
        name=name,
        file_format=file_format,
        saved_at=time.time(),
        **{"flow_name": "", "reason": "", "fingerprint": "", **facts},
    )
    place = folder() / pending.token
    place.mkdir(mode=0o700)
    (place / CONTENT).write_bytes(content)
    write_facts(pending)
    return pending


def write_facts(pending: PendingImport) -> None:
    (folder() / pending.token / FACTS).write_text(json.dumps(asdict(pending)))


def pending_of(token: str, user_id: int) -> PendingImport | None:
    """The user's upload of this token, if it still waits."""
    if not TOKEN.fullmatch(token or ""):
        return None
    pending = read_facts(folder() / token)
    if pending is None or pending.user_id != user_id or expired(pending):
        return None
    return pending


def read_facts(place: Path) -> PendingImport | None:
    try:
        return PendingImport(**json.loads((place / FACTS).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def pending_drop(token: str) -> None:
    if TOKEN.fullmatch(token or ""):
        shutil.rmtree(folder() / token, ignore_errors=True)


def expired(pending: PendingImport) -> bool:
    return time.time() - pending.saved_at > settings.CATALOG_ADMIN_IMPORT_PENDING_MINUTES * 60


def sweep(user_id: int) -> None:
    """Drop expired uploads, and the user's oldest past `PER_USER - 1`."""
    mine = []
    for place in folder().iterdir():
        pending = read_facts(place) if TOKEN.fullmatch(place.name) else None
        if pending is None or expired(pending):
            if pending is not None or is_stale(place):
                shutil.rmtree(place, ignore_errors=True)
        elif pending.user_id == user_id:
            mine.append(pending)
    mine.sort(key=lambda pending: pending.saved_at)
    for pending in mine[: max(len(mine) - PER_USER + 1, 0)]:
        pending_drop(pending.token)


def is_stale(place: Path) -> bool:
    """A folder without readable facts (a save cut short), once old enough to be sure."""
    try:
        age = time.time() - place.stat().st_mtime
    except OSError:
        return False
    return age > settings.CATALOG_ADMIN_IMPORT_PENDING_MINUTES * 60
