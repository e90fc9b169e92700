"""Property-level changes: `old → new` for every changed input, lists and maps item by item.

Like `pulumi preview --diff`, but keyed the way a reviewer reads a container: env entries by
variable name, labels by key, uploads by file path (with a line count of the content change),
volumes by mount path, networks by name. Secret values (`secrets.Secret`) show as `[secret]`.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from tools.diff.secrets import MASK, Secret

Kind = Literal["~", "+", "-"]
AT_UP = "(regenerated at up)"
WIDTH = 160
"""Values longer than this are cut (after redaction, so a cut never reveals part of a secret)."""


@dataclass(frozen=True)
class Detail:
    prop: str
    """The top-level input (`envs`), which is what forces a replacement or not."""
    path: str
    """Where inside it: `envs[WEBUI_URL]`, `healthcheck.interval`, `uploads[/etc/x]`."""
    kind: Kind
    old: str | None
    new: str | None
    note: str = ""


def _env_key(item: Any) -> str:
    plain = item.plain if isinstance(item, Secret) else item
    return str(plain).split("=", 1)[0]


def _field(name: str) -> Callable[[Any], str]:
    def key(item: Any) -> str:
        plain = item.plain if isinstance(item, Secret) else item
        return str(plain.get(name)) if isinstance(plain, dict) else str(plain)

    return key


KEYED: dict[str, Callable[[Any], str]] = {
    "envs": _env_key,
    "labels": _field("label"),
    "uploads": _field("file"),
    "volumes": _field("containerPath"),
    "mounts": _field("target"),
    "networksAdvanced": _field("name"),
    "devices": _field("hostPath"),
    "hosts": _field("host"),
    "ulimits": _field("name"),
}
"""List inputs whose items have a name of their own, and how to read it."""


def _value_of(prop: str, item: Any) -> Any:
    """What an item holds besides its key: an env entry's value, a label's value."""
    if prop == "envs":
        if isinstance(item, Secret):
            return Secret(str(item.plain).split("=", 1)[-1])
        return str(item).split("=", 1)[-1]
    if prop == "labels" and isinstance(item, dict):
        return item.get("value")
    return item


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def show(value: Any, redact: Callable[[str], str]) -> str:
    """One value for a reader: secrets masked, integral floats as integers, long values cut."""
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = _number(value)
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(_plain_for_show(value), sort_keys=True, ensure_ascii=False)
    text = redact(text)
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def _plain_for_show(value: Any) -> Any:
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, float) and value == int(value):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain_for_show(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_for_show(v) for v in value]
    return value


def _holds(value: Any, tokens: frozenset[str]) -> bool:
    """Whether a value embeds any of `tokens` (the current values of secrets being regenerated)."""
    if not tokens:
        return False
    text = json.dumps(value.plain if isinstance(value, Secret) else value, default=str)
    return any(t in text for t in tokens)


def _upload_text(item: dict[str, Any]) -> str | Secret | None:
    content = item.get("content")
    if isinstance(content, Secret | str):
        return content
    encoded = item.get("contentBase64")
    if isinstance(encoded, Secret):
        return encoded
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


def _lines(text: str) -> list[str]:
    return text.splitlines()


def upload_summary(old: str, new: str) -> tuple[str, str, str]:
    """(old size, new size, what changed) in lines, e.g. ("96 lines", "97 lines", "+2 −1 lines")."""
    a, b = _lines(old), _lines(new)
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    return f"{len(a)} lines", f"{len(b)} lines", f"+{added} −{removed} lines"


def _upload(path: str, old: Any, new: Any, redact: Callable[[str], str], tokens: frozenset[str]) -> list[Detail]:
    out: list[Detail] = []
    old_d = old if isinstance(old, dict) else {}
    new_d = new if isinstance(new, dict) else {}
    a, b = _upload_text(old_d), _upload_text(new_d)
    if isinstance(a, Secret) or isinstance(b, Secret):
        if a != b or _holds(b, tokens):
            out.append(Detail("uploads", path, "~", MASK, MASK, AT_UP if a == b else ""))
    elif isinstance(a, str) and isinstance(b, str) and a != b:
        before, after, note = upload_summary(a, b)
        out.append(Detail("uploads", path, "~", before, after, note))
    elif a != b:
        out.append(Detail("uploads", path, "~", show(a, redact), show(b, redact)))
    for key in sorted((set(old_d) | set(new_d)) - {"file", "content", "contentBase64"}):
        out += walk("uploads", f"{path}.{key}", old_d.get(key), new_d.get(key), redact, tokens)
    return out


def _sized(prop: str, item: Any, redact: Callable[[str], str]) -> str:
    if prop == "uploads" and isinstance(item, dict):
        text = _upload_text(item)
        return MASK if isinstance(text, Secret) else f"{len(_lines(text))} lines" if text is not None else "?"
    return show(_value_of(prop, item), redact)


def _keyed(
    prop: str, old: list[Any], new: list[Any], redact: Callable[[str], str], tokens: frozenset[str]
) -> list[Detail]:
    key = KEYED[prop]
    a = {key(i): i for i in old}
    b = {key(i): i for i in new}
    out: list[Detail] = []
    for k in sorted(set(a) | set(b)):
        path = f"{prop}[{redact(k)}]"
        if k not in b:
            out.append(Detail(prop, path, "-", _sized(prop, a[k], redact), None))
        elif k not in a:
            out.append(Detail(prop, path, "+", None, _sized(prop, b[k], redact)))
        elif prop == "uploads":
            out += _upload(path, a[k], b[k], redact, tokens)
        else:
            out += walk(prop, path, _value_of(prop, a[k]), _value_of(prop, b[k]), redact, tokens)
    return out


def _port(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    ip = item.get("ip") or "0.0.0.0"
    host = f"[{ip}]" if ":" in str(ip) else str(ip)
    external = item.get("external", item.get("internal"))
    return f"{host}:{show(external, str)}→{show(item.get('internal'), str)}/{item.get('protocol', 'tcp')}"


def _item(prop: str, item: Any, redact: Callable[[str], str]) -> str:
    return _port(item) if prop == "ports" else show(item, redact)


def _sequence(prop: str, path: str, old: list[Any], new: list[Any], redact: Callable[[str], str]) -> list[Detail]:
    """Lists without names (command, ports, capabilities): by position where the lengths agree,
    else the items removed and added."""
    a = [_item(prop, i, redact) for i in old]
    b = [_item(prop, i, redact) for i in new]
    out: list[Detail] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:
            out += [Detail(prop, f"{path}[{i1 + n}]", "~", a[i1 + n], b[j1 + n]) for n in range(i2 - i1)]
            continue
        if tag in ("replace", "delete"):
            out += [Detail(prop, f"{path}[{i}]", "-", a[i], None) for i in range(i1, i2)]
        if tag in ("replace", "insert"):
            out += [Detail(prop, f"{path}[{j}]", "+", None, b[j]) for j in range(j1, j2)]
    return out


def walk(
    prop: str,
    path: str,
    old: Any,
    new: Any,
    redact: Callable[[str], str],
    tokens: frozenset[str] = frozenset(),
) -> list[Detail]:
    """Every difference between `old` and `new` under `path`; None is "not set"."""
    if old == new:
        if new is not None and _holds(new, tokens):  # same text today, a new secret at `up`
            return [Detail(prop, path, "~", show(old, redact), show(new, redact), AT_UP)]
        return []
    if old is None:
        return [Detail(prop, path, "+", None, show(new, redact))]
    if new is None:
        return [Detail(prop, path, "-", show(old, redact), None)]
    if isinstance(old, Secret) or isinstance(new, Secret):
        return [Detail(prop, path, "~", show(old, redact), show(new, redact))]
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[Detail] = []
        for k in sorted(set(old) | set(new)):
            out += walk(prop, f"{path}.{k}", old.get(k), new.get(k), redact, tokens)
        return out
    if isinstance(old, list) and isinstance(new, list):
        if path == prop and prop in KEYED:
            return _keyed(prop, old, new, redact, tokens)
        return _sequence(prop, path, old, new, redact)
    return [Detail(prop, path, "~", show(old, redact), show(new, redact))]


def details(
    properties: Iterable[str],
    old: dict[str, Any],
    new: dict[str, Any],
    redact: Callable[[str], str],
    tokens: frozenset[str] = frozenset(),
) -> list[Detail]:
    """The changes of each named top-level property, in the order given."""
    out: list[Detail] = []
    for prop in properties:
        found = walk(prop, prop, old.get(prop), new.get(prop), redact, tokens)
        # A change that only the engine sees (e.g. a value it will know after `up`): say so.
        out += found or [Detail(prop, prop, "~", show(old.get(prop), redact), show(new.get(prop), redact))]
    return out
