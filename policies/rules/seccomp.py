"""Inline seccomp profiles (`seccomp=<JSON>`), judged against what Docker's default profile blocks.

Through the Engine API the daemon reads the value of `seccomp=` as the profile's JSON itself
(moby v28.5.2 daemon/seccomp_linux.go `WithSeccomp` -> moby/profiles seccomp `LoadProfile`;
only the docker CLI turns a file path into its content). `LoadProfile` decodes it with Go's
encoding/json, so keys match case-insensitively and the last duplicate wins, and `setupSeccomp`
returns no filter at all for a profile with neither a `defaultAction` nor `syscalls`
(moby/profiles seccomp/seccomp_linux.go, seccomp/v0.2.3: "assume seccomp disabled").
"""

from __future__ import annotations

import json
from typing import Any

# Actions that let a syscall run (runtime-spec LinuxSeccompAction; SCMP_ACT_LOG runs it and logs).
PERMISSIVE = frozenset({"SCMP_ACT_ALLOW", "SCMP_ACT_LOG"})
# Syscalls that Docker's default profile (moby/profiles seccomp/default.json, defaultAction
# SCMP_ACT_ERRNO) never allows unconditionally: the namespace, mount, module, key-ring, tracing
# and kernel-memory calls that container escapes use. A profile that lets any of these through
# with no condition is weaker than running with no custom profile at all.
ESCAPE_SYSCALLS = (
    "add_key",
    "bpf",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "init_module",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "mount",
    "move_mount",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "reboot",
    "request_key",
    "setns",
    "swapoff",
    "swapon",
    "umount2",
    "unshare",
    "userfaultfd",
)
INLINE = "<inline JSON profile>"


def _fold(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as Go decodes it into a struct: keys case-folded, the last one wins."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        out[key.lower()] = value
    return out


def load(text: str) -> dict[str, Any] | None:
    """The profile as Go's encoding/json would fill moby's Seccomp struct, or None when the
    daemon would refuse it (not a JSON object)."""
    try:
        profile = json.loads(text, object_pairs_hook=_fold)
    except ValueError:
        return None
    return profile if isinstance(profile, dict) else None


def _names(entry: dict[str, Any]) -> list[str]:
    names = entry.get("names")
    found = [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
    name = entry.get("name")
    return found + ([name] if isinstance(name, str) and name else [])


def _unconditional(entry: dict[str, Any]) -> bool:
    """A rule that applies to every call of its syscalls (no argument, capability or arch filter)."""
    return not any(entry.get(k) for k in ("args", "includes", "excludes"))


def allowed_escapes(profile: dict[str, Any]) -> list[str]:
    """The escape syscalls ``profile`` lets run with no condition."""
    default = profile.get("defaultaction")
    entries = [e for e in profile.get("syscalls") or [] if isinstance(e, dict)]
    allowed: set[str] = set()
    blocked: set[str] = set()
    for entry in entries:
        if not _unconditional(entry):
            continue
        target = allowed if entry.get("action") in PERMISSIVE else blocked
        target.update(_names(entry))
    if default in PERMISSIVE:
        return [s for s in ESCAPE_SYSCALLS if s not in blocked or s in allowed]
    return [s for s in ESCAPE_SYSCALLS if s in allowed]


def weakness(value: str) -> str | None:
    """Why the inline profile ``value`` confines less than Docker's default, or None."""
    if not value.lstrip().startswith("{"):
        return None  # "unconfined" is secopts' case; anything else is a name or path the daemon refuses
    profile = load(value)
    if profile is None:
        return None
    default = profile.get("defaultaction")
    if not default and not profile.get("syscalls"):
        return "an inline profile with no defaultAction and no syscalls, which Docker loads as no filter at all"
    escapes = allowed_escapes(profile)
    if not escapes:
        return None
    if default in PERMISSIVE:
        listed = ", ".join(escapes)
        return f"an inline profile whose defaultAction {default} lets every syscall through ({listed} included)"
    return f"an inline profile that allows {', '.join(escapes)}, which Docker's default profile blocks"
