"""The client: start the pack like the CLI does, then call its Analyzer RPCs."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from concurrent import futures
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc, plugin_pb2

from tools.packlaunch import Launched, launch, pack_python

from .config import load_policy_config, reconcile_config
from .process import LogCollectingEngine, read_port
from .protocol import (
    LEVELS,
    AnalyzeResult,
    AnalyzerInfo,
    Resource,
    analyzer_info_of,
    diagnostics_of,
    make_urn,
    to_struct,
)

_MAX_MESSAGE = 400 * 1024 * 1024
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
]


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
        self.python = pack_python(self.pack_dir, python)
        self.stack_config = dict(stack_config or {})
        self.organization = organization
        self.start_timeout = start_timeout
        self.rpc_timeout = rpc_timeout
        self.engine = LogCollectingEngine()
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

    def start(self, launched: Launched | None = None) -> None:
        """Start the pack process (or take `launched`, started earlier by ``tools.packlaunch`` with
        this analyzer's settings), serve the engine stub on its port, and connect once the pack
        prints its own port."""
        if self._process is not None:
            return
        try:
            if launched is None:
                launched = launch(
                    self.pack_dir,
                    python=self.python,
                    project=self.project,
                    stack=self.stack,
                    dry_run=self.dry_run,
                    stack_config=self.stack_config,
                    organization=self.organization,
                )
            self._process = launched.process
            self._engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
            engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self._engine_server)
            engine_port = self._engine_server.add_insecure_port(launched.engine_address)
            launched.release()
            self._engine_server.start()
            self._engine_address = f"127.0.0.1:{engine_port}"
            port = read_port(self._process, self.start_timeout, self._stderr)
            self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_CHANNEL_OPTIONS)
            grpc.channel_ready_future(self._channel).result(timeout=self.start_timeout)
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        except BaseException:
            if launched is not None:
                launched.release()
                if self._process is None:
                    self._process = launched.process
            self.close()
            raise

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
        self._info = analyzer_info_of(raw)
        return self._info

    def configure(self, config: Mapping[str, Any], *, strict: bool = True) -> dict[str, tuple[str, dict[str, Any]]]:
        """Reconcile ``config`` (CLI ``--policy-pack-config`` format) and send it with ``Configure``.

        Returns the effective ``{policy: (enforcement level, knobs)}`` that was sent: every entry
        the CLI sends, "all" and unknown names included (pkg/resource/plugin/analyzer_plugin.go
        `Configure`, 1b5949891b).
        """
        info = self._info or self.get_analyzer_info()
        effective = reconcile_config(info, config, strict=strict)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, props) in effective.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = LEVELS[level]
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
            properties=to_struct(resource.properties),
            options=analyzer_pb2.AnalyzerResourceOptions(protect=resource.protect, parent=resource.parent or ""),
        )
        if resource.provider is not None:
            request.provider.CopyFrom(resource.provider.message())
        future = self.stub.Analyze.future(request, timeout=self.rpc_timeout)
        return lambda: diagnostics_of(future.result())

    def analyze_stack(self, resources: Iterable[Resource]) -> AnalyzeResult:
        """Call ``AnalyzeStack`` with every resource of the stack (their outputs, as the engine does)."""
        return self.analyze_stack_async(resources)()

    def analyze_stack_async(self, resources: Iterable[Resource]) -> Callable[[], AnalyzeResult]:
        """Send ``AnalyzeStack`` now; the returned function waits for its diagnostics."""
        request = analyzer_pb2.AnalyzeStackRequest()
        for r in resources:
            message = analyzer_pb2.AnalyzerResource(
                type=r.type,
                name=r.name,
                urn=r.urn or self.urn(r.type, r.name),
                properties=to_struct(r.properties),
                options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect, parent=r.parent or ""),
                parent=r.parent or "",
                dependencies=list(r.dependencies),
            )
            if r.provider is not None:
                message.provider.CopyFrom(r.provider.message())
            request.resources.append(message)
        future = self.stub.AnalyzeStack.future(request, timeout=self.rpc_timeout)
        return lambda: diagnostics_of(future.result())
