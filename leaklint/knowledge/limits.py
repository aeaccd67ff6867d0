"""Concurrency, worker and connection limits (LL101), as read in each library's source.

See ../shared/API-NOTES.md. Traps encoded here: `Semaphore(0)` blocks forever and
executors raise on `<= 0`, so 0 is not "unlimited" for them; `ThreadPoolExecutor(
max_workers=None)` is bounded by the standard library (min(32, cpu + 4)).
"""
from leaklint.knowledge.specs import LimitParam

_SEMAPHORE_DEFAULT = "1"

LIMITS = (
    # asyncio.locks: Semaphore(value=1), BoundedSemaphore(value=1); no "unlimited" sentinel
    LimitParam("asyncio.Semaphore", "value", 0, default=_SEMAPHORE_DEFAULT),
    LimitParam("asyncio.locks.Semaphore", "value", 0, default=_SEMAPHORE_DEFAULT),
    LimitParam("asyncio.BoundedSemaphore", "value", 0, default=_SEMAPHORE_DEFAULT),
    LimitParam("asyncio.locks.BoundedSemaphore", "value", 0, default=_SEMAPHORE_DEFAULT),
    # threading: Semaphore(value=1), BoundedSemaphore(value=1)
    LimitParam("threading.Semaphore", "value", 0, default=_SEMAPHORE_DEFAULT),
    LimitParam("threading.BoundedSemaphore", "value", 0, default=_SEMAPHORE_DEFAULT),
    # concurrent.futures: max_workers=None means min(32, cpu + 4) threads / cpu count
    # processes (bounded); <= 0 raises ValueError.
    LimitParam("concurrent.futures.ThreadPoolExecutor", "max_workers", 0, default="min(32, cpu + 4)"),
    LimitParam("concurrent.futures.thread.ThreadPoolExecutor", "max_workers", 0, default="min(32, cpu + 4)"),
    LimitParam("concurrent.futures.ProcessPoolExecutor", "max_workers", 0, default="the number of CPUs"),
    LimitParam("concurrent.futures.process.ProcessPoolExecutor", "max_workers", 0, default="the number of CPUs"),
)
