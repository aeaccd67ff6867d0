"""APIs that start tasks, and how to recognise an event loop (asyncio source, 3.9-3.14)."""

# Functions whose task the event loop holds only weakly (asyncio keeps `_all_tasks`
# in a WeakSet): the caller must keep a reference.
TASK_FACTORIES = (
    "asyncio.create_task",
    "asyncio.ensure_future",
    "asyncio.tasks.create_task",
    "asyncio.tasks.ensure_future",
)

# Calls that return an event loop.
LOOP_FACTORIES = (
    "asyncio.get_event_loop",
    "asyncio.get_running_loop",
    "asyncio.new_event_loop",
    "asyncio.events.get_event_loop",
    "asyncio.events.get_running_loop",
    "asyncio.events.new_event_loop",
    "uvloop.new_event_loop",
)

# Methods of an event loop that start a weakly held task.
LOOP_TASK_METHODS = ("create_task",)

# LL206: calls whose result is a task, a future or a callback handle. Kept in a
# long-lived collection, each one stays there until something removes it.
FUTURE_FACTORIES = TASK_FACTORIES + (
    "asyncio.run_coroutine_threadsafe",  # a concurrent.futures.Future
    "asyncio.tasks.run_coroutine_threadsafe",
    "asyncio.Future",
    "asyncio.futures.Future",
    "asyncio.Task",
    "asyncio.tasks.Task",
    "concurrent.futures.Future",
)

# LL206: methods that return a task, future or handle whatever their receiver:
# loop.create_task / TaskGroup.create_task (Task), loop.create_future (Future),
# loop.run_in_executor (Future), Executor.submit (concurrent Future),
# loop.call_soon / call_soon_threadsafe (Handle), call_later / call_at (TimerHandle).
HANDLE_METHODS = ("call_soon", "call_soon_threadsafe", "call_later", "call_at")  # no add_done_callback
FUTURE_METHODS = ("create_task", "create_future", "run_in_executor", "submit") + HANDLE_METHODS

# LL206: what grows and what shrinks a collection (the builtin and collections APIs).
# `setdefault(k, v)` and `insert(i, v)` take the value second.
COLLECTION_ADDERS = ("add", "append", "appendleft", "setdefault", "insert")
COLLECTION_REMOVERS = (
    "discard", "remove", "pop", "popitem", "popleft", "clear", "difference_update",
    "intersection_update", "symmetric_difference_update", "__delitem__",
)

# LL206: calls that make an empty, unbounded collection. `collections.deque` is bounded
# when given `maxlen`; weakref collections drop what nobody else holds, so they are absent.
UNBOUNDED_COLLECTIONS = (
    "builtins.set", "builtins.list", "builtins.dict",
    "collections.defaultdict", "collections.OrderedDict", "collections.deque",
    "collections.Counter",
)

# LL206: functions that read a collection of tasks and keep no reference to it.
COLLECTION_READERS = (
    "asyncio.wait", "asyncio.tasks.wait", "asyncio.as_completed", "asyncio.tasks.as_completed",
    "asyncio.gather", "concurrent.futures.wait", "concurrent.futures.as_completed",
)

# LL205: methods that take a callback and drop what it returns (asyncio's loop and
# Future APIs): a lambda given to them that starts a task loses the task.
CALLBACK_REGISTRARS = (
    "call_soon", "call_soon_threadsafe", "call_later", "call_at", "add_done_callback",
    "add_signal_handler", "add_reader", "add_writer",
)
