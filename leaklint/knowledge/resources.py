"""Resources and how they are released (LL2), as read in each library's source.

Checked on 2026-11-22 against Python 3.11's stdlib, aiohttp 3.14.5, httpx 0.28.1,
requests 2.34.2, redis 8.1.0, websockets 17.4, confluent-kafka 2.16.1 (cimpl.pyi),
aiokafka 0.14.0, kafka-python 3.0.12, aio-pika 10.2.1, pika 1.4.4, faststream 0.7.8
(installed in the corpus), and the psycopg 2 / psycopg 3 / asyncpg documentation and
source. See ../shared/API-NOTES.md for the traps.

Each row names a callable whose result must be released, the methods that release it,
and whether that release is a coroutine. Beside the rows, two tables say what a
rewrite into `with` may rely on (used only by the fixes):

- `WITH_EXIT`: the callables whose `with`/`async with` enters trivially (returns the
  object, does nothing else) and exits by doing what one of the listed release methods
  does. For these, `x = R(); ...; x.close()` and `with R() as x: ...` behave alike.
- `CLOSING`: the callables whose `with` does something else than close (sqlite3 and
  psycopg2 only commit or roll back; psycopg 3 commits, then closes): a rewrite wraps
  them in `contextlib.closing`, which calls `close()` and nothing more.

Everything else (no context manager, or one whose enter connects or starts, or whose
exit terminates) is fixed by moving the release into a `finally`.
"""
from typing import Dict, FrozenSet, Tuple

from leaklint.knowledge.specs import ResourceSpec

_FILE = ("close",)

