"""Fingerprints: a record identical to what the last import wrote, into a deployment no
one has touched since, is counted unchanged without being checked again (the same record
passed every check then, and the stored state shows nothing moved)."""

import hashlib
import json
import marshal
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC
from typing import Any

from django.db.models import Count, Max, Q

from catalog.importing.records import Bundle, Change, ImportResult, Record
from catalog.importing.values import is_uuid
from catalog.models import Deployment, DeploymentSchedule
from catalog.rules.text import text_problem


def record_digest(record: Record) -> str:
    """The record's content. Key order counts, which is stable for a source read twice;
    a record written in another order (or read by another Python, whose `marshal` may
    write differently) is merely checked in full."""
    try:
        content = marshal.dumps(record.data, 2)  # version 2 writes no shared references
    except ValueError:  # a value marshal cannot write
        content = json.dumps(record.data, default=str).encode()
    return hashlib.sha1(content).hexdigest()


def state_stamp(updated, status, last_polled, schedule_count: int, schedules_updated) -> str:
    """The parts of a deployment's state any other writer changes: its `updated` (every
    save and action moves it), the worker-set status and poll time, and its schedules."""
    parts = [
        utc_text(updated),
        status,
        utc_text(last_polled),
        str(schedule_count),
        utc_text(schedules_updated),
    ]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:20]


def utc_text(moment) -> str:
    return moment.astimezone(UTC).isoformat() if moment is not None else ""


def skip_unchanged(bundle: Bundle, result: ImportResult) -> tuple[Bundle, set]:
    """Deployment records identical to what the last import wrote, into a deployment no
    one has touched since, are counted unchanged without being checked again: the same
    record was checked then, and the stored state shows nothing moved."""
    keyed = {}
    for record in bundle.deployments:
        key = record_key(record.data)
        if key is not None:
            keyed[key] = record
    stored, rows = stored_fingerprints(keyed)
    kept = []
    for record in bundle.deployments:
        key = record_key(record.data)
        found = stored.get(key) if key is not None else None
        fingerprint = found and found["fingerprint"]
        if fingerprint and fingerprint == f"{record_digest(record)}:{found['stamp']}":
            result.unchanged += 1
            result.keep(Change("unchanged", found["flow_name"], found["name"]))
        else:
            kept.append(record)
    return replace(bundle, deployments=kept), candidates_for(kept, rows)


def candidates_for(records: list[Record], rows: list[tuple]) -> set:
    """The stored deployments the records still to import may name: by id or by name."""
    ids = {key[1] for key in map(record_key_of, records) if key and key[0] == "id"}
    names = {record.data.get("name") for record in records if isinstance(record.data, Mapping)}
    return {row_id for row_id, name in rows if str(row_id) in ids or name in names}


def record_key_of(record: Record) -> tuple | None:
    return record_key(record.data)


def record_key(data: Any) -> tuple | None:
    """How a record names its deployment; None when it cannot name a stored one."""
    if not isinstance(data, Mapping) or not storable_text(data.get("name")):
        return None
    if storable_text(data.get("id")):
        return ("id", data["id"].lower())
    flow = data.get("flow_id") or data.get("flow_name")
    return ("name", str(flow).lower(), data["name"]) if storable_text(flow) else None


def storable_text(value: Any) -> bool:
    return isinstance(value, str) and text_problem(value) is None


def stored_fingerprints(keyed: dict) -> tuple[dict, set]:
    """The stored state of every deployment a record may name (by id, or by name in any
    flow), and the ids of all of them: no other stored deployment can match a record."""
    ids = [key[1] for key in keyed if key[0] == "id" and is_uuid(key[1])]
    names = list({record.data["name"] for record in keyed.values()})
    rows = Deployment.objects.filter(Q(id__any=ids) | Q(name__any=names))
    columns = (
        "id",
        "name",
        "flow_id",
        "flow__name",
        "import_fingerprint",
        "updated",
        "status",
        "last_polled",
    )
    found = {row["id"]: row for row in rows.values(*columns)}
    if not found:
        return {}, []
    totals = (
        DeploymentSchedule.objects.filter(deployment_id__any=list(found))
        .values("deployment_id")
        .annotate(count=Count("id"), last=Max("updated"))
    )
    schedules_of = {row["deployment_id"]: (row["count"], row["last"]) for row in totals}
    stored = {}
    for row in found.values():
        count, last = schedules_of.get(row["id"], (0, None))
        entry = {
            "fingerprint": row["import_fingerprint"],
            "name": row["name"],
            "flow_name": row["flow__name"],
            "stamp": state_stamp(row["updated"], row["status"], row["last_polled"], count, last),
        }
        stored[("id", str(row["id"]))] = entry
        stored[("name", str(row["flow_id"]), row["name"])] = entry
        stored[("name", row["flow__name"].lower(), row["name"])] = entry
    return stored, [(row["id"], row["name"]) for row in found.values()]
