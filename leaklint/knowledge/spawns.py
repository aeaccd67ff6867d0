"""Fan-out and spawn APIs (LL102, LL103): what starts work now, what bounds it, and what
is an endless source of work. Checked against CPython 3.11-3.14 asyncio and
concurrent.futures, anyio 4.16.0, trio 0.35.0, redis 8.1.0, kafka-python 3.0.12,
pika 1.4.4 (sources in /work/corpus/site); see ../shared/API-NOTES.md.
"""
from leaklint.knowledge.tasks import TASK_FACTORIES

# Functions that schedule a task on the running loop the moment they are called.
# `ensure_future` starts one only when handed a coroutine (given a future it returns
# it), so the rules require a call argument. (`asyncio.Task(coro)` does the same, but
# the docs discourage it and the word "Task" is in too many files to pre-filter on.)
TASK_SPAWNERS = TASK_FACTORIES
PASS_THROUGH_SPAWNERS = ("ensure_future",)  # given a future, return it unchanged

# Functions that wrap every awaitable they are given in a task at once: gather(*aws) and
# as_completed(aws) (it calls ensure_future on each). value: the position of the
# awaitables argument; "*" for gather's varargs. Not `asyncio.wait`: it refuses
# coroutines since 3.11, so what it is given was spawned elsewhere and is reported there.
FAN_OUT_FUNCTIONS = {
    "asyncio.gather": "*",
    "asyncio.tasks.gather": "*",
    "asyncio.as_completed": 0,
    "asyncio.tasks.as_completed": 0,
}

# Methods that start work at once, by method name, with what the receiver must be:
#   "loop"     an event loop (`loop.create_task`)
#   "group"    a task group or nursery (asyncio.TaskGroup, anyio/trio task groups)
#   "executor" a concurrent.futures executor (submit queues the call and returns a future)
#   "any"      names only these libraries use
# A receiver qualifies when it was built by one of the factories below or, failing
# that, when its name says so (`loop`, `self._loop`, `tg`, `nursery`, `executor`).
SPAWN_METHODS = {
    "create_task": ("loop", "group"),
    "start_soon": ("any",),  # anyio TaskGroup.start_soon, trio Nursery.start_soon
    "run_in_executor": ("any",),  # AbstractEventLoop.run_in_executor: a future, submitted now
    "submit": ("executor",),
}

# The callable argument of a spawn that names the work (for the callee's own guard):
# position of the function, when the work is passed as `f, *args`.
WORK_FUNCTION_POSITION = {"start_soon": 0, "run_in_executor": 1, "submit": 0}

# Spawn methods whose work runs on an executor's fixed set of workers: one per item in a
# loop is not a fan-out (LL102), the pool is the bound (its size is LL101's question).
EXECUTOR_BOUNDED_METHODS = ("submit", "run_in_executor")

# Functions that wrap one awaitable (their first argument) in another, adding a timeout
# or a shield: the work is what they wrap (`gather(*(wait_for(fetch(u), 5) for u in urls))`).
AWAITABLE_WRAPPERS = ("asyncio.wait_for", "asyncio.tasks.wait_for", "asyncio.shield", "asyncio.tasks.shield")

# Functions that take `f, *args` and return an awaitable running f in a worker thread
# (the default executor's workers bound them, as above).
THREAD_RUNNERS = {
    "asyncio.to_thread": 0,
    "asyncio.threads.to_thread": 0,
    "anyio.to_thread.run_sync": 0,
    "trio.to_thread.run_sync": 0,
}

LOOP_FACTORIES_EXTRA = ("asyncio.AbstractEventLoop", "asyncio.BaseEventLoop", "asyncio.events.AbstractEventLoop")

TASK_GROUP_FACTORIES = (
    "asyncio.TaskGroup",
    "asyncio.taskgroups.TaskGroup",
    "anyio.create_task_group",
    "anyio.abc.TaskGroup",
    "trio.open_nursery",
    "trio.Nursery",
)

EXECUTOR_FACTORIES = (
    "concurrent.futures.ThreadPoolExecutor",
    "concurrent.futures.thread.ThreadPoolExecutor",
    "concurrent.futures.ProcessPoolExecutor",
    "concurrent.futures.process.ProcessPoolExecutor",
    "concurrent.futures.InterpreterPoolExecutor",
    "concurrent.futures.Executor",
    "concurrent.futures._base.Executor",
)

# Receiver names that mean the kind by convention (compared without leading underscores,
# lower-cased; a name ending in `_<word>` counts too: `event_loop`, `io_executor`).
LOOP_NAMES = ("loop",)
GROUP_NAMES = ("tg", "task_group", "taskgroup", "nursery", "group")
EXECUTOR_NAMES = ("executor", "pool_executor", "thread_pool", "process_pool", "threadpool")

