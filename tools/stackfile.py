"""Stack files as the language host hands them to the program, and as Settings.

A stack file is read the way the Pulumi CLI reads it (YAML 1.2 scalars: `no` and `on` are
strings, `1:30` is not a number) and checked for what the CLI would accept but deploy
differently from what it says: duplicate keys, settings outside `config:`, and plain-text
values beside encrypted ones under a secret key.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from stack.settings import NAMESPACE, SECRET_KEYS, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
PROJECT = NAMESPACE
SECRET_PLACEHOLDER = "offline-placeholder-secret"
STACK_FILE_KEYS = ("config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt")
"""Every top-level key of a Pulumi stack file (`ProjectStack` in the CLI); anything else is ignored by it."""

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_DROPPED = {_BOOL, _INT, _FLOAT, "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}


class StackFileError(Exception):
    """A stack file that cannot be read as it says (missing, not YAML, wrong shape)."""


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # yaml has no stubs here
    """YAML 1.2 core-schema scalars, as the Go YAML library of the Pulumi CLI resolves them."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _flatten_mapping(self: _Loader, node: yaml.MappingNode) -> None:
    """Merge keys as yaml.v3 reads them (go-yaml decode.go mapping/merge at v3.0.1, f6f7691): the
    mapping's own keys win wherever `<<` stands, then the first of the merged mappings; only the
    last `<<` of a mapping counts. (PyYAML lets the last merged mapping win.)"""
    own: list[tuple[yaml.Node, yaml.Node]] = []
    sources: list[yaml.MappingNode] = []
    for key_node, value_node in node.value:
        if key_node.tag != "tag:yaml.org,2002:merge":
            own.append((key_node, value_node))
            continue
        listed = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        if not all(isinstance(n, yaml.MappingNode) for n in listed):
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "expected a mapping or list of mappings for merging"
            )
        sources = listed
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for source in reversed(sources):  # construction keeps the last of equal keys: winners go last
        _flatten_mapping(self, source)
        pairs += source.value
    node.value = pairs + own


_Loader.flatten_mapping = _flatten_mapping


def _int(loader: _Loader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)


_Loader.add_constructor(_INT, _int)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _duplicates(node: yaml.Node, where: str = "") -> list[str]:
    """`line N: KEY appears twice` for every repeated key in any mapping of the document."""
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else repr(key.value)
            path = f"{where}.{name}" if where and where != "config" else name
            if name in seen:
                problems.append(
                    f"line {_line(key)}: {path} is set twice (first on line {seen[name]}); "
                    "YAML keeps only the last one, so delete one of them"
                )
            else:
                seen[name] = _line(key)
            problems += _duplicates(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicates(item, f"{where}[{i}]")
    return problems


def _leaves(value: Any, path: str) -> tuple[list[str], list[str]]:
    """(encrypted leaf paths, plain leaf paths) under `path`."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return [path], []
        secure: list[str] = []
        plain: list[str] = []
        for k, v in value.items():
            s, p = _leaves(v, f"{path}.{k}")
            secure += s
            plain += p
        return secure, plain
    if isinstance(value, list):
        secure, plain = [], []
        for i, v in enumerate(value):
            s, p = _leaves(v, f"{path}[{i}]")
            secure += s
            plain += p
        return secure, plain
    return [], [path]


def placeholder(ciphertext: Any) -> str:
    """The offline stand-in for an encrypted value: the same for the same ciphertext, so the offline
    diff sees a rotated secret (a new ciphertext) as a change, and never the value itself."""
    return f"{SECRET_PLACEHOLDER}-{hashlib.sha256(str(ciphertext).encode()).hexdigest()[:12]}"


def _strip_secure(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return placeholder(value["secure"])
        return {k: _strip_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secure(v) for v in value]
    return value


def _kind(doc: Any) -> str:
    return "a list" if isinstance(doc, list) else f"the single value {doc!r}"


def _read(name: str, text: str) -> tuple[dict[str, Any], list[str]]:
    """The document and its shape problems: duplicates, keys outside `config:`."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        # Duplicates are looked for before construction, which rewrites every mapping with a
        # merge key (`<<: *base`) to hold the merged keys too: an override is no duplicate.
        # Merging itself is yaml.v3's (decode.go merge, v3.0.1): the mapping's own keys win,
        # then the first of several merged mappings. PyYAML's flatten_mapping orders them so.
        problems = _duplicates(node) if node is not None else []
        doc = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        raise StackFileError(f"{name}: not valid YAML: {err}") from None
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]
    if doc is None:
        return {}, []
    if not isinstance(doc, dict):
        raise StackFileError(
            f"{name}: a stack file is a mapping with a `config:` section, such as\n"
            f"  config:\n    {NAMESPACE}:models:\n      - llama3.2:1b\n"
            f"but this one is {_kind(doc)}"
        )
    lines = {str(k.value): _line(k) for k, _ in node.value}
    for key in doc:
        key = str(key)
        if key in STACK_FILE_KEYS:
            continue
        if ":" in key or key in Settings.model_fields or key in {f.alias for f in Settings.model_fields.values()}:
            problems.append(
                f"line {lines.get(key, '?')}: {key} is outside `config:`, so Pulumi ignores it; "
                "indent it under `config:` by two spaces"
            )
        else:
            hint = difflib.get_close_matches(key.lower(), STACK_FILE_KEYS, n=1, cutoff=0.6)
            problems.append(
                f"line {lines.get(key, '?')}: {key} is not a stack-file key"
                + (f" (did you mean {hint[0]}?)" if hint else "")
                + f"; a stack file holds only {', '.join(STACK_FILE_KEYS)}"
            )
    return doc, problems