RESOURCES: Tuple[ResourceSpec, ...] = (
    # --- files -------------------------------------------------------------------
    ResourceSpec("builtins.open", _FILE),
    ResourceSpec("io.open", _FILE),
    ResourceSpec("codecs.open", _FILE),
    ResourceSpec("gzip.open", _FILE),
    ResourceSpec("gzip.GzipFile", _FILE),
    ResourceSpec("bz2.open", _FILE),
    ResourceSpec("lzma.open", _FILE),
    ResourceSpec("os.fdopen", _FILE),
    ResourceSpec("tempfile.TemporaryFile", _FILE),
    ResourceSpec("tempfile.NamedTemporaryFile", _FILE),
    ResourceSpec("tempfile.SpooledTemporaryFile", _FILE),
    # TemporaryDirectory.__enter__ returns the *path*, not the object: never rewritten
    ResourceSpec("tempfile.TemporaryDirectory", ("cleanup",)),
    ResourceSpec("zipfile.ZipFile", _FILE),
    ResourceSpec("tarfile.open", _FILE),
    ResourceSpec("tarfile.TarFile", _FILE),
    ResourceSpec("tarfile.TarFile.open", _FILE),
    # more stdlib openers (checked in CPython 3.11's Lib/: each returns an object whose
    # close() closes the file it opened; `with` calls close())
    ResourceSpec("io.open_code", _FILE),  # io.open(path, "rb")
    ResourceSpec("bz2.BZ2File", _FILE),
    ResourceSpec("lzma.LZMAFile", _FILE),
    ResourceSpec("tokenize.open", _FILE),  # a TextIOWrapper over builtins.open(filename, "rb")
    ResourceSpec("wave.open", _FILE),  # Wave_read / Wave_write: close() closes a file it opened
    ResourceSpec("shelve.open", _FILE),  # DbfilenameShelf over dbm.open
    ResourceSpec("dbm.open", _FILE),
    ResourceSpec("dbm.dumb.open", _FILE),
    # the C-backed dbm modules (not built on every Python; per the documentation)
    ResourceSpec("dbm.gnu.open", _FILE),
    ResourceSpec("dbm.ndbm.open", _FILE),
    ResourceSpec("tarfile.TarFile.taropen", _FILE),  # a classmethod: cls(name, mode, fileobj)
    ResourceSpec("fileinput.input", _FILE),  # a FileInput (also kept in the module's _state)
    ResourceSpec("fileinput.FileInput", _FILE),
    ResourceSpec("zipfile.PyZipFile", _FILE),
    # --- sockets, processes, loops, pools ---------------------------------------------
    ResourceSpec("socket.socket", ("close", "detach")),
    ResourceSpec("socket.create_connection", ("close", "detach")),
    ResourceSpec("socket.fromfd", ("close", "detach")),
    ResourceSpec("urllib.request.urlopen", _FILE),
    # Popen.__exit__ closes the pipes, then wait()s; poll() reaps once it returns a code
    ResourceSpec("subprocess.Popen", ("wait", "communicate", "kill", "terminate", "poll")),
    # an event loop has no context manager
    ResourceSpec("asyncio.new_event_loop", _FILE),
    ResourceSpec("asyncio.events.new_event_loop", _FILE),
    ResourceSpec("uvloop.new_event_loop", _FILE),  # a uvloop.Loop: close() as asyncio's
    # Executor.__exit__ is shutdown(wait=True)
    ResourceSpec("concurrent.futures.ThreadPoolExecutor", ("shutdown",)),
    ResourceSpec("concurrent.futures.thread.ThreadPoolExecutor", ("shutdown",)),
    ResourceSpec("concurrent.futures.ProcessPoolExecutor", ("shutdown",)),
    ResourceSpec("concurrent.futures.process.ProcessPoolExecutor", ("shutdown",)),
    # Pool.__exit__ is terminate(): close() + join() is the graceful release
    ResourceSpec("multiprocessing.Pool", ("close", "terminate")),
    ResourceSpec("multiprocessing.pool.Pool", ("close", "terminate")),
    ResourceSpec("multiprocessing.pool.ThreadPool", ("close", "terminate")),
    ResourceSpec("multiprocessing.dummy.Pool", ("close", "terminate")),
    # multiprocessing.Manager() returns a started SyncManager (context.py): a server
    # process until shutdown() (`with` shuts it down too). A BaseManager/SyncManager
    # made directly holds one only once started: see STARTED_BY.
    ResourceSpec("multiprocessing.Manager", ("shutdown",)),
    ResourceSpec("multiprocessing.managers.BaseManager", ("shutdown",)),
    ResourceSpec("multiprocessing.managers.SyncManager", ("shutdown",)),
    ResourceSpec("multiprocessing.managers.SharedMemoryManager", ("shutdown",)),
    # --- databases ---------------------------------------------------------------------
    # sqlite3 / psycopg2: `with conn:` commits or rolls back and leaves it open
    ResourceSpec("sqlite3.connect", _FILE, with_releases=False),
    ResourceSpec("sqlite3.dbapi2.connect", _FILE, with_releases=False),
    ResourceSpec("psycopg2.connect", _FILE, with_releases=False),
    # psycopg 3: `with` commits (or rolls back), then closes
    ResourceSpec("psycopg.connect", _FILE),
    ResourceSpec("psycopg.Connection.connect", _FILE),
    ResourceSpec("psycopg.AsyncConnection.connect", _FILE, awaited=True),
    # asyncpg.Connection has no async context manager (asyncpg/connection.py)
    ResourceSpec("asyncpg.connect", _FILE, awaited=True),
    # --- HTTP clients ------------------------------------------------------------------
    ResourceSpec("requests.Session", _FILE),
    ResourceSpec("requests.session", _FILE),
    ResourceSpec("requests.sessions.Session", _FILE),
    ResourceSpec("httpx.Client", _FILE),
    ResourceSpec("httpx.AsyncClient", ("aclose",), awaited=True),
    ResourceSpec("aiohttp.ClientSession", _FILE, awaited=True),
    ResourceSpec("aiohttp.client.ClientSession", _FILE, awaited=True),
    # TCPConnector.close() returns an awaitable; __aexit__ awaits it
    ResourceSpec("aiohttp.TCPConnector", _FILE, awaited=True),
    ResourceSpec("aiohttp.connector.TCPConnector", _FILE, awaited=True),
    # --- redis -------------------------------------------------------------------------
    ResourceSpec("redis.Redis", _FILE),
    ResourceSpec("redis.StrictRedis", _FILE),
    ResourceSpec("redis.client.Redis", _FILE),
    ResourceSpec("redis.Redis.from_url", _FILE),
    ResourceSpec("redis.from_url", _FILE),
    # async close() is a deprecated alias of aclose() since 5.0.1
    ResourceSpec("redis.asyncio.Redis", ("aclose", "close"), awaited=True),
    ResourceSpec("redis.asyncio.StrictRedis", ("aclose", "close"), awaited=True),
    ResourceSpec("redis.asyncio.client.Redis", ("aclose", "close"), awaited=True),
    ResourceSpec("redis.asyncio.Redis.from_url", ("aclose", "close"), awaited=True),
    ResourceSpec("redis.asyncio.from_url", ("aclose", "close"), awaited=True),
    # --- Kafka -------------------------------------------------------------------------
    # confluent_kafka: Consumer.close(); Producer.flush() delivers what is queued
    # (Producer.close() is recent, so flush() counts as the release)
    ResourceSpec("confluent_kafka.Consumer", _FILE),
    ResourceSpec("confluent_kafka.DeserializingConsumer", _FILE),
    ResourceSpec("confluent_kafka.Producer", ("flush", "close")),
    ResourceSpec("confluent_kafka.SerializingProducer", ("flush", "close")),
    ResourceSpec("aiokafka.AIOKafkaConsumer", ("stop",), awaited=True),
    ResourceSpec("aiokafka.AIOKafkaProducer", ("stop",), awaited=True),
    ResourceSpec("kafka.KafkaConsumer", _FILE),
    ResourceSpec("kafka.KafkaProducer", ("close", "flush")),
    # --- AMQP, websockets, brokers ------------------------------------------------------
    ResourceSpec("aio_pika.connect", _FILE, awaited=True),
    ResourceSpec("aio_pika.connect_robust", _FILE, awaited=True),
    ResourceSpec("aio_pika.connection.connect", _FILE, awaited=True),
    ResourceSpec("aio_pika.robust_connection.connect_robust", _FILE, awaited=True),
    ResourceSpec("pika.BlockingConnection", _FILE),
    ResourceSpec("websockets.connect", _FILE, awaited=True),
    ResourceSpec("websockets.asyncio.client.connect", _FILE, awaited=True),
    # FastStream brokers: stop() (close() until 0.5); __aenter__ connects
    ResourceSpec("faststream.kafka.KafkaBroker", ("stop", "close"), awaited=True),
    ResourceSpec("faststream.confluent.KafkaBroker", ("stop", "close"), awaited=True),
    ResourceSpec("faststream.redis.RedisBroker", ("stop", "close"), awaited=True),
    ResourceSpec("faststream.rabbit.RabbitBroker", ("stop", "close"), awaited=True),
    ResourceSpec("faststream.nats.NatsBroker", ("stop", "close"), awaited=True),
)

