"""A notification hub that subscribes again and again (LL3).

Every request to /watch adds one more subscriber for the channel, so each message
is handled once per request ever made; the reconnect loop adds another log handler
on every pass, so each record is written once per attempt. None is ever released.
"""
import logging

from fastapi import FastAPI
from faststream.redis import RedisBroker

broker = RedisBroker("redis://localhost:6379")
app = FastAPI()
log = logging.getLogger("hub")


async def forward(message: dict) -> None:
    log.info("notify %s", message)


@app.post("/watch/{channel}")
async def watch(channel: str) -> dict:
    broker.subscriber(channel)(forward)  # a new subscriber on every request
    return {"watching": channel}


def reconnect(attempts: int) -> None:
    for _ in range(attempts):
        log.addHandler(logging.StreamHandler())  # one more handler per attempt
