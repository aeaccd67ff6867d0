"""Buffer, queue, prefetch and cache bounds (LL4), as read in each library's source.

Checked against the installed sources in /work/corpus/site (Python 3.11 stdlib, anyio
4.16.0, trio 0.35.0, tornado 6.6.1, aiohttp 3.14.5, websockets 17.4, aiokafka 0.14.0,
kafka-python 3.0.12, confluent-kafka 2.16.1, aio-pika 10.2.1, aiormq 7.2.4, pika 1.4.4,
kombu 5.7.0, celery 5.7.0) and librdkafka's CONFIGURATION.md (confluentinc/librdkafka
at 0093671a). See also ../shared/API-NOTES.md.

Traps encoded here: "unlimited" differs per API (`maxsize <= 0` for stdlib queues, `0`
for aiohttp sizes, AMQP `prefetch_count`, Celery's prefetch multiplier and librdkafka's
`queue.buffering.max.messages`; `None` for websockets and deques; `math.inf` for anyio
and trio), while `lru_cache(0)` disables caching and asyncio's stream `limit <= 0`
raises. pika and kombu take `prefetch_size` first, so `basic_qos(10)` sets a 10-byte
window and leaves the message prefetch unlimited.

Thresholds ("too large") are 4x the library's own default unless a row says otherwise;
`[tool.leaklint] thresholds` moves them per setting name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Tuple

from leaklint.knowledge.specs import BufferParam

INF = float("inf")

# --- queues and in-memory channels (LL401, LL402) -----------------------------------


@dataclass(frozen=True)
class QueueSpec:
    """A queue-like constructor and the parameter that bounds it."""

    callable: str
    param: Optional[str]  # None: the type has no size at all (queue.SimpleQueue)
    position: Optional[int]
    kind: str  # "queue" (put/get) or "deque" (append/popleft)
    unbounded: Tuple[object, ...] = ()  # the API's own "no limit" values
    nonpositive: bool = False  # any size <= 0 means "no limit"
    default_unbounded: bool = True  # leaving the size out means "no limit"
    source: str = ""


def _queues(names: Tuple[str, ...], **fields) -> Iterator[QueueSpec]:
    for name in names:
        yield QueueSpec(name, **fields)


_STDLIB_QUEUE = "Lib/queue.py: Queue.__init__(maxsize=0); 'If maxsize is <= 0, the queue size is infinite'"
_ASYNCIO_QUEUE = "Lib/asyncio/queues.py: Queue.__init__(maxsize=0); 'less than or equal to zero ... infinite'"
_MP_QUEUE = "Lib/multiprocessing/queues.py: Queue.__init__(maxsize=0, *, ctx): maxsize <= 0 -> SEM_VALUE_MAX"

QUEUES: Tuple[QueueSpec, ...] = (
    *_queues(
        ("asyncio.Queue", "asyncio.LifoQueue", "asyncio.PriorityQueue",
         "asyncio.queues.Queue", "asyncio.queues.LifoQueue", "asyncio.queues.PriorityQueue"),
        param="maxsize", position=0, kind="queue", nonpositive=True, source=_ASYNCIO_QUEUE,
    ),
    *_queues(
        ("queue.Queue", "queue.LifoQueue", "queue.PriorityQueue"),
        param="maxsize", position=0, kind="queue", nonpositive=True, source=_STDLIB_QUEUE,
    ),
    # no size parameter at all; the fix is a different type, so it only feeds LL402
    *_queues(("queue.SimpleQueue", "_queue.SimpleQueue"), param=None, position=None, kind="queue",
             source="Lib/queue.py: SimpleQueue() 'unbounded FIFO queue'"),
    # multiprocessing.SimpleQueue writes straight to a pipe and blocks when it is full:
    # bounded by the OS, so it is not listed
    *_queues(
        ("multiprocessing.Queue", "multiprocessing.JoinableQueue",
         "multiprocessing.queues.Queue", "multiprocessing.queues.JoinableQueue"),
        param="maxsize", position=0, kind="queue", nonpositive=True, source=_MP_QUEUE,
    ),
    # tornado/queues.py: Queue(maxsize=0) 'If maxsize is 0 (the default) the queue size is
    # unbounded'; negative raises
    *_queues(
        ("tornado.queues.Queue", "tornado.queues.LifoQueue", "tornado.queues.PriorityQueue"),
        param="maxsize", position=0, kind="queue", unbounded=(0,), source="tornado 6.6.1 tornado/queues.py",
    ),
    QueueSpec("collections.deque", "maxlen", 1, "deque", unbounded=(None,),
              source="Lib/collections: deque([iterable[, maxlen]]), maxlen=None is unbounded"),
    # anyio/_core/_streams.py: create_memory_object_stream(max_buffer_size=0); math.inf
    # is the only unbounded value (anything else non-int raises). Default 0: bounded.
    QueueSpec("anyio.create_memory_object_stream", "max_buffer_size", 0, "stream", unbounded=(INF,),
              default_unbounded=False, source="anyio 4.16.0 _core/_streams.py"),
    QueueSpec("anyio.streams.memory.create_memory_object_stream", "max_buffer_size", 0, "stream",
              unbounded=(INF,), default_unbounded=False, source="anyio 4.16.0"),
    # trio/_channel.py: open_memory_channel(max_buffer_size) is required; math.inf unbounded
    QueueSpec("trio.open_memory_channel", "max_buffer_size", 0, "stream", unbounded=(INF,),
              default_unbounded=False, source="trio 0.35.0 _channel.py"),
)

# What feeds and what drains each kind; a loop that also drains the same queue (a
# worker that re-queues) does not grow it.
QUEUE_FEEDS: Dict[str, Tuple[str, ...]] = {
    "queue": ("put", "put_nowait"),
    "deque": ("append", "appendleft", "extend", "extendleft"),
}
QUEUE_DRAINS: Dict[str, Tuple[str, ...]] = {
    "queue": ("get", "get_nowait"),
    "deque": ("popleft", "pop", "clear"),
}
# Calls that show the code watching the queue's size itself (hand-made flow control,
# as websockets does with its frame queue): `len(q)`, `q.qsize()`, `q.full()`,
# `send.statistics()` (anyio / trio memory channels).
QUEUE_SIZE_CHECKS = frozenset({"qsize", "full", "statistics"})
# A protocol whose transport is paused by hand is flow-controlled however its buffer is
# declared (asyncio.ReadTransport.pause_reading, as anyio's and websockets' protocols do).
FLOW_CONTROL_CALLS = frozenset({"pause_reading"})

# A "handler" runs once per request, message or event: a producer there has no
# back-pressure. Decorators (last name) that make a function a request/message handler:
HANDLER_DECORATORS = frozenset({
    "route", "get", "post", "put", "patch", "delete", "websocket", "websocket_route",
    "subscriber", "api_route",
    # event and message handlers: python-socketio `@sio.on("chat")` / `@sio.event`, pyee
    # `@emitter.on`, aiogram `@router.message()`, pyTelegramBotAPI `@bot.message_handler`,
    # Celery `@app.task` (once per task message)
    "on", "event", "message", "message_handler", "task", "shared_task",
})
# ... and callback methods a framework calls per chunk, message or record.
HANDLER_METHODS = frozenset({
    "data_received", "datagram_received", "message_received", "on_message", "on_data", "emit",
})


# --- client buffers, prefetch and size limits (LL403) --------------------------------


@dataclass(frozen=True)
class Setting:
    """One buffer setting: what it bounds, its default, and where "too large" starts.

    `name` is how messages and the `thresholds` configuration table call it."""

    name: str
    what: str
    unit: str
    default: Optional[int]
    maximum: Optional[int]  # above this is too large; None: only "no limit" values count
    unbounded: Tuple[object, ...]
    when: str  # completes "memory grows to this size ..." / "memory grows without bound ..."
    source: str
    bound: str  # the documented bound a message suggests


_PREFETCH = "whenever processing is slower than fetching"
_PRODUCE = "whenever the application produces faster than the brokers accept"


def _setting(name, what, unit, default, unbounded=(), when=_PREFETCH, source="", maximum=None, bound=None):
    if maximum is None and default is not None:
        maximum = 4 * default  # SPEC: "too large" is above 4x the library's own default
    if bound is None:
        bound = f"the default, {default} {unit}"
    return Setting(name, what, unit, default, maximum, tuple(unbounded), when, source, bound)


_RDKAFKA = "librdkafka CONFIGURATION.md"
SETTINGS: Tuple[Setting, ...] = (
    # librdkafka consumer ("C") properties: range 1..2097151, default 65536 KB; applies to
    # the high-level consumer's single queue, or per partition with split queues
    _setting("queued.max.messages.kbytes", "Kafka consumer prefetch", "KB", 65536, source=_RDKAFKA),
    _setting("queued.min.messages", "Kafka consumer prefetch", "messages per partition", 100000, source=_RDKAFKA),
    _setting("fetch.max.bytes", "Kafka consumer fetch size", "bytes", 52428800, source=_RDKAFKA),
    _setting("fetch.message.max.bytes", "Kafka consumer fetch size", "bytes per partition", 1048576, source=_RDKAFKA),
    _setting("max.partition.fetch.bytes", "Kafka consumer fetch size", "bytes per partition", 1048576, source=_RDKAFKA),
    _setting("receive.message.max.bytes", "Kafka response size limit", "bytes", 100000000, source=_RDKAFKA),
    # producer ("P"): "A value of 0 disables this limit" for messages; kbytes range 1..
    _setting("queue.buffering.max.messages", "Kafka producer queue", "messages", 100000, unbounded=(0,),
             when=_PRODUCE, source=_RDKAFKA),
    _setting("queue.buffering.max.kbytes", "Kafka producer queue", "KB", 1048576, when=_PRODUCE,
             source=_RDKAFKA),
    # aiokafka/consumer/consumer.py: fetch_max_bytes=52428800,
    # max_partition_fetch_bytes=1*1024*1024, max_poll_records=None ('no limit')
    _setting("aiokafka.fetch_max_bytes", "Kafka consumer fetch size", "bytes", 52428800, source="aiokafka 0.14.0"),
    _setting("aiokafka.max_partition_fetch_bytes", "Kafka consumer fetch size", "bytes per partition", 1048576,
             source="aiokafka 0.14.0"),
    _setting("aiokafka.max_poll_records", "Kafka consumer batch size", "records", None, unbounded=(None,),
             when="whenever processing is slower than fetching: every prefetched record comes back in one batch",
             source="aiokafka 0.14.0", bound="500 records (kafka-python's default)"),
    # kafka/consumer/group.py DEFAULT_CONFIG: fetch_max_bytes 52428800,
    # max_partition_fetch_bytes 1 MiB; kafka/producer/kafka.py: buffer_memory 32 MiB
    _setting("kafka.fetch_max_bytes", "Kafka consumer fetch size", "bytes", 52428800, source="kafka-python 3.0.12"),
    _setting("kafka.max_partition_fetch_bytes", "Kafka consumer fetch size", "bytes per partition", 1048576,
             source="kafka-python 3.0.12"),
    _setting("kafka.buffer_memory", "Kafka producer buffer", "bytes", 33554432, when=_PRODUCE,
             source="kafka-python 3.0.12"),
    # websockets/asyncio/client.py, server.py, sync/*, trio/*: max_size=2**20,
    # max_queue=16 (legacy/: 2**5); None disables either. A (high, low) tuple is accepted.
    # max_queue's line is 4x the largest default any version used (legacy 32).
    _setting("websockets.max_size", "websocket message size limit", "bytes", 2**20, unbounded=(None,),
             when="with every message a peer sends, buffered whole", source="websockets 17.4"),
    _setting("websockets.max_queue", "websocket incoming message queue", "messages", 16, unbounded=(None,),
             when="whenever the application reads messages slower than they arrive",
             source="websockets 17.4", maximum=128),
    # aiohttp/web_app.py: client_max_size=1024**2, 0 disables the check (web_request.py)
    _setting("aiohttp.client_max_size", "aiohttp request body limit", "bytes", 1024**2, unbounded=(0,),
             when="with every request body a client sends, read whole", source="aiohttp 3.14.5 web_app.py, web_request.py"),
    # client.py ws_connect / web_ws.py WebSocketResponse: max_msg_size=4*1024*1024; 0 = no limit
    _setting("aiohttp.max_msg_size", "aiohttp websocket message limit", "bytes", 4 * 1024**2, unbounded=(0,),
             when="with every websocket message a peer sends, buffered whole",
             source="aiohttp 3.14.5 _websocket/reader_py.py"),
    # client.py: read_bufsize=DEFAULT_CHUNK_SIZE = 2**18 (helpers.py); older releases used 2**16
    _setting("aiohttp.read_bufsize", "aiohttp response read buffer", "bytes", 2**18,
             when="for every response read slower than it arrives", source="aiohttp 3.14.5 helpers.py"),
    # Lib/asyncio/streams.py: _DEFAULT_LIMIT = 2 ** 16; the reader pauses at 2 * limit;
    # limit <= 0 raises ValueError, so only large values count
    _setting("asyncio.limit", "asyncio stream buffer limit", "bytes", 2**16,
             when="(twice this, per connection) whenever the application reads slower than data arrives",
             source="Lib/asyncio/streams.py"),
    # aio_pika/channel.py set_qos(prefetch_count=0), pika/channel.py basic_qos(prefetch_size=0,
    # prefetch_count=0), aiormq basic_qos(prefetch_count=None -> 0): 0 means no limit. The
    # default is "no limit", so there is no 4x line unless configured.
    _setting("amqp.prefetch_count", "AMQP consumer prefetch", "messages", None, unbounded=(0, None),
             when="whenever processing is slower than delivery: the broker pushes every ready message",
             source="aio-pika 10.2.1, aiormq 7.2.4, pika 1.4.4, kombu 5.7.0",
             bound="prefetch_count=100 (RabbitMQ's guidance: 100 to 300)"),
    # celery/app/defaults.py: prefetch_multiplier=Option(4); worker/components.py:
    # prefetch_count = concurrency * multiplier, and 0 sends basic_qos(0, 0): no limit
    _setting("celery.worker_prefetch_multiplier", "Celery worker prefetch", "x concurrency", 4, unbounded=(0,),
             bound="1 for long tasks, or the default 4",
             when="whenever tasks run slower than they arrive: each worker reserves every ready message",
             source="celery 5.7.0 app/defaults.py, worker/components.py"),
)
SETTINGS_BY_NAME: Dict[str, Setting] = {s.name: s for s in SETTINGS}
THRESHOLD_SETTINGS = frozenset(SETTINGS_BY_NAME)


def _params(setting: str, param: str, position: Optional[int], *callables: str) -> Iterator[BufferParam]:
    info = SETTINGS_BY_NAME[setting]
    for name in callables:
        # `note` names the Setting, which carries the message text and the threshold
        yield BufferParam(name, param, position, unbounded=info.unbounded, maximum=info.maximum,
                          default="" if info.default is None else str(info.default), note=setting)


_WS_CALLS = (
    "websockets.connect", "websockets.serve", "websockets.unix_connect", "websockets.unix_serve",
    "websockets.asyncio.client.connect", "websockets.asyncio.server.serve",
    "websockets.asyncio.client.unix_connect", "websockets.asyncio.server.unix_serve",
    "websockets.sync.client.connect", "websockets.sync.server.serve",
    "websockets.trio.client.connect", "websockets.trio.server.serve",
    "websockets.client.connect", "websockets.server.serve",
    "websockets.legacy.client.connect", "websockets.legacy.server.serve",
)
_STREAM_CALLS = (
    "asyncio.open_connection", "asyncio.start_server", "asyncio.open_unix_connection",
    "asyncio.start_unix_server", "asyncio.StreamReader", "asyncio.streams.open_connection",
    "asyncio.streams.start_server", "asyncio.streams.StreamReader",
)

# Parameter names too common to make a file worth parsing (`limit=` is everywhere):
# LL403 looks for the callables' names instead
COMMON_PARAMS = frozenset({"limit"})

# Keyword parameters of qualified callables (user rows from [tool.leaklint.buffers] join
# these in Knowledge.buffers).
BUFFERS: Tuple[BufferParam, ...] = (
    *_params("aiokafka.fetch_max_bytes", "fetch_max_bytes", None, "aiokafka.AIOKafkaConsumer",
             "aiokafka.consumer.AIOKafkaConsumer"),
    *_params("aiokafka.max_partition_fetch_bytes", "max_partition_fetch_bytes", None,
             "aiokafka.AIOKafkaConsumer", "aiokafka.consumer.AIOKafkaConsumer"),
    *_params("aiokafka.max_poll_records", "max_poll_records", None, "aiokafka.AIOKafkaConsumer",
             "aiokafka.consumer.AIOKafkaConsumer"),
    *_params("kafka.fetch_max_bytes", "fetch_max_bytes", None, "kafka.KafkaConsumer"),
    *_params("kafka.max_partition_fetch_bytes", "max_partition_fetch_bytes", None, "kafka.KafkaConsumer"),
    *_params("kafka.buffer_memory", "buffer_memory", None, "kafka.KafkaProducer"),
    *_params("websockets.max_size", "max_size", None, *_WS_CALLS),
    *_params("websockets.max_queue", "max_queue", None, *_WS_CALLS),
    # Application(*, ...): keyword-only
    *_params("aiohttp.client_max_size", "client_max_size", None, "aiohttp.web.Application",
             "aiohttp.web_app.Application"),
    *_params("aiohttp.max_msg_size", "max_msg_size", None, "aiohttp.web.WebSocketResponse",
             "aiohttp.web_ws.WebSocketResponse"),
    *_params("aiohttp.read_bufsize", "read_bufsize", None, "aiohttp.ClientSession",
             "aiohttp.client.ClientSession"),
    *_params("asyncio.limit", "limit", None, *_STREAM_CALLS),
)


@dataclass(frozen=True)
class MethodSetting:
    """A buffer parameter of a method whose receiver leaklint cannot type (a channel, a
    session, a consumer): matched by the method's name and the parameter's keyword."""

    method: str
    param: str
    position: Optional[int]
    setting: str
    library: str


METHOD_BUFFERS: Tuple[MethodSetting, ...] = (
    # aio_pika Channel.set_qos(prefetch_count=0, prefetch_size=0, ...): count comes first
    MethodSetting("set_qos", "prefetch_count", 0, "amqp.prefetch_count", "aio-pika"),
    # pika / py-amqp / kombu basic_qos(prefetch_size, prefetch_count, ...); aiormq is
    # keyword-only. kombu Consumer.qos(prefetch_size=0, prefetch_count=0, ...)
    MethodSetting("basic_qos", "prefetch_count", 1, "amqp.prefetch_count", "pika/kombu/aiormq"),
    MethodSetting("qos", "prefetch_count", None, "amqp.prefetch_count", "kombu"),
    # aiohttp ClientSession.ws_connect(..., max_msg_size=4 MiB)
    MethodSetting("ws_connect", "max_msg_size", None, "aiohttp.max_msg_size", "aiohttp"),
)
# Methods whose first positional argument is prefetch_size, not prefetch_count
PREFETCH_SIZE_FIRST = frozenset({"basic_qos"})  # kombu `qos` is too common a name to judge positionally

# Consumers that acknowledge automatically ignore prefetch: the broker pushes as fast as
# it can. (aio_pika Queue.consume/iterator(no_ack=), aiormq basic_consume(no_ack=),
# pika basic_consume/consume(auto_ack=), kombu Consumer(no_ack=))
AUTO_ACK_METHODS = frozenset({"consume", "basic_consume", "iterator"})
AUTO_ACK_PARAMS = frozenset({"no_ack", "auto_ack"})
AUTO_ACK_CALLABLES = frozenset({"kombu.Consumer", "kombu.messaging.Consumer"})
# ... except RPC reply consumers (RabbitMQ's direct reply-to, `amq.rabbitmq.reply-to`,
# requires auto-ack; replies are bounded by the calls in flight): an exclusive queue, or
# a call whose text names replies
RPC_REPLY_WORDS = ("reply", "response", "result", "rpc")

# aiokafka AIOKafkaConsumer.getmany(*partitions, timeout_ms=0, max_records=None): None
# falls back to max_poll_records (None by default): every prefetched record at once
BATCH_METHODS: Tuple[MethodSetting, ...] = (
    MethodSetting("getmany", "max_records", None, "aiokafka.max_poll_records", "aiokafka"),
)


@dataclass(frozen=True)
class KafkaClient:
    """A confluent-kafka client constructor: which argument holds the config dict, and
    whether it consumes or produces (librdkafka's C/P column)."""

    callable: str
    role: str  # "consumer" | "producer"
    param: str
    position: int = 0


KAFKA_CLIENTS: Tuple[KafkaClient, ...] = (
    KafkaClient("confluent_kafka.Consumer", "consumer", "conf"),
    KafkaClient("confluent_kafka.cimpl.Consumer", "consumer", "conf"),
    KafkaClient("confluent_kafka.DeserializingConsumer", "consumer", "conf"),
    KafkaClient("confluent_kafka.deserializing_consumer.DeserializingConsumer", "consumer", "conf"),
    KafkaClient("confluent_kafka.avro.AvroConsumer", "consumer", "config"),
    KafkaClient("confluent_kafka.aio.AIOConsumer", "consumer", "consumer_conf"),
    KafkaClient("confluent_kafka.aio.AsyncDeserializingConsumer", "consumer", "conf"),
    KafkaClient("confluent_kafka.Producer", "producer", "conf"),
    KafkaClient("confluent_kafka.cimpl.Producer", "producer", "conf"),
    KafkaClient("confluent_kafka.SerializingProducer", "producer", "conf"),
    KafkaClient("confluent_kafka.serializing_producer.SerializingProducer", "producer", "conf"),
    KafkaClient("confluent_kafka.avro.AvroProducer", "producer", "config"),
    KafkaClient("confluent_kafka.aio.AIOProducer", "producer", "producer_conf"),
    KafkaClient("confluent_kafka.aio.AsyncSerializingProducer", "producer", "conf"),
)
KAFKA_CLIENTS_BY_NAME: Dict[str, KafkaClient] = {c.callable: c for c in KAFKA_CLIENTS}

# librdkafka keys by role (CONFIGURATION.md's C/P column; "*" keys apply to both)
KAFKA_KEYS: Dict[str, Tuple[str, ...]] = {
    "consumer": ("queued.max.messages.kbytes", "queued.min.messages", "fetch.max.bytes",
                 "fetch.message.max.bytes", "max.partition.fetch.bytes", "receive.message.max.bytes"),
    "producer": ("queue.buffering.max.messages", "queue.buffering.max.kbytes"),
}

# Celery's prefetch multiplier under its three spellings: the 4.x+ name (app.conf / a
# settings module), the pre-4.0 name, and Django's CELERY_ namespace.
CELERY_PREFETCH_NAMES = frozenset({
    "worker_prefetch_multiplier", "CELERYD_PREFETCH_MULTIPLIER", "CELERY_WORKER_PREFETCH_MULTIPLIER",
})
CELERY_SETTING = "celery.worker_prefetch_multiplier"


# --- caches (LL404) ------------------------------------------------------------------

# Lib/functools.py: lru_cache(maxsize=128, typed=False); None (or a huge size) is
# unbounded, 0 or less disables caching; cache(f) is lru_cache(maxsize=None)(f).
LRU_CACHES = frozenset({"functools.lru_cache"})
UNBOUNDED_CACHES = frozenset({"functools.cache"})


# --- whole-body reads of streamed responses (LL405) ------------------------------------

# requests: Session.request/get/... and requests.get/... take stream=True (models.py:
# 'When stream=True is set on the request, this avoids reading the content at once');
# httpx Client.send(stream=True) too.
STREAM_FLAG_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "send"})
# httpx / httpcore: client.stream(method, url) and httpx.stream(...) return a response
# whose body is read only on demand
STREAM_CONTEXT_FUNCTIONS = frozenset({"httpx.stream", "httpcore.stream"})
STREAM_CONTEXT_METHOD = "stream"
# Reads of the whole body: requests' .content / .text / .json(), httpx's .read() / .aread()
WHOLE_BODY_ATTRIBUTES = frozenset({"content", "text"})
WHOLE_BODY_METHODS = frozenset({"json", "read", "aread"})
# aiohttp: an upstream response (from session.get/... in `async with ... as upstream` or
# `upstream = await session.get(...)`) read whole and handed to web.Response: the proxy case
UPSTREAM_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
UPSTREAM_READS = frozenset({"read", "text"})
PROXY_RESPONSES = frozenset({"aiohttp.web.Response", "aiohttp.web_response.Response"})
PROXY_BODY_PARAMS = frozenset({"body", "text"})
# An `if` whose test reads one of these guards an error path: reading the (small) error
# body whole is what everyone does
# Words a file must contain for LL405 to find anything
STREAM_TRIGGERS = frozenset({"stream=True", ".stream(", "web.Response", "aiohttp.web", "web_response"})
STATUS_ATTRIBUTES = frozenset({"status_code", "status", "ok", "is_error", "is_success", "reason"})
