"""A schedule in one line for people, as the admin's lists show it."""

from catalog.rules.schedules import CronSchedule, IntervalSchedule, Schedule, zone


def describe(schedule: Schedule) -> str:
    """A one-line summary for people: "every 1 h from 09:00 America/New_York",
    "cron 30 9 1-7 * 1 (America/New_York, day_or off)", "rrule weekly MO,WE,FR 09:30
    (Europe/Paris)". Every summary names its zone: a time means nothing without one."""
    if isinstance(schedule, IntervalSchedule):
        anchor = schedule.anchor_date.astimezone(zone(schedule.timezone))
        return (
            f"every {describe_seconds(schedule.interval)} from {anchor:%H:%M} "
            f"{schedule.timezone or 'UTC'}"
        )
    if isinstance(schedule, CronSchedule):
        notes = [schedule.timezone or "UTC"] + ([] if schedule.day_or else ["day_or off"])
        return f"cron {schedule.cron} ({', '.join(notes)})"
    return f"{describe_rrule(schedule.rrule)} ({rrule_zone(schedule)})"


def rrule_zone(schedule) -> str:
    """The zone an rrule runs in: its own `timezone`, else its DTSTART's TZID, else UTC,
    as Prefect reads it."""
    if schedule.timezone:
        return schedule.timezone
    for line in schedule.rrule.splitlines():
        head, _, _ = line.partition(":")
        for part in head.split(";")[1:]:
            name, _, value = part.partition("=")
            if name.upper() == "TZID" and value:
                return value
    return "UTC"


def describe_seconds(seconds: float) -> str:
    parts, remainder = [], seconds
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        count, remainder = divmod(remainder, size)
        if count:
            parts.append(f"{int(count)} {unit}")
    if remainder or not parts:
        parts.append(f"{remainder:g} s")
    return " ".join(parts)


def describe_rrule(text: str) -> str:
    rule_line = next(
        (line for line in text.splitlines() if "FREQ=" in line.upper()), text.splitlines()[-1]
    )
    fields = dict(part.split("=", 1) for part in rule_line.split(":")[-1].split(";") if "=" in part)
    words = ["rrule", fields.get("FREQ", "custom").lower()]
    if fields.get("INTERVAL", "1") != "1":
        words.append(f"every {fields['INTERVAL']}")
    if "BYDAY" in fields:
        words.append(fields["BYDAY"])
    if "BYHOUR" in fields:
        hours = fields["BYHOUR"].split(",")
        minute = fields.get("BYMINUTE", "0").split(",")[0]
        words.append(",".join(f"{int(hour):02d}:{int(minute):02d}" for hour in hours))
    if "COUNT" in fields:
        words.append(f"x{fields['COUNT']}")
    return " ".join(words)
