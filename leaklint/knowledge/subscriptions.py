"""Subscription APIs (LL3): calls that register a consumer of events on a longer-lived
object, what calling them again does, and the objects and decorators around them.

Checked in source (see ../shared/API-NOTES.md, LL3): faststream 0.7.8 (every
`subscriber()` call builds a new SubscriberUsecase and keeps it, `persistent=True`),
redis-py 8.1.0 (`PubSub.subscribe` sends SUBSCRIBE and updates a dict: the server
ignores a channel it already has), aiokafka 0.14.0, kafka-python 3.0.12 and
confluent-kafka 2.16.1 (`subscribe` replaces the previous subscription), aiohttp 3.14.5
(`on_startup` & co. are aiosignal lists: `append` twice runs the callback twice),
aio-pika 10.2.1 and pika 1.4.4 (a new consumer per `consume`/`basic_consume`), CPython
3.11 (`Logger.addHandler` skips a handler already in the list; `atexit.register` runs
a function once per registration), blinker 1.9.0 and Django 5.2 (`connect` keys
receivers by `id()`, weakly by default; Django by `dispatch_uid` when given),
SQLAlchemy 2.1 (`_stored_in_collection` refuses a (target, event, fn) it already
holds), pyee 13.0.1 (handlers kept in a dict keyed by the function).
"""
from leaklint.knowledge.specs import SubscriptionSpec

ADDS, BY_HANDLER, REPLACES = "adds", "by-handler", "replaces"

# FastStream brokers and routers: `subscriber(channel, ...)` as a decorator, or
# `broker.subscriber(channel)(handler)`. Channel arguments differ per broker (`channel`,
# `*topics`, `queue`, `subject`, `topic`); identity compares every argument.
FASTSTREAM_REGISTRARS = (
    "faststream.redis.RedisBroker",
    "faststream.redis.RedisClusterBroker",
    "faststream.redis.RedisSentinelBroker",
    "faststream.redis.RedisRouter",
    "faststream.redis.fastapi.RedisRouter",
    "faststream.redis.fastapi.RedisSentinelRouter",
    "faststream.kafka.KafkaBroker",
    "faststream.kafka.KafkaRouter",
    "faststream.kafka.fastapi.KafkaRouter",
    "faststream.confluent.KafkaBroker",
    "faststream.confluent.KafkaRouter",
    "faststream.confluent.fastapi.KafkaRouter",
    "faststream.rabbit.RabbitBroker",
    "faststream.rabbit.RabbitRouter",
    "faststream.rabbit.fastapi.RabbitRouter",
    "faststream.nats.NatsBroker",
    "faststream.nats.NatsRouter",
    "faststream.nats.fastapi.NatsRouter",
    "faststream.mqtt.MQTTBroker",
    "faststream.mqtt.MQTTRouter",
    "faststream.mqtt.fastapi.MQTTRouter",
)

_PUBSUB = ("redis.client.PubSub",)  # what `.pubsub()` returns (sync, asyncio and cluster alike)
_PUBSUB_UNDO = ("unsubscribe", "punsubscribe", "sunsubscribe", "close", "aclose", "reset")

KAFKA_CONSUMERS = (
    "aiokafka.AIOKafkaConsumer",
    "aiokafka.consumer.AIOKafkaConsumer",
    "kafka.KafkaConsumer",
    "kafka.consumer.KafkaConsumer",
    "confluent_kafka.Consumer",
    "confluent_kafka.DeserializingConsumer",
)

_SIGNALS = (
    # blinker: connect(receiver, sender=ANY, weak=True)
    ("blinker.Signal", ("receiver", 0), ("weak", 2), None),
    ("blinker.NamedSignal", ("receiver", 0), ("weak", 2), None),
    ("blinker.base.Signal", ("receiver", 0), ("weak", 2), None),
    # Django: connect(receiver, sender=None, weak=True, dispatch_uid=None)
    ("django.dispatch.Signal", ("receiver", 0), ("weak", 2), "dispatch_uid"),
    ("django.dispatch.dispatcher.Signal", ("receiver", 0), ("weak", 2), "dispatch_uid"),
)

