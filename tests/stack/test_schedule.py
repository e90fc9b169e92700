"""The backup schedule in busybox crond's dialect (stack/settings/cron.py).

Oracles: cronsim (a Debian-cron implementation from PyPI) for the next run wherever busybox and
Debian agree, and hand-written expectations, read off busybox miscutils/crond.c (371fe9f), where
they differ.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from cronsim import CronSim

from stack.settings import cron

NOW = datetime(2026, 12, 6, 10, 21, tzinfo=UTC)


def _random_line(rng: random.Random) -> str:
    """Lines both dialects read alike: no wrapping range, no `a/n`, no day-of-month step from *."""

    def field(low: int, high: int, star_step: bool = True) -> str:
        kind = rng.choice(["*", "n", "list", "range", "step"] + (["star-step"] if star_step else []))
        if kind == "*":
            return "*"
        if kind == "n":
            return str(rng.randint(low, high))
        if kind == "list":
            return ",".join(str(v) for v in sorted(rng.sample(range(low, high + 1), 2)))
        a = rng.randint(low, high - 1)
        b = rng.randint(a + 1, high)
        if kind == "range":
            return f"{a}-{b}"
        if kind == "step":
            return f"{a}-{b}/{rng.randint(1, 4)}"
        return f"*/{rng.randint(1, 5)}"

    day, weekday = field(1, 28, star_step=False), field(0, 6, star_step=False)
    if day != "*" and len(cron.parse_field(cron.FIELDS[4], weekday)[0]) == 7:
        weekday = "*"  # a weekday field naming every day is where the dialects part (refused)
    return f"{field(0, 59)} {field(0, 23)} {day} {field(1, 12)} {weekday}"


def test_next_runs_agree_with_cronsim_where_the_dialects_agree() -> None:
    rng = random.Random(19)
    checked = 0
    for _ in range(300):
        line = _random_line(rng)
        schedule = cron.parse(line, NOW)
        when = NOW
        expected = CronSim(line, NOW)
        for _ in range(3):  # the next three runs, each after the one before
            got = schedule.next_run(when)
            want = next(expected)
            assert got == want, (line, got, want)
            when = got
        checked += 1
    assert checked == 300


@pytest.mark.parametrize(
    ("line", "runs"),
    [
        # Hand-written from crond.c: ParseField's fill loop wraps (n1 = (n1 + 1) % modvalue).
        ("0 22-2 * * *", ["2026-12-06 22:00", "2026-12-06 23:00", "2026-12-07 00:00", "2026-12-07 01:00"]),
        ("0 3 * * fri-mon", ["2026-12-07 03:00", "2026-12-11 03:00", "2026-12-12 03:00", "2026-12-13 03:00"]),
        # FixDayDow: both fields restricted → either matches (1 March 2027 is a Monday).
        ("0 3 1 3 mon", ["2027-03-01 03:00", "2027-03-08 03:00", "2027-03-15 03:00", "2027-03-22 03:00"]),
        # SpecAry: @weekly is 0 0 * * 0.
        ("@weekly", ["2026-12-13 00:00", "2026-12-20 00:00", "2026-12-27 00:00", "2027-01-03 00:00"]),
        ("0 3 29 2 *", ["2028-02-29 03:00", "2032-02-29 03:00", "2036-02-29 03:00", "2040-02-29 03:00"]),
    ],
)
def test_busybox_runs(line: str, runs: list[str]) -> None:
    schedule, when, got = cron.parse(line, NOW), NOW, []
    for _ in runs:
        nxt = schedule.next_run(when)
        assert nxt is not None
        got.append(f"{nxt:%Y-%m-%d %H:%M}")
        when = nxt
    assert got == runs


def test_a_leap_day_in_a_century_gap_is_still_found() -> None:
    # 2100 is no leap year: the next 29 February after 2096 is in 2104, eight years on.
    after = datetime(2096, 3, 1, tzinfo=UTC)
    assert cron.parse("0 3 29 2 *", after).next_run(after) == datetime(2104, 2, 29, 3, 0, tzinfo=UTC)


def test_the_line_crond_gets_has_single_spaces() -> None:
    assert cron.parse("  15\t 3  *  * *  ", NOW).line == "15 3 * * *"


@pytest.mark.parametrize(
    "line",
    ["60 3 * * *", "0 3 * * 7", "0 3 L * *", "0 3 * * 1#2", "5/15 * * * *", "@reboot", "0 3 15 * 0-6", "0 3 1 * */2"],
)
def test_lines_busybox_runs_differently_are_refused(line: str) -> None:
    with pytest.raises(cron.CronError):
        cron.parse(line, NOW)


def test_a_line_cronsim_refuses_is_refused() -> None:
    # `1-31/0`: a step of 0 (busybox: only the first day; cronsim: "Bad day-of-month").
    with pytest.raises(cron.CronError):
        cron.parse("0 3 1-31/0 * *", NOW)
    assert NOW + timedelta(days=1) > NOW