# Executor.map(fn, *iterables, timeout=None, chunksize=1, buffersize=None): before 3.14
# (and with buffersize=None) it submits every item of the iterables at once.
EXECUTOR_MAP = "map"
EXECUTOR_MAP_TRIGGER = ".map("  # the rule reads `<executor>.map(...)` calls only
EXECUTOR_MAP_BUFFER = "buffersize"

# --- what bounds the work ---------------------------------------------------------

# Constructors of semaphores, limiters and locks: `async with` one of these (or a
# `.acquire()`) caps how much of the work runs at once. A lock is a limit of one.
LIMITER_FACTORIES = (
    "asyncio.Semaphore", "asyncio.BoundedSemaphore", "asyncio.Lock", "asyncio.Condition",
    "asyncio.locks.Semaphore", "asyncio.locks.BoundedSemaphore", "asyncio.locks.Lock",
    "threading.Semaphore", "threading.BoundedSemaphore", "threading.Lock", "threading.RLock",
    "threading.Condition",
    "anyio.CapacityLimiter", "anyio.Semaphore", "anyio.Lock", "anyio.Condition",
    "trio.CapacityLimiter", "trio.Semaphore", "trio.Lock", "trio.StrictFIFOLock", "trio.Condition",
    "aiolimiter.AsyncLimiter",
)

# Words in a guard's name that mean a limiter (`async with self._sem:`, `with
# rate_limiter:`, `async with self.connection_lock:`); matched against the name's words.
LIMITER_WORDS = (
    "sem", "sema", "semaphore", "semaphores", "limit", "limiter", "limiters", "lock", "rlock",
    "mutex", "throttle", "throttler", "slot", "slots", "capacity", "concurrency", "bulkhead",
    "gate", "bound", "permits", "tokens",
)

# Calls in a loop that wait until capacity frees up (or for the spawned work itself):
# methods by name (or by first word: `wait_task_can_start`, `acquire_token`), functions
# by qualified name.
CAPACITY_WAIT_METHODS = ("acquire", "wait", "join", "result", "put")
CAPACITY_WAIT_FUNCTIONS = (
    "asyncio.wait", "asyncio.gather", "asyncio.as_completed", "asyncio.wait_for", "asyncio.shield",
    "asyncio.tasks.wait", "asyncio.tasks.gather",
    "concurrent.futures.wait", "concurrent.futures.as_completed",
)
# Pacing: a loop that sleeps between spawns starts at most one task per interval.
SLEEP_FUNCTIONS = ("asyncio.sleep", "time.sleep", "anyio.sleep", "trio.sleep", "asyncio.tasks.sleep")

# Method calls that release what the object holds: a fan-out of these over the objects
# a program already has (close every connection, cancel every task) adds no work.
# Matched on the method name's first word (`disconnect_free_connections`).
RELEASE_METHODS = (
    "close", "aclose", "wait_closed", "shutdown", "stop", "cancel", "disconnect", "terminate",
    "kill", "join", "unsubscribe", "punsubscribe", "release", "flush", "cleanup", "clear",
    "finalize", "wait",
)

# --- endless sources of work (LL103) -----------------------------------------------

# Classes whose instances a `for` loop iterates until the program stops.
CONSUMER_CLASSES = (
    "kafka.KafkaConsumer",
    "kafka.consumer.KafkaConsumer",
    "kafka.consumer.group.KafkaConsumer",
)
# Methods whose result a `for` loop iterates until the program stops:
# redis PubSub.listen(), pika BlockingChannel.consume().
CONSUMER_METHODS = ("listen", "consume")
# Names that say a `for` loop's iterable is a consumer or a message stream.
CONSUMER_NAMES = ("consumer", "subscription", "pubsub", "message_stream", "messages_stream")
# Named constants that are endless streams.
CONSUMER_CONSTANTS = ("sys.stdin",)

# --- populations that do not grow with the input (LL102) --------------------------

# Words in a fan-out's iterable or loop variable that name what a program holds a
# handful of — the nodes of a cluster, its connections, registered listeners and
# callbacks: one task for each of them is bounded by the deployment or by the code,
# not by the size of a request or a message stream.
FIXED_POPULATION_WORDS = frozenset(
    """
    node nodes broker brokers host hosts server servers shard shards partition partitions
    tp tps replica replicas sentinel sentinels cluster clusters member members peer peers
    endpoint endpoints backend backends service services database databases db dbs
    connection connections conn conns client clients socket sockets sock socks channel
    channels queue queues pool pools listener listeners subscriber subscribers subscription
    subscriptions sub subs consumer consumers producer producers worker workers thread threads
    table tables
    process processes callback callbacks cb cbs handler handlers hook hooks observer
    observers plugin plugins check checks streamer streamers source sources child children
    """.split()
)
