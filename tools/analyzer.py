"""Run a Python policy pack exactly as the Pulumi CLI does and talk to it over the Analyzer gRPC protocol.

The CLI (pulumi-language-python ``RunPlugin``) starts ``python -u -m pulumi.policy <engine> <pack-dir>``
with the pack directory as working directory and ``PULUMI_PROJECT``/``PULUMI_STACK``/
``PULUMI_DRY_RUN``/``PULUMI_CONFIG`` in the environment, reads the port the pack prints, and then calls
``GetAnalyzerInfo``, ``Configure``, ``Analyze`` (per resource) and ``AnalyzeStack`` (whole stack).
This module does the same, so tests and the offline gate exercise the real wire format: properties as a
protobuf ``Struct`` (numbers are doubles), secrets wrapped in the engine's signature, unknowns as
sentinel strings, and policy config reconciled like ``pkg/resource/analyzer/config.go``.

Usage::

    with PolicyPackAnalyzer("policies", stack="prod") as pack:
        pack.configure_file("policies/config/prod.json")
        result = pack.analyze("docker:index/container:Container", "ollama", {"name": "ollama", ...})
        assert not result.mandatory
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import (
    analyzer_pb2,
    analyzer_pb2_grpc,
    engine_pb2,
    engine_pb2_grpc,
    plugin_pb2,
)

from tools.wire import SECRET_SIG, SIG_KEY, UNKNOWN_NUMBER, UNKNOWN_STRING

__all__ = [
    "SECRET_SIG",
    "SIG_KEY",
    "UNKNOWN_NUMBER",
    "UNKNOWN_STRING",
    "AnalyzeResult",
    "AnalyzerInfo",
    "Diagnostic",
    "PolicyConfigError",
    "PolicyInfo",
    "PolicyPackAnalyzer",
    "PolicyPackStartError",
    "Resource",
    "load_policy_config",
    "make_urn",
    "reconcile_config",
    "secret",
]

_LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "disabled": analyzer_pb2.DISABLED,
    "remediate": analyzer_pb2.REMEDIATE,
}
_LEVEL_NAMES = {v: k for k, v in _LEVELS.items()}
_SEVERITY_NAMES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
_POLICY_TYPES = {
    analyzer_pb2.POLICY_TYPE_UNKNOWN: "unknown",
    analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
    analyzer_pb2.POLICY_TYPE_STACK: "stack",
}
_MAX_MESSAGE = 400 * 1024 * 1024
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
]


class PolicyPackStartError(RuntimeError):
    """The pack process exited or stayed silent before printing its port."""


class PolicyConfigError(ValueError):
    """A policy config file does not match the pack (unknown policy/knob, or schema violation)."""


def secret(value: Any) -> dict[str, Any]:
    """Wrap ``value`` the way the engine marks a secret on the wire."""
    return {SIG_KEY: SECRET_SIG, "value": value}


def make_urn(
    resource_type: str,
    name: str,
    project: str,
    stack: str,
    parent_type: str | None = None,
) -> str:
    """A resource URN: ``urn:pulumi:<stack>::<project>::[<parent-type>$]<type>::<name>``."""
    qualified = f"{parent_type}${resource_type}" if parent_type else resource_type
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


@dataclass(frozen=True)
class PolicyInfo:
    """One policy as reported by ``GetAnalyzerInfo``."""

    name: str
    description: str
    enforcement_level: str
    severity: str
    policy_type: str
    config_schema: dict[str, Any]
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnalyzerInfo:
    """The pack's ``GetAnalyzerInfo`` answer."""

    name: str
    version: str
    description: str
    supports_config: bool
    policies: tuple[PolicyInfo, ...]
    initial_config: dict[str, tuple[str | None, dict[str, Any]]]

    def policy(self, name: str) -> PolicyInfo:
        """The policy called ``name`` (``KeyError`` if the pack has none)."""
        for p in self.policies:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class Diagnostic:
    """One policy violation (``AnalyzeDiagnostic``)."""

    policy_name: str
    policy_pack_name: str
    policy_pack_version: str
    enforcement_level: str
    severity: str
    message: str
    description: str
    urn: str


