"""Values in the exact form the Docker provider reads them back, so a second `up` sees no diff.

kreuzwerker/terraform-provider-docker v4.5.0 (the provider pulumi-docker 5.1 bundles) reads a
container back from the engine and stores what it reads; any difference from our input is a
diff, and `cpus` is ForceNew (as is the healthcheck, through our replace_on_changes).
These are ports of the upstream formatters, bug for bug.
"""

from __future__ import annotations

import re
from fractions import Fraction

NANO = 10**9


def _float_string(r: Fraction, prec: int) -> str:
    """Go's math/big Rat.FloatString: `prec` decimals, rounded half away from zero (r >= 0)."""
    q = r * 10**prec
    whole, rem = divmod(q.numerator, q.denominator)
    if 2 * rem >= q.denominator:
        whole += 1
    digits = str(whole).rjust(prec + 1, "0")
    return f"{digits[:-prec]}.{digits[-prec:]}" if prec else digits


def nano_cpus_string(nano: int) -> str:
    """internal/provider/helpers.go nanoInt64ToDecimalString (v4.5.0), as Read stores `cpus`.

    Upstream counts every '0' character of the 9-decimal form, the integer part included:
    2 CPUs read back as "2.0", but 10 as "10." and 0.05 as "0.1" (helpers_test.go only covers
    0, 1.0, 1.5, 2.0 and 2.25).
    """
    if nano == 0:
        return "0"
    r = Fraction(nano, NANO)
    s = _float_string(r, 9)
    if s.count("0") == 9:
        return _float_string(r, 1)
    return s.rstrip("0")


def parse_cpus(text: str) -> int:
    """docker/cli opts.ParseCPUs, which the provider calls on create: exact decimal × 1e9."""
    nano = Fraction(text) * NANO
    if nano.denominator != 1:
        raise ValueError(f"cpus {text!r} is more precise than a billionth of a CPU")
    return int(nano)


def cpus(value: float) -> str:
    """The `cpus` input for `value` CPUs: the provider's read-back form of it."""
    return nano_cpus_string(round(Fraction(str(value)) * NANO))


def cpus_round_trip(value: float) -> bool:
    """Whether `value` survives create and read unchanged (0.05 reads back as 0.1: it does not)."""
    return Fraction(parse_cpus(cpus(value)), NANO) == Fraction(str(value))


_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": NANO, "m": 60 * NANO, "h": 3600 * NANO}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration for the non-negative forms we write, in nanoseconds."""
    if text == "0":
        return 0
    parts = _PART.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ValueError(f"{text!r} is not a Go duration")
    return sum(int(Fraction(num) * _UNITS[unit]) for num, unit in parts)


def duration_string(nanos: int) -> str:
    """Go's time.Duration.String(), which the provider stores for every healthcheck duration
    (resource_docker_container_funcs.go, the healthcheck read: `Interval.String()`, …)."""
    if nanos == 0:
        return "0s"
    if nanos < NANO:
        for unit, size, prec in (("ms", 10**6, 6), ("µs", 10**3, 3), ("ns", 1, 0)):
            if nanos >= size or unit == "ns":
                whole, frac = divmod(nanos, size)
                tail = str(frac).rjust(prec, "0").rstrip("0") if prec else ""
                return f"{whole}{'.' + tail if tail else ''}{unit}"
    whole_s, frac = divmod(nanos, NANO)
    tail = str(frac).rjust(9, "0").rstrip("0")
    out = f"{whole_s % 60}{'.' + tail if tail else ''}s"
    minutes = whole_s // 60
    if minutes:
        out = f"{minutes % 60}m{out}"
        if minutes // 60:
            out = f"{minutes // 60}h{out}"
    return out


def duration(text: str) -> str:
    """A healthcheck duration in the form it reads back: "60s" → "1m0s", "15m" → "15m0s"."""
    return duration_string(parse_duration(text))