SUBSCRIPTIONS = (
    *(
        SubscriptionSpec(f"{cls}.subscriber", channel_arg=0, method="subscriber", repeat=ADDS,
                         any_receiver=True, trigger="subscribe")
        for cls in FASTSTREAM_REGISTRARS
    ),
    # redis-py PubSub (and redis.asyncio, ClusterPubSub): channels positionally, or as
    # keywords mapping channel -> handler
    *(
        SubscriptionSpec(f"{cls}.{name}", channel_arg=0, method=name, repeat=REPLACES,
                         undo=_PUBSUB_UNDO, trigger="subscribe")
        for cls in _PUBSUB for name in ("subscribe", "psubscribe", "ssubscribe")
    ),
    # Kafka consumers: subscribe(topics=(), pattern=None, listener=None) replaces the
    # previous subscription (confluent: subscribe(topics, on_assign=...))
    *(
        SubscriptionSpec(f"{cls}.subscribe", channel_arg=0, method="subscribe", repeat=REPLACES,
                         undo=("unsubscribe", "close", "stop"), trigger="subscribe")
        for cls in KAFKA_CONSUMERS
    ),
    # signals: de-duplicated by the receiver object; held weakly unless weak=False
    *(
        SubscriptionSpec(f"{cls}.connect", method="connect", repeat=BY_HANDLER, handler=handler,
                         weak=weak, uid=uid, undo=("disconnect",), trigger="weak")
        for cls, handler, weak, uid in _SIGNALS
    ),
    # blinker connect_via(sender, weak=False): a decorator, strong by default
    SubscriptionSpec("blinker.Signal.connect_via", method="connect_via", repeat=BY_HANDLER,
                     weak=("weak", 1), undo=("disconnect",)),
    SubscriptionSpec("blinker.NamedSignal.connect_via", method="connect_via", repeat=BY_HANDLER,
                     weak=("weak", 1), undo=("disconnect",)),
    # Django's @receiver(signal, weak=True, dispatch_uid=None, **kwargs)
    SubscriptionSpec("django.dispatch.receiver", repeat=BY_HANDLER, receiver_arg=("signal", 0),
                     weak=("weak", None), uid="dispatch_uid", trigger="weak"),
    # logging: addHandler(hdlr) skips a handler object it already has
    SubscriptionSpec("logging.Logger.addHandler", method="addHandler", repeat=BY_HANDLER,
                     handler=("hdlr", 0), undo=("removeHandler", "handlers"), any_receiver=True),
    # atexit.register(func, *args, **kwargs): once per registration, duplicates included
    SubscriptionSpec("atexit.register", repeat=ADDS, handler=(None, 0), undo=("unregister",),
                     trigger="atexit"),
    # SQLAlchemy: listen(target, identifier, fn); listens_for(target, identifier) decorates
    SubscriptionSpec("sqlalchemy.event.listen", channel_arg=1, repeat=BY_HANDLER,
                     handler=("fn", 2), receiver_arg=("target", 0), undo=("remove",), trigger="listen"),
    SubscriptionSpec("sqlalchemy.event.listens_for", channel_arg=1, repeat=BY_HANDLER,
                     receiver_arg=("target", 0), undo=("remove",), trigger="listen"),
    # pyee: on(event, f=None) (a decorator without f), add_listener(event, f)
    *(
        SubscriptionSpec(f"{cls}.{name}", channel_arg=0, method=name, repeat=BY_HANDLER,
                         handler=("f", 1), undo=("remove_listener", "remove_all_listeners"), trigger="pyee")
        for cls in ("pyee.EventEmitter", "pyee.base.EventEmitter", "pyee.asyncio.AsyncIOEventEmitter",
                    "pyee.AsyncIOEventEmitter", "pyee.twisted.TwistedEventEmitter",
                    "pyee.executor.ExecutorEventEmitter", "pyee.trio.TrioEventEmitter")
        for name in ("on", "add_listener")
    ),
    # aiohttp: app.on_startup / on_shutdown / on_cleanup / cleanup_ctx are lists of callbacks
    *(
        SubscriptionSpec(f"aiohttp.web.Application.{signal}.append", method=f"{signal}.append", repeat=ADDS,
                         handler=(None, 0), undo=("remove",), any_receiver=True, trigger=signal)
        for signal in ("on_startup", "on_shutdown", "on_cleanup", "cleanup_ctx")
    ),
    # AMQP consumers: each call starts another consumer (cancel / basic_cancel)
    SubscriptionSpec("aio_pika.abc.AbstractQueue.consume", channel_arg=None, method="consume", repeat=ADDS,
                     handler=("callback", 0), undo=("cancel",), trigger="consume"),
    SubscriptionSpec("pika.channel.Channel.basic_consume", channel_arg=0, method="basic_consume", repeat=ADDS,
                     handler=("on_message_callback", 1), undo=("basic_cancel", "cancel"),
                     any_receiver=True),
)

# What a call returns, by qualified name, when that is not the callable itself.
FACTORY_PRODUCTS = {
    "logging.getLogger": "logging.Logger",
    "logging.root": "logging.Logger",
    "blinker.signal": "blinker.NamedSignal",
    "blinker.Namespace.signal": "blinker.NamedSignal",
    "aiohttp.web_app.Application": "aiohttp.web.Application",
    "faststream.redis.broker.broker.RedisBroker": "faststream.redis.RedisBroker",
    "faststream.kafka.broker.broker.KafkaBroker": "faststream.kafka.KafkaBroker",
    "faststream.rabbit.broker.broker.RabbitBroker": "faststream.rabbit.RabbitBroker",
    "faststream.nats.broker.broker.NatsBroker": "faststream.nats.NatsBroker",
    "aiokafka.consumer.consumer.AIOKafkaConsumer": "aiokafka.AIOKafkaConsumer",
    "kafka.consumer.group.KafkaConsumer": "kafka.KafkaConsumer",
    "confluent_kafka.cimpl.Consumer": "confluent_kafka.Consumer",
}