# Resources that hold something only once a method has been called on them: a manager
# made directly (`m = SyncManager(); m.start()`) starts its server process in start();
# one that only connect()s to a remote server has nothing to shut down.
STARTED_BY: Dict[str, str] = {
    "multiprocessing.managers.BaseManager": "start",
    "multiprocessing.managers.SyncManager": "start",
    "multiprocessing.managers.SharedMemoryManager": "start",
}

# Methods that open a resource, by the class of their receiver (found through what the
# receiver is bound to, `with ... as`, or a parameter's annotation):
# `pathlib.Path(p).open()` is io.open(self, ...) (pathlib.py); `ZipFile.open(name)`
# returns a ZipExtFile (reading) or a _ZipWriteFile (writing), both closed by close().
TYPED_METHOD_RESOURCES: Dict[str, Dict[str, ResourceSpec]] = {
    "open": {
        **{cls: ResourceSpec(f"{cls}.open", _FILE) for cls in (
            "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath")},
        "zipfile.ZipFile": ResourceSpec("zipfile.ZipFile.open", _FILE),
        "zipfile.PyZipFile": ResourceSpec("zipfile.ZipFile.open", _FILE),
    },
}

# Bare statements that open a file and drop it at once (`open(p)` as a statement):
# reported by LL204 (pylint's consider-using-with does too).
FILE_OPENERS: FrozenSet[str] = frozenset({
    "builtins.open", "io.open", "io.open_code", "codecs.open", "gzip.open", "bz2.open", "lzma.open",
    "tokenize.open", "os.fdopen",
})

# Resources created by a method whose receiver cannot be resolved: `client.pubsub()`.
# redis PubSub holds a pool connection until close()/reset() (aclose() for asyncio).
METHOD_RESOURCES: Dict[str, ResourceSpec] = {
    "pubsub": ResourceSpec(".pubsub", ("close", "reset", "aclose")),
}

