"""I/O APIs (LL102, LL104): what per-item work opens when it reaches them, and where a
collection's size comes from outside the program. Checked against CPython 3.11 stdlib,
aiohttp 3.14, httpx 0.28, requests 2.34, redis 8.1, asyncpg, psycopg 3.3, aiokafka 0.14,
confluent-kafka 2.16, nats-py; see ../shared/API-NOTES.md.

Each entry's value is what one call opens, as LL102's message says it ("one HTTP request
per item of `urls`").
"""
import re
from typing import List

HTTP = "HTTP request"
FILE = "file"
PROCESS = "subprocess"
CONNECTION = "network connection"
DATABASE = "database query"
LISTING = "directory listing"
BROKER = "broker call"

# How messages say many of each.
PLURALS = {
    HTTP: "HTTP requests", FILE: "open files", PROCESS: "subprocesses", CONNECTION: "network connections",
    DATABASE: "database queries", LISTING: "directory listings", BROKER: "broker calls",
}

# Functions (qualified names) that do I/O when called.
IO_FUNCTIONS = {
    # files
    "builtins.open": FILE, "io.open": FILE, "os.open": FILE, "codecs.open": FILE,
    "gzip.open": FILE, "bz2.open": FILE, "lzma.open": FILE, "tarfile.open": FILE,
    "zipfile.ZipFile": FILE, "aiofiles.open": FILE, "anyio.open_file": FILE, "trio.open_file": FILE,
    "shutil.copy": FILE, "shutil.copy2": FILE, "shutil.copyfile": FILE, "shutil.copytree": FILE,
    "shutil.move": FILE, "shutil.rmtree": FILE, "os.remove": FILE, "os.unlink": FILE,
    "os.rename": FILE, "os.replace": FILE,
    # directory listings
    "glob.glob": LISTING, "glob.iglob": LISTING, "os.listdir": LISTING, "os.scandir": LISTING,
    "os.walk": LISTING,
    # processes
    "subprocess.run": PROCESS, "subprocess.Popen": PROCESS, "subprocess.call": PROCESS,
    "subprocess.check_call": PROCESS, "subprocess.check_output": PROCESS,
    "subprocess.getoutput": PROCESS, "subprocess.getstatusoutput": PROCESS,
    "asyncio.create_subprocess_exec": PROCESS, "asyncio.create_subprocess_shell": PROCESS,
    "asyncio.subprocess.create_subprocess_exec": PROCESS, "asyncio.subprocess.create_subprocess_shell": PROCESS,
    "anyio.run_process": PROCESS, "anyio.open_process": PROCESS, "trio.run_process": PROCESS,
    "os.system": PROCESS, "os.popen": PROCESS,
    # sockets and connections
    "socket.socket": CONNECTION, "socket.create_connection": CONNECTION, "socket.getaddrinfo": CONNECTION,
    "asyncio.open_connection": CONNECTION, "asyncio.open_unix_connection": CONNECTION,
    "asyncio.streams.open_connection": CONNECTION,
    "anyio.connect_tcp": CONNECTION, "anyio.connect_unix": CONNECTION,
    "trio.open_tcp_stream": CONNECTION, "trio.open_ssl_over_tcp_stream": CONNECTION,
    "websockets.connect": CONNECTION, "websockets.client.connect": CONNECTION,
    "websockets.asyncio.client.connect": CONNECTION,
    "smtplib.SMTP": CONNECTION, "smtplib.SMTP_SSL": CONNECTION, "ftplib.FTP": CONNECTION,
    "aiosmtplib.send": CONNECTION,
    # HTTP
    "urllib.request.urlopen": HTTP, "aiohttp.request": HTTP, "urllib3.request": HTTP,
    **{f"{lib}.{verb}": HTTP for lib in ("requests", "httpx")
       for verb in ("get", "post", "put", "patch", "delete", "head", "options", "request")},
    "httpx.stream": HTTP,
    # databases
    "sqlite3.connect": DATABASE, "aiosqlite.connect": DATABASE, "psycopg.connect": DATABASE,
    "psycopg.AsyncConnection.connect": DATABASE, "psycopg2.connect": DATABASE,
    "asyncpg.connect": DATABASE, "asyncpg.create_pool": DATABASE, "aiomysql.connect": DATABASE,
    "pymysql.connect": DATABASE, "redis.Redis": DATABASE, "redis.asyncio.Redis": DATABASE,
    "redis.from_url": DATABASE, "redis.asyncio.from_url": DATABASE,
}

_HTTP_VERBS = frozenset(("get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream"))
_DB_VERBS = frozenset((
    "execute", "executemany", "executescript", "fetch", "fetchrow", "fetchval", "fetchall", "fetchone",
    "fetchmany", "query", "copy_records_to_table", "copy_to_table", "copy_from_query",
))

