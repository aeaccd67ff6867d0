"""Concurrency, worker and connection limits (LL101), as read in each library's source.

See ../shared/API-NOTES.md. Versions checked: CPython 3.11-3.14 stdlib, anyio 4.16.0,
trio 0.35.0, aiostream 0.8.1, aiometer 1.0.0, httpx 0.28.1, httpcore 1.0.9, aiohttp
3.14.5, redis 8.1.0 and 5.2.1, faststream 0.7.8 (the sources in /work/corpus/site).

Traps encoded here: `Semaphore(0)` blocks forever and executors / `Pool` raise on `<= 0`,
so 0 is not "unlimited" for them (no sentinel listed); `ThreadPoolExecutor(max_workers=
None)` is bounded by the standard library (min(32, cpu + 4)), so None is no sentinel
there either. Any value at or above the huge-threshold, infinity, or `len(work)` is
unbounded for every row; `unbounded` adds the API's own "no limit" sentinels.
"""
from leaklint.knowledge.specs import LimitParam

_SEMAPHORE_DEFAULT = "1"
_NONE = (None,)


def _rows(callables, param, position, unbounded=(), default="", note=""):
    return tuple(LimitParam(c, param, position, unbounded=unbounded, default=default, note=note) for c in callables)


# faststream: `broker.subscriber(..., max_workers=None)`; None or 1 handles messages one at
# a time, N > 1 runs a ConcurrentSubscriber guarded by anyio.Semaphore(N), so only a
# huge N is unbounded. A method of a broker or router instance: the rule matches
# `<instance>.subscriber(...)` when the instance was built by one of these classes.
FASTSTREAM_REGISTRARS = tuple(
    f"faststream.{package}.{cls}"
    for package, classes in (
        ("kafka", ("KafkaBroker", "KafkaRouter")),
        ("kafka.fastapi", ("KafkaRouter",)),
        ("confluent", ("KafkaBroker", "KafkaRouter")),
        ("confluent.fastapi", ("KafkaRouter",)),
        ("redis", ("RedisBroker", "RedisRouter", "RedisClusterBroker", "RedisSentinelBroker")),
        ("redis.fastapi", ("RedisRouter", "RedisSentinelRouter")),
        ("nats", ("NatsBroker", "NatsRouter")),
        ("nats.fastapi", ("NatsRouter",)),
        ("mqtt", ("MQTTBroker", "MQTTRouter")),
    )
    for cls in classes
)