def stack_config(stack: str, root: Path = ROOT, text: str | None = None) -> tuple[dict[str, str], list[str]]:
    """`read_config`, refusing a file with any shape problem (StackFileError lists them all)."""
    config, secret_keys, problems = read_config(stack, root, text)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise StackFileError(
            f"Pulumi.{stack}.yaml (stack {stack!r}) is not a stack file Pulumi reads as written:\n{lines}"
        )
    return config, secret_keys


def read_config(stack: str, root: Path = ROOT, text: str | None = None) -> tuple[dict[str, str], list[str], list[str]]:
    """Config as the language host hands it to the program: strings, JSON for structures.

    Encrypted (`secure:`) values cannot be read offline; they become a placeholder that is
    marked secret, so everything downstream still treats them as secrets. An encrypted
    `providerKeys` object stands for one key per `apiKeyEnv` the stack's providers name, and an
    encrypted `alertReceiverSecrets` object for one secret per receiver (their real names are
    checked when `pulumi preview` decrypts them).
    """
    path = root / f"Pulumi.{stack}.yaml"
    if text is None:
        if not path.exists():
            raise StackFileError(f"{path.name}: no such stack file in {root}")
        text = path.read_text()
    config, secret_keys, problems = _config_of(path.name, text)
    return dict(config), list(secret_keys), list(problems)


@functools.lru_cache(maxsize=8)
def _config_of(name: str, text: str) -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """`read_config` of one file's text, read once per process: the gate checks the settings and
    then runs the program on the same file (callers get copies)."""
    doc, problems = _read(name, text)
    raw = doc.get("config")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(f"`config` must be a mapping of keys to values, such as `{NAMESPACE}:profile: laptop`")
        raw = {}
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        key = str(key)
        if ":" not in key:
            key = f"{PROJECT}:{key}"
        secure, plain = _leaves(value, key)
        if secure and key.removeprefix(f"{NAMESPACE}:") in SECRET_KEYS:
            problems += [
                f"{leaf} is plain text beside encrypted values; encrypt it with "
                f"`pulumi config set --secret --path '{leaf}' <value>`"
                for leaf in plain
            ]
        if secure:
            secret_keys.append(key)
            if isinstance(value, dict) and set(value) == {"secure"} and key == f"{NAMESPACE}:providerKeys":
                value = {name: placeholder(f"{value['secure']}/{name}") for name in _api_key_envs(raw)}
            elif isinstance(value, dict) and set(value) == {"secure"} and key == f"{NAMESPACE}:alertReceiverSecrets":
                value = {name: placeholder(f"{value['secure']}/{name}") for name in _receiver_names(raw)}
            else:
                value = _strip_secure(value)
        if isinstance(value, (dict, list)):
            config[key] = json.dumps(value)
        elif isinstance(value, bool):
            config[key] = "true" if value else "false"
        else:
            config[key] = "" if value is None else str(value)
    return config, tuple(secret_keys), tuple(problems)


def _receiver_names(raw: dict[Any, Any]) -> list[str]:
    monitoring = raw.get(f"{NAMESPACE}:monitoring", raw.get("monitoring"))
    receivers = monitoring.get("receivers") if isinstance(monitoring, dict) else None
    if not isinstance(receivers, list):
        return []
    return sorted({str(r["name"]) for r in receivers if isinstance(r, dict) and "name" in r})


def _api_key_envs(raw: dict[Any, Any]) -> list[str]:
    providers = raw.get(f"{NAMESPACE}:providers", raw.get("providers"))
    if not isinstance(providers, list):
        return []
    return sorted({str(p["apiKeyEnv"]) for p in providers if isinstance(p, dict) and "apiKeyEnv" in p})


def stack_settings(stack: str, root: Path = ROOT, text: str | None = None) -> Settings:
    """The validated settings of a stack file (secret values are never read): every problem of
    the file and of its settings in one SettingsError (StackFileError when it is not YAML at all)."""
    config, secret_keys, problems = read_config(stack, root, text)
    return load_settings(config, stack, encrypted=secret_keys, file_problems=problems)
