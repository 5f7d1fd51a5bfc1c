"""The import page (Deployments, then "Import / export"): upload a file, or read a live Prefect
server (superusers, allow-listed hosts only); see the plan, deployment by deployment;
confirm it; and download exports.

An upload is planned within its request (the import run and rolled back) and kept until
it is confirmed (`import_store`). Confirming plans it again in the transaction that
writes: a plan whose fingerprint moved since the user saw it (someone changed one of its
deployments meanwhile) is refused, and the page shows the plan as it stands now. The
import is recorded in the change history as the signed-in user's, with the reason given.

Wired by `DeploymentAdmin.get_urls`; the body limit of this page is raised in
`catalog.api.middleware.RequestBodyLimitMiddleware`.
"""

import dataclasses
import json
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from catalog.admin.import_forms import ExportForm, RemoteForm, UploadForm, size_text
from catalog.admin.import_store import PendingImport, pending_drop, pending_of, pending_save
from catalog.admin.version_text import ChangeLine, change_lines
from catalog.importing.exporter import (
    bundle_text,
    deployments_to_export,
    export_bundle,
    export_prefect_yaml,
    flows_to_export,
)
from catalog.importing.preview import DeploymentPlan, ImportPlan, plan_import
from catalog.importing.records import BUNDLE_KEYS, Bundle, ImportFailed
from catalog.importing.sources.bounded_http import RemoteLimits
from catalog.importing.sources.host_policy import AllowedHosts, checked_origin
from catalog.importing.sources.json_files import read_json
from catalog.importing.sources.remote import fetch_bundle
from catalog.importing.sources.uploads import FORMAT_NAMES, read_upload, upload_format
from catalog.models import Deployment
from catalog.services.context import Actor, Door, WriteContext

TEMPLATE = "admin/catalog/deployment/import.html"
# Deployments the plan shows of each kind; the counts cover them all.
ROWS_SHOWN = 100
# A created deployment's fields are shown folded; changes past this many too.
UNFOLDED_CHANGES = 12


@dataclass
class PlanRow:
    plan: DeploymentPlan
    lines: list[ChangeLine]

    @property
    def folded(self) -> bool:
        return self.plan.action == "create" or len(self.lines) > UNFOLDED_CHANGES

    @property
    def fold_label(self) -> str:
        count = len(self.lines)
        noun = "field" if self.plan.action == "create" else "change"
        return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass
class PlanSection:
    action: str
    title: str
    rows: list[PlanRow]
    count: int

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


SECTIONS = [
    ("error", "Errors: left out of the import"),
    ("create", "Created"),
    ("update", "Changed"),
    ("unchanged", "Unchanged"),
]


def plan_sections(plan: ImportPlan) -> list[PlanSection]:
    sections = []
    for action, title in SECTIONS:
        rows = plan.of(action)
        shown = [PlanRow(row, change_lines(row.changes)) for row in rows[:ROWS_SHOWN]]
        sections.append(PlanSection(action, title, shown, len(rows)))
    return sections


# The page -------------------------------------------------------------------------------


def may_import(request, model_admin) -> bool:
    return model_admin.has_add_permission(request) and model_admin.has_change_permission(request)


def import_view(request, *, model_admin):
    if not may_import(request, model_admin):
        raise PermissionDenied
    forms = {"upload_form": UploadForm(), "remote_form": RemoteForm(), "export_form": ExportForm()}
    if request.method != "POST":
        return page(request, model_admin, forms)
    action = request.POST.get("action")
    if action == "upload":
        return upload(request, model_admin, forms)
    if action == "remote":
        return remote(request, model_admin, forms)
    if action in ("confirm", "cancel"):
        return confirm(request, model_admin, forms, cancel=action == "cancel")
    return HttpResponseRedirect(request.path)


