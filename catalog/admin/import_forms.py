"""The forms of the import page: an upload, a live server to read (superusers), and an
export to download."""

from django import forms
from django.conf import settings

from catalog.admin.audit import reason_field
from catalog.importing.sources.uploads import FORMATS, upload_format
from catalog.rules.reasons import ReasonError, checked_reason

ACCEPTED = ", ".join(FORMATS)


def size_text(size: int) -> str:
    mib = size / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{size:,} bytes"


def flow_name_field() -> forms.CharField:
    return forms.CharField(
        label="Flow name",
        required=False,
        max_length=255,
        help_text="Optional: the name of a flow the records name only by id.",
    )


class ReasonChecked(forms.Form):
    change_reason = reason_field()

    def clean_change_reason(self) -> str:
        try:
            return checked_reason(self.cleaned_data.get("change_reason")) or ""
        except ReasonError as error:
            raise forms.ValidationError(str(error)) from None


class UploadForm(ReasonChecked):
    file = forms.FileField(
        label="File",
        help_text=(
            "Prefect JSON (an object, a list, a /paginate page or an export bundle), JSON "
            "Lines, a prefect.yaml, or a zip of the project folder when the flows' sources "
            f"are needed ({ACCEPTED})."
        ),
    )
    flow_name = flow_name_field()
    field_order = ["file", "flow_name", "change_reason"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.CATALOG_ADMIN_IMPORT_MAX_BYTES
        self.fields["file"].help_text += f" At most {size_text(limit)}."
        self.fields["file"].widget.attrs.update(
            {"accept": ",".join(FORMATS), "data-max-bytes": str(limit)}
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.CATALOG_ADMIN_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {size_text(upload.size)}, more than the {size_text(limit)} "
                "this page takes (CATALOG_ADMIN_IMPORT_MAX_BYTES)."
            )
        if upload_format(upload.name) is None:
            raise forms.ValidationError(f"The file's name must end in one of {ACCEPTED}.")
        return upload


class RemoteForm(ReasonChecked):
    url = forms.URLField(
        label="Server's API URL",
        assume_scheme="https",
        help_text="e.g. https://prefect.example.com/api; only hosts listed in "
        "CATALOG_ADMIN_IMPORT_ALLOWED_HOSTS.",
        widget=forms.URLInput(attrs={"size": 50}),
    )
    api_key = forms.CharField(
        label="API key",
        required=False,
        help_text="Optional: sent as `Authorization: Bearer`; not kept.",
        widget=forms.PasswordInput(render_value=False),
    )
    flow_name = flow_name_field()
    field_order = ["url", "api_key", "flow_name", "change_reason"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Give an http:// or https:// URL.")
        return url


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        label="Format",
        choices=[
            ("json", "JSON bundle (import_deployments takes it back)"),
            ("yaml", "prefect.yaml"),
        ],
    )
    flow = forms.CharField(
        label="Flow", required=False, max_length=255, help_text="Optional: by name."
    )
    tag = forms.CharField(label="Tag", required=False, max_length=255, help_text="Optional.")
