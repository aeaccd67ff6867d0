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


# Where an argument is: (keyword, position); either may be None.
ArgAt = Tuple[Optional[str], Optional[int]]


@dataclass(frozen=True)
class SubscriptionSpec:
    """A callable or method that registers a consumer of events.

    `callable` is a function (`atexit.register`) or `Class.method` (`method` then says
    where the class ends: `on_startup.append` for aiohttp's `Application.on_startup.
    append`; empty for user-declared names, whose last component is the method).
    `repeat` says what calling it again does: "adds" another registration, "by-handler"
    (ignored when given the same handler object again: logging, signals, SQLAlchemy
    events), or "replaces" the previous subscription (Kafka `subscribe`)."""

    callable: str
    channel_arg: Optional[Union[int, str]] = None  # which argument names the channel
    note: str = ""
    method: str = ""
    repeat: str = "adds"
    handler: Optional[ArgAt] = None  # the handler argument; None: none, or the decorated function
    receiver_arg: Optional[ArgAt] = None  # for functions: the argument subscribed on (`event.listen(target, ...)`)
    weak: Optional[ArgAt] = None  # a `weak` flag defaulting to True: a weakly held fresh handler is dropped at once
    uid: Optional[str] = None  # a keyword that de-duplicates by its value (Django `dispatch_uid`)
    undo: Tuple[str, ...] = ()  # receiver methods or attributes that undo or inspect subscriptions
    any_receiver: bool = False  # the method name is distinctive: match it whatever the receiver
    trigger: str = ""  # a word every file using it contains (default: the last name)


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
