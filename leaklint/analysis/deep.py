"""Running libcst's recursive code (codegen, transformers) on deeply nested trees.

CPython accepts expressions nested ~3000 deep; libcst's codegen recurses a few Python
frames per level and hits the default recursion limit near 300-900. On RecursionError
we retry once in a thread with a large C stack and a raised recursion limit, so deep
but legal code is linted instead of reported as too deep.
"""
from __future__ import annotations

import sys
import threading
from typing import Any, Callable, TypeVar

T = TypeVar("T")

_STACK_BYTES = 512 * 1024 * 1024
_RECURSION_LIMIT = 200_000
_lock = threading.Lock()


def run_deep(func: Callable[..., T], *args: Any) -> T:
    """`func(*args)`, retried with a deep stack if it runs out of recursion."""
    try:
        return func(*args)
    except RecursionError:
        pass
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = func(*args)
        except BaseException as exc:  # handed back to the caller's thread below
            outcome["error"] = exc

    with _lock:  # the stack size and the recursion limit are process-wide settings
        old_limit = sys.getrecursionlimit()
        old_stack = threading.stack_size()
        try:
            threading.stack_size(_STACK_BYTES)
            sys.setrecursionlimit(max(old_limit, _RECURSION_LIMIT))
            worker = threading.Thread(target=target, name="leaklint-deep")
            worker.start()
            worker.join()
        finally:
            sys.setrecursionlimit(old_limit)
            threading.stack_size(old_stack)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