def _by_callable(groups) -> Dict[str, FrozenSet[str]]:
    """{callable: methods} from ((callables...), (methods...)) pairs."""
    return {name: frozenset(methods) for names, methods in groups for name in names}


# callable -> the release methods its `with` block is equivalent to (see module doc)
WITH_EXIT: Dict[str, FrozenSet[str]] = _by_callable(
    (
        (("builtins.open", "io.open", "codecs.open", "gzip.open", "gzip.GzipFile", "bz2.open",
          "lzma.open", "os.fdopen", "tempfile.TemporaryFile", "tempfile.NamedTemporaryFile",
          "tempfile.SpooledTemporaryFile", "zipfile.ZipFile", "tarfile.open", "tarfile.TarFile",
          "tarfile.TarFile.open", "socket.socket", "socket.create_connection", "socket.fromfd",
          "urllib.request.urlopen", "requests.Session", "requests.session",
          "requests.sessions.Session", "httpx.Client", "redis.Redis", "redis.StrictRedis",
          "redis.client.Redis", "redis.Redis.from_url", "redis.from_url", "pika.BlockingConnection",
          "kafka.KafkaConsumer", "aiohttp.ClientSession", "aiohttp.client.ClientSession",
          "aiohttp.TCPConnector", "aiohttp.connector.TCPConnector", "aio_pika.connect",
          "aio_pika.connect_robust", "aio_pika.connection.connect",
          "aio_pika.robust_connection.connect_robust", "websockets.connect",
          "websockets.asyncio.client.connect", "io.open_code", "bz2.BZ2File", "lzma.LZMAFile",
          "tokenize.open", "wave.open", "shelve.open", "dbm.dumb.open", "fileinput.input",
          "fileinput.FileInput", "zipfile.PyZipFile", "pathlib.Path.open", "pathlib.PosixPath.open",
          "pathlib.WindowsPath.open", "zipfile.ZipFile.open"), ("close",)),
        (("multiprocessing.Manager",), ("shutdown",)),
        (("kafka.KafkaProducer",), ("close",)),
        (("httpx.AsyncClient",), ("aclose",)),
        (("subprocess.Popen",), ("wait",)),
        (("concurrent.futures.ThreadPoolExecutor", "concurrent.futures.thread.ThreadPoolExecutor",
          "concurrent.futures.ProcessPoolExecutor", "concurrent.futures.process.ProcessPoolExecutor"),
         ("shutdown",)),
        ((".pubsub",), ("close", "reset", "aclose")),
    )
)

CLOSING: FrozenSet[str] = frozenset(
    {"sqlite3.connect", "sqlite3.dbapi2.connect", "psycopg2.connect", "psycopg.connect",
     "psycopg.Connection.connect"}
)

# Pool.__exit__ terminates the workers: the rewrite keeps close() and adds join()
JOIN_AFTER_CLOSE: FrozenSet[str] = frozenset(
    {"multiprocessing.Pool", "multiprocessing.pool.Pool", "multiprocessing.pool.ThreadPool",
     "multiprocessing.dummy.Pool"}
)

# Methods that return data and leave nothing tied to the resource: a one-liner
# `R(...).m(...)` with one of these is rewritten as a `with` block safely (LL204).
DATA_METHODS: Dict[str, FrozenSet[str]] = _by_callable(
    (
        (("builtins.open", "io.open", "codecs.open", "gzip.open", "bz2.open", "lzma.open"),
         ("read", "readline", "readlines", "write", "writelines")),
        (("zipfile.ZipFile",), ("read", "namelist", "infolist", "extractall", "testzip", "writestr", "write")),
        (("tarfile.open", "tarfile.TarFile.open"), ("extractall", "getnames", "getmembers", "add")),
        (("urllib.request.urlopen",), ("read",)),
    )
)

# Release-like methods any class may use on an attribute it owns (LL203 looks for these
# besides the resource's own release methods).
GENERIC_RELEASE = frozenset({"close", "aclose", "stop", "shutdown", "terminate", "cleanup",
                             "__exit__", "__aexit__"})

