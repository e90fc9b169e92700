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


# Go's time.ParseDuration (golang/go src/time/format.go, unchanged in substance since Go 1.15;
# read at go1.23): an optional sign, then one or more decimal numbers, each with an optional
# fraction and a unit; "0" alone needs no unit; the µ of "µs" may be U+00B5 or U+03BC.
_UNITS = {
    "ns": 1,
    "us": 10**3,
    "\u00b5s": 10**3,
    "\u03bcs": 10**3,
    "ms": 10**6,
    "s": NANO,
    "m": 60 * NANO,
    "h": 3600 * NANO,
}
_MAX = 1 << 63


class DurationError(ValueError):
    """Not a Go duration: the message is Go's own (`time: missing unit in duration "300"`)."""


def _leading_fraction(digits: str) -> tuple[int, float]:
    """Go's leadingFraction: digits are kept until the next one would overflow, then ignored."""
    x, scale = 0, 1.0
    for c in digits:
        if x > (_MAX - 1) // 10 or x * 10 + int(c) > _MAX:
            break
        x, scale = x * 10 + int(c), scale * 10
    return x, scale


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds: the grammar every Go program of the stack reads
    (Ollama's OLLAMA_KEEP_ALIVE, Traefik's periods, the provider's healthcheck and timeouts)."""
    orig, s, neg = text, text, False
    if s[:1] in ("-", "+"):
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise DurationError(f'time: invalid duration "{orig}"')
    total = 0
    while s:
        if not (s[0] == "." or (s[0].isascii() and s[0].isdigit())):
            raise DurationError(f'time: invalid duration "{orig}"')
        digits = re.match(r"[0-9]*", s).group()  # type: ignore[union-attr]  # always matches
        s = s[len(digits) :]
        whole = int(digits or "0")
        if whole > _MAX:
            raise DurationError(f'time: invalid duration "{orig}"')
        fraction = ""
        if s[:1] == ".":
            fraction = re.match(r"\.([0-9]*)", s).group(1)  # type: ignore[union-attr]
            s = s[1 + len(fraction) :]
        if not digits and not fraction:
            raise DurationError(f'time: invalid duration "{orig}"')
        unit = re.match(r"[^.0-9]*", s).group()  # type: ignore[union-attr]
        if not unit:
            raise DurationError(f'time: missing unit in duration "{orig}"')
        s = s[len(unit) :]
        if unit not in _UNITS:
            raise DurationError(f'time: unknown unit "{unit}" in duration "{orig}"')
        size = _UNITS[unit]
        if whole > _MAX // size:
            raise DurationError(f'time: invalid duration "{orig}"')
        value = whole * size
        f, scale = _leading_fraction(fraction)
        if f > 0:
            # float64 arithmetic, truncated by the uint64 conversion, as Go does.
            value += int(float(f) * (float(size) / scale))
            if value > _MAX:
                raise DurationError(f'time: invalid duration "{orig}"')
        total += value
        if total > _MAX:
            raise DurationError(f'time: invalid duration "{orig}"')
    if neg:
        return -total
    if total > _MAX - 1:
        raise DurationError(f'time: invalid duration "{orig}"')
    return total


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
