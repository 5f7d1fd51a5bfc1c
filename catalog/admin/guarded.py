"""Every admin list refuses a query string that would cost too much or fail: a search
past its length or word budget, a lookup the list does not offer (a regular expression, a
pattern with wildcards, anything inside a JSON field), a value past its length, a NUL
character, or a value the column cannot hold. The refusal is a message on the list
(Django's `?e=1` page), never a 500 and never a slow page.

`GuardedAdmin` is the base of every catalog ModelAdmin; `guard_every_admin` gives the
same guard to the ModelAdmins other apps register (users, groups)."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, IGNORED_PARAMS, PAGE_VAR, SEARCH_VAR
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import NotSupportedError
from django.db.models import JSONField
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponseRedirect
from django.utils.text import Truncator, smart_split, unescape_string_literal

from catalog.admin.audit import RecordedWrites

# The lookups a link may use: equality, comparisons, lists, null checks, and the plain
# substring matches the search itself makes (their value bounded like a search term).
PLAIN_LOOKUPS = frozenset({"exact", "iexact", "in", "gt", "gte", "lt", "lte", "range", "isnull"})
PATTERN_LOOKUPS = frozenset(
    {"contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
)
NOT_FILTERS = frozenset({*IGNORED_PARAMS, PAGE_VAR, ERROR_FLAG})
MESSAGE_NAME_CHARS = 60


class RefusedListQuery(Exception):
    """A list query string the admin will not run; the message says why."""


def search_words(term: str) -> list[str]:
    """The words of a search as Django's admin splits them: quoted phrases stay whole, and
    a quote without its partner is an ordinary character."""
    words = []
    for bit in smart_split(term):
        if len(bit) >= 2 and bit[0] in "\"'" and bit[-1] == bit[0]:
            bit = unescape_string_literal(bit)
        if bit:
            words.append(bit)
    return words


def search_refusal(term: str) -> str | None:
    longest = settings.CATALOG_ADMIN_MAX_SEARCH_LENGTH
    most_words = settings.CATALOG_ADMIN_MAX_SEARCH_WORDS
    if "\x00" in term:
        return "The search holds a NUL character."
    if len(term) > longest:
        return f"Search for at most {longest:,} characters ({len(term):,} given)."
    count = len(search_words(term))
    if count > most_words:
        return f"Search for at most {most_words} words ({count} given)."
    return None


def resolve_lookup(model, lookup: str):
    """The field a lookup ends on and the parts after it, or (None, parts) when it names
    no field (then it is a list filter's own parameter)."""
    parts = lookup.split(LOOKUP_SEP)
    field = None
    for index, part in enumerate(parts):
        if field is not None and not field.is_relation:
            return field, parts[index:]
        opts = (field.related_model if field is not None else model)._meta
        try:
            field = opts.pk if part == "pk" else opts.get_field(part)
        except FieldDoesNotExist:
            return field, parts[index:]
    return field, []


def lookup_refusal(model, lookup: str) -> str | None:
    field, rest = resolve_lookup(model, lookup)
    if field is None:
        return None
    named = f"Filtering by {shorten(lookup)} is not allowed"
    if isinstance(field, JSONField) and rest != ["isnull"]:
        return f"{named}: {field.name} is a JSON field; use the filters beside the list."
    if len(rest) > 1 or (rest and rest[0] not in PLAIN_LOOKUPS | PATTERN_LOOKUPS):
        return (
            f"{named}: a link may compare, list, test for null or match plain text, "
            "but not run regular expressions, wildcard patterns or other functions."
        )
    return None


def value_refusal(name: str, value: str) -> str | None:
    """Any query-string value: no NUL, at most the filter budget; a substring match at
    most the search budget, as a search term."""
    longest = settings.CATALOG_ADMIN_MAX_FILTER_LENGTH
    if "\x00" in name or "\x00" in value:
        return f"The filter {shorten(name)} holds a NUL character."
    if len(name) > longest:
        return f"A filter name is longer than {longest:,} characters."
    if name.rpartition(LOOKUP_SEP)[2] in PATTERN_LOOKUPS:
        longest = settings.CATALOG_ADMIN_MAX_SEARCH_LENGTH
    if len(value) > longest:
        given = f"{len(value):,} given"
        return f"The filter {shorten(name)} takes at most {longest:,} characters ({given})."
    return None


def list_query_refusal(model, query) -> str | None:
    """Why the admin would not run this list query string (a QueryDict), or None."""
    for term in query.getlist(SEARCH_VAR):
        if refusal := search_refusal(term):
            return refusal
    for name, values in query.lists():
        if name in NOT_FILTERS:
            continue
        refusal = lookup_refusal(model, name) or next(
            filter(None, (value_refusal(name, value) for value in values)), None
        )
        if refusal:
            return refusal
    return None


def error_text(error: Exception) -> str:
    cause = error.__cause__ or error.__context__ or error
    if isinstance(error, ValidationError) or isinstance(cause, ValidationError):
        invalid = error if isinstance(error, ValidationError) else cause
        return " ".join(invalid.messages)
    return str(cause.args[0]) if cause.args else type(cause).__name__


def shorten(text: str) -> str:
    return Truncator(text).chars(MESSAGE_NAME_CHARS)


class ListQueryGuard:
    """Mixed into a ModelAdmin: the list's query string is checked before it runs."""

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if lookup_refusal(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(self, request, queryset, search_term):
        # The autocomplete view searches here too; it has no page to show a message on.
        if search_refusal(search_term):
            return queryset.none(), False
        return self.search(request, queryset, search_term)

    def search(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, search_term)

    def get_changelist_instance(self, request):
        if refusal := list_query_refusal(self.model, request.GET):
            raise RefusedListQuery(refusal)
        try:
            return super().get_changelist_instance(request)
        except IncorrectLookupParameters as error:
            if set(request.GET) <= {ERROR_FLAG}:
                raise  # the bare list fails: Django's own "database error" page
            raise RefusedListQuery(unfit_filters(request.GET, error)) from error
        # A list filter's own parameter of the wrong type, or a lookup this database lacks
        # (refused before any SQL is sent).
        except (ValueError, ValidationError, NotSupportedError) as error:
            raise RefusedListQuery(unfit_filters(request.GET, error)) from error

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except RefusedListQuery as refusal:
            self.message_user(request, f"{refusal} The list is shown unfiltered.", messages.ERROR)
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")


def unfit_filters(query, error: Exception) -> str:
    names = ", ".join(shorten(name) for name in query if name not in NOT_FILTERS)
    return Truncator(f"This list cannot be filtered by {names}: {error_text(error)}").chars(300)


class GuardedAdmin(RecordedWrites, ListQueryGuard, admin.ModelAdmin):
    """The base of every catalog ModelAdmin: its writes recorded in the change history,
    its list queries guarded."""


def guard_every_admin(site: admin.AdminSite) -> None:
    """Give the guard to the ModelAdmins other apps registered (users, groups, ...)."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, ListQueryGuard):
            continue
        unguarded = type(model_admin)
        guarded = type(f"Guarded{unguarded.__name__}", (ListQueryGuard, unguarded), {})
        site.unregister(model)
        site.register(model, guarded)
