"""The shapes of the knowledge tables' rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union


@dataclass(frozen=True)
class LimitParam:
    """A parameter that bounds concurrency, workers or connections.

    `unbounded` lists the API's own "no limit" sentinels (None, 0, -1 where documented);
    any value at or above the huge-threshold, infinity, or the size of the work is
    unbounded too. `default` says what leaving it out means, for messages and docs."""

    callable: str
    param: str
    position: Optional[int]
    unbounded: Tuple[Any, ...] = ()
    default: str = ""
    note: str = ""


@dataclass(frozen=True)
class ResourceSpec:
    """A call whose result must be released with one of `release`."""

    callable: str
    release: Tuple[str, ...]
    awaited: bool = False  # release is a coroutine (`await x.close()`)
    with_releases: bool = True  # False where `with` only commits (sqlite3, psycopg2)
    note: str = ""


@dataclass(frozen=True)
class SubscriptionSpec:
    """A callable or method that registers a consumer of events."""

    callable: str
    channel_arg: Optional[Union[int, str]] = None  # which argument names the channel
    note: str = ""


@dataclass(frozen=True)
class BufferParam:
    """A parameter that bounds a buffer, queue or prefetch."""

    callable: str
    param: str
    position: Optional[int]
    unbounded: Tuple[Any, ...] = ()
    maximum: Optional[int] = None  # above this is too large
    default: str = ""
    note: str = ""
