"""A media gateway that runs out of memory when anything downstream slows down.

It consumes upload events from Kafka and serves the files through an aiohttp proxy. The
Kafka prefetch was raised "for throughput" to librdkafka's maximum, the events go into a
queue with no size, and the proxy reads each upstream file whole before answering. When
the thumbnailer stalls, the prefetch and the queue hold the backlog; when a client on a
slow link downloads a 4 GB video, the proxy holds all 4 GB.
"""
import asyncio

from aiohttp import web
from confluent_kafka import Consumer

KAFKA = {
    "bootstrap.servers": "kafka:9092",
    "group.id": "media-gateway",
    "queued.max.messages.kbytes": 2097151,  # the maximum: 2 GB of prefetch
    "fetch.max.bytes": 1_000_000_000,
}
STORAGE = "http://storage.internal:9000"

uploads = asyncio.Queue()  # nothing stops the consumer from outrunning the thumbnailer


def consume(loop):
    consumer = Consumer(KAFKA)
    consumer.subscribe(["uploads"])
    try:
        while True:
            message = consumer.poll(1.0)
            if message is not None:
                loop.call_soon_threadsafe(uploads.put_nowait, message.value())
    finally:
        consumer.close()


async def thumbnailer(render):
    while True:
        await render(await uploads.get())


async def download(request):
    session = request.app["session"]
    async with session.get(f"{STORAGE}/{request.match_info['key']}") as upstream:
        body = await upstream.read()  # the whole file, however large
    return web.Response(body=body, content_type=upstream.content_type)


def make_app():
    app = web.Application(client_max_size=0)  # uploads of any size, read whole
    app.router.add_get("/media/{key}", download)
    return app
