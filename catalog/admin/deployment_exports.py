"""Deployments exported from the admin's list: the selected rows (an action) or every
deployment the list's filters and search match, as the Prefect JSON bundle
`import_deployments` takes back or as a prefect.yaml. An export is a read: it changes
nothing and leaves no history entry. Every deployment of an export is rendered within the
request, so "export all matching" takes at most CATALOG_ADMIN_EXPORT_MAX_DEPLOYMENTS and
says so when more match; `manage.py export_deployments` has no such bound."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from catalog.admin.guarded import RefusedListQuery
from catalog.importing.exporter import (
    bundle_text,
    deployments_to_export,
    export_bundle,
    export_prefect_yaml,
    variables_left_out,
)
from catalog.models import Deployment


@dataclass(frozen=True)
class ExportFormat:
    label: str
    content_type: str
    file_name: str

    def text(self, deployments: QuerySet) -> str:
        if self.content_type == "application/json":
            return bundle_text(export_bundle(deployments))
        return export_prefect_yaml(deployments)


FORMATS = {
    "json": ExportFormat("Prefect JSON", "application/json", "deployments-{stamp}.json"),
    "yaml": ExportFormat("prefect.yaml", "application/yaml", "prefect-{stamp}.yaml"),
}


def export_response(request, model_admin, selected: QuerySet, format_name: str) -> HttpResponse:
    """The deployments `selected` names as a file to download, in the export's order;
    a message says what a bundle leaves out."""
    export_format = FORMATS[format_name]
    rows = deployments_to_export().filter(pk__in=selected.order_by().values("pk"))
    # (a subquery: the selected rows are never sent back to the database as a list)
    response = HttpResponse(export_format.text(rows), content_type=export_format.content_type)
    left_out = variables_left_out() if format_name == "json" else None
    if left_out:
        model_admin.message_user(request, f"{left_out}.", messages.INFO)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    name = export_format.file_name.format(stamp=stamp)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def export_matching_view(request, format_name: str, *, model_admin):
    """Every deployment the list's query string matches (filters and search, not only a
    page), up to the export bound."""
    if format_name not in FORMATS:
        raise Http404("No such export format.")
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    request.exporting = True
    try:
        matching = model_admin.get_changelist_instance(request).queryset
    except RefusedListQuery as refusal:
        return back_to_list(request, model_admin, f"{refusal} Nothing was exported.", query="")
    most = settings.CATALOG_ADMIN_EXPORT_MAX_DEPLOYMENTS
    ids = list(matching.order_by().values_list("pk", flat=True)[: most + 1])
    if len(ids) > most:
        refusal = (
            f"More than {most:,} deployments match: an export from the admin takes at most "
            f"{most:,}. Narrow the filters or the search, or use manage.py "
            "export_deployments. Nothing was exported."
        )
        return back_to_list(request, model_admin, refusal, query=request.GET.urlencode())
    chosen = Deployment.objects.filter(id__any=ids)
    return export_response(request, model_admin, chosen, format_name)


def back_to_list(request, model_admin, message: str, *, query: str) -> HttpResponseRedirect:
    model_admin.message_user(request, message, messages.ERROR)
    changelist = reverse("admin:catalog_deployment_changelist")
    return HttpResponseRedirect(f"{changelist}?{query or f'{ERROR_FLAG}=1'}")
