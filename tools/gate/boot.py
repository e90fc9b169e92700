"""The pack's side of the gate's start: connect to the pack process and learn its policies, in a
thread of its own, from the moment the process is launched.

The pack boots in its own process on the other core (tools.packlaunch). Connecting to it takes
gRPC and the generated protocol (which import the Pulumi SDK), then `GetAnalyzerInfo`, all
before the first `Configure`; started first thing, this runs
while the gate imports and checks the settings and the program, so the pack is configured, and
judges each resource as it registers, before the program is done.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from tools.packlaunch import Launched

if TYPE_CHECKING:
    from tools.analyzer import PolicyPackAnalyzer


class PackBoot(threading.Thread):
    """Connects a `PolicyPackAnalyzer` for `pack_dir` to `launched` (or to a process of its own).

    `pack` is set as soon as the analyzer exists (before it is connected); `error` says why it
    never started; `stop` ends it all."""

    def __init__(self, pack_dir: Path, *, stack: str, launched: Launched | None = None) -> None:
        super().__init__(daemon=True, name="policy-pack-boot")
        self.pack_dir, self.stack, self.launched = pack_dir, stack, launched
        self.pack: PolicyPackAnalyzer | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            from tools.analyzer import PolicyPackAnalyzer

            self.pack = PolicyPackAnalyzer(self.pack_dir, stack=self.stack, dry_run=True)
        except BaseException as err:  # noqa: BLE001 - reported per stack
            self.error = err
            return
        try:
            self.pack.start(self.launched)
            self.pack.get_analyzer_info()
        except BaseException as err:  # noqa: BLE001 - reported per stack
            self.error = err

    def timeout(self) -> float:
        """How long to wait for the boot: the analyzer's own start timeout, and some."""
        return (self.pack.start_timeout if self.pack is not None else 30.0) + 5

    def failure(self) -> str | None:
        """Wait for the boot; None when the pack is connected, else why not."""
        self.join(timeout=self.timeout())
        if self.is_alive():
            return "timed out"
        return None if self.error is None else str(self.error)

    def stop(self) -> None:
        """Let a boot still under way finish (else it would connect after this and leave the pack
        running), then stop the pack: through its analyzer, and the launched process in any case
        (a pack that never connected)."""
        self.join(timeout=self.timeout())
        if self.pack is not None:
            self.pack.close()
        if self.launched is not None:
            self.launched.stop()
