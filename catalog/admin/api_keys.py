"""API keys: made, listed and revoked by staff. A key's secret is shown once, on the page
that answers its creation, and never stored."""

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from catalog.admin.action_reports import report_action
from catalog.admin.audit import admin_context
from catalog.admin.filters import ApiKeyStateFilter
from catalog.admin.guarded import GuardedAdmin
from catalog.models import API_KEY_NAME_TAKEN, ApiKey
from catalog.services.api_keys import api_keys_revoke

COLUMNS = ["name", "prefix", "access", "user", "created", "expires", "last_used", "revoked"]


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "access", "user", "expires"]

    def clean_name(self):
        # The form lacks `revoked`, so Django skips the constraint that names it.
        name = self.cleaned_data["name"]
        if self.instance.revoked is not None:
            return name
        valid_keys = ApiKey.objects.filter(revoked__isnull=True).exclude(pk=self.instance.pk)
        if valid_keys.filter(name=name).exists():
            raise forms.ValidationError(API_KEY_NAME_TAKEN)
        return name

    def clean_expires(self):
        expires = self.cleaned_data["expires"]
        if "expires" in self.changed_data and expires is not None and expires <= timezone.now():
            raise forms.ValidationError("Pick a time in the future, or revoke the key.")
        return expires


@admin.register(ApiKey)
class ApiKeyAdmin(GuardedAdmin):
    form = ApiKeyForm
    list_display = COLUMNS
    list_select_related = ["user"]
    list_filter = [ApiKeyStateFilter, "access", "created", "last_used"]
    search_fields = ["name", "prefix", "user__username"]
    search_help_text = "Name, the key's first characters, or a username."
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is not None:
            return COLUMNS
        if request.user.is_superuser:
            return ["name", "access", "user", "expires"]
        return ["name", "access", "expires"]  # staff make keys only for themselves

    def get_readonly_fields(self, request, obj=None):
        # What a key may do is fixed when it is made; for other powers, make another key.
        if obj is None:
            return []
        return ["prefix", "access", "user", "created", "last_used", "revoked"]

    def get_queryset(self, request):
        keys = super().get_queryset(request)
        return keys if request.user.is_superuser else keys.filter(user=request.user)

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if not change:
            if not request.user.is_superuser:
                obj.user = request.user  # else a key could do more than its maker may
            obj.secret = obj.issue()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj: ApiKey, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API key created",
            "key": obj,
            "secret": obj.secret,
        }
        return TemplateResponse(request, "admin/catalog/apikey/created.html", context)

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request, queryset):
        selected = queryset.count()
        revoked = api_keys_revoke(keys=queryset, context=admin_context(request))
        report_action(
            self,
            request,
            changed=revoked,
            selected=selected,
            noun="API key",
            already="revoked",
            done="revoked",
        )