# Classes (or factories) whose instances do I/O in these methods ("*": any method).
IO_CLIENT_METHODS = {
    "aiohttp.ClientSession": (HTTP, _HTTP_VERBS | {"ws_connect"}),
    "aiohttp.client.ClientSession": (HTTP, _HTTP_VERBS | {"ws_connect"}),
    "httpx.AsyncClient": (HTTP, _HTTP_VERBS), "httpx.Client": (HTTP, _HTTP_VERBS),
    "requests.Session": (HTTP, _HTTP_VERBS), "requests.session": (HTTP, _HTTP_VERBS),
    "requests.sessions.Session": (HTTP, _HTTP_VERBS),
    "urllib3.PoolManager": (HTTP, frozenset(("request", "urlopen"))),
    "redis.Redis": (DATABASE, "*"), "redis.StrictRedis": (DATABASE, "*"), "redis.asyncio.Redis": (DATABASE, "*"),
    "redis.from_url": (DATABASE, "*"), "redis.asyncio.from_url": (DATABASE, "*"),
    "asyncpg.connect": (DATABASE, _DB_VERBS), "asyncpg.create_pool": (DATABASE, _DB_VERBS),
    "sqlite3.connect": (DATABASE, _DB_VERBS), "aiosqlite.connect": (DATABASE, _DB_VERBS),
    "psycopg.connect": (DATABASE, _DB_VERBS), "psycopg2.connect": (DATABASE, _DB_VERBS),
    "aiokafka.AIOKafkaProducer": (BROKER, frozenset(("send", "send_and_wait", "send_batch"))),
    "confluent_kafka.Producer": (BROKER, frozenset(("produce", "flush"))),
    "kafka.KafkaProducer": (BROKER, frozenset(("send",))),
    "pathlib.Path": (FILE, frozenset(("open", "read_text", "read_bytes", "write_text", "write_bytes", "unlink"))),
}

# Methods whose name alone says I/O (no common other meaning), on any receiver.
IO_METHODS = {
    "read_text": FILE, "read_bytes": FILE, "write_text": FILE, "write_bytes": FILE,
    "urlopen": HTTP, "ws_connect": CONNECTION,
    "create_connection": CONNECTION, "create_unix_connection": CONNECTION, "open_connection": CONNECTION,
    "sock_connect": CONNECTION, "sock_recv": CONNECTION, "sock_sendall": CONNECTION,
    "getaddrinfo": CONNECTION, "subprocess_exec": PROCESS, "subprocess_shell": PROCESS,
    "send_and_wait": BROKER, "basic_publish": BROKER,
}

def name_words(name: str) -> List[str]:
    """The words of a name as IO_RECEIVER_CONVENTIONS matches them: `self._http_client`
    -> `http`, `client`."""
    return _WORDS.findall(name.lower())


_WORDS = re.compile(r"[a-z0-9]+")

# When the receiver's class cannot be seen (a parameter, `self._session` set from outside
# the class): a receiver whose name holds one of these words, called with one of these
# verbs, is a client of that kind (`session.get`, `self._http.post`, `conn.fetchrow`).
# Both must agree: `cache.get` or `session.close` is no request.
IO_RECEIVER_CONVENTIONS = (
    (HTTP, frozenset(("session", "http", "httpx", "requests", "aiohttp", "client")), _HTTP_VERBS - {"send"}),
    (DATABASE, frozenset(("conn", "connection", "db", "database", "cursor", "cur", "pool", "tx",
                          "transaction", "redis", "engine")), _DB_VERBS),
    (BROKER, frozenset(("producer", "broker", "publisher", "exchange")), frozenset(("send", "publish", "produce"))),
)

# --- where a collection's size comes from outside the program ----------------------

# Words in a parameter's name that say it is the program's own configuration, not input:
# one task per platform of `config.platforms` is sized by whoever wrote the config.
CONFIG_WORDS = frozenset(("config", "conf", "cfg", "configuration", "settings", "options", "opts"))

# Named values that the outside world sizes.
OUTSIDE_VALUES = {"sys.argv": "the command line"}

# Methods whose result is a listing or a batch from outside, on any receiver: a
# directory (`Path.glob`, `iterdir`), a file's lines, a consumer's message batch.
LISTING_METHODS = {
    "glob": LISTING, "rglob": LISTING, "iterdir": LISTING, "scandir": LISTING, "listdir": LISTING,
    "readlines": "file's lines",
}
# Message batches: a consumer or subscription handing over what the broker sent.
BATCH_RECEIVER_WORDS = frozenset(("consumer", "subscription", "subscriber", "sub", "reader"))
BATCH_METHODS = frozenset(("getmany", "poll", "consume", "fetch", "get_messages", "receive_messages"))

# Calls that pass the size of their argument through (`list(urls)`, `sorted(paths)`).
SIZE_PASS_THROUGH = frozenset((
    "builtins.list", "builtins.tuple", "builtins.set", "builtins.frozenset", "builtins.sorted",
    "builtins.reversed", "builtins.enumerate", "builtins.iter", "builtins.zip", "builtins.filter",
    "builtins.map", "builtins.dict", "builtins.len", "builtins.int", "builtins.float", "builtins.abs",
    "builtins.round", "builtins.max", "math.ceil", "math.floor", "itertools.chain",
    "itertools.chain.from_iterable", "itertools.product", "json.loads", "json.load",
    "csv.reader", "csv.DictReader",
))
