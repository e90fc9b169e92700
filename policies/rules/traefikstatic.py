"""Traefik's static configuration as the router container gives it: entry points and the
Docker provider's `exposedByDefault`, which decide what "a TLS entry point" means.

Traefik v3.7.9 cmd/traefik/traefik.go loads the static configuration from the first source
that has one: a file (pkg/cli/loader_file.go: `--configFile`, else /etc/traefik/traefik.{toml,
yaml,yml} and the other default paths), else the command-line flags, else `TRAEFIK_*`
environment variables. Flags are parsed by traefik/paerser flag/flagparser.go: `-x` or `--x`,
`=value` or the next argument, a bare bool or pointer flag meaning "true", names matched
case-insensitively. An entry point's `http.tls` is an "allowEmpty" pointer like a router's
(pkg/config/static/entrypoints.go); `asDefault` and the address's `/udp` suffix decide the
default entry points (cmd/traefik/traefik.go `getDefaultsEntrypoints`, which leaves out UDP
ones and the internal `traefik` entry point).

A configuration the pack cannot read (a file mounted from the host, a file it cannot parse) is
`known=False`: no entry point counts as TLS and containers count as exposed by default. One
still computed at preview (an argument or the file's content unknown) is `pending`: the rules
that need it wait for `up`, where the engine sends the values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .props import as_dict, as_list, is_unknown
from .traefik import allow_empty_on, go_bool

CONFIG_FILES = tuple(f"/etc/traefik/traefik.{ext}" for ext in ("toml", "yaml", "yml"))
INTERNAL_ENTRYPOINT = "traefik"
# Flags that take no value when given bare (paerser: bool or pointer kinds).
_BARE = ("tls", "asdefault", "exposedbydefault", "docker", "swarm", "ping", "api", "insecure", "accesslog")


@dataclass(frozen=True)
class EntryPoint:
    name: str
    tls: bool
    resolver: bool
    as_default: bool
    udp: bool


@dataclass
class StaticConfig:
    known: bool = True
    pending: bool = False
    entrypoints: dict[str, EntryPoint] = field(default_factory=dict)
    exposed_by_default: bool = True

    def defaults(self) -> list[str]:
        """The entry points a router with none of its own listens on."""
        eps = [e for e in self.entrypoints.values() if not e.udp and e.name != INTERNAL_ENTRYPOINT]
        flagged = [e for e in eps if e.as_default]
        return sorted(e.name for e in (flagged or eps))


def parse_flags(args: list[str]) -> dict[str, str]:
    """paerser's flag parse: {lower-cased dotted name: value}, the last occurrence winning."""
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if len(arg) < 2 or not arg.startswith("-"):
            continue
        name = arg.lstrip("-")
        if "=" in name[1:]:
            name, _, value = name.partition("=")
        elif name.lower().rsplit(".", 1)[-1] in _BARE or i >= len(args) or args[i].startswith("-"):
            value = "true"
        else:
            value, i = args[i], i + 1
        values[name.lower()] = value
    return values


def _tree_to_flat(tree: Any, prefix: str = "") -> dict[str, str]:
    """A YAML/TOML static configuration flattened to the flags' dotted, lower-cased names."""
    out: dict[str, str] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(_tree_to_flat(value, f"{prefix}.{str(key).lower()}" if prefix else str(key).lower()))
    elif tree is None or tree == {}:
        out[prefix] = ""
    else:
        out[prefix] = str(tree).lower() if isinstance(tree, bool) else str(tree)
    return out


def _parse_file(path: str, text: str) -> dict[str, str] | None:
    try:
        if path.endswith(".toml"):
            import tomllib

            return _tree_to_flat(tomllib.loads(text))
        import yaml  # the pulumi SDK's own dependency; loaded only when a file is uploaded

        return _tree_to_flat(yaml.safe_load(text) or {})
    except Exception:  # noqa: BLE001 - any parse error: Traefik would not start with it either
        return None


def _env_flat(envs: list[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in envs:
        if isinstance(item, str) and item.upper().startswith("TRAEFIK_") and "=" in item:
            key, _, value = item.partition("=")
            out[key[len("TRAEFIK_") :].lower().replace("_", ".")] = value
    return out


def _entrypoints(flat: dict[str, str]) -> dict[str, EntryPoint]:
    names: dict[str, str] = {}
    for key in flat:
        parts = key.split(".")
        if len(parts) >= 3 and parts[0] == "entrypoints":
            names.setdefault(parts[1].lower(), parts[1])
    out = {}
    for lower, name in names.items():
        sub = {k.split(".", 2)[2]: v for k, v in flat.items() if k.split(".")[:2] == ["entrypoints", lower]}
        tls = allow_empty_on(sub.get("http.tls"), any(k.startswith("http.tls.") for k in sub))
        out[name] = EntryPoint(
            name=name,
            tls=tls,
            resolver=tls and bool(sub.get("http.tls.certresolver", "").strip()),
            as_default=go_bool(sub.get("asdefault", "false")) is True,
            udp=sub.get("address", "").lower().endswith("/udp"),
        )
    return out


def _files(props: dict[str, Any], flags: dict[str, str]) -> list[str]:
    wanted = [flags["configfile"]] if "configfile" in flags else list(CONFIG_FILES)
    return [w for w in wanted if w]


def static_config(props: dict[str, Any]) -> StaticConfig:
    """The router container's static configuration, from its uploads, command or env."""
    args = [a for a in as_list(props.get("command")) if isinstance(a, str)]
    if is_unknown(props.get("command")) or any(is_unknown(a) for a in args):
        return StaticConfig(known=False, pending=True)
    flags = parse_flags(args)
    wanted = _files(props, flags)
    uploads = {as_dict(u).get("file"): as_dict(u).get("content") for u in as_list(props.get("uploads"))}
    mounted = {as_dict(v).get("containerPath") for v in as_list(props.get("volumes"))}
    mounted |= {as_dict(m).get("target") for m in as_list(props.get("mounts"))}
    flat: dict[str, str] | None = flags
    for path in wanted:
        if path in uploads:
            text = uploads[path]
            if not isinstance(text, str) or is_unknown(text):
                return StaticConfig(known=False, pending=True)  # secret or computed: judged at update
            flat = _parse_file(path, text)
            break
        if path in mounted or any(isinstance(m, str) and path.startswith(m.rstrip("/") + "/") for m in mounted):
            flat = None  # a file from the host or a volume: its content is not in the stack
            break
    else:
        if not args:
            flat = _env_flat(as_list(props.get("envs")))
    if flat is None:
        return StaticConfig(known=False)
    exposed = go_bool(flat.get("providers.docker.exposedbydefault", "true"))
    return StaticConfig(entrypoints=_entrypoints(flat), exposed_by_default=exposed is not False)
