"""Run a function in a forked child process and take its result back: the diff's two sides at once.

The child is forked once the SDKs and the tooling are imported, so it imports nothing again; it
evaluates the base ref while the parent evaluates the working tree, on the machine's second core.
Its result (or its exception) comes back pickled over a pipe. Where `os.fork` does not exist, or
cannot be used, the function runs in this process when its result is asked for.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


def _payload(fn: Callable[[], Any]) -> bytes:
    try:
        return pickle.dumps((True, fn()))
    except BaseException as err:  # noqa: BLE001 - raised again in the parent
        try:
            return pickle.dumps((False, err))
        except Exception:  # noqa: BLE001 - an exception that does not pickle: keep its words
            return pickle.dumps((False, RuntimeError(f"{type(err).__name__}: {err}")))


class Child(Generic[T]):
    """`fn` running in a forked child; `result()` waits for it, `cancel()` stops it."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._pid = 0
        self._read = -1
        if hasattr(os, "fork"):
            sys.stdout.flush()
            sys.stderr.flush()
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: compute, write, and leave without the parent's exit handlers
                os.close(read)
                # Only this thread came across the fork: an event loop the parent used would hand
                # Pulumi's calls to its executor's threads, which do not exist here.
                asyncio.set_event_loop(asyncio.new_event_loop())
                data = _payload(fn)
                with os.fdopen(write, "wb") as fh:
                    fh.write(data)
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)
            os.close(write)
            self._pid, self._read = pid, read

    def result(self) -> T:
        """The function's value, or its exception raised here."""
        if not self._pid:
            return self._fn()
        with os.fdopen(self._read, "rb") as fh:
            data = fh.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        if not data:
            raise RuntimeError(f"the base's evaluation died ({status=})")
        ok, value = pickle.loads(data)
        if ok:
            return cast(T, value)
        raise value

    def cancel(self) -> None:
        """Stop the child (the parent failed and will not ask for its result)."""
        if self._pid:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            os.close(self._read)
            self._pid = 0
