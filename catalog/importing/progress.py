"""How a long import shows its progress: a bar on a terminal, a line every few seconds
otherwise."""

import sys
import time
from collections.abc import Callable

Progress = Callable[[int, int], None]


def progress_printer(stream=None, every_seconds: float = 2.0) -> Progress:
    """A bar on a terminal, a line every few seconds otherwise."""
    stream = stream or sys.stderr
    last = [0.0]

    def show(done: int, total: int) -> None:
        if stream.isatty():
            width = 30
            filled = int(width * done / max(total, 1))
            stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done == total:
                stream.write("\n")
        elif time.monotonic() - last[0] >= every_seconds or done == total:
            stream.write(f"checked {done}/{total} deployments\n")
            last[0] = time.monotonic()
        stream.flush()

    return show
