"""Container security options read the way the Docker daemon reads them.

moby daemon/daemon_unix.go `parseSecurityOpt` (v25-v28, unchanged in substance since 17.04):
``no-new-privileges``, ``writable-cgroups`` and ``disable`` stand alone; every other option is
``key=value``, or ``key:value`` (the deprecated spelling) when it has no ``=``; the split is at
the first separator, so ``label:type:spc_t`` is the label option ``type:spc_t``. Keys are
``label``, ``apparmor``, ``seccomp``, ``no-new-privileges`` and ``writable-cgroups`` (the last two
through Go's strconv.ParseBool); a later option overrides an earlier one. The daemon compares
keys and the ``unconfined`` profile name case-sensitively, so this module does too.

``systempaths=unconfined`` is the docker CLI's spelling for "no masked or read-only /proc
paths" (docker/cli cli/command/container/opts.go `parseSystemPaths`); the daemon itself refuses
the key, but the intent is the same and the pack reports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from . import seccomp as profiles

UNCONFINED = "unconfined"
# SELinux process types that run a container without SELinux confinement: spc_t is the
# "super privileged container" type, unconfined_t the unconfined user domain
# (container-selinux container.te; go-selinux label options are ``type:<type>``).
UNCONFINED_SELINUX_TYPES = ("spc_t", "unconfined_t")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def go_bool(text: str) -> bool | None:
    """Go's strconv.ParseBool: the value, or None when Go would refuse it."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    return None


@dataclass
class SecurityOpts:
    """What a container's ``securityOpts`` set, after Docker's parse (last option wins)."""

    no_new_privileges: bool = False
    seccomp: str | None = None
    apparmor: str | None = None
    writable_cgroups: bool = False
    systempaths: str | None = None
    labels: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Options the daemon refuses at create ("invalid --security-opt")."""
    sources: dict[str, str] = field(default_factory=dict)
    """The option text that last set each key, to quote it in a message."""


def split(opt: str) -> tuple[str, str] | None:
    """(key, value) of one option: cut at the first ``=``, else at the first ``:``."""
    for sep in ("=", ":"):
        if sep in opt:
            key, _, value = opt.partition(sep)
            return key, value
    return None


def parse(options: Iterable[object]) -> SecurityOpts:
    """Every literal string option in order, as parseSecurityOpt applies them."""
    result = SecurityOpts()
    for opt in options:
        if not isinstance(opt, str):
            continue
        if opt == "no-new-privileges":
            result.no_new_privileges = True
            result.sources["no-new-privileges"] = opt
            continue
        if opt == "writable-cgroups":
            result.writable_cgroups = True
            result.sources["writable-cgroups"] = opt
            continue
        if opt == "disable":
            result.labels.append("disable")
            result.sources["label:disable"] = opt
            continue
        kv = split(opt)
        if kv is None:
            result.refused.append(opt)
            continue
        key, value = kv
        if key == "label":
            result.labels.append(value)
            result.sources[f"label:{value}"] = opt
        elif key == "apparmor":
            result.apparmor = value
        elif key == "seccomp":
            result.seccomp = value
        elif key == "systempaths":
            result.systempaths = value
        elif key in ("no-new-privileges", "writable-cgroups"):
            flag = go_bool(value)
            if flag is None:
                result.refused.append(opt)
                continue
            if key == "no-new-privileges":
                result.no_new_privileges = flag
            else:
                result.writable_cgroups = flag
        else:
            result.refused.append(opt)
            continue
        result.sources[key] = opt
    return result


def label_unconfined(value: str) -> bool:
    """True for an SELinux label option that switches confinement off (``disable``, an unconfined type)."""
    if value == "disable":
        return True
    kv = split(value)
    return kv is not None and kv[0] == "type" and kv[1] in UNCONFINED_SELINUX_TYPES


def unconfined(opts: SecurityOpts) -> list[tuple[str, str]]:
    """(what is switched off, the option that does it) for every confinement the options remove."""
    out: list[tuple[str, str]] = []
    if opts.seccomp == UNCONFINED:
        out.append(("the seccomp profile", opts.sources["seccomp"]))
    elif opts.seccomp and (why := profiles.weakness(opts.seccomp)):
        # The option's text is the whole profile: name it, do not quote it.
        out.append((f"the seccomp profile with {why}", f"seccomp={profiles.INLINE}"))
    if opts.apparmor == UNCONFINED:
        out.append(("the AppArmor profile", opts.sources["apparmor"]))
    for value in opts.labels:
        if label_unconfined(value):
            out.append(("SELinux confinement", opts.sources[f"label:{value}"]))
    if opts.systempaths == UNCONFINED:
        out.append(("the masked and read-only /proc and /sys paths", opts.sources["systempaths"]))
    if opts.writable_cgroups:
        out.append(("the read-only cgroup filesystem", opts.sources["writable-cgroups"]))
    return out
