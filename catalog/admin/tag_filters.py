"""The deployment list filtered by several tags at once: `?tag=a&tag=b` keeps the
deployments with all of them, `&tag_match=any` those with any. Tags repeat the parameter
rather than share one comma list, since a tag may hold a comma; a single `?tag=x` (the
links in the list's tag column) is the one-tag case. At most
CATALOG_ADMIN_MAX_FILTER_TAGS tags; the lookups are jsonb's `?&` / `?|`, served by the GIN
index on `tags` (catalog/models/lookups.py)."""

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet

from catalog.admin.columns import clipped
from catalog.admin.filters import catalog_tags
from catalog.admin.guarded import shorten

TAG = "tag"
MATCH = "tag_match"
MATCHES = ("all", "any")


def chosen_tags(params: dict) -> list[str]:
    """The tags of the query string, each once, in the order given; more than the
    budget is refused (the list's guard shows the message)."""
    tags = list(dict.fromkeys(tag for tag in params.pop(TAG, []) if tag))
    most = settings.CATALOG_ADMIN_MAX_FILTER_TAGS
    if len(tags) > most:
        raise ValueError(f"filter by at most {most} tags at once ({len(tags)} given).")
    return tags


def chosen_match(params: dict) -> str:
    match = (params.pop(MATCH, None) or ["all"])[-1]
    if match not in MATCHES:
        raise ValueError(f"{MATCH} is all or any, not {shorten(match)!r}.")
    return match


def toggled(tags: list[str], tag: str) -> list[str] | None:
    """The tags with `tag` added, or taken away when it is there; None for none left."""
    changed = [other for other in tags if other != tag] if tag in tags else [*tags, tag]
    return changed or None


class TagsFilter(admin.ListFilter):
    title = "tag"
    template = "admin/catalog/deployment/tags_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.tags = chosen_tags(params)
        self.match = chosen_match(params)
        if self.tags:
            self.used_parameters = {TAG: self.tags, MATCH: self.match}
        offered = catalog_tags()
        # The tags offered (the most used), then those chosen but not offered.
        self.lookup_choices = [
            (tag, clipped(tag)) for tag in [*offered, *(t for t in self.tags if t not in offered)]
        ]

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [TAG, MATCH]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        return queryset.with_tags(self.tags, match=self.match) if self.tags else queryset

    def choices(self, changelist):
        """ "All", then "all"/"any" once a tag is chosen, then each tag as a link that adds
        it to the chosen tags or takes it away."""
        yield {
            "kind": "all",
            "selected": not self.tags,
            "query_string": changelist.get_query_string(remove=[TAG]),
            "display": "All",
        }
        if self.tags:
            yield from self.match_choices(changelist)
        for tag, shown in self.lookup_choices:
            yield {
                "kind": "tag",
                "selected": tag in self.tags,
                "query_string": changelist.get_query_string({TAG: toggled(self.tags, tag)}),
                "display": shown,
            }

    def match_choices(self, changelist):
        for match in MATCHES:
            yield {
                "kind": "match",
                "selected": match == self.match,
                "query_string": changelist.get_query_string({MATCH: match}),
                "display": f"match {match}",
            }
