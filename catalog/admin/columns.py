"""List columns bounded in bytes whatever a row holds: a few tags, each cut to a width,
then "+N"; long text cut to a width. A row of 100 tags of 255 characters costs what a row
of five short ones does."""

from urllib.parse import quote

from django.conf import settings
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

TEXT_WIDTH = 120
# Two names and a separator, whole.
TOOLTIP_WIDTH = 520


def clipped(text: str, width: int | None = None) -> str:
    return Truncator(text).chars(width or settings.CATALOG_ADMIN_TAG_WIDTH)


def tag_query(tag: str) -> str:
    """`tag=<tag>` as an IRI: ASCII is percent-encoded, other characters stay as they are
    (the browser encodes them when it follows the link), so a tag's link costs at most four
    bytes a character rather than twelve."""
    return "tag=" + "".join(char if ord(char) > 127 else quote(char, safe="") for char in tag)


def more_count(total: int, shown: int) -> str:
    hidden = total - shown
    if hidden <= 0:
        return mark_safe("")
    return format_html(' <span class="more-tags" title="{} more">+{}</span>', hidden, hidden)


def tag_links(tags: list[str]) -> str:
    """The first tags as links to the list filtered by that tag, then "+N"."""
    shown = tags[: settings.CATALOG_ADMIN_TAGS_SHOWN]
    links = format_html_join(
        " ",
        '<a class="tag" href="?{}">{}</a>',
        ((tag_query(str(tag)), clipped(str(tag))) for tag in shown),
    )
    return links + more_count(len(tags), len(shown))


def tag_texts(tags: list[str]) -> str:
    """The first tags as text, then "+N"."""
    shown = tags[: settings.CATALOG_ADMIN_TAGS_SHOWN]
    texts = format_html_join(
        " ", '<span class="tag">{}</span>', ((clipped(str(tag)),) for tag in shown)
    )
    return texts + more_count(len(tags), len(shown))


def clip_cell(text: str, kind: str, title: str | None = None, width: int = TOOLTIP_WIDTH) -> str:
    """Text cut by the page's width for its column (`.clip-<kind>` in deployment_list.css),
    the whole text in its tooltip; both bounded in bytes (a name, at most 255 characters,
    or a pool and queue name, stays whole)."""
    return format_html(
        '<span class="clip clip-{}" title="{}">{}</span>',
        kind,
        clipped(title or text, TOOLTIP_WIDTH),
        clipped(text, width),
    )


def state_badge(paused: bool) -> str:
    """Paused or running as a word on a colour, not Django's tick and cross: a green
    tick for "paused" read as "all is well"."""
    state = "paused" if paused else "running"
    return format_html('<span class="state-badge state-{}">{}</span>', state, state)


def tag_cell(tags: list[str]) -> str:
    """The tag links, cut to the column's width; the shown tags in the tooltip."""
    shown = [clipped(str(tag)) for tag in tags[: settings.CATALOG_ADMIN_TAGS_SHOWN]]
    hidden = len(tags) - len(shown)
    title = ", ".join(shown) + (f" and {hidden} more" if hidden > 0 else "")
    return format_html('<span class="clip clip-tags" title="{}">{}</span>', title, tag_links(tags))
