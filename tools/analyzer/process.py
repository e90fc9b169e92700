"""The pack's process as the CLI runs it: a stub Engine service for its first argument, and its port."""

from __future__ import annotations

import queue
import subprocess
import threading

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc


class PolicyPackStartError(RuntimeError):
    """The pack process exited or stayed silent before printing its port."""


class LogCollectingEngine(engine_pb2_grpc.EngineServicer):
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


def read_port(process: subprocess.Popen[bytes], timeout: float, stderr_lines: list[str]) -> int:
    """Pump the pack's stdout and stderr (into ``stderr_lines``) and return the port it prints.

    Raises ``PolicyPackStartError`` when the pack exits, or prints nothing for ``timeout`` seconds.
    """
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    stdout, stderr = process.stdout, process.stderr

    def pump_stdout() -> None:
        for raw in iter(stdout.readline, b""):
            lines.put(raw.decode(errors="replace"))
        lines.put(None)

    def pump_stderr() -> None:
        assert stderr is not None
        for raw in iter(stderr.readline, b""):
            stderr_lines.append(raw.decode(errors="replace"))

    threading.Thread(target=pump_stdout, name="policy-pack-stdout", daemon=True).start()
    threading.Thread(target=pump_stderr, name="policy-pack-stderr", daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise PolicyPackStartError(
                f"policy pack printed no port within {timeout:g}s; stderr:\n{''.join(stderr_lines)}"
            ) from None
        if line is None:
            process.wait(timeout=5)
            raise PolicyPackStartError(
                f"policy pack exited with {process.returncode} before printing a port; stderr:\n{''.join(stderr_lines)}"
            )
        if line.strip().isdigit():
            return int(line.strip())