@dataclass(frozen=True)
class AnalyzeResult:
    """Diagnostics and not-applicable notes returned by ``Analyze`` or ``AnalyzeStack``."""

    diagnostics: tuple[Diagnostic, ...]
    not_applicable: tuple[tuple[str, str], ...] = ()

    @property
    def mandatory(self) -> list[Diagnostic]:
        """Violations that fail a preview or update."""
        return [d for d in self.diagnostics if d.enforcement_level == "mandatory"]

    @property
    def advisory(self) -> list[Diagnostic]:
        """Violations that are only printed."""
        return [d for d in self.diagnostics if d.enforcement_level == "advisory"]

    def by_policy(self, name: str) -> list[Diagnostic]:
        """Diagnostics of the policy called ``name``."""
        return [d for d in self.diagnostics if d.policy_name == name]

    def policies(self) -> set[str]:
        """Names of the policies that reported something."""
        return {d.policy_name for d in self.diagnostics}


@dataclass
class Resource:
    """A resource as the engine describes it to the analyzer."""

    type: str
    name: str
    properties: Mapping[str, Any]
    urn: str | None = None
    protect: bool = False
    parent: str | None = None
    dependencies: Sequence[str] = field(default_factory=tuple)


def _to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def _diagnostics(response: analyzer_pb2.AnalyzeResponse) -> AnalyzeResult:
    diags = tuple(
        Diagnostic(
            policy_name=d.policyName,
            policy_pack_name=d.policyPackName,
            policy_pack_version=d.policyPackVersion,
            enforcement_level=_LEVEL_NAMES.get(d.enforcementLevel, str(d.enforcementLevel)),
            severity=_SEVERITY_NAMES.get(d.severity, str(d.severity)),
            message=d.message,
            description=d.description,
            urn=d.urn,
        )
        for d in response.diagnostics
    )
    na = tuple((n.policy_name, n.reason) for n in response.not_applicable)
    return AnalyzeResult(diags, na)


def load_policy_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``--policy-pack-config`` JSON file (an empty file is an empty config)."""
    text = Path(path).read_text(encoding="utf-8")
    if not text.strip():
        return {}
    data = json.loads(text)
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: policy config must be a JSON object")
    return data


def reconcile_config(
    info: AnalyzerInfo, config: Mapping[str, Any], *, strict: bool = True
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Merge schema defaults, the pack's initial config and ``config`` the way the CLI does.

    Values are an enforcement level string or an object with ``enforcementLevel`` plus knobs; the
    key ``all`` sets the level of every policy. The result is validated against each policy's
    config schema (needs ``jsonschema``). With ``strict`` (default), unknown policy names and
    knobs missing from a schema are errors too: the CLI ignores them, which hides typos.
    """
    result: dict[str, tuple[str, dict[str, Any]]] = {}
    for p in info.policies:
        defaults = {k: v["default"] for k, v in p.config_schema.items() if isinstance(v, dict) and "default" in v}
        result[p.name] = (p.enforcement_level, defaults)

    def apply(entries: Mapping[str, tuple[str | None, dict[str, Any]]]) -> None:
        if "all" in entries and entries["all"][0]:
            for name, (_, props) in result.items():
                result[name] = (entries["all"][0] or "", props)
        for name, (level, props) in entries.items():
            if name == "all":
                continue
            if name not in result:
                if strict:
                    raise PolicyConfigError(f"policy config names unknown policy '{name}'")
                continue
            current_level, current_props = result[name]
            result[name] = (level or current_level, {**current_props, **props})

    apply(info.initial_config)
    parsed: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for name, value in config.items():
        if isinstance(value, str):
            level, props = value, {}
        elif isinstance(value, Mapping):
            props = dict(value)
            level = props.pop("enforcementLevel", None)
        else:
            raise PolicyConfigError(f"'{name}': must be an enforcement level string or an object")
        if level is not None and level not in _LEVELS:
            raise PolicyConfigError(f"'{name}': {level!r} is not a valid enforcement level")
        parsed[name] = (level, props)
    apply(parsed)

    # Imported here, not at the top: it is the slowest import of the offline gate, which
    # loads it while the pack boots (see gate.run).
    import jsonschema

    errors: list[str] = []
    for p in info.policies:
        props = result[p.name][1]
        if strict:
            errors += [f"{p.name}: unknown config '{k}'" for k in props if k not in p.config_schema]
        schema: dict[str, Any] = {"type": "object", "properties": p.config_schema}
        if p.required:
            schema["required"] = list(p.required)
        validator = jsonschema.Draft7Validator(schema)
        errors += [f"{p.name}: {e.message}" for e in validator.iter_errors(props)]
    if errors:
        raise PolicyConfigError("; ".join(errors))
    return result


