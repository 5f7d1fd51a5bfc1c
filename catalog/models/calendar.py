"""Run minutes of schedule definitions over calendar windows, shared by every process.

The fleet calendar expands each distinct schedule definition once per window and keeps the
result here, so a new process (or the first page after an import) reads what another one
found. Rows are derived data: deleting any of them only costs a recomputation.
"""

from django.db import models
from django.utils import timezone


class CalendarExpansion(models.Model):
    # A digest of the definition and the window (`catalog.admin.calendar_data.cache_key`).
    key = models.CharField(max_length=64, primary_key=True)
    # When it was stored: rows stored long ago are deleted as new ones come.
    stored = models.DateTimeField(default=timezone.now, db_index=True)
    # The packed minutes (`fleet_calendar.packed`); null when too costly to compute.
    minutes = models.BinaryField(null=True)

    class Meta:
        verbose_name = "calendar expansion"

    def __str__(self) -> str:
        return self.key
