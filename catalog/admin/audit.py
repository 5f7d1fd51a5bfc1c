"""Who writes through the admin, and why: the context every admin write hands to the
write core, and the change set each admin POST is recorded as."""

from django import forms
from django.contrib import messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpResponseRedirect

from catalog.rules.reasons import REASON_MAX_LENGTH, ReasonError, checked_reason
from catalog.services.context import Actor, Door, WriteContext, user_actor_json
from catalog.services.history import change_set

REASON_FIELD = "change_reason"


def admin_context(request, reason: str | None = None) -> WriteContext:
    return WriteContext(Actor.of_user(request.user), Door.ADMIN, reason)


def actor_for(user: AbstractBaseUser) -> dict:
    """`created_by` / `updated_by` as Prefect renders them, for an admin user."""
    return user_actor_json(user.pk, user.get_username())


def reason_field(label: str = "Reason") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=REASON_MAX_LENGTH,
        help_text="Optional: why, for the change history.",
        widget=forms.TextInput(attrs={"placeholder": "Reason (optional)", "size": 30}),
    )


class ReasonActionForm(ActionForm):
    """The action bar, with a reason the history keeps beside each action's changes."""

    # Labelled as Django labels the action beside it ("Action:").
    change_reason = reason_field("Reason:")


def recorded(view, request, *args, **kwargs):
    """An admin POST in one transaction, recorded as one change set by the signed-in
    user with the reason the page gave; a reason the history cannot keep is refused
    before anything is written."""
    if request.method != "POST":
        return view(request, *args, **kwargs)
    try:
        reason = checked_reason(request.POST.get(REASON_FIELD))
    except ReasonError as error:
        messages.error(request, f"Nothing was changed. The reason: {error}")
        return HttpResponseRedirect(request.get_full_path())
    with change_set(admin_context(request, reason)):
        return view(request, *args, **kwargs)


class RecordedWrites:
    """Mixed into every catalog ModelAdmin: saves, deletes and actions are recorded."""

    action_form = ReasonActionForm

    def changeform_view(self, request, *args, **kwargs):
        return recorded(super().changeform_view, request, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        return recorded(super().delete_view, request, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):
        return recorded(super().changelist_view, request, *args, **kwargs)
