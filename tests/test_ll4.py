"""LL4 unbounded buffers: what the fixtures cannot show (fix edits, default-off LL404,
the thresholds setting, message shape)."""
import json

import pytest

from helpers import run_cli
from leaklint.api import lint_source
from leaklint.config import ConfigError, Settings, settings_from_table
from leaklint.diagnostics import Applicability


def lint(source, **settings):
    settings.setdefault("select", ("LL4",))
    result = lint_source(source.encode("utf-8"), "example.py", Settings(**settings), whole=True)
    return result


def fixed(source, **settings):
    """The source after applying every edit of every finding (one each here)."""
    result = lint(source, **settings)
    module = result.module
    assert result.diagnostics, "expected a finding"
    for diagnostic in result.diagnostics:
        for edit in diagnostic.fix.edits:
            module = module.deep_replace(edit.old, edit.new)
    return module.code, result.diagnostics


# --- LL404 is off by default -------------------------------------------------------------

CACHED = "import functools\n\n@functools.cache\ndef lookup(key):\n    return key\n"


def test_ll404_silent_by_default():
    result = lint_source(CACHED.encode(), "example.py", Settings())
    assert [d.code for d in result.diagnostics] == []


def test_ll404_reported_when_selected():
    assert [d.code for d in lint(CACHED, select=None, extend_select=("LL404",)).diagnostics] == ["LL404"]
    assert [d.code for d in lint(CACHED, select=("LL404",)).diagnostics] == ["LL404"]


def test_ll404_silent_by_default_in_the_cli(tmp_path):
    (tmp_path / "a.py").write_text(CACHED)
    proc = run_cli("check", "--format", "json", "a.py", cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout) == []
    proc = run_cli("check", "--format", "json", "--extend-select", "LL404", "a.py", cwd=tmp_path)
    assert [d["code"] for d in json.loads(proc.stdout)] == ["LL404"]
    assert json.loads(proc.stdout)[0]["line"] == 3  # on the decorator


# --- fixes -------------------------------------------------------------------------------

def test_ll401_fix_writes_the_default_queue_size():
    code, (diag,) = fixed("import asyncio\nq = asyncio.Queue(maxsize=0)\n", default_queue_size=250)
    assert code == "import asyncio\nq = asyncio.Queue(maxsize=250)\n"
    assert diag.fix.applicability is Applicability.UNSAFE


def test_ll402_fix_adds_maxsize():
    source = "import queue\n\ndef read(sock):\n    q = queue.Queue()\n    while True:\n        q.put(sock.recv(1))\n"
    code, (diag,) = fixed(source)
    assert "    q = queue.Queue(maxsize=1000)\n" in code
    assert diag.line == 4 and diag.fix.applicability is Applicability.UNSAFE


def test_ll402_fix_keeps_existing_arguments():
    source = (
        "import multiprocessing\n\ndef feed(ctx, src):\n    q = multiprocessing.Queue(ctx=ctx)\n"
        "    while True:\n        q.put(src())\n"
    )
    code, _ = fixed(source)
    assert "multiprocessing.Queue(ctx=ctx, maxsize=1000)" in code


def test_ll402_simple_queue_and_deque_get_suggestions():
    source = (
        "import queue\nfrom collections import deque\n\nclass P:\n    def __init__(self):\n"
        "        self.q = queue.SimpleQueue()\n        self.d = deque()\n\n    def data_received(self, data):\n"
        "        self.q.put(data)\n        self.d.append(data)\n"
    )
    diagnostics = lint(source).diagnostics
    assert [(d.line, d.code) for d in diagnostics] == [(6, "LL402"), (7, "LL402")]
    assert all(d.fix.applicability is Applicability.SUGGESTED and not d.fix.edits for d in diagnostics)


def test_ll404_fix_replaces_functools_cache():
    code, (diag,) = fixed(CACHED, select=("LL404",), default_cache_size=64)
    assert "@functools.lru_cache(maxsize=64)\ndef lookup" in code
    assert diag.fix.imports == ()