# Callables that use a resource passed to them and keep no reference to it once they
# return: passing a resource to one of these is a use, not a hand-over. Passing it to
# anything else (a constructor, a method, an unknown function) may hand it over, so the
# analysis then assumes it escapes. Lazy wrappers (iter, map, zip, csv.reader) keep a
# reference and are deliberately absent.
BORROWERS: FrozenSet[str] = frozenset(
    {f"builtins.{name}" for name in (
        "print", "len", "isinstance", "issubclass", "repr", "str", "bytes", "bool", "hash", "id",
        "type", "list", "tuple", "sorted", "set", "frozenset", "any", "all", "sum", "min", "max",
        "hasattr", "callable", "format", "next",
    )}
    | {"json.load", "json.dump", "pickle.load", "pickle.dump", "marshal.load", "marshal.dump",
       "tomllib.load", "plistlib.load", "plistlib.dump", "shutil.copyfileobj", "os.fsync",
       "fcntl.flock", "fcntl.lockf", "fcntl.fcntl", "fcntl.ioctl"}
)

# Wrappers that own nothing when handed the caller's file object (`fileobj=`): their
# close() leaves that object open, and the wrapper holds no descriptor of its own.
# (gzip.GzipFile(filename, mode, compresslevel, fileobj); tarfile.open(name, mode, fileobj))
FILEOBJ_PARAMETER: Dict[str, Tuple[str, int]] = {
    "gzip.GzipFile": ("fileobj", 3),
    "tarfile.open": ("fileobj", 2),
    "tarfile.TarFile": ("fileobj", 2),
    "tarfile.TarFile.open": ("fileobj", 2),
    "tarfile.TarFile.taropen": ("fileobj", 2),
}

# Creators that accept a file object as their first argument: over an in-memory buffer,
# or over a file someone else opened (and closes), they hold no OS resource.
IN_MEMORY_BUFFERS = frozenset({"io.BytesIO", "io.StringIO"})
FIRST_ARGUMENT_MAY_BE_BUFFER = frozenset(
    {"zipfile.ZipFile", "gzip.open", "bz2.open", "lzma.open", "gzip.GzipFile", "bz2.BZ2File",
     "lzma.LZMAFile", "wave.open", "zipfile.PyZipFile"}
)

# A child started in its own session or process group is meant to outlive its parent
# (a browser, a daemon): not waiting for it is the point. (subprocess.Popen keywords)
DETACHING_KEYWORDS: Dict[str, Tuple[str, ...]] = {
    "subprocess.Popen": ("start_new_session", "process_group"),
}

# The same through `preexec_fn`: the function the child runs before exec (os.setsid is
# what start_new_session=True calls; os.setpgrp is process_group=0).
DETACHING_PREEXEC: Dict[str, Tuple[str, ...]] = {
    "subprocess.Popen": ("os.setsid", "os.setpgrp"),
}

# Attributes that identify what a resource holds, so that whoever has them can release
# it: a Popen's `pid` written to a pid file, returned or stored is the process handed
# over by pid (`kill $(cat server.pid)`, `os.kill(pid, SIGTERM)` elsewhere).
HANDLE_ATTRIBUTES: Dict[str, Tuple[str, ...]] = {
    "subprocess.Popen": ("pid",),
}

# Calls that only show a value: a handle passed to them (or formatted for them) is not
# handed over. Matched on the method's last name (`logger.info`, `log.debug`).
DISPLAY_CALLS = frozenset({"print", "debug", "info", "warning", "warn", "error", "exception", "critical",
                           "log", "echo", "secho"})
# Calls that turn a handle into another form of itself: the result is followed instead.
HANDLE_CONVERSIONS = frozenset({"str", "repr", "int", "format"})

# A module that reaps its children itself (os.waitpid on the pid, as tornado's
# Subprocess does from a SIGCHLD handler) releases its Popen objects that way.
REAPED_BY: Dict[str, Tuple[str, ...]] = {
    "subprocess.Popen": ("waitpid(", "wait3(", "wait4(", "os.wait("),
}

# Calls that cannot raise for any argument a program would pass: an exception-safety
# check ignores them (`while time.time() < deadline`, `for i in range(40)`).
NON_RAISING = frozenset(
    {"builtins.len", "builtins.range", "builtins.isinstance", "builtins.id", "time.time",
     "time.monotonic", "time.perf_counter"}
)
