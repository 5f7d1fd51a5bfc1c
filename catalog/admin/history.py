"""A deployment's history tab (the History button on its change page): its versions newest
first, each with who made it, through which door and why, and what it changed; between
them, one line for each change of a shared object the deployment uses (its work queue,
that queue's work pool, a shared global concurrency limit), by reference; and a button
that restores a version. The tab answers for a deleted deployment too: the history
outlives the row.

Wired by `DeploymentAdmin`: `history_view`, and the restore URL in `get_urls`.
"""

import operator
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse

from catalog.admin.audit import REASON_FIELD, admin_context, recorded
from catalog.admin.version_text import (
    ChangeLine,
    actor_text,
    change_lines,
    changes_summary,
    kind_text,
)
from catalog.models import ChangeKind, Deployment, ObjectType, Version, WorkQueue
from catalog.rules.history_diff import changes, own_limit_name
from catalog.rules.reasons import REASON_MAX_LENGTH, checked_reason
from catalog.services.errors import CatalogError
from catalog.services.history import (
    before_and_after,
    current_change_set,
    version_changes,
    versions_of_object,
    with_before_text,
)
from catalog.services.history_restore import deployment_restore

PER_PAGE = 50
# Lines about shared objects one page shows at most, the newest.
REFERENCES_SHOWN = 50
# No history is this long: a page past it is refused before it becomes an SQL offset.
LAST_PAGE = 1_000_000
TEMPLATE = "admin/catalog/deployment/change_history.html"
# A version that changed more values than this shows them folded.
UNFOLDED_CHANGES = 12


@dataclass
class HistoryPage:
    """One page of a deployment's versions, and the version just newer than the page's
    (the last of the page before), which bounds the shared objects' lines shown here."""

    number: int
    versions: list[Version]
    newer: Version | None
    has_older: bool

    @property
    def since(self) -> datetime:
        return self.versions[-1].at

    @property
    def until(self) -> datetime | None:
        return self.newer.at if self.newer else None


@dataclass
class VersionEntry:
    version: Version
    changes: list[ChangeLine]
    restorable: bool
    by_reference = False

    @property
    def kind(self) -> str:
        return kind_text(self.version)

    @property
    def actor(self) -> str:
        return actor_text(self.version.change_set)

    @property
    def folded(self) -> bool:
        """A new deployment's changes (its whole configuration), or many: shown folded."""
        return self.version.kind == ChangeKind.CREATED or len(self.changes) > UNFOLDED_CHANGES

    @property
    def fold_label(self) -> str:
        count = len(self.changes)
        if self.version.kind == ChangeKind.CREATED:
            return f"{count} field{pluralize(count)} set"
        return f"{count} changes"


@dataclass
class ReferenceEntry:
    """A change of a shared object the deployment uses, in one line."""

    version: Version
    summary: str
    by_reference = True

    @property
    def actor(self) -> str:
        return actor_text(self.version.change_set)


# The tab ------------------------------------------------------------------------------


def deployment_history_view(request, object_id: str, *, model_admin) -> TemplateResponse:
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    deployment_id = id_or_404(object_id)
    page = history_page(deployment_id, page_number(request))
    current = current_row(deployment_id)
    if not page.versions and (current is None or page.number > 1):
        raise Http404("This deployment has no history here.")
    can_restore = may_restore(request, model_admin, exists=current is not None)
    rows = [(version, *before_and_after(version)) for version in page.versions]
    entries = version_entries(page, rows, current, can_restore)
    references = reference_entries(page, referenced_objects(deployment_id, current, rows))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Deployment._meta,
        "title": f"History of {deployment_label(current, page)}",
        "label": deployment_label(current, page),
        "deployment_id": deployment_id,
        "exists": current is not None,
        "page": page,
        "timeline": timeline(entries, references[:REFERENCES_SHOWN]),
        "more_references": len(references) > REFERENCES_SHOWN,
        "can_restore": can_restore,
        "reason_field": REASON_FIELD,
        "reason_max_length": REASON_MAX_LENGTH,
        "audit_url": f"{reverse('admin:catalog_version_changelist')}?object_id={deployment_id}",
    }
    return TemplateResponse(request, TEMPLATE, context)


def id_or_404(object_id: str) -> UUID:
    try:
        return UUID(object_id)
    except ValueError:
        raise Http404("No deployment has this id.") from None


def page_number(request) -> int:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        raise Http404("No such page.") from None
    if not 1 <= number <= LAST_PAGE:
        raise Http404("No such page.")
    return number


def history_page(deployment_id: UUID, number: int) -> HistoryPage:
    """The page's versions, read with the version just newer (which bounds the lines by
    reference) and one older (which tells whether another page follows)."""
    start = (number - 1) * PER_PAGE
    newest_first = versions_of_object(ObjectType.DEPLOYMENT, deployment_id)
    rows = list(newest_first[max(start - 1, 0) : start + PER_PAGE + 1])
    newer = rows.pop(0) if start and rows else None
    return HistoryPage(number, rows[:PER_PAGE], newer, len(rows) > PER_PAGE)


