"""How a long import shows its progress: a bar on a terminal, a line every few seconds
otherwise; each with the rate (deployments a second) and the time left at that rate."""

import sys
import time
from collections.abc import Callable

Progress = Callable[[int, int], None]


def progress_printer(stream=None, every_seconds: float = 2.0) -> Progress:
    """A bar on a terminal, a line every few seconds otherwise."""
    stream = stream or sys.stderr
    started = time.monotonic()
    last = [0.0]

    def show(done: int, total: int) -> None:
        pace = pace_text(done, total, time.monotonic() - started)
        if stream.isatty():
            width = 30
            filled = int(width * done / max(total, 1))
            stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {pace}")
            if done == total:
                stream.write("\n")
        elif time.monotonic() - last[0] >= every_seconds or done == total:
            stream.write(f"checked {done}/{total} deployments, {pace}\n")
            last[0] = time.monotonic()
        stream.flush()

    return show


def pace_text(done: int, total: int, seconds: float) -> str:
    """`1,234 deployments/s, 0:05:12 left` (the rate so far)."""
    rate = done / seconds if seconds > 0 else 0.0
    left = (total - done) / rate if rate > 0 else 0.0
    minutes, secs = divmod(int(left), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{rate:,.0f} deployments/s, {hours}:{minutes:02d}:{secs:02d} left"
