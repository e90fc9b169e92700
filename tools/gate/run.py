"""The offline gate: evaluate a stack under mocks and put every resource through the policy pack.

No Pulumi CLI, state backend, credentials, Docker daemon or network: the program runs under
Pulumi's mocks with the stack's own config (`tools.offline`), and the pack runs as the CLI runs
it, over the Analyzer protocol (`tools.analyzer`): `Analyze` once per resource with its
inputs, `AnalyzeStack` once with every resource's outputs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import struct_pb2

from stack.settings import SettingsError
from tools import packconfig
from tools.analyzer import AnalyzeResult, Diagnostic, PolicyPackAnalyzer, Provider, Resource
from tools.gate.boot import PackBoot
from tools.names import display_name
from tools.offline import ROOT, Evaluation, Registered, evaluate
from tools.stackfile import StackFileError, stack_settings

PACK = ROOT / "policies"
CONTAINER = "docker:index/container:Container"


@dataclass(frozen=True)
class Row:
    """One line of the preview-like table."""

    type: str
    name: str
    host: str = "main"
    """The Docker host: `main`, or the inference host's key (its provider's name)."""
    image: str = ""
    cpus: str = ""
    memory: str = ""
    gpu: str = ""
    ports: str = ""
    routes: str = ""
    protect: bool = False


@dataclass
class StackReport:
    stack: str
    rows: list[Row]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    """What the program says at preview (the next scheduled backup, an unchecked fit)."""

    @property
    def mandatory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.enforcement_level == "mandatory"]

    @property
    def advisory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.enforcement_level != "mandatory"]

    @property
    def passed(self) -> bool:
        return self.error is None and not self.mandatory


def _short(type_: str) -> str:
    return type_.split(":")[-1]


AMD_DEVICE = "/dev/kfd"
"""ROCm's compute device: a container given it (with /dev/dri or its render nodes) has AMD GPUs."""


def _gpu(inputs: dict[str, Any]) -> str:
    """GPUs by driver: device requests (nvidia, cdi), `gpus`, or AMD's device files."""
    reqs = inputs.get("deviceRequests") or []
    if inputs.get("gpus"):
        return f"gpus={inputs['gpus']}"
    parts = []
    for r in reqs:
        count = r.get("count")
        which = "all" if count == -1 else str(int(count)) if count else ",".join(r.get("deviceIds", []))
        parts.append(f"{r.get('driver', 'cdi')}:{which}")
    paths = [str(d.get("hostPath")) for d in inputs.get("devices") or []]
    if AMD_DEVICE in paths:
        nodes = [p.removeprefix("/dev/dri/") for p in paths if p.startswith("/dev/dri/")]
        parts.append("amd:" + (",".join(nodes) if nodes else "all"))
    return " ".join(parts)


def _bind(ip: str) -> str:
    """How a published port's address reads in the table: `*` every IPv4 interface, `[::]` IPv6."""
    return {"": "*", "0.0.0.0": "*"}.get(ip, f"[{ip}]" if ":" in ip else ip)


def _ports(inputs: dict[str, Any]) -> str:
    """Each published port as `address:host→container`; a run on one address, both sides counting
    up together (an inference host's gate), as one range: `10.8.0.11:11434-11438→9434-9438`."""
    runs: list[tuple[str, int, int, int]] = []  # address, first external, first internal, length
    for p in inputs.get("ports") or []:
        ip, internal = _bind(p.get("ip") or ""), int(p["internal"])
        external = int(p.get("external", internal))
        if (
            runs
            and runs[-1][0] == ip
            and (external, internal) == (runs[-1][1] + runs[-1][3], runs[-1][2] + runs[-1][3])
        ):
            runs[-1] = (*runs[-1][:3], runs[-1][3] + 1)
        else:
            runs.append((ip, external, internal, 1))
    return " ".join(
        f"{ip}:{ext}→{inn}" if n == 1 else f"{ip}:{ext}-{ext + n - 1}→{inn}-{inn + n - 1}" for ip, ext, inn, n in runs
    )


def program_advisories(ev: Evaluation) -> list[Diagnostic]:
    """What the program itself warns about (a misfit accepted with ollama.allowCpuOffload)."""
    return [
        Diagnostic("models-fit-memory", "ai-stack-program", "", "advisory", "medium", str(m), "", "")
        for m in ev.outputs.get("capacityAdvisories") or []
    ]


