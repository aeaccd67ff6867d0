"""An order consumer that falls over under load.

Every message gets its own task, the "limit" admits everyone, and the tasks are not
kept anywhere: a slow database turns a burst of messages into thousands of live tasks,
and a task that fails is never noticed.
"""
import asyncio
import sys

MAX_IN_FLIGHT = sys.maxsize  # "we'll tune it later"

in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)


async def handle(order):
    async with in_flight:
        await save_to_database(order)


async def consume(queue):
    while True:
        order = await queue.get()
        asyncio.create_task(handle(order))


async def save_to_database(order):
    await asyncio.sleep(0.1)