def page(request, model_admin, forms: dict, pending=None, plan=None, status=200):
    context = {
        **model_admin.admin_site.each_context(request),
        **forms,
        "opts": Deployment._meta,
        "title": "Import and export deployments",
        "pending": pending,
        "format_name": format_name(pending),
        "plan": plan,
        "sections": plan_sections(plan) if plan else [],
        "counts": counted_lines(plan) if plan else [],
        "may_read_servers": request.user.is_superuser,
        "allowed_hosts": settings.CATALOG_ADMIN_IMPORT_ALLOWED_HOSTS,
        "max_size": size_text(settings.CATALOG_ADMIN_IMPORT_MAX_BYTES),
        "max_deployments": settings.CATALOG_ADMIN_IMPORT_MAX_DEPLOYMENTS,
        "deadline": settings.CATALOG_REQUEST_DEADLINE_SECONDS,
        "pending_minutes": settings.CATALOG_ADMIN_IMPORT_PENDING_MINUTES,
    }
    return TemplateResponse(request, TEMPLATE, context, status=status)


def format_name(pending: PendingImport | None) -> str | None:
    if pending is None:
        return None
    return FORMAT_NAMES.get(pending.file_format, "a Prefect server")


def import_context(request, reason: str) -> WriteContext:
    return WriteContext(Actor.of_user(request.user), Door.IMPORT, reason or None)


def upload(request, model_admin, forms: dict):
    form = UploadForm(request.POST, request.FILES)
    forms["upload_form"] = form
    if not form.is_valid():
        return page(request, model_admin, forms, status=400)
    file = form.cleaned_data["file"]
    name = shown_name(file.name)
    pending = pending_save(
        user_id=request.user.pk,
        name=name,
        file_format=upload_format(name),
        content=file.read(),
        flow_name=form.cleaned_data["flow_name"],
        reason=form.cleaned_data["change_reason"],
    )
    return planned_page(request, model_admin, forms, pending)


def shown_name(name: str) -> str:
    """The file's own name, without folders, as one printable line."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch if ch.isprintable() else "?" for ch in base)[:100] or "upload"


def remote(request, model_admin, forms: dict):
    if not request.user.is_superuser:
        raise PermissionDenied
    form = RemoteForm(request.POST)
    forms["remote_form"] = form
    if not form.is_valid():
        return page(request, model_admin, forms, status=400)
    url = form.cleaned_data["url"]
    try:
        bundle = read_server(url, form.cleaned_data["api_key"])
    except ImportFailed as refusal:
        for problem in refusal.problems:
            form.add_error("url", problem)
        return page(request, model_admin, forms, status=400)
    pending = pending_save(
        user_id=request.user.pk,
        name=url,
        file_format="remote",
        content=bundle_json(bundle),
        flow_name=form.cleaned_data["flow_name"],
        reason=form.cleaned_data["change_reason"],
    )
    return planned_page(request, model_admin, forms, pending)


def read_server(url: str, api_key: str) -> Bundle:
    """The server's records, read only from an allowed host, at the address checked."""
    allowed = AllowedHosts.of(settings.CATALOG_ADMIN_IMPORT_ALLOWED_HOSTS)
    _, address = checked_origin(url, allowed)
    return fetch_bundle(
        url.rstrip("/"), api_key=api_key or None, limits=page_limits(), address=address
    )


def page_limits() -> RemoteLimits:
    """The remote budgets, within the page's: half its deadline to read, no more bytes
    than an upload may have."""
    limits = RemoteLimits.from_settings()
    seconds = settings.CATALOG_REQUEST_DEADLINE_SECONDS / 2
    return dataclasses.replace(
        limits,
        max_total_bytes=min(limits.max_total_bytes, settings.CATALOG_ADMIN_IMPORT_MAX_BYTES),
        max_response_bytes=min(limits.max_response_bytes, settings.CATALOG_ADMIN_IMPORT_MAX_BYTES),
        request_timeout=min(limits.request_timeout, seconds),
        total_timeout=min(limits.total_timeout, seconds),
    )


def bundle_json(bundle: Bundle) -> bytes:
    """The records read, as an export bundle, kept for the confirmation."""
    document = {key: [record.data for record in getattr(bundle, key)] for key in BUNDLE_KEYS}
    return json.dumps(document, ensure_ascii=False).encode()