def rows(ev: Evaluation) -> list[Row]:
    """The table: containers first (what runs, with what), then the rest."""
    refs = ev.image_refs()
    out = []
    for r in ev.resources:
        if r.type.startswith("ai-stack:"):
            continue
        i = r.inputs
        if r.type == CONTAINER:
            memory = f"{int(i['memory'])}Mi" if i.get("memory") else "UNLIMITED"
            out.append(
                Row(
                    type=_short(r.type),
                    name=display_name(r),
                    host=r.host,
                    image=refs.get(str(i.get("image")), str(i.get("image"))),
                    cpus=str(i.get("cpus") or "UNLIMITED"),
                    memory=memory,
                    gpu=_gpu(i),
                    ports=_ports(i),
                    routes=", ".join(r.route_summaries),
                )
            )
        elif r.type == "docker:index/remoteImage:RemoteImage":
            # As in `pulumi preview`: the resource's name, and the reference it pulls as its image.
            out.append(
                Row(type=_short(r.type), name=display_name(r), host=r.host, image=str(i.get("name")), protect=r.protect)
            )
        elif r.type.startswith("pulumi:providers:"):
            # A host's own Docker engine: the provider is named after the host.
            out.append(Row(type="Provider", name=f"{_short(r.type)} {r.inputs.get('host', '')}".strip(), host=r.name))
        else:
            out.append(Row(type=_short(r.type), name=display_name(r), host=r.host, protect=r.protect))
    # The main host first, then each other host; containers first on each.
    out.sort(key=lambda row: (row.type != "Container", row.type, row.host != "main", row.host, row.name))
    return out


def default_provider(stack: str) -> Provider:
    """Pulumi's default docker provider (`default_<version>`, pulumi
    pkg/resource/deploy/providers/provider.go DefaultName)."""
    from tools.provider import PULUMI_DOCKER

    name = f"default_{PULUMI_DOCKER.replace('.', '_')}"
    return Provider(
        type="pulumi:providers:docker", name=name, urn=f"urn:pulumi:{stack}::ai-stack::pulumi:providers:docker::{name}"
    )


def _as_provider(r: Registered) -> Provider:
    """A provider's registration, as the engine sends it beside the resources that use it."""
    return Provider(type=r.type, name=r.name, urn=r.urn, properties=r.wire)


def _provider_of(r: Registered, explicit: dict[str, Provider], default: Provider) -> Provider | None:
    """The provider the engine sends beside `r`: its explicit provider's state (by the provider's
    URN in `explicit`), Pulumi's default docker provider for a docker resource with none, else
    none."""
    if r.provider:
        return explicit[r.provider.rsplit("::", 1)[0]]
    return default if r.type.startswith("docker:") else None


def providers(ev: Evaluation) -> dict[str, Provider]:
    """The provider the engine sends beside each resource, by the resource's URN: its explicit
    provider's state, or Pulumi's default docker provider (`default_<version>`, pulumi
    pkg/resource/deploy/providers/provider.go DefaultName) for one with none."""
    default = default_provider(ev.stack)
    explicit = {r.urn: _as_provider(r) for r in ev.resources if r.type.startswith("pulumi:providers:")}
    given = {r.urn: _provider_of(r, explicit, default) for r in ev.resources}
    return {urn: p for urn, p in given.items() if p is not None}


def _resource(r: Registered, *, outputs: bool, provider: Provider | None = None) -> Resource:
    # AnalyzeStack sees outputs; inputs win so that secret inputs stay wrapped. The wire messages
    # go as they are (a map merge replaces each key, as `{**outputs, **inputs}` does).
    props = r.wire
    if outputs:
        props = struct_pb2.Struct()
        props.CopyFrom(r.outputs_wire)
        props.MergeFrom(r.wire)
    return Resource(
        type=r.type,
        name=r.name,
        properties=props,
        urn=r.urn,
        protect=r.protect,
        parent=r.parent or None,
        dependencies=tuple(r.dependencies),
        provider=provider,
    )


class Stream:
    """`Analyze` sent for each resource as the program registers it, so the pack judges it on its
    own core while the program goes on; `AnalyzeStack` once the program is done. Each goes with
    the provider the engine would send beside it (a host's own, or the default one): a provider
    registers before anything that uses it.

    The program starts before the pack is ready: what it registers meanwhile is held here, and
    goes out when `open` is called (once the pack is configured for this stack)."""

    def __init__(self, stack: str) -> None:
        self.pack: PolicyPackAnalyzer | None = None
        self.default = default_provider(stack)
        self.explicit: dict[str, Provider] = {}
        self.waiting: list[Callable[[], AnalyzeResult]] = []
        self.held: list[Resource] = []
        self.lock = threading.Lock()  # `add` runs in the mock monitor's threads, `open` in another

    def add(self, r: Registered) -> None:
        """`evaluate`'s `on_register`: called in registration order."""
        with self.lock:
            if r.type.startswith("pulumi:providers:"):
                self.explicit[r.urn] = _as_provider(r)
            if not r.custom:
                return
            resource = _resource(r, outputs=False, provider=_provider_of(r, self.explicit, self.default))
            if self.pack is None:
                self.held.append(resource)
            else:
                self.waiting.append(self.pack.analyze_resource_async(resource))

    def open(self, pack: PolicyPackAnalyzer) -> None:
        """`pack` is configured for this stack: send what was held, then each as it comes."""
        with self.lock:
            self.pack = pack
            self.waiting.extend(pack.analyze_resource_async(resource) for resource in self.held)
            self.held.clear()

    def close(self, ev: Evaluation) -> Callable[[], list[Diagnostic]]:
        """Send `AnalyzeStack` (after `open`); return a waiter for every result. Each resource goes
        with the provider `add` found for it (every registration went through `add`)."""
        assert self.pack is not None, "Stream.close before open"
        custom = [r for r in ev.resources if r.custom]
        self.waiting.append(
            self.pack.analyze_stack_async(
                [_resource(r, outputs=True, provider=_provider_of(r, self.explicit, self.default)) for r in custom]
            )
        )
        return lambda: [d for wait in self.waiting for d in wait().diagnostics]

    def drain(self) -> None:
        """Wait out what was sent for a program that then failed, before the pack is configured
        for another stack (its results are not reported: the stack's error is)."""
        for wait in self.waiting:
            with contextlib.suppress(Exception):  # the program's own failure is what gets reported
                wait()


