"""Evaluate a stack's program offline, under Pulumi's mocks, and capture what it registers.

This is what the tests, the offline policy gate and the integration tier use instead of
`pulumi preview`: no CLI, no state backend, no Docker daemon. Each registration keeps the
inputs exactly as the engine would receive them (secrets wrapped in the secret signature),
and the resource options the engine acts on (protect, retainOnDelete, deleteBeforeReplace,
dependencies). Outputs listed in `additionalSecretOutputs` are marked secret here, as the
engine does and the mock monitor does not.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import runpy
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2

from tools.stackfile import PROJECT, stack_config
from tools.wire import SECRET_SIG, SIG_KEY, UNKNOWN_NUMBER, UNKNOWN_STRING

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Registered:
    """One resource registration, as the engine would have seen it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    wire: struct_pb2.Struct
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    dependencies: list[str]
    replace_on_changes: list[str]
    additional_secret_outputs: list[str]
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    ignore_changes: list[str] = field(default_factory=list)
    provider: str = ""
    """The explicit provider reference (`<provider urn>::<id>`); "" for the default provider."""
    outputs_wire: struct_pb2.Struct = field(default_factory=struct_pb2.Struct)
    """Outputs as the engine holds them (secret outputs wrapped), for the pack's AnalyzeStack."""

    @property
    def host(self) -> str:
        """The Docker host it lives on: `main` (the default provider), or the name of its explicit
        provider, which the program names after the inference host's key."""
        return host_of(self.provider)

    @cached_property
    def wire_json(self) -> dict[str, Any]:
        """Inputs as JSON, with secrets still wrapped in the secret signature (read-only)."""
        wire: dict[str, Any] = json_format.MessageToDict(self.wire)
        return wire

    @property
    def docker_name(self) -> str | None:
        name = self.inputs.get("name")
        return name if isinstance(name, str) else None

    @property
    def route_summaries(self) -> list[str]:
        """route_rules with any narrowing after the host cut to " …": the gate's table shows
        `Host(`llm.example.com`) …` (its path allow-list) rather than the whole Traefik rule."""
        return [rule.split(" && ", 1)[0] + (" …" if " && " in rule else "") for rule in self.route_rules]

    @property
    def route_rules(self) -> list[str]:
        """The Traefik router rules in a container's labels (`traefik.http.routers.<r>.rule`)."""
        return [
            str(item.get("value"))
            for item in self.inputs.get("labels") or []
            if str(item.get("label", "")).endswith(".rule")
        ]


@dataclass
class Evaluation:
    stack: str
    resources: list[Registered]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    notes: list[str] = field(default_factory=list)
    """What the program logs at info level (`pulumi.log.info`), as the preview shows it."""

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def containers(self) -> dict[str, Registered]:
        """Containers by their Docker name, with the host first on another host (`gpu-2/ollama`)."""
        return {qualified(r): r for r in self.of_type("docker:index/container:Container")}

    def by_urn(self) -> dict[str, Registered]:
        return {r.urn: r for r in self.resources}

    def image_refs(self) -> dict[str, str]:
        """Image id (as a container's `image` input) → the pinned reference it came from."""
        return {
            str(r.outputs.get("imageId")): str(r.inputs.get("name"))
            for r in self.of_type("docker:index/remoteImage:RemoteImage")
        }


MAIN = "main"


def host_of(provider_ref: str) -> str:
    """A provider reference's host: its resource name (`…::pulumi:providers:docker::gpu-2::<id>`);
    `main` for no reference or one of Pulumi's default providers (`default`, `default_5_1_0`:
    pulumi pkg/resource/deploy/providers/provider.go DefaultName)."""
    if not provider_ref:
        return MAIN
    name = provider_ref.rsplit("::", 2)[-2] if provider_ref.count("::") >= 2 else provider_ref
    return MAIN if name.startswith("default") else name


def qualified(r: Registered) -> str:
    """A resource's Docker name (else its Pulumi name), prefixed by its host when not the main one."""
    name = r.docker_name or r.name
    return name if r.host == MAIN else f"{r.host}/{name}"


# --- mocks -------------------------------------------------------------------------------


def _fake(seed: str, length: int = 64) -> str:
    out = ""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{seed}/{counter}".encode()).hexdigest()
        counter += 1
    return out[:length]