class _LogCollectingEngine(engine_pb2_grpc.EngineServicer):
    """Minimal Engine service: the address the CLI passes to the pack; records log calls."""

    def __init__(self) -> None:
        self.logs: list[tuple[int, str, str]] = []
        self._root = ""

    def Log(self, request: engine_pb2.LogRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.logs.append((request.severity, request.urn, request.message))
        return empty_pb2.Empty()

    def GetRootResource(
        self, request: engine_pb2.GetRootResourceRequest, context: grpc.ServicerContext
    ) -> engine_pb2.GetRootResourceResponse:
        return engine_pb2.GetRootResourceResponse(urn=self._root)

    def SetRootResource(
        self, request: engine_pb2.SetRootResourceRequest, context: grpc.ServicerContext
    ) -> engine_pb2.SetRootResourceResponse:
        self._root = request.urn
        return engine_pb2.SetRootResourceResponse()


class PolicyPackAnalyzer:
    """A running policy pack process plus an Analyzer client; use as a context manager.

    :param pack_dir: directory holding ``PulumiPolicy.yaml`` and ``__main__.py``.
    :param project: value of ``PULUMI_PROJECT`` (also used in generated URNs).
    :param stack: value of ``PULUMI_STACK``.
    :param dry_run: ``True`` for preview, ``False`` for update (``PULUMI_DRY_RUN``).
    :param python: interpreter; default ``<pack_dir>/venv/bin/python`` when it exists (the pack's
        ``virtualenv: venv``), else the current interpreter.
    :param stack_config: stack configuration passed as ``PULUMI_CONFIG`` (JSON object).
    :param start_timeout: seconds to wait for the pack to print its port.
    :param rpc_timeout: deadline in seconds for each RPC.
    """

    def __init__(
        self,
        pack_dir: str | os.PathLike[str],
        *,
        project: str = "ai-stack",
        stack: str = "dev",
        dry_run: bool = True,
        python: str | None = None,
        stack_config: Mapping[str, str] | None = None,
        organization: str | None = None,
        start_timeout: float = 30.0,
        rpc_timeout: float = 30.0,
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self.project = project
        self.stack = stack
        self.dry_run = dry_run
        venv_python = self.pack_dir / "venv" / "bin" / "python"
        self.python = python or (str(venv_python) if venv_python.exists() else sys.executable)
        self.stack_config = dict(stack_config or {})
        self.organization = organization
        self.start_timeout = start_timeout
        self.rpc_timeout = rpc_timeout
        self.engine = _LogCollectingEngine()
        self._engine_server: grpc.Server | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._stderr: list[str] = []
        self._engine_address = ""
        self._info: AnalyzerInfo | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def engine_address(self) -> str:
        """Address of the fake Engine service passed as the pack's first argument."""
        return self._engine_address

    def start(self) -> None:
        """Start the engine stub and the pack process, and connect once it prints its port."""
        if self._process is not None:
            return
        self._engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self._engine_server)
        engine_port = self._engine_server.add_insecure_port("127.0.0.1:0")
        self._engine_server.start()
        self._engine_address = f"127.0.0.1:{engine_port}"

        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        env.update(
            PULUMI_PROJECT=self.project,
            PULUMI_STACK=self.stack,
            PULUMI_DRY_RUN="true" if self.dry_run else "false",
            PULUMI_CONFIG=json.dumps(self.stack_config),
        )
        if self.organization:
            env["PULUMI_ORGANIZATION"] = self.organization
        try:
            self._process = subprocess.Popen(
                [
                    self.python,
                    "-u",
                    "-m",
                    "pulumi.policy",
                    self._engine_address,
                    str(self.pack_dir),
                ],
                cwd=self.pack_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            port = self._read_port()
            self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_CHANNEL_OPTIONS)
            grpc.channel_ready_future(self._channel).result(timeout=self.start_timeout)
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        except BaseException:
            self.close()
            raise

    def _read_port(self) -> int:
        assert self._process is not None and self._process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        stdout, stderr = self._process.stdout, self._process.stderr

        def pump_stdout() -> None:
            for raw in iter(stdout.readline, b""):
                lines.put(raw.decode(errors="replace"))
            lines.put(None)

        def pump_stderr() -> None:
            assert stderr is not None
            for raw in iter(stderr.readline, b""):
                self._stderr.append(raw.decode(errors="replace"))

        threading.Thread(target=pump_stdout, name="policy-pack-stdout", daemon=True).start()
        threading.Thread(target=pump_stderr, name="policy-pack-stderr", daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=self.start_timeout)
            except queue.Empty:
                raise PolicyPackStartError(
                    f"policy pack printed no port within {self.start_timeout:g}s; stderr:\n{self.stderr_text()}"
                ) from None
            if line is None:
                self._process.wait(timeout=5)
                raise PolicyPackStartError(
                    f"policy pack exited with {self._process.returncode} before printing a port; "
                    f"stderr:\n{self.stderr_text()}"
                )
            if line.strip().isdigit():
                return int(line.strip())

    def stderr_text(self) -> str:
        """Everything the pack wrote to stderr so far."""
        return "".join(self._stderr)

    def close(self) -> None:
        """Stop the pack process (terminate, then kill), then close the channel and the engine.

        The process goes first: closing a gRPC channel whose server is still up waits about
        0.2 s, which is most of the offline gate's budget.
        """
        self._stub = None
        if self._process is not None:
            proc, self._process = self._process, None
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._engine_server is not None:
            self._engine_server.stop(grace=None)
            self._engine_server = None

    @property
    def stub(self) -> analyzer_pb2_grpc.AnalyzerStub:
        """The raw Analyzer stub, for calls this class does not wrap."""
        if self._stub is None:
            raise RuntimeError("policy pack is not running; use 'with PolicyPackAnalyzer(...)' or start()")
        return self._stub

    # -- RPCs -----------------------------------------------------------------------------------

    def get_plugin_info(self) -> str:
        """The pulumi-policy SDK version the pack runs (``GetPluginInfo``)."""
        info: plugin_pb2.PluginInfo = self.stub.GetPluginInfo(empty_pb2.Empty(), timeout=self.rpc_timeout)
        return info.version

    def get_analyzer_info(self) -> AnalyzerInfo:
        """Call ``GetAnalyzerInfo`` and return the pack's metadata and policies."""
        raw = self.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=self.rpc_timeout)
        policies = tuple(
            PolicyInfo(
                name=p.name,
                description=p.description,
                enforcement_level=_LEVEL_NAMES.get(p.enforcementLevel, str(p.enforcementLevel)),
                severity=_SEVERITY_NAMES.get(p.severity, str(p.severity)),
                policy_type=_POLICY_TYPES.get(p.policy_type, str(p.policy_type)),
                config_schema=json_format.MessageToDict(p.configSchema.properties),
                required=tuple(p.configSchema.required),
            )
            for p in raw.policies
        )
        initial = {
            k: (
                _LEVEL_NAMES.get(v.enforcementLevel) if v.enforcementLevel else None,
                json_format.MessageToDict(v.properties),
            )
            for k, v in raw.initialConfig.items()
        }
        self._info = AnalyzerInfo(
            name=raw.name,
            version=raw.version,
            description=raw.description,
            supports_config=raw.supportsConfig,
            policies=policies,
            initial_config=initial,
        )
        return self._info

    def configure(self, config: Mapping[str, Any], *, strict: bool = True) -> dict[str, tuple[str, dict[str, Any]]]:
        """Reconcile ``config`` (CLI ``--policy-pack-config`` format) and send it with ``Configure``.

        Returns the effective ``{policy: (enforcement level, knobs)}`` that was sent.
        """
        info = self._info or self.get_analyzer_info()
        effective = reconcile_config(info, config, strict=strict)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, props) in effective.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = _LEVELS[level]
            if props:
                entry.properties.update(props)
        self.stub.Configure(request, timeout=self.rpc_timeout)
        return effective

    def configure_file(
        self, path: str | os.PathLike[str], *, strict: bool = True
    ) -> dict[str, tuple[str, dict[str, Any]]]:
        """``configure`` from a policy config JSON file."""
        return self.configure(load_policy_config(path), strict=strict)

    def configure_stack(self, tags: Mapping[str, str] | None = None) -> None:
        """Send ``ConfigureStack`` (stack name, project, dry-run flag and tags)."""
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=self.stack,
            project=self.project,
            organization=self.organization or "",
            dry_run=self.dry_run,
        )
        for k, v in (tags or {}).items():
            request.tags[k] = v
        self.stub.ConfigureStack(request, timeout=self.rpc_timeout)

    def urn(self, resource_type: str, name: str) -> str:
        """URN of a top-level resource in this project and stack."""
        return make_urn(resource_type, name, self.project, self.stack)

    def analyze(
        self,
        resource_type: str,
        name: str,
        properties: Mapping[str, Any],
        *,
        urn: str | None = None,
        protect: bool = False,
        parent: str | None = None,
    ) -> AnalyzeResult:
        """Call ``Analyze`` for one resource's inputs and return the diagnostics."""
        resource = Resource(resource_type, name, properties, urn=urn, protect=protect, parent=parent)
        return self.analyze_resource(resource)

    def analyze_resource(self, resource: Resource) -> AnalyzeResult:
        """``analyze`` for a ``Resource``."""
        return self.analyze_resource_async(resource)()

    def analyze_resource_async(self, resource: Resource) -> Callable[[], AnalyzeResult]:
        """Send ``Analyze`` now; the returned function waits for and returns its diagnostics.

        Lets a caller keep the pack busy while it does other work (the offline gate
        evaluates the next stack meanwhile).
        """
        request = analyzer_pb2.AnalyzeRequest(
            type=resource.type,
            name=resource.name,
            urn=resource.urn or self.urn(resource.type, resource.name),
            properties=_to_struct(resource.properties),
            options=analyzer_pb2.AnalyzerResourceOptions(protect=resource.protect, parent=resource.parent or ""),
        )
        future = self.stub.Analyze.future(request, timeout=self.rpc_timeout)
        return lambda: _diagnostics(future.result())

    def analyze_stack(self, resources: Iterable[Resource]) -> AnalyzeResult:
        """Call ``AnalyzeStack`` with every resource of the stack (their outputs, as the engine does)."""
        return self.analyze_stack_async(resources)()

    def analyze_stack_async(self, resources: Iterable[Resource]) -> Callable[[], AnalyzeResult]:
        """Send ``AnalyzeStack`` now; the returned function waits for its diagnostics."""
        request = analyzer_pb2.AnalyzeStackRequest()
        for r in resources:
            request.resources.append(
                analyzer_pb2.AnalyzerResource(
                    type=r.type,
                    name=r.name,
                    urn=r.urn or self.urn(r.type, r.name),
                    properties=_to_struct(r.properties),
                    options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect, parent=r.parent or ""),
                    parent=r.parent or "",
                    dependencies=list(r.dependencies),
                )
            )
        future = self.stub.AnalyzeStack.future(request, timeout=self.rpc_timeout)
        return lambda: _diagnostics(future.result())