class Activation(threading.Thread):
    """Once the pack has booted, configures it for one stack (`ConfigureStack`, then `Configure`
    with the stack's policy config) and opens the stack's `Stream`; meanwhile the program runs.
    `result` says why the pack is not there, and raises a bad policy config again."""

    def __init__(self, boot: PackBoot, stream: Stream, stack: str, config: Path) -> None:
        super().__init__(daemon=True, name=f"configure-{stack}")
        self.boot, self.stream, self.stack, self.config = boot, stream, stack, config
        self.error: BaseException | None = None
        self.failed: str | None = None

    def run(self) -> None:
        failure = self.boot.failure()
        if failure is not None or self.boot.pack is None:
            self.failed = f"policy pack did not start: {failure}"
            return
        pack = self.boot.pack
        try:
            pack.stack = self.stack
            pack.configure_stack()
            pack.configure_file(self.config)
            self.stream.open(pack)
        except BaseException as err:  # noqa: BLE001 - raised again in the gate's own thread
            self.error = err

    def result(self) -> str | None:
        """Wait for the activation; None when the stream is open, else why the pack is not there."""
        self.join(timeout=self.boot.timeout() + 40)
        if self.error is not None:
            raise self.error
        if self.is_alive():
            return "policy pack did not start: timed out"
        return self.failed


def check_settings(stack: str, root: Path, *, write_config: bool) -> str | None:
    """Every problem of the stack file and its settings, as the error the report shows (None when
    there is none). With `write_config`, the stack's pack config is regenerated from the settings
    here, in the gate's own process (`make pack-config` would be one more Python start)."""
    try:
        settings = stack_settings(stack, root)
    except (SettingsError, StackFileError) as err:
        return str(err)  # it names the file and every key: the class name would be noise
    if write_config:
        packconfig.write(settings, stack, root)
    return None


def run_gate(
    stacks: Sequence[str],
    *,
    root: Path = ROOT,
    pack_dir: Path = PACK,
    write_config: bool = False,
    boot: PackBoot | None = None,
) -> list[StackReport]:
    """Gate every stack with one pack process, which boots while the settings and the program run.

    Each stack's file and settings are checked first, and a stack with any problem is reported
    without running its program. Per stack the pack gets `ConfigureStack` (the stack's name, as
    the CLI's policy proxy sends it), `Configure` with `policies/config/<stack>.json`, then
    `Analyze` per resource as the program registers it and `AnalyzeStack` once it is done. One
    process serves every stack: the rules read nothing from the process environment, and a
    second Python start would double the gate's cost. `boot`: the pack's boot, already started
    (the gate's entry point starts it before importing anything heavy), else one started here.
    """
    if boot is None:
        boot = PackBoot(pack_dir, stack=stacks[0])
        boot.start()
    reports: list[StackReport] = []
    pending: tuple[str, Evaluation, Callable[[], list[Diagnostic]]] | None = None

    def finish() -> None:
        # Collect the previous stack's results before the pack is configured for the next.
        nonlocal pending
        if pending is not None:
            stack, ev, wait = pending
            reports.append(StackReport(stack, rows(ev), wait() + program_advisories(ev), notes=list(ev.notes)))
            pending = None

    try:
        for s in stacks:
            problem = check_settings(s, root, write_config=write_config)
            finish()
            if problem is not None:
                reports.append(StackReport(s, [], error=problem))
                continue
            config = pack_dir / "config" / f"{s}.json"
            stream = activation = None
            if config.exists():
                stream = Stream(s)
                activation = Activation(boot, stream, s, config)
                activation.start()
            try:
                ev = evaluate(s, root=root, on_register=None if stream is None else stream.add)
            except Exception as err:  # noqa: BLE001 - reported, never a traceback on a PR
                if stream is not None and activation is not None:
                    with contextlib.suppress(Exception):  # the program's failure is the report
                        if activation.result() is None:
                            stream.drain()
                # The settings passed, so this is the program's own fault, not the stack file's.
                reports.append(
                    StackReport(s, [], error=f"the program failed on settings that passed: {type(err).__name__}: {err}")
                )
                continue
            if stream is None or activation is None:
                reports.append(
                    StackReport(s, rows(ev), error=f"no policy config {config.relative_to(pack_dir.parent)}")
                )
                continue
            missing = activation.result()
            if missing is not None:
                reports.append(StackReport(s, rows(ev), error=missing))
                continue
            pending = (s, ev, stream.close(ev))
        finish()
    finally:
        boot.stop()  # a stack that failed early may leave the pack still booting
    return reports