def _mocks(exit_codes: Mapping[str, int]) -> Any:
    import pulumi

    class StackMocks(pulumi.runtime.Mocks):
        """Deterministic outputs shaped like the providers' own."""

        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            inputs = dict(args.inputs)
            outputs = dict(inputs)
            if args.typ == "random:index/randomPassword:RandomPassword":
                outputs["result"] = _fake(args.name, int(inputs.get("length", 32)))
            elif args.typ == "docker:index/remoteImage:RemoteImage":
                digest = _fake(str(inputs["name"]))
                outputs["imageId"] = f"sha256:{digest}"
                outputs["repoDigest"] = f"{str(inputs['name']).split(':')[0]}@sha256:{digest}"
            elif args.typ == "docker:index/container:Container":
                name = str(inputs.get("name", args.name))
                outputs["exitCode"] = exit_codes.get(name, 0) if inputs.get("attach") else None
                outputs["bridge"] = ""
            elif args.typ == "docker:index/volume:Volume":
                outputs["mountpoint"] = f"/var/lib/docker/volumes/{inputs.get('name')}/_data"
            return f"{args.name}-id", outputs

        def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
            if args.token == "docker:index/getNetwork:getNetwork":
                name = args.args.get("name")
                return {"id": f"{name}-id", "name": name, "driver": "bridge", "scope": "local"}
            return {}

    return StackMocks()


class _Notes(logging.Handler):
    """The program's info messages (the mock engine's log), kept for the gate; warnings still
    reach stderr, as they reach the preview's output."""

    def __init__(self, notes: list[str]) -> None:
        super().__init__(logging.INFO)
        self.notes = notes

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.INFO:
            self.notes.append(record.getMessage())
        elif logging.lastResort is not None:
            logging.lastResort.handle(record)


def _secret(value: struct_pb2.Value) -> struct_pb2.Value:
    wrapped = struct_pb2.Value()
    wrapped.struct_value.fields[SIG_KEY].string_value = SECRET_SIG
    wrapped.struct_value.fields["value"].CopyFrom(value)
    return wrapped


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return _unwrap(value.get("value"))
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


FAST_MOCK_REGISTRATION = True
"""Register plain inputs without the SDK mock's round trip (False: always the SDK's, for the
test that compares the two)."""


def _plain(inputs: dict[str, Any]) -> bool:
    """True when the SDK's mock monitor would hand `inputs` (a registration's, as JSON) back
    unchanged: no nulls or unknowns (its deserializer drops both), no special values (resource
    references, assets and archives become objects), and secrets only as whole properties (its
    serializer moves a secret inside a property out to wrap the whole property)."""
    return all(
        _plain_value(v["value"] if is_secret(v) and set(v) == {SIG_KEY, "value"} else v) for v in inputs.values()
    )


def _plain_value(value: Any) -> bool:
    if isinstance(value, dict):
        return SIG_KEY not in value and all(_plain_value(v) for v in value.values())
    if isinstance(value, list):
        return all(_plain_value(v) for v in value)
    return value is not None and value not in _UNKNOWNS


_UNKNOWNS = frozenset({UNKNOWN_STRING, UNKNOWN_NUMBER})
"""The engine's unknowns (pulumi's Python SDK knows the first, `rpc.UNKNOWN`, and drops it)."""


def is_secret(value: Any) -> bool:
    """True if a wire value (from `Registered.wire_json`) is wrapped as a secret."""
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


@contextlib.contextmanager
def _no_source_positions() -> Iterator[None]:
    """The SDK walks and converts the whole Python stack of every resource it registers (about a
    tenth of an evaluation) to tell the engine which line declared it. The mock monitor drops it:
    skip the walk while the program runs here."""
    from pulumi.runtime import resource as runtime_resource
    from pulumi.runtime.proto import source_pb2

    walk = runtime_resource._get_stack_trace  # the SDK's own hook, restored below
    runtime_resource._get_stack_trace = source_pb2.StackTrace  # an empty trace
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = walk


INLINE_MONITOR_CALLS = True
"""Run the mock monitor's calls in the event loop's thread (False: the SDK's executor threads, for
the test that compares the two)."""


