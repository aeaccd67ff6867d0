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