LIMITS = (
    # asyncio.locks: Semaphore(value=1), BoundedSemaphore(value=1); no "unlimited" sentinel
    *_rows(
        ("asyncio.Semaphore", "asyncio.locks.Semaphore", "asyncio.BoundedSemaphore", "asyncio.locks.BoundedSemaphore"),
        "value", 0, default=_SEMAPHORE_DEFAULT,
    ),
    # threading: Semaphore(value=1), BoundedSemaphore(value=1)
    *_rows(("threading.Semaphore", "threading.BoundedSemaphore"), "value", 0, default=_SEMAPHORE_DEFAULT),
    # concurrent.futures: max_workers=None means min(32, cpu + 4) threads / cpu count
    # processes (bounded); <= 0 raises ValueError. InterpreterPoolExecutor is 3.14+.
    *_rows(
        ("concurrent.futures.ThreadPoolExecutor", "concurrent.futures.thread.ThreadPoolExecutor"),
        "max_workers", 0, default="min(32, cpu + 4)",
    ),
    *_rows(
        ("concurrent.futures.ProcessPoolExecutor", "concurrent.futures.process.ProcessPoolExecutor"),
        "max_workers", 0, default="the number of CPUs",
    ),
    *_rows(
        ("concurrent.futures.InterpreterPoolExecutor", "concurrent.futures.interpreter.InterpreterPoolExecutor"),
        "max_workers", 0, default="min(32, cpu + 4)",
    ),
    # multiprocessing.pool.Pool(processes=None, ...): None -> os.cpu_count(); < 1 raises.
    # ThreadPool and multiprocessing.dummy.Pool take the same first parameter.
    *_rows(
        (
            "multiprocessing.Pool", "multiprocessing.pool.Pool", "multiprocessing.pool.ThreadPool",
            "multiprocessing.dummy.Pool",
        ),
        "processes", 0, default="the number of CPUs",
    ),
    # anyio._core._synchronization: CapacityLimiter(total_tokens: float) accepts an int or
    # math.inf (infinity is caught by the huge-threshold check); Semaphore(initial_value,
    # *, max_value=None) must be >= 0, and 0 is a signal, not a limit.
    LimitParam("anyio.CapacityLimiter", "total_tokens", 0, default="required"),
    LimitParam("anyio.Semaphore", "initial_value", 0, default="required"),
    # trio._sync: the same shapes as anyio (anyio wraps trio's on that backend)
    LimitParam("trio.CapacityLimiter", "total_tokens", 0, default="required"),
    LimitParam("trio.Semaphore", "initial_value", 0, default="required"),
    # aiostream.stream (pipable operators): task_limit: int | None = None, and None means
    # one task per item of the source. map, amap, flatmap and concatmap take
    # `*more_sources` before it, so it is keyword-only there; the `pipe.` forms drop
    # the leading `source`, shifting the positions of the others by one.
    *_rows(
        tuple(f"aiostream.{form}.{op}" for form in ("stream", "pipe") for op in ("map", "amap", "flatmap", "concatmap")),
        "task_limit", None, unbounded=_NONE, default="None (one task per item)",
    ),
    *_rows(("aiostream.stream.action", "aiostream.stream.starmap"), "task_limit", 3, unbounded=_NONE,
           default="None (one task per item)"),
    *_rows(("aiostream.pipe.action", "aiostream.pipe.starmap"), "task_limit", 2, unbounded=_NONE,
           default="None (one task per item)"),
    *_rows(("aiostream.stream.concat", "aiostream.stream.flatten"), "task_limit", 1, unbounded=_NONE,
           default="None (one task per sequence)"),
    *_rows(("aiostream.pipe.concat", "aiostream.pipe.flatten"), "task_limit", 0, unbounded=_NONE,
           default="None (one task per sequence)"),
    # aiometer._impl: run_on_each / run_all / run_any / amap(..., *, max_at_once=None);
    # None adds no HardLimitMeter, so every job starts at once.
    *_rows(
        ("aiometer.run_on_each", "aiometer.run_all", "aiometer.run_any", "aiometer.amap"),
        "max_at_once", None, unbounded=_NONE, default="None (everything at once)",
    ),
    # httpx._config.Limits(*, max_connections=None, max_keepalive_connections=None): the
    # client's own default is Limits(max_connections=100, ...), an explicit None lifts
    # it. The keep-alive cap only sizes the idle pool (httpcore takes min() with
    # max_connections), so it is not a concurrency limit and is not listed.
    *_rows(("httpx.Limits", "httpx._config.Limits"), "max_connections", None, unbounded=_NONE,
           default="None here; 100 when the client builds its own Limits"),
    # httpcore ConnectionPool(ssl_context, proxy, max_connections=10, ...): None becomes
    # sys.maxsize.
    *_rows(("httpcore.ConnectionPool", "httpcore.AsyncConnectionPool"), "max_connections", 2, unbounded=_NONE,
           default="10"),
    # aiohttp.connector: TCPConnector(*, limit=100, limit_per_host=0); `if self._limit`
    # treats 0 (and None) as "no limit". Both are caps on the same connections, see
    # SHARED_BOUNDS: a bounded one of the two bounds the connector.
    *_rows(("aiohttp.TCPConnector", "aiohttp.connector.TCPConnector", "aiohttp.UnixConnector",
            "aiohttp.NamedPipeConnector"), "limit", None, unbounded=(0, None), default="100"),
    *_rows(("aiohttp.TCPConnector", "aiohttp.connector.TCPConnector", "aiohttp.UnixConnector",
            "aiohttp.NamedPipeConnector"), "limit_per_host", None, unbounded=(0, None), default="0 (no per-host cap)"),
    # redis ConnectionPool(connection_class=Connection, max_connections=None, ...):
    # 5.x-7.x do `max_connections or 2**31`; 8.x does `or 100`. An explicit None or 0
    # asks for "no limit" and gets 2**31 connections before redis 8.
    *_rows(
        (
            "redis.ConnectionPool", "redis.connection.ConnectionPool", "redis.BlockingConnectionPool",
            "redis.connection.BlockingConnectionPool", "redis.asyncio.ConnectionPool",
            "redis.asyncio.connection.ConnectionPool", "redis.asyncio.BlockingConnectionPool",
            "redis.asyncio.connection.BlockingConnectionPool",
        ),
        "max_connections", 1, unbounded=(0, None), default="100 (redis 8) or 2**31 (redis < 8)",
        note="redis < 8 turns None or 0 into 2**31 connections",
    ),
    # redis.Redis(..., max_connections=None) and from_url(url, **kwargs) hand it to the pool
    *_rows(
        (
            "redis.Redis", "redis.StrictRedis", "redis.client.Redis", "redis.asyncio.Redis",
            "redis.asyncio.StrictRedis", "redis.asyncio.client.Redis", "redis.from_url", "redis.asyncio.from_url",
            "redis.Redis.from_url", "redis.asyncio.Redis.from_url", "redis.ConnectionPool.from_url",
            "redis.asyncio.ConnectionPool.from_url", "redis.BlockingConnectionPool.from_url",
            "redis.asyncio.BlockingConnectionPool.from_url",
        ),
        "max_connections", None, unbounded=(0, None), default="100 (redis 8) or 2**31 (redis < 8)",
        note="redis < 8 turns None or 0 into 2**31 connections",
    ),
    # faststream <registrar>.subscriber(..., max_workers=N): a method of an instance
    *_rows(tuple(f"{r}.subscriber" for r in FASTSTREAM_REGISTRARS), "max_workers", None,
           default="None (one message at a time)"),
)