# Module-level objects whose class is known by the module they live in: Django's and
# Flask's built-in signals.
INSTANCE_PREFIXES = (
    ("django.db.models.signals.", "django.dispatch.Signal"),
    ("django.core.signals.", "django.dispatch.Signal"),
    ("django.test.signals.", "django.dispatch.Signal"),
    ("flask.signals.", "blinker.NamedSignal"),
)

# Methods whose result is known whatever the receiver: the names are distinctive.
METHOD_PRODUCTS = {
    "pubsub": "redis.client.PubSub",  # redis Redis/RedisCluster.pubsub(), sync and asyncio
    "declare_queue": "aio_pika.abc.AbstractQueue",  # aio-pika Channel.declare_queue()
    "get_queue": "aio_pika.abc.AbstractQueue",
    "signal": "blinker.NamedSignal",  # blinker Namespace().signal(name)
}

# Factories that hand back the same object for the same arguments: calling one again
# is not a new receiver (`logging.getLogger("app")` is one logger).
SHARED_FACTORIES = frozenset({"logging.getLogger", "blinker.signal", "signal"})

# HTTP and redis clients that hold a pool of connections (LL304 creations).
POOLED_CLIENTS = (
    "aiohttp.ClientSession", "aiohttp.client.ClientSession",
    "httpx.Client", "httpx.AsyncClient",
    "requests.Session", "requests.sessions.Session",
    "redis.Redis", "redis.StrictRedis", "redis.client.Redis", "redis.from_url", "redis.Redis.from_url",
    "redis.asyncio.Redis", "redis.asyncio.StrictRedis", "redis.asyncio.client.Redis", "redis.asyncio.from_url",
    "redis.asyncio.Redis.from_url",
)

# Brokers and clients whose subscriptions live as long as they do (LL304: created again
# when a notebook cell is re-run, the old one keeps its subscribers and connection).
# Qualified callable -> methods that release it.
HOLDERS = {
    **{cls: ("stop", "close") for cls in FASTSTREAM_REGISTRARS if "Router" not in cls},
    **{cls: () for cls in FASTSTREAM_REGISTRARS if "Router" in cls},
    "aiokafka.AIOKafkaConsumer": ("stop",),
    "aiokafka.consumer.AIOKafkaConsumer": ("stop",),
    "kafka.KafkaConsumer": ("close", "unsubscribe"),
    "kafka.consumer.KafkaConsumer": ("close", "unsubscribe"),
    "confluent_kafka.Consumer": ("close", "unsubscribe"),
    "confluent_kafka.DeserializingConsumer": ("close", "unsubscribe"),
    "redis.client.PubSub": _PUBSUB_UNDO,
    "aio_pika.connect": ("close",),
    "aio_pika.connect_robust": ("close",),
    # clients with a connection pool (SPEC LL304: "a broker/client creation"): the old one
    # keeps its connections open until collected (aiohttp warns "Unclosed client session")
    **{cls: ("close",) for cls in POOLED_CLIENTS if not cls.startswith(("httpx.AsyncClient", "redis.asyncio"))},
    "httpx.AsyncClient": ("aclose",),
    **{cls: ("aclose", "close") for cls in POOLED_CLIENTS if cls.startswith("redis.asyncio")},
}

# Message and request handlers (LL303): a function decorated by one of these runs once
# per message or request. Methods by name on a receiver named like an app or router
# (`@app.get`, `@router.post`, `@bp.route`, `@app.task`), or decorator functions.
HANDLER_DECORATOR_METHODS = frozenset({
    "get", "post", "put", "patch", "delete", "head", "options", "trace",  # FastAPI, Starlette, Flask, Quart, Sanic, aiohttp RouteTableDef
    "route", "api_route", "websocket", "websocket_route", "view",
    "task",  # Celery
})
HANDLER_RECEIVER_WORDS = ("app", "api", "router", "routes", "bp", "blueprint", "celery", "broker")
# distinctive enough to count whatever the receiver is called
HANDLER_DECORATOR_ANY_RECEIVER = frozenset({"subscriber"})  # FastStream
HANDLER_DECORATOR_FUNCTIONS = frozenset({
    "litestar.get", "litestar.post", "litestar.put", "litestar.patch", "litestar.delete",
    "litestar.route", "litestar.websocket", "celery.shared_task",
})
