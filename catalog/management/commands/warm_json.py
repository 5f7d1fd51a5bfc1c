"""`manage.py warm_json`: render and keep every deployment's API JSON that is not kept.

`migrate` clears every kept body (a release may render differently), so without this the
first read of each deployment after a release renders it. Run it after `migrate`; it is
safe beside live traffic and may be interrupted and run again."""

import time

from django.core.management.base import BaseCommand, CommandParser

from catalog.rendering.json_cache import WARM_BATCH, warm_bodies


class Command(BaseCommand):
    help = "Render and keep the API JSON of every deployment whose body is not kept."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=WARM_BATCH, help="deployments a batch")

    def handle(self, *args, batch: int, **options) -> None:
        if batch < 1:
            self.stderr.write("--batch must be at least 1")
            raise SystemExit(2)
        started, done = time.monotonic(), 0
        for done, total in warm_bodies(batch):
            self.stderr.write(progress_line(done, total, time.monotonic() - started))
        self.stdout.write(f"kept {done} deployment bodies")


def progress_line(done: int, total: int, seconds: float) -> str:
    rate = done / seconds if seconds > 0 else 0.0
    left = (total - done) / rate if rate else 0.0
    return f"{done}/{total} bodies kept, {rate:,.0f}/s, about {left:,.0f} s left"
