"""Upcoming runs of deployment schedules over a window, their hot spots, and a timeline chart.

Pure functions, no ORM: the admin's "Upcoming runs" page loads the schedule rows and calls
these. Run times come from `catalog.rules.schedule_runs.next_runs`, so they follow the same rules
(DST included) as everywhere else in the catalog. Every time here is aware and in UTC.
"""

import heapq
import html
import math
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import islice
from operator import attrgetter

from catalog.rules.schedule_budget import DEFAULT_STEP_BUDGET, ScheduleBudgetExceeded, as_meter
from catalog.rules.schedule_runs import next_runs
from catalog.rules.schedules import Schedule

MAX_RUNS = 20_000
MAX_RUNS_PER_SCHEDULE = 5_000
HOT_SPOT_THRESHOLD = 3
MAX_ROWS = 40
MAX_HOT_SPOTS_DRAWN = 500
# `next_runs` is asked for a small first batch (a daily schedule needs 8 in a week), then
# for as many as the rest of the window holds at that pace: each call starts afresh.
FIRST_BATCH = 8
MAX_BATCH = 512


@dataclass(frozen=True)
class ScheduleEntry:
    """One active schedule of a deployment, as the page loads it."""

    deployment_id: uuid.UUID
    deployment_name: str
    flow_name: str
    schedule_slug: str
    schedule: Schedule


@dataclass(frozen=True)
class UpcomingRun:
    deployment_id: uuid.UUID
    deployment_name: str
    flow_name: str
    schedule_slug: str
    at: datetime


@dataclass(frozen=True)
class RunWindow:
    """The runs of a window, earliest first, and whether any cap cut some off."""

    runs: list[UpcomingRun]
    capped: bool
    cut_schedules: tuple[str, ...]
    # Schedules whose runs the step budget could not find (their runs before that stay).
    costly_schedules: tuple[str, ...] = ()


@dataclass(frozen=True)
class HotSpot:
    minute: datetime
    count: int
    deployment_names: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.count} runs at {format_minute(self.minute)}"


@dataclass(frozen=True)
class DeploymentSummary:
    deployment_id: uuid.UUID
    deployment_name: str
    flow_name: str
    schedules: int
    runs: int
    first_run: datetime | None