def test_ll404_fix_imports_lru_cache_for_a_bare_name():
    source = "from functools import cache\n\n@cache\ndef lookup(key):\n    return key\n"
    code, (diag,) = fixed(source, select=("LL404",))
    assert "@lru_cache(maxsize=128)\ndef lookup" in code
    assert diag.fix.imports == ("from functools import lru_cache",)


def test_ll404_fix_bounds_lru_cache_none():
    source = "from functools import lru_cache\n\n@lru_cache(maxsize=None)\ndef f(x):\n    return x\n"
    code, _ = fixed(source, select=("LL404",))
    assert "@lru_cache(maxsize=128)" in code


def test_ll404_fix_for_the_call_form():
    code, _ = fixed("import functools\n\ndef wrap(f):\n    return functools.cache(f)\n", select=("LL404",))
    assert "return functools.lru_cache(maxsize=128)(f)" in code


@pytest.mark.parametrize(
    "source",
    [
        "from confluent_kafka import Consumer\nc = Consumer({'queued.max.messages.kbytes': 2097151})\n",
        "import requests\n\ndef f(u):\n    r = requests.get(u, stream=True)\n    return r.content\n",
    ],
)
def test_ll403_and_ll405_are_suggestions(source):
    (diag,) = lint(source).diagnostics
    assert diag.fix.applicability is Applicability.SUGGESTED and diag.fix.edits == ()


# --- messages and positions --------------------------------------------------------------

def test_kafka_message_names_buffer_bound_and_consequence():
    source = "from confluent_kafka import Consumer\nc = Consumer({\n    'queued.max.messages.kbytes': 2097151,\n})\n"
    (diag,) = lint(source).diagnostics
    assert (diag.code, diag.line, diag.column) == ("LL403", 3, 5)  # on the key
    assert diag.message.startswith(
        "Kafka consumer prefetch 'queued.max.messages.kbytes' = 2097151 KB: memory grows to this size "
        "whenever processing is slower than fetching"
    )
    assert "262144 KB" in diag.message


def test_shared_config_reported_once_per_setting():
    source = (
        "from confluent_kafka import Producer\nCONF = {'queue.buffering.max.messages': 0, 'queue.buffering.max.kbytes': 10**9}\n"
        "a = Producer(CONF)\nb = Producer(CONF)\n"
    )
    assert [(d.line, d.code) for d in lint(source).diagnostics] == [(2, "LL403"), (2, "LL403")]


# --- the thresholds setting ----------------------------------------------------------------

def test_thresholds_setting_is_validated():
    settings = settings_from_table({"thresholds": {"queued.max.messages.kbytes": 131072}})
    assert dict(settings.thresholds) == {"queued.max.messages.kbytes": 131072}
    hash(settings)  # settings are cache keys
    with pytest.raises(ConfigError, match="unknown setting 'queued.max.kbytes'"):
        settings_from_table({"thresholds": {"queued.max.kbytes": 1}})
    with pytest.raises(ConfigError, match="expected a positive integer, got 0"):
        settings_from_table({"thresholds": {"websockets.max_size": 0}})
    with pytest.raises(ConfigError, match="expected a table"):
        settings_from_table({"thresholds": 5})


def test_bad_thresholds_exit_2(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint.thresholds]\n'max_size' = 10\n")
    (tmp_path / "a.py").write_text("import asyncio\n")
    proc = run_cli("check", "a.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert b"[tool.leaklint] thresholds: unknown setting 'max_size'" in proc.stderr


def test_threshold_moves_the_line():
    source = "import websockets\n\nasync def f(u):\n    async with websockets.connect(u, max_size=8 * 2**20) as ws:\n        pass\n"
    assert [d.code for d in lint(source).diagnostics] == ["LL403"]
    assert lint(source, thresholds=(("websockets.max_size", 2**24),)).diagnostics == []