def read_pending(pending: PendingImport) -> Bundle:
    if pending.file_format == "remote":
        return read_json(pending.name, pending.content().decode())
    return read_upload(pending.name, pending.content(), pending.file_format)


def planned_page(request, model_admin, forms: dict, pending: PendingImport):
    plan = plan_import(
        read_pending(pending),
        context=import_context(request, pending.reason),
        flow_name=pending.flow_name or None,
        max_deployments=settings.CATALOG_ADMIN_IMPORT_MAX_DEPLOYMENTS,
    )
    pending.save_fingerprint(plan.fingerprint)
    return page(request, model_admin, forms, pending, plan)


def confirm(request, model_admin, forms: dict, *, cancel: bool):
    token = request.POST.get("token", "")
    pending = pending_of(token, request.user.pk)
    if pending is None:
        messages.error(
            request,
            "This upload is no longer waiting (confirmed, cancelled, or older than "
            f"{settings.CATALOG_ADMIN_IMPORT_PENDING_MINUTES} minutes): nothing was imported. "
            "Upload it again.",
        )
        return HttpResponseRedirect(request.path)
    if cancel:
        pending_drop(token)
        messages.info(request, f"Import of {pending.name} cancelled: nothing was imported.")
        return HttpResponseRedirect(request.path)
    plan = plan_import(
        read_pending(pending),
        context=import_context(request, pending.reason),
        flow_name=pending.flow_name or None,
        apply_if=pending.fingerprint,
        max_deployments=settings.CATALOG_ADMIN_IMPORT_MAX_DEPLOYMENTS,
    )
    if plan.applied:
        pending_drop(token)
        messages.success(request, imported_message(pending, plan))
        return HttpResponseRedirect(request.path)
    pending.save_fingerprint(plan.fingerprint)
    messages.error(request, refusal_message(plan))
    return page(request, model_admin, forms, pending, plan, status=409)


def counted_lines(plan: ImportPlan) -> list[str]:
    """The report's lines of the kinds the import touches, and the deployments'."""
    lines = [line for line in plan.result.report() if not line.startswith("dry run")]
    nothing = "created=0 updated=0 unchanged=0"
    return [line for line in lines if line.startswith("deployments") or nothing not in line]


def imported_message(pending: PendingImport, plan: ImportPlan) -> str:
    left_out = len(plan.errors)
    note = f"; {left_out} deployment(s) with errors left out" if left_out else ""
    return f"Imported {pending.name}: " + "; ".join(counted_lines(plan)) + note + "."


def refusal_message(plan: ImportPlan) -> str:
    if not plan.can_import:
        return "Nothing was imported: there is nothing this plan can import."
    return (
        "Nothing was imported: the plan changed since you saw it (a deployment it touches "
        "was changed meanwhile, or what the import would do is no longer the same). "
        "Below is the plan as it stands now; confirm it if it is right."
    )


# Exports --------------------------------------------------------------------------------


def export_view(request, *, model_admin):
    """A JSON bundle (import_deployments takes it back) or a prefect.yaml, of every
    deployment or those of a flow or with a tag. Variables are left out: they may hold
    secrets (`manage.py export_deployments --include-variables` adds them)."""
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    form = ExportForm(request.GET)
    if not form.is_valid():
        return HttpResponseRedirect(reverse("admin:catalog_deployment_import"))
    flow, tag = form.cleaned_data["flow"] or None, form.cleaned_data["tag"] or None
    deployments = deployments_to_export(flow, tag)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    if form.cleaned_data["format"] == "yaml":
        response = HttpResponse(export_prefect_yaml(deployments), content_type="application/yaml")
        filename = f"prefect-{stamp}.yaml"
    else:
        bundle = export_bundle(deployments, flows=flows_to_export(flow, tag))
        response = HttpResponse(bundle_text(bundle), content_type="application/json")
        filename = f"deployments-{stamp}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
