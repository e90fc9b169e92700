"""The backup schedule in busybox crond's own dialect, which is what runs it.

The scheduler is busybox crond in docker:27.5.1-cli (Alpine 3.21, busybox 1.37). Its parser
(mirror/busybox miscutils/crond.c at 371fe9f, unchanged in substance since 1_36_1) differs from
Vixie/Debian cron in ways that run a line at the wrong time or never, silently:

- a number out of range fills the whole field before the parse error (failsafe loop):
  `60 3 * * *` runs every minute of 03:00-03:59, day-of-week 7 runs every day;
- `L`, `W`, `?` are parse errors that leave the field empty (never runs), and `#` starts a
  comment (libbb/parse_config.c), so the line has too few fields and is dropped;
- `a/b` is `a` alone, not `a-max/b`; a range may wrap (`22-2` is 22,23,0,1,2);
- `@daily` and friends are matched case-sensitively, `@reboot` runs only when crond starts;
- day-of-month and day-of-week are ORed when both are restricted, as FixDayDow leaves them.

A line is checked twice: by busybox's rules (ported here, with the next run computed the way
crond matches minutes) and by cronsim, a well-kept parser of the Debian dialect, on the same
line with busybox's wrapping ranges spelled out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

# crond.c load_crontab SpecAry: the @-lines busybox knows (strcmp: lower case only).
SPECIAL = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class Field:
    name: str
    size: int
    """crond.c ParseField's modvalue: 60, 24, 32 (days 0-31), 12, 7."""
    offset: int
    """Added to each number (months are 1-12, stored 0-11)."""
    low: int
    high: int
    names: tuple[str, ...] = ()


FIELDS = (
    Field("minute", 60, 0, 0, 59),
    Field("hour", 24, 0, 0, 23),
    Field("day of month", 32, 0, 1, 31),
    Field("month", 12, -1, 1, 12, MONTHS),
    Field("day of week", 7, 0, 0, 6, DAYS),
)

_TERM = re.compile(r"^(?P<a>[0-9]+|[a-z]+|\*)(?:-(?P<b>[0-9]+|[a-z]+))?(?:/(?P<step>[0-9]+))?$", re.I)


class CronError(ValueError):
    pass


def _value(f: Field, token: str, term: str) -> int:
    where = "" if term == token else f" in {term!r}"
    if token.isdigit():
        n = int(token)
        if f.name == "day of week" and n == 7:
            raise CronError(
                f"day of week 7{where}: busybox crond counts 0-6 and reads 7 as out of range, "
                "which runs the job every day; write 0 for Sunday"
            )
        if n < f.low:
            raise CronError(f"{f.name} {n}{where} is outside {f.low}-{f.high}: busybox crond would never run the job")
        if n > f.high:
            raise CronError(
                f"{f.name} {n}{where} is outside {f.low}-{f.high}: busybox crond fills the whole "
                "field when a number is out of range, so the job would run at every one"
            )
        return n + f.offset
    if f.names and token.lower() in f.names:
        return f.names.index(token.lower())
    if f.names:
        hint = f"; write {token[:3].lower()!r}" if token[:3].lower() in f.names else ""
        raise CronError(f"{token!r}{where} is not a {f.name} name ({', '.join(f.names)}){hint}")
    raise CronError(f"{token!r}{where} is not a {f.name} (a number {f.low}-{f.high})")


def parse_field(f: Field, text: str) -> tuple[frozenset[int], str]:
    """The values busybox sets for one field (ParseField's array), and the field written for a
    Debian-dialect parser (wrapping ranges spelled out)."""
    for ch in "LW?#":
        if ch in text.upper() and not (f.names and re.search(r"[a-z]", text, re.I) and ch in "LW"):
            if ch == "#":
                raise CronError(
                    f"'#' in {text!r}: busybox crond reads '#' as the start of a comment and drops the line"
                )
            raise CronError(f"{ch!r} in {text!r}: busybox crond does not know {ch}, so the job would never run")
    values: set[int] = set()
    debian: list[str] = []
    for term in text.split(","):
        match = _TERM.match(term)
        if match is None:
            raise CronError(f"{term!r} is not a {f.name}: use a number, a range a-b, a step */n or a-b/n, or a list")
        a, b, step = match["a"], match["b"], match["step"]
        if a == "*" and b is not None:
            raise CronError(f"{term!r}: a range cannot start at '*'")
        if step is not None and int(step) == 0:
            raise CronError(f"{term!r}: a step of 0 runs only once, at the start of the range")
        if step is not None and a != "*" and b is None:
            raise CronError(
                f"{term!r}: busybox crond reads a/n as {a} alone (other crons as {a}-{f.high}/n); "
                f"write {a}-{f.high}/{step} or {a}"
            )
        if a == "*" and step is not None and int(step) > 1 and f.name == "day of month":
            raise CronError(
                f"{term!r}: busybox crond counts days of the month from 0, so */{step} runs on days "
                f"{step}, {2 * int(step)}, … (other crons: 1, {1 + int(step)}, …); write 1-31/{step} or "
                f"{step}-31/{step} to say which"
            )
        # '*' is crond.c's n1 = 0, n2 = modvalue - 1: day of month 0-31 (0 never matches).
        first = 0 if a == "*" else _value(f, a, term)
        last = f.size - 1 if a == "*" else _value(f, b, term) if b is not None else first
        every = int(step) if step is not None else 1
        run, n = [], first
        while True:  # crond.c ParseField's fill loop: ranges wrap around the field's size
            run.append(n)
            if n == last:
                break
            n = (n + 1) % f.size
        picked = run[::every]
        values.update(picked)
        wraps = a != "*" and b is not None and first > last
        debian.append(",".join(str(v - f.offset) for v in picked) if wraps else term)
    return frozenset(values), ",".join(debian)