# Parameters that cap the same thing together: the call is unbounded only when each of
# them is unbounded (given so, or left at an unbounded default), and then it is reported
# once, on the first one given. aiohttp: a per-host cap bounds a client of one host, and
# `limit` bounds the total.
SHARED_BOUNDS = {
    name: ("limit", "limit_per_host")
    for name in ("aiohttp.TCPConnector", "aiohttp.connector.TCPConnector", "aiohttp.UnixConnector",
                 "aiohttp.NamedPipeConnector")
}

# (callable, param) pairs whose default is itself unbounded
UNBOUNDED_DEFAULTS = frozenset((name, "limit_per_host") for name in SHARED_BOUNDS)

# Attributes that set a limit after creation: `limiter.total_tokens = math.inf` (anyio
# documents it for the default thread limiter). Keyed by attribute, with the classes
# whose instances carry it and the factories that return such an instance.
LIMIT_ATTRIBUTES = {
    "total_tokens": (
        ("anyio.CapacityLimiter", "trio.CapacityLimiter"),
        ("anyio.to_thread.current_default_thread_limiter", "trio.to_thread.current_default_thread_limiter"),
    ),
}

# Methods that take a token from a semaphore, lock or capacity limiter: a loop that calls
# one (directly or through a helper of its class) runs no more work than there are
# tokens. anyio's and trio's CapacityLimiter also borrow on behalf of another object
# (`acquire_on_behalf_of`), and both libraries' limiters, semaphores and locks have
# `_nowait` forms that raise WouldBlock instead of waiting (anyio 4.16
# `_backends/_asyncio.py`, trio 0.35 `_sync.py`): either way no token, no work.
LIMITER_ACQUIRE_METHODS = frozenset({
    "acquire", "acquire_nowait", "acquire_on_behalf_of", "acquire_on_behalf_of_nowait",
})


# Calls that feed a stream or queue: a producer doing one while it holds a handler's
# limiter waits for the handlers (LL103).
FEED_METHODS = frozenset({"send", "send_nowait", "put", "put_nowait"})
