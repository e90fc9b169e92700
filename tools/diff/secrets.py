"""What the diff must never print: secret values, marked or embedded, in any encoding.

Two layers. Values under the engine's secret marker (`tools.wire`) are wrapped in `Secret`: they
compare by their plaintext (so a rotation is seen) and always display as `[secret]`. And every
secret value either side knows (marked values, generated passwords, secret outputs, the parts of
`NAME=value` and of URLs with a password) is scrubbed from every string the diff writes, raw or
encoded (URL-quoted, JSON-escaped, base64), so a secret the program forgot to mark, or one
embedded in a larger value (the password inside DATABASE_URL), is still never shown.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

from tools.offline import Evaluation
from tools.wire import SECRET_SIG, SIG_KEY

MASK = "[secret]"
MIN_TOKEN = 4
"""Shorter secret values are not searched for in other text (they would mask ordinary words);
marked values are masked whatever their length."""


@dataclass(frozen=True)
class Secret:
    """A value under a secret marker: equal when the plaintext is, shown as `[secret]`."""

    plain: Any

    def __repr__(self) -> str:
        return MASK

    def __str__(self) -> str:
        return MASK

    def __hash__(self) -> int:
        return hash(json.dumps(self.plain, sort_keys=True, default=str))


def _is_marked(wire: Any) -> bool:
    return isinstance(wire, dict) and wire.get(SIG_KEY) == SECRET_SIG


def _holds_secret(wire: Any) -> bool:
    if _is_marked(wire):
        return True
    if isinstance(wire, dict):
        return any(_holds_secret(v) for v in wire.values())
    if isinstance(wire, list):
        return any(_holds_secret(v) for v in wire)
    return False


def mark(plain: Any, wire: Any) -> Any:
    """`plain` with every part that `wire` marks secret wrapped in `Secret`.

    When the two shapes differ (the provider's read-back reorders ports, adds defaults), a part
    whose wire form holds any secret is wrapped whole: masking too much is safe, too little is not.
    """
    if _is_marked(wire):
        return Secret(plain)
    if isinstance(plain, dict) and isinstance(wire, dict):
        return {k: mark(v, wire.get(k)) for k, v in plain.items()}
    if isinstance(plain, list) and isinstance(wire, list) and len(plain) == len(wire):
        return [mark(p, w) for p, w in zip(plain, wire, strict=True)]
    return Secret(plain) if _holds_secret(wire) else plain


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _parts(text: str) -> set[str]:
    """The text, and the pieces of it that are secret on their own (a NAME=value's value, a URL's password)."""
    out = {text, text.strip()}
    if "=" in text:
        out |= _parts(text.split("=", 1)[1])
    if "://" in text:
        try:
            password = urlsplit(text.strip()).password
        except ValueError:
            password = None
        if password:
            out |= {password, unquote(password)}
    return out


def _marked_strings(wire: Any) -> Iterator[str]:
    if _is_marked(wire):
        yield from _strings(wire.get("value"))
    elif isinstance(wire, dict):
        for v in wire.values():
            yield from _marked_strings(v)
    elif isinstance(wire, list):
        for v in wire:
            yield from _marked_strings(v)


def secret_values(ev: Evaluation) -> set[str]:
    """Every secret value an evaluation holds: marked inputs, generated passwords, secret outputs."""
    found: set[str] = set()
    for r in ev.resources:
        found.update(_marked_strings(r.wire_json))
        if r.type == "random:index/randomPassword:RandomPassword":
            found.update(_strings({k: r.outputs.get(k) for k in ("result", "bcryptHash")}))
        for key in r.additional_secret_outputs:
            found.update(_strings(r.outputs.get(key)))
    for name in ev.secret_outputs:
        found.update(_strings(ev.outputs.get(name)))
    return {part for text in found for part in _parts(text)}


def _encodings(token: str) -> Iterator[str]:
    yield token
    yield quote(token, safe="")
    yield quote_plus(token)
    yield json.dumps(token)[1:-1]
    yield token.replace("|", "\\|")
    raw = token.encode()
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        yield encoded.decode().rstrip("=")


class Redactor:
    """Replaces every known secret value, in any of its encodings, with `[secret]`.

    As one regex alternation of every form, the longest first (at each position the longest form
    that matches there wins, so no value is half masked), without compiling that alternation: a
    secret may be a whole uploaded file (LiteLLM's config, a gate's HAProxy config), and `re`
    compiling tens of kilobytes of escaped alternatives cost `make diff` a fifth of a second on
    a four-host stack. A short regex finds where some form may start (its first
    `PREFIX` characters); there the forms are tried in the same order.
    """

    PREFIX = 12

    def __init__(self, values: Iterable[str]) -> None:
        tokens = {form for v in values if len(v) >= MIN_TOKEN for form in _encodings(v) if len(form) >= MIN_TOKEN}
        self._ordered = sorted(tokens, key=lambda t: (-len(t), t))  # the longest form first
        starts = sorted({t[: self.PREFIX] for t in self._ordered}, key=lambda t: (-len(t), t))
        self._starts = re.compile("|".join(map(re.escape, starts))) if starts else None

    def _at(self, text: str, i: int) -> str | None:
        """The first form, longest first, that matches `text` at `i` (every form matching there
        starts with a prefix the search found there)."""
        for token in self._ordered:
            if text.startswith(token, i):
                return token
        return None

    def text(self, text: str) -> str:
        if self._starts is None:
            return text
        out: list[str] = []
        done = i = 0
        while (m := self._starts.search(text, i)) is not None:
            token = self._at(text, m.start())
            if token is None:
                i = m.start() + 1
                continue
            out += [text[done : m.start()], MASK]
            done = i = m.start() + len(token)
        return text if not out else "".join(out) + text[done:]

    @classmethod
    def of(cls, *evaluations: Evaluation | None) -> Redactor:
        return cls(v for ev in evaluations if ev is not None for v in secret_values(ev))

    def json(self, value: Any) -> Any:
        """A JSON-able value with every string (keys too) scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.json(v) for v in value]
        return value