def current_row(deployment_id: UUID) -> dict | None:
    return (
        Deployment.objects.filter(id=deployment_id)
        .values(
            "name",
            "flow__name",
            "work_queue_id",
            "global_concurrency_limit_id",
            "global_concurrency_limit__owner_id",
        )
        .first()
    )


def deployment_label(current: dict | None, page: HistoryPage) -> str:
    if current is not None:
        return f"{current['flow__name']}/{current['name']}"
    newest = page.versions[0]
    return f"{newest.flow_name}/{newest.name}"


def may_restore(request, model_admin, *, exists: bool) -> bool:
    """Restoring changes the deployment; bringing a deleted one back also adds it."""
    if not model_admin.has_change_permission(request):
        return False
    return exists or model_admin.has_add_permission(request)


def version_entries(page, rows, current, can_restore: bool) -> list[VersionEntry]:
    head = page.versions[0].number if page.number == 1 and current is not None else None
    entries = []
    for version, before, after in rows:
        found = [] if after is None else changes(ObjectType.DEPLOYMENT, before, after)
        restorable = can_restore and after is not None and version.number != head
        entries.append(VersionEntry(version, change_lines(found), restorable))
    return entries


def timeline(entries: list, references: list) -> list:
    """Versions and lines by reference, newest first; a version above a line of the same
    moment."""
    return sorted(
        [*entries, *references],
        key=lambda entry: (entry.version.at, not entry.by_reference),
        reverse=True,
    )


# Shared objects, by reference ---------------------------------------------------------


def referenced_objects(deployment_id: UUID, current: dict | None, rows) -> dict[str, set]:
    """The work queues and shared limits the deployment points at now or did in the
    page's versions, and the work pools of those queues."""
    queues, limits = set(), set()
    if current is not None:
        queues.add(current["work_queue_id"])
        if current["global_concurrency_limit__owner_id"] != deployment_id:
            limits.add(current["global_concurrency_limit_id"])
    for _, _, after in rows:
        if after is None:
            continue
        queues.add(after.get("work_queue_id"))
        limit = after.get("global_concurrency_limit")
        if limit and limit.get("name") != own_limit_name(after.get("id")):
            limits.add(limit.get("id"))
    queues, limits = {UUID(str(id)) for id in queues if id}, {UUID(str(id)) for id in limits if id}
    pools = set(WorkQueue.objects.filter(id__in=queues).values_list("work_pool_id", flat=True))
    return {
        ObjectType.WORK_QUEUE: queues,
        ObjectType.WORK_POOL: pools,
        ObjectType.CONCURRENCY_LIMIT: limits,
    }


def reference_entries(page: HistoryPage, objects: dict[str, set]) -> list[ReferenceEntry]:
    """The shared objects' versions from the page's oldest version to the version after
    the page: one more than is shown, to tell that there are more."""
    conditions = [Q(object_type=kind, object_id__in=ids) for kind, ids in objects.items() if ids]
    if not conditions or not page.versions:
        return []
    rows = Version.objects.filter(reduce(operator.or_, conditions), at__gte=page.since)
    if page.until is not None:
        rows = rows.filter(at__lt=page.until)
    rows = with_before_text(rows.select_related("change_set").order_by("-at", "-id"))
    return [
        ReferenceEntry(version, reference_summary(version))
        for version in rows[: REFERENCES_SHOWN + 1]
    ]


def reference_summary(version: Version) -> str:
    """`work pool k8s renamed: name: "a" → "k8s"`, `work queue default deleted`."""
    shared = f"{version.get_object_type_display()} {version.name}"
    if version.kind != ChangeKind.CHANGED:
        return f"{shared} {kind_text(version)}"
    found = version_changes(version)
    renamed = any(change["path"] == "name" for change in found)
    what = f"{shared} {'renamed' if renamed else 'changed'}"
    return f"{what}: {changes_summary(found)}" if found else what


# Restoring ----------------------------------------------------------------------------


def restore_view(request, object_id: UUID, number: int, *, model_admin) -> HttpResponseRedirect:
    """POST: restore version `number` as a new version, in one change set by the signed-in
    user with the reason the form gave; a refusal writes nothing and says why."""
    history = reverse("admin:catalog_deployment_history", args=[object_id])
    if request.method != "POST":
        return HttpResponseRedirect(history)
    exists = Deployment.objects.filter(id=object_id).exists()
    if not may_restore(request, model_admin, exists=exists):
        raise PermissionDenied
    restored: list[Version | None] = []

    def restore(request):
        reason = checked_reason(request.POST.get(REASON_FIELD))
        context = admin_context(request, reason)
        version = deployment_restore(deployment_id=object_id, number=number, context=context)
        new = version is not None and version.change_set_id == current_change_set().change_set_id
        restored.append(version if new else None)
        return HttpResponseRedirect(history)

    try:
        response = recorded(restore, request)
    except CatalogError as refusal:  # a clash, a version not there, a broken rule
        messages.error(request, f"Version {number} was not restored: {refusal.message}")
        return HttpResponseRedirect(history)
    if restored and restored[0] is None:
        messages.info(request, f"The deployment is as version {number} left it: nothing changed.")
    elif restored:
        messages.success(request, f"Version {number} restored as version {restored[0].number}.")
    return response