class _Inline(concurrent.futures.ThreadPoolExecutor):
    """An executor that runs each call at once, in the calling thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the awaiting task, as a thread would
            done.set_exception(err)
        return done


@contextlib.contextmanager
def _inline_monitor_calls() -> Iterator[None]:
    """The SDK sends every monitor call through the event loop's default executor (pulumi
    runtime/resource.py `run_in_executor`), a thread hop per registration that a real monitor's
    gRPC round trip hides; the mock monitor answers at once, so the hop was most of the wait (a
    sixth of an evaluation). Here the calls run in the loop's own thread; the SDK's mock still
    pumps the loop where it awaits (pulumi runtime/sync_await.py, reentrant by design)."""
    from pulumi.runtime.sync_await import _ensure_event_loop

    if not INLINE_MONITOR_CALLS:
        yield
        return
    loop = _ensure_event_loop()  # type: ignore[no-untyped-call]  # the loop `_sync_await` runs
    previous = getattr(loop, "_default_executor", None)  # asyncio keeps it there; put back after
    loop.set_default_executor(_Inline(max_workers=1))
    try:
        yield
    finally:
        loop._default_executor = previous  # type: ignore[attr-defined]


def evaluate(
    stack: str,
    *,
    root: Path = ROOT,
    config_text: str | None = None,
    exit_codes: Mapping[str, int] | None = None,
    sink: list[Registered] | None = None,
    entry: Path | None = None,
    on_register: Callable[[Registered], None] | None = None,
) -> Evaluation:
    """Run the program for `stack` under mocks and return every registration and output.

    `config_text` replaces the stack file's contents (for tests of broken stack files);
    `exit_codes` sets the exit code of run-once containers by Docker name; `sink`, when
    given, receives the registrations as they happen, so a caller still sees them when the
    program fails; `entry`, when given, is a Pulumi entry point (`__main__.py`) to run instead of
    this program's `build` (how `tools.diff` runs an older commit's program; no outputs then);
    `on_register`, when given, is called with each registration as it is recorded, in the order
    of `resources` (how the offline gate has the pack judge a resource while the program runs).
    """
    import pulumi
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.proto import resource_pb2
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    config, secret_keys = stack_config(stack, root, config_text)
    registered: list[Registered] = [] if sink is None else sink
    recording = threading.Lock()  # the mock monitor's calls run in the event loop's executor

    class CapturingMonitor(pulumi_mocks.MockMonitor):
        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC name)
            raw = json_format.MessageToDict(request.object)
            sdk = request.type == "pulumi:pulumi:Stack" or request.transforms or not FAST_MOCK_REGISTRATION
            if sdk or not _plain(raw):
                response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
            else:
                response = self._register_plain(request, raw)
            if request.type == "pulumi:pulumi:Stack":
                return response
            for key in request.additionalSecretOutputs:
                if key in response.object.fields:
                    response.object.fields[key].CopyFrom(_secret(response.object.fields[key]))
            wire, outputs_wire = struct_pb2.Struct(), struct_pb2.Struct()
            wire.CopyFrom(request.object)
            outputs_wire.CopyFrom(response.object)
            record = Registered(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=request.custom,
                wire=wire,
                inputs=_unwrap(raw),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                dependencies=list(request.dependencies),
                replace_on_changes=list(request.replaceOnChanges),
                additional_secret_outputs=list(request.additionalSecretOutputs),
                custom_timeouts={
                    k: v for k in ("create", "update", "delete") if (v := getattr(request.customTimeouts, k, ""))
                },
                outputs=_unwrap(json_format.MessageToDict(response.object)),
                ignore_changes=list(request.ignoreChanges),
                provider=request.provider,
                outputs_wire=outputs_wire,
            )
            with recording:
                registered.append(record)
                if on_register is not None:
                    on_register(record)
            return response

        def _register_plain(self, request: Any, inputs: dict[str, Any]) -> Any:
            """`MockMonitor.RegisterResource` (pulumi 3.x runtime/mocks.py) for inputs that
            deserialize and serialize back to themselves (`_plain`): the same response without
            the round trip through the SDK's serializer and a fresh event loop per resource
            (most of the mock's cost). tests/tools/test_offline_mocks.py compares the two."""
            urn = self.make_urn(request.parent, request.type, request.name)
            args = pulumi.runtime.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
                transforms=[],
            )
            id_, state = self.mocks.new_resource(args)
            out = struct_pb2.Struct()
            out.CopyFrom(request.object)
            for key, value in state.items():
                if key in inputs and value is inputs[key]:
                    continue
                if value is None:
                    if key in out.fields:
                        del out.fields[key]
                elif isinstance(value, (str, bool, int, float)):
                    out[key] = value
                else:
                    return super().RegisterResource(request)  # type: ignore[no-untyped-call]
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_ or "", state)
            return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=out)

    mocks = _mocks(exit_codes or {})
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()
    runtime_settings.ROOT.set(None)
    notes: list[str] = []
    logger = logging.getLogger(f"ai-stack.offline.{stack}")
    logger.handlers = [_Notes(notes)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    pulumi.runtime.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=False, monitor=CapturingMonitor(mocks), logger=logger
    )
    pulumi.runtime.set_all_config(config, secret_keys)

    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()

    async def resolve(declared: dict[str, Any]) -> None:
        for name, value in declared.items():
            out = pulumi.Output.from_input(value)
            outputs[name] = await out.future()
            if await out.is_secret():
                secret_outputs.add(name)

    def program() -> Any:
        if entry is not None:
            runpy.run_path(str(entry), run_name="__main__")
            return None
        from stack.config import settings_from_config
        from stack.program import build

        return resolve(build(settings_from_config()))

    with _no_source_positions(), _inline_monitor_calls():
        _sync_await(run_pulumi_func(program))
    return Evaluation(stack=stack, resources=registered, outputs=outputs, secret_outputs=secret_outputs, notes=notes)