@dataclass(frozen=True)
class Schedule:
    line: str
    """The line as crond gets it: one space between fields."""
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    """0-11."""
    weekdays: frozenset[int]
    debian: str
    """The same line for a Debian-dialect parser."""

    def matches_day(self, day: datetime) -> bool:
        if day.month - 1 not in self.months:
            return False
        # FixDayDow: a field that is fully set ('*', 0-31 for days) gives way to the other;
        # both restricted: OR (flag_starting_jobs: cl_Days[mday] || cl_Dow[wday]).
        days_used = len(self.days) < 32
        week_used = len(self.weekdays) < 7
        wday = (day.weekday() + 1) % 7
        if days_used and not week_used:
            return day.day in self.days
        if week_used and not days_used:
            return wday in self.weekdays
        return day.day in self.days or wday in self.weekdays

    def next_run(self, after: datetime) -> datetime | None:
        """The first minute after `after` (UTC) when crond starts the job; None if none within
        nine years (every date a line can name recurs within eight, 29 February included)."""
        start = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(9 * 366):
            if self.matches_day(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        when = day.replace(hour=hour, minute=minute)
                        if when >= start:
                            return when
            day += timedelta(days=1)
        return None


def parse(text: str, now: datetime | None = None) -> Schedule:
    """A schedule busybox crond runs as written, or CronError saying what it would do instead."""
    words = text.split()
    if len(words) == 1 and words[0].startswith("@"):
        if words[0] == "@reboot":
            raise CronError("@reboot runs only when the scheduler starts, not on a schedule: write e.g. @daily")
        if words[0] not in SPECIAL:
            known = ", ".join(SPECIAL)
            hint = " (busybox crond matches them in lower case only)" if words[0].lower() in SPECIAL else ""
            raise CronError(f"{words[0]!r} is not one of busybox crond's {known}{hint}")
        words = SPECIAL[words[0]].split()
    if len(words) != 5:
        raise CronError(
            f"a cron line has 5 fields (minute hour day-of-month month day-of-week) or is @daily; "
            f"{text.strip()!r} has {len(words)}"
        )
    parsed = [parse_field(f, w) for f, w in zip(FIELDS, words, strict=True)]
    (minutes, m), (hours, h), (days, d), (months, mo), (weekdays, wd) = parsed
    day_restricted = len(days) < 32
    if day_restricted and len(weekdays) == 7 and not words[4].startswith("*"):
        # FixDayDow sees a full weekday array as '*': busybox runs on the days of the month only,
        # where Debian's cron (a field not starting with '*' counts) runs on every day.
        raise CronError(
            f"day of week {words[4]!r} names every day, which busybox crond reads as '*' (only day of "
            f"month {words[2]!r} counts) and other crons as 'or any day': write * to say which"
        )
    if day_restricted and len(weekdays) < 7 and words[4].startswith("*"):
        # The other way round: busybox ORs the two restricted fields, Debian ANDs a field that
        # starts with '*'.
        raise CronError(
            f"day of week {words[4]!r} with day of month {words[2]!r}: busybox crond runs on either, other "
            "crons only on both; list the weekdays (e.g. 0,2,4,6) to say either, or drop one field"
        )
    schedule = Schedule(" ".join(words), minutes, hours, days, months, weekdays, f"{m} {h} {d} {mo} {wd}")
    when = now or datetime.now(UTC)
    if schedule.next_run(when) is None:
        raise CronError(f"{' '.join(words)!r} names no date that exists (e.g. 30 February): the job would never run")
    _debian_check(schedule.debian, when)
    return schedule


def _debian_check(line: str, now: datetime) -> None:
    from cronsim import CronSim, CronSimError  # cronsim 2.8: Debian cron's dialect, strict

    try:
        CronSim(line, now)
    except CronSimError as err:
        raise CronError(f"{line!r} is not a valid cron line ({err})") from None


def describe(schedule: Schedule, now: datetime | None = None) -> str:
    """`15 3 * * *` (busybox crond, UTC): next run 2026-12-07 03:15 UTC."""
    when = schedule.next_run(now or datetime.now(UTC))
    tail = f"next run {when:%Y-%m-%d %H:%M} UTC" if when else "never runs"
    return f"{schedule.line!r} (busybox crond, in the host's UTC): {tail}"