def format_minute(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def truncate_to_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


# Run times -----------------------------------------------------------------------------


def run_times_between(
    schedule: Schedule, start: datetime, end: datetime, budget: int = DEFAULT_STEP_BUDGET
) -> Iterator[datetime]:
    """Run times in [start, end), earliest first, in UTC, lazily, all found within
    `budget` steps (else `ScheduleBudgetExceeded`)."""
    after, batch, previous, meter = start, FIRST_BATCH, None, as_meter(budget)
    while True:
        times = sorted(next_runs(schedule, after, batch, meter))
        for at in times:
            if at >= end:
                return
            if previous is None or at > previous:
                previous = at
                yield at.astimezone(UTC)
        if len(times) < batch:
            return
        after, batch = times[-1] + timedelta(microseconds=1), _next_batch_size(times, end)


def _next_batch_size(times: list[datetime], end: datetime) -> int:
    """The runs left before `end` at the pace of `times`, plus one past it to stop on."""
    span = times[-1] - times[0]
    if span <= timedelta(0):
        return MAX_BATCH
    expected = (end - times[-1]) / span * (len(times) - 1)
    return max(FIRST_BATCH, min(MAX_BATCH, math.ceil(expected) + 2))


def entry_runs(
    entry: ScheduleEntry,
    start: datetime,
    end: datetime,
    budget: int = DEFAULT_STEP_BUDGET,
    on_too_costly: Callable[[], object] = lambda: None,
) -> Iterator[UpcomingRun]:
    try:
        for at in run_times_between(entry.schedule, start, end, budget):
            yield UpcomingRun(
                entry.deployment_id, entry.deployment_name, entry.flow_name, entry.schedule_slug, at
            )
    except ScheduleBudgetExceeded:
        on_too_costly()


def entry_label(entry: ScheduleEntry) -> str:
    return f"{entry.flow_name}/{entry.deployment_name} {entry.schedule_slug}"


def _at_most(
    runs: Iterator[UpcomingRun], limit: int, on_cut: Callable[[], object]
) -> Iterator[UpcomingRun]:
    for index, run in enumerate(runs):
        if index == limit:
            on_cut()
            return
        yield run


def collect_runs(
    entries: Iterable[ScheduleEntry],
    start: datetime,
    end: datetime,
    *,
    limit: int = MAX_RUNS,
    per_schedule: int = MAX_RUNS_PER_SCHEDULE,
    budget: int = DEFAULT_STEP_BUDGET,
) -> RunWindow:
    """The runs of every entry in [start, end), at most `per_schedule` per schedule and
    `limit` in all (the latest are dropped), earliest first; each schedule's found
    within `budget` steps, else cut short there and named in `costly_schedules`."""
    cut: list[str] = []
    costly: list[str] = []
    streams = [
        _at_most(
            entry_runs(entry, start, end, budget, partial(costly.append, entry_label(entry))),
            per_schedule,
            partial(cut.append, entry_label(entry)),
        )
        for entry in entries
    ]
    runs = list(islice(heapq.merge(*streams, key=attrgetter("at")), limit + 1))
    return RunWindow(runs[:limit], len(runs) > limit or bool(cut), tuple(cut), tuple(costly))


def runs_between(
    entries: Iterable[ScheduleEntry], start: datetime, end: datetime
) -> list[UpcomingRun]:
    """Every run of the entries in [start, end), earliest first, within the caps."""
    return collect_runs(entries, start, end).runs


# Hot spots and summaries --------------------------------------------------------------------


def hot_spots(runs: Iterable[UpcomingRun], threshold: int = HOT_SPOT_THRESHOLD) -> list[HotSpot]:
    """The minutes where at least `threshold` runs start, busiest first, then earliest."""
    names_by_minute: dict[datetime, list[str]] = defaultdict(list)
    for run in runs:
        names_by_minute[truncate_to_minute(run.at)].append(run.deployment_name)
    spots = [
        HotSpot(minute, len(names), tuple(sorted(set(names))))
        for minute, names in names_by_minute.items()
        if len(names) >= threshold
    ]
    return sorted(spots, key=lambda spot: (-spot.count, spot.minute))


def deployment_summaries(
    entries: Iterable[ScheduleEntry], runs: Iterable[UpcomingRun]
) -> list[DeploymentSummary]:
    """One line per deployment with schedules, busiest first, with its runs in the window."""
    schedules: dict[uuid.UUID, list[ScheduleEntry]] = defaultdict(list)
    for entry in entries:
        schedules[entry.deployment_id].append(entry)
    deployment_runs = _runs_by_deployment(runs)
    summaries = [
        _summary(deployment_entries, deployment_runs.get(deployment_id, []))
        for deployment_id, deployment_entries in schedules.items()
    ]
    return sorted(summaries, key=lambda line: (-line.runs, line.flow_name, line.deployment_name))


def _summary(entries: list[ScheduleEntry], runs: list[UpcomingRun]) -> DeploymentSummary:
    first = entries[0]
    first_run = min((run.at for run in runs), default=None)
    return DeploymentSummary(
        first.deployment_id,
        first.deployment_name,
        first.flow_name,
        len(entries),
        len(runs),
        first_run,
    )


def _runs_by_deployment(runs: Iterable[UpcomingRun]) -> dict[uuid.UUID, list[UpcomingRun]]:
    grouped: dict[uuid.UUID, list[UpcomingRun]] = defaultdict(list)
    for run in runs:
        grouped[run.deployment_id].append(run)
    return grouped


# The timeline chart ---------------------------------------------------------------------

WIDTH = 960
PLOT_LEFT = 220
PLOT_RIGHT = 944
AXIS_Y = 16
STRIP_TOP = 24
STRIP_HEIGHT = 14
ROWS_TOP = 46
ROW_HEIGHT = 16
TICK_HEIGHT = 10
LABEL_CHARACTERS = 32
RUN_COLOUR = "#417690"
HOT_COLOUR = "#d1342b"
GRID_COLOUR = "#c8ccd0"
# Characters XML 1.0 forbids even when escaped; names are user input.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class _Row:
    label: str
    runs: list[UpcomingRun]


@dataclass(frozen=True)
class _Frame:
    start: datetime
    end: datetime
    bottom: int

    def x(self, moment: datetime) -> float:
        share = (moment - self.start) / (self.end - self.start)
        return PLOT_LEFT + share * (PLOT_RIGHT - PLOT_LEFT)


def xml_text(value: object) -> str:
    """Text safe in XML and HTML content and in double- or single-quoted attributes."""
    return html.escape(_NOT_XML.sub("", str(value)), quote=True)


def timeline_svg(
    runs: Sequence[UpcomingRun], start: datetime, end: datetime, hot_spots: Sequence[HotSpot]
) -> str:
    """An accessible SVG timeline: day ticks, one row of run ticks per deployment (the
    `MAX_ROWS` busiest) and a top strip marking hot-spot minutes. All text is escaped."""
    rows, hidden = _rows(runs, MAX_ROWS)
    frame = _Frame(start, end, ROWS_TOP + max(len(rows), 1) * ROW_HEIGHT + 4)
    height = frame.bottom + (24 if hidden else 4)
    parts = [
        _svg_open(height),
        _svg_heading(runs, rows, hidden, frame, hot_spots),
        _svg_days(frame),
        _svg_hot_strip(frame, hot_spots[:MAX_HOT_SPOTS_DRAWN]),
        *(_svg_row(frame, index, row) for index, row in enumerate(rows)),
        _svg_footer(rows, hidden, frame),
        "</g></svg>",
    ]
    return "\n".join(part for part in parts if part)


def _rows(runs: Iterable[UpcomingRun], limit: int) -> tuple[list[_Row], int]:
    grouped = _runs_by_deployment(runs)
    rows = [
        _Row(f"{group[0].flow_name}/{group[0].deployment_name}", group)
        for group in grouped.values()
    ]
    rows.sort(key=lambda row: (-len(row.runs), row.label))
    return rows[:limit], max(len(rows) - limit, 0)


def _svg_open(height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="upcoming-timeline" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-labelledby="upcoming-timeline-title upcoming-timeline-desc">'
    )


def _svg_heading(
    runs: Sequence[UpcomingRun],
    rows: list[_Row],
    hidden: int,
    frame: _Frame,
    spots: Sequence[HotSpot],
) -> str:
    title = f"Upcoming runs from {format_minute(frame.start)} to {format_minute(frame.end)}"
    description = (
        f"{len(runs)} runs of {len(rows) + hidden} deployments, one row per deployment"
        f"{f' ({len(rows)} busiest shown)' if hidden else ''}; {len(spots)} hot-spot minutes "
        "where many runs start at once are marked in the top strip."
    )
    return (
        f'<title id="upcoming-timeline-title">{xml_text(title)}</title>\n'
        f'<desc id="upcoming-timeline-desc">{xml_text(description)}</desc>\n'
        '<g font-family="sans-serif" font-size="11" fill="currentColor">'
    )


def day_ticks(start: datetime, end: datetime) -> list[datetime]:
    """The UTC midnights in [start, end]."""
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if day < start:
        day += timedelta(days=1)
    ticks = []
    while day <= end:
        ticks.append(day)
        day += timedelta(days=1)
    return ticks


def _svg_days(frame: _Frame) -> str:
    lines = [
        f'<rect x="{PLOT_LEFT}" y="{STRIP_TOP}" width="{PLOT_RIGHT - PLOT_LEFT}" '
        f'height="{frame.bottom - STRIP_TOP}" fill="none" stroke="{GRID_COLOUR}"/>'
    ]
    for day in day_ticks(frame.start, frame.end):
        x = frame.x(day)
        lines.append(
            f'<line x1="{x:.1f}" y1="{AXIS_Y + 2}" x2="{x:.1f}" y2="{frame.bottom}" '
            f'stroke="{GRID_COLOUR}"/>'
        )
        if x < PLOT_RIGHT - 40:
            lines.append(f'<text x="{x + 3:.1f}" y="{AXIS_Y}">{xml_text(f"{day:%a %d %b}")}</text>')
    return "\n".join(lines)


def _svg_hot_strip(frame: _Frame, spots: Sequence[HotSpot]) -> str:
    if not spots:
        return ""
    marks = [_svg_hot_spot(frame, spot) for spot in spots]
    label = f'<text x="{PLOT_LEFT - 6}" y="{STRIP_TOP + 11}" text-anchor="end">Hot spots</text>'
    return "\n".join([label, '<g class="hot-spots">', *marks, "</g>"])


def _svg_hot_spot(frame: _Frame, spot: HotSpot) -> str:
    """A mark in the strip and a faint line down through the rows, one tooltip for both."""
    x = frame.x(spot.minute)
    return (
        f"<g><title>{xml_text(_hot_spot_tooltip(spot))}</title>"
        f'<rect x="{x - 1.5:.1f}" y="{STRIP_TOP}" width="3" height="{STRIP_HEIGHT}" '
        f'fill="{HOT_COLOUR}"/>'
        f'<line x1="{x:.1f}" y1="{STRIP_TOP + STRIP_HEIGHT}" x2="{x:.1f}" y2="{frame.bottom}" '
        f'stroke="{HOT_COLOUR}" stroke-opacity="0.25"/></g>'
    )


def _hot_spot_tooltip(spot: HotSpot) -> str:
    names = ", ".join(spot.deployment_names[:10])
    more = f" and {len(spot.deployment_names) - 10} more" if len(spot.deployment_names) > 10 else ""
    return f"{spot.label}: {names}{more}"


def _svg_row(frame: _Frame, index: int, row: _Row) -> str:
    top = ROWS_TOP + index * ROW_HEIGHT
    tick_top = top + (ROW_HEIGHT - TICK_HEIGHT) / 2
    # Runs closer than half a pixel share one tick, so a busy row stays a short path.
    xs = sorted({round(frame.x(run.at) * 2) / 2 for run in row.runs})
    path = "".join(f"M{x:.1f} {tick_top:.1f}v{TICK_HEIGHT}" for x in xs)
    return (
        f'<g class="row"><title>{xml_text(f"{row.label}: {len(row.runs)} runs")}</title>'
        f'<text x="{PLOT_LEFT - 6}" y="{top + 12}" text-anchor="end">'
        f"{xml_text(_short(row.label))}</text>"
        f'<path d="{path}" stroke="{RUN_COLOUR}" stroke-width="1"/></g>'
    )


def _short(label: str) -> str:
    if len(label) <= LABEL_CHARACTERS:
        return label
    return label[: LABEL_CHARACTERS - 1] + "…"


def _svg_footer(rows: list[_Row], hidden: int, frame: _Frame) -> str:
    if not rows:
        return f'<text x="{PLOT_LEFT + 8}" y="{ROWS_TOP + 12}">No runs in this window.</text>'
    if not hidden:
        return ""
    return (
        f'<text x="{PLOT_LEFT - 6}" y="{frame.bottom + 16}" text-anchor="end">'
        f"+{hidden} more deployments</text>"
    )
