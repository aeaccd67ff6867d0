"""LL403: a messaging or network client whose buffer, prefetch or size limit is disabled
or far above the library's default."""
from __future__ import annotations

import ast
from typing import Any, Dict, List, Tuple

import libcst as cst

from leaklint.analysis.calls import argument, terminal_name
from leaklint.analysis.dicts import dict_entries
from leaklint.analysis.loops import enclosing_loops
from leaklint.analysis.values import UNKNOWN, describe, is_sentinel
from leaklint.diagnostics import Applicability, Fix
from leaklint.knowledge import last_component
from leaklint.knowledge.buffers import (
    AUTO_ACK_CALLABLES,
    AUTO_ACK_METHODS,
    AUTO_ACK_PARAMS,
    BATCH_METHODS,
    CELERY_PREFETCH_NAMES,
    CELERY_SETTING,
    COMMON_PARAMS,
    KAFKA_CLIENTS_BY_NAME,
    KAFKA_KEYS,
    METHOD_BUFFERS,
    MethodSetting,
    PREFETCH_SIZE_FIRST,
    RPC_REPLY_WORDS,
    SETTINGS,
    SETTINGS_BY_NAME,
    Setting,
)
from leaklint.knowledge.specs import BufferParam
from leaklint.rules.base import Rule
from leaklint.analysis import sieve_ll4 as ll4
from leaklint.sieve import Need, arguments, terminal

_METHODS: Dict[str, Tuple[MethodSetting, ...]] = {}
for _row in METHOD_BUFFERS:
    _METHODS[_row.method] = _METHODS.get(_row.method, ()) + (_row,)
_BATCH = {row.method: row for row in BATCH_METHODS}
_KAFKA_SHORT = frozenset(last_component(name) for name in KAFKA_CLIENTS_BY_NAME)
_AUTO_ACK_SHORT = frozenset(last_component(name) for name in AUTO_ACK_CALLABLES)


def _thresholds_page() -> str:
    rows = ["| setting | what | default | flagged when |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = "no limit" if s.default is None else f"{s.default} {s.unit}"
        parts = []
        if s.unbounded:
            parts.append(" or ".join(f"`{describe(v)}`" for v in s.unbounded))
        if s.maximum is not None:
            parts.append(f"above {s.maximum}")
        rows.append(f"| `{s.name}` | {s.what} | {default} | {' or '.join(parts)} |")
    return "\n".join(rows)


class UnboundedClientBuffer(Rule):
    code = "LL403"
    name = "unbounded-client-buffer"
    summary = "A messaging or network client's buffer, prefetch or size limit is disabled or set far above its default."
    rationale = """\
Clients of brokers and network protocols keep data in memory on your behalf: a Kafka
consumer prefetches messages into a local queue, an AMQP channel receives up to
`prefetch_count` unacknowledged messages, a web server reads a request body whole up to
`client_max_size`, a websocket keeps up to `max_queue` messages of `max_size` bytes. The
defaults are chosen so that a slow application pushes back on its source. Disable the
limit, or raise it far above the default, and the client fills memory exactly when the
application falls behind: the incident behind this rule was a Kafka consumer whose
`queued.max.messages.kbytes` prefetch filled whenever processing was slower than
producing.

Flagged (one finding per offending setting, on the key or argument):
- confluent-kafka `Consumer`/`Producer` (and the deserializing, Avro and `aio` variants)
  config keys, in a dict literal passed directly, through a local name or a module
  constant (`{**BASE, ...}`, `dict(BASE, ...)`, `conf["k"] = v` and `conf.update(...)`
  included); consumer keys only on consumers, producer keys only on producers;
- aiokafka and kafka-python consumer/producer parameters, and aiokafka
  `getmany(max_records=None)` in a loop;
- AMQP `set_qos`/`basic_qos`/`qos` with `prefetch_count=0`; pika's positional trap
  `basic_qos(10)` (the first parameter is `prefetch_size`, so the message prefetch stays
  unlimited); consumers with `no_ack=True`/`auto_ack=True` (prefetch does not apply);
- Celery `worker_prefetch_multiplier` (as `app.conf.x = ...`, `app.conf.update(...)`, or
  a top-level name of a settings module or class, under its old and Django spellings);
- websockets `connect`/`serve` `max_size`/`max_queue`, aiohttp `web.Application(
  client_max_size=...)`, `ws_connect`/`WebSocketResponse(max_msg_size=...)`,
  `ClientSession(read_bufsize=...)`, asyncio `open_connection`/`start_server`/
  `StreamReader(limit=...)`;
- your own buffers declared in `[tool.leaklint.buffers]` (their `unbounded` values and
  `max`).

A keyword counts also when it comes through a `**` mapping whose keys can be read: a
dict display (`connect(uri, **{"max_size": None})`), `dict(...)`, or a name bound once
to one and not changed afterwards (`**options`); the finding is on the mapping's entry.

"Too large" is above 4x the library's own default (websockets `max_queue`: 4x the 32
its legacy implementation used), or a value that disables the limit. Each line can be
moved with `[tool.leaklint.thresholds]`, e.g. `"queued.max.messages.kbytes" = 131072`:

""" + _thresholds_page() + """

Checked in each library's source (see `leaklint/knowledge/buffers.py`); version traps
respected: aiohttp's `read_bufsize` line follows the 256 KiB default of 3.14 (earlier
releases used 64 KiB, so the line errs high, not low), and librdkafka's old 1000000 KB
prefetch default is not taken as normal."""
    fix_applicability = Applicability.SUGGESTED
    fix_description = "Set the library's documented bound (its default, or a value at or below the threshold)."
    options = ("thresholds", "buffers", "huge-threshold")
    flagged = (
        "from confluent_kafka import Consumer\n\nconsumer = Consumer({\n    'bootstrap.servers': 'kafka:9092',\n"
        "    'queued.max.messages.kbytes': 2097151,\n})\n",
        "import confluent_kafka\n\nBASE = {'bootstrap.servers': 'kafka:9092', 'queued.min.messages': 10_000_000}\n\n"
        "def make_consumer(group):\n    return confluent_kafka.Consumer({**BASE, 'group.id': group})\n",
        "async def setup(channel):\n    await channel.set_qos(prefetch_count=0)\n",
        "def setup(channel):\n    channel.basic_qos(10)  # pika: 10 bytes, prefetch_count stays 0\n",
        "import websockets\n\nasync def main():\n    async with websockets.connect(URL, max_size=None) as ws:\n        ...\n",
        "from celery import Celery\n\napp = Celery('tasks')\napp.conf.worker_prefetch_multiplier = 0\n",
    )
    clean = (
        "from confluent_kafka import Consumer\n\nconsumer = Consumer({'bootstrap.servers': 'kafka:9092',"
        " 'queued.max.messages.kbytes': 65536})\n",
        "from confluent_kafka import Producer\n\nproducer = Producer({'queued.max.messages.kbytes': 2097151})"
        "  # a consumer key: the producer ignores it\n",
        "def setup(channel):\n    channel.basic_qos(prefetch_count=10)\n",
        "async def setup(channel):\n    await channel.set_qos(10)  # aio-pika: prefetch_count comes first\n",
        "import websockets\n\nasync def main():\n    async with websockets.connect(URL, max_size=2**20) as ws:\n        ...\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        # what a finding cannot do without: the keyword it judges (`max_size=`), the
        # method judged by position, the Kafka key or Celery setting name itself
        words = set()
        for specs in knowledge.buffers.values():
            for spec in specs:
                by_keyword = spec.position is None and spec.param not in COMMON_PARAMS
                words.add(f"{spec.param}=" if by_keyword else last_component(spec.callable))
        for row in METHOD_BUFFERS + BATCH_METHODS:
            words.add(f"{row.param}=" if row.position is None else row.method)
        words.update(f"{param}=" for param in AUTO_ACK_PARAMS)
        words.update(key for keys in KAFKA_KEYS.values() for key in keys)
        words.update(CELERY_PREFETCH_NAMES)
        return frozenset(words)

    @classmethod
    def candidates(cls, index):
        # every value is resolved in its own function or through module-level statements,
        # and dict_entries follows names only within the scope that binds them: UNIT
        judge = _Judge(index)
        for call in index.calls(_METHODS.keys() | AUTO_ACK_METHODS | _BATCH.keys() | {"update"}):
            func = call.func
            if type(func) is not ast.Attribute:
                continue
            method = func.attr
            if method in _METHODS and _method_candidate(call, method, judge):
                yield Need(call)
            elif method in AUTO_ACK_METHODS and _auto_ack_candidate(call, judge):
                yield Need(call)
            elif method in _BATCH and _batch_candidate(call, _BATCH[method], judge):
                yield Need(call)
            elif method == "update" and terminal(func.value) == "conf" and _celery_update_candidate(call, judge):
                yield Need(call)
        yield from _callee_candidates(index, judge)
        yield from _celery_assignments(index, judge)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._reported: set = set()
        self._thresholds = dict(ctx.settings.thresholds)

    # --- calls ---------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        knowledge = self.ctx.knowledge
        func = node.func
        method = func.attr.value if type(func) is cst.Attribute else None
        if method is not None:
            if method in _METHODS:
                self._method_settings(node, method)
            if method in AUTO_ACK_METHODS:
                self._auto_ack(node)
            if method in _BATCH:
                self._batch(node, _BATCH[method])
            if method == "update" and terminal_name(func.value) == "conf":
                self._celery_update(node)
        names = knowledge.short_names("buffers") | _KAFKA_SHORT | _AUTO_ACK_SHORT
        callee = self.ctx.callee(node, names)
        if callee is None:
            return
        for spec in knowledge.buffers.get(callee, ()):
            self._parameter(node, spec)
        client = KAFKA_CLIENTS_BY_NAME.get(callee)
        if client is not None:
            self._kafka(node, client)
        if callee in AUTO_ACK_CALLABLES:
            self._auto_ack(node)

    def _parameter(self, call: cst.Call, spec: BufferParam) -> None:
        arg = argument(call, spec.param, spec.position, self.ctx.scope)
        if arg is None:
            return
        expr = arg.value
        if isinstance(expr, cst.Tuple) and expr.elements:  # websockets: (high, low)
            expr = expr.elements[0].value
        value = self.ctx.value(expr)
        setting = SETTINGS_BY_NAME.get(spec.note)
        if setting is not None:
            self._check(arg, setting, spec.param, expr, value)
            return
        # a user-declared buffer: its own "unbounded" values and "max"
        if is_sentinel(value, spec.unbounded) or (
            spec.maximum is None and self.ctx.is_unbounded_number(value)
        ):
            reason = "disables the limit"
        elif spec.maximum is not None and _number(value) and value > spec.maximum:
            reason = f"is above its threshold {spec.maximum}"
        else:
            return
        text = self.ctx.module.code_for_node(expr).strip()
        self._report(
            arg,
            f"{spec.callable}({spec.param}={text}) {reason}: the buffer it bounds grows with the backlog "
            "whenever the consumer of this data is slower than its source — keep a fixed bound",
            f"Set {spec.param} to a bound" + (f" of at most {spec.maximum}" if spec.maximum is not None else ""),
        )

    def _method_settings(self, call: cst.Call, method: str) -> None:
        for row in _METHODS[method]:
            arg = argument(call, row.param, row.position, self.ctx.scope)
            if arg is not None:
                self._check(arg, SETTINGS_BY_NAME[row.setting], row.param, arg.value, self.ctx.value(arg.value))
        if method in PREFETCH_SIZE_FIRST:
            positional = [a for a in call.args if a.keyword is None]
            if len(positional) == 1 and not positional[0].star and argument(call, "prefetch_count", None) is None:
                arg = positional[0]
                text = self.ctx.module.code_for_node(arg.value).strip()
                self._report(
                    arg,
                    f"{method}({text}) sets prefetch_size={text} (a byte window: the first positional parameter in "
                    "pika and kombu), not prefetch_count, which stays 0 = unlimited: the broker pushes every ready "
                    f"message into this consumer's memory whenever processing is slower than delivery — write "
                    f"{method}(prefetch_count={text})",
                    f"Pass the count by keyword: {method}(prefetch_count={text})",
                )

    def _auto_ack(self, call: cst.Call) -> None:
        if self._reply_consumer(call):
            return
        for param in AUTO_ACK_PARAMS:
            arg = argument(call, param, None, self.ctx.scope)
            if arg is not None and self.ctx.value(arg.value) is True:
                self._report(
                    arg,
                    f"consumer with {param}=True: the broker does not wait for acknowledgements, so no prefetch "
                    "limit applies and every ready message is pushed into this process's memory whenever "
                    "processing is slower than delivery — acknowledge messages and set a prefetch_count",
                    "Acknowledge manually (no_ack/auto_ack=False) and bound the prefetch with set_qos/basic_qos",
                )

    def _reply_consumer(self, call: cst.Call) -> bool:
        """An RPC reply consumer: an exclusive queue, or one whose queue or callback is
        named for replies. RabbitMQ's direct reply-to requires auto-ack, and the replies
        are bounded by the calls in flight."""
        exclusive = argument(call, "exclusive", None, self.ctx.scope)
        if exclusive is not None and self.ctx.value(exclusive.value) is True:
            return True
        text = self.ctx.module.code_for_node(call).lower()
        return any(word in text for word in RPC_REPLY_WORDS)

    def _batch(self, call: cst.Call, row) -> None:
        arg = argument(call, row.param, row.position, self.ctx.scope)
        if arg is None or self.ctx.value(arg.value) is not None or not enclosing_loops(self.ctx):
            return
        setting = SETTINGS_BY_NAME[row.setting]
        self._report(
            arg,
            f"{setting.what} {row.method}({row.param}=None) in a loop: every prefetched record comes back in "
            "one batch, however many there are, whenever processing is slower than fetching — pass a fixed "
            "max_records",
            "Pass max_records=<n> (e.g. 500, kafka-python's max_poll_records default)",
        )

    def _kafka(self, call: cst.Call, client) -> None:
        keys = KAFKA_KEYS[client.role]
        sources = []
        arg = argument(call, client.param, client.position, self.ctx.scope)
        if arg is not None:
            sources.append(arg.value)
        sources.extend(a.value for a in call.args if a.star == "**")
        for source in sources:
            for entry in dict_entries(source, self.ctx.scope):
                if entry.key in keys:
                    value = _config_number(self.ctx.value(entry.value, entry.scope))
                    self._check(entry.node, SETTINGS_BY_NAME[entry.key], f"'{entry.key}'", entry.value, value, False)

    # --- Celery ----------------------------------------------------------------------

    def _celery_update(self, call: cst.Call) -> None:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in CELERY_PREFETCH_NAMES:
                self._celery(arg, arg.keyword.value, arg.value)
            elif arg.keyword is None and not arg.star:
                for entry in dict_entries(arg.value, self.ctx.scope):
                    if entry.key in CELERY_PREFETCH_NAMES:
                        self._celery(entry.node, entry.key, entry.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._celery_target(node, target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._celery_target(node, node.target, node.value)

    def _celery_target(self, node: cst.CSTNode, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute):
            # app.conf.worker_prefetch_multiplier = 0
            if target.attr.value in CELERY_PREFETCH_NAMES and terminal_name(target.value) == "conf":
                self._celery(node, target.attr.value, value)
        elif isinstance(target, cst.Name) and target.value in CELERY_PREFETCH_NAMES:
            # a settings module, or a config class for app.config_from_object
            if self.ctx.scope.kind in ("module", "class"):
                self._celery(node, target.value, value)

    def _celery(self, node: cst.CSTNode, name: str, expr: cst.BaseExpression) -> None:
        value = _config_number(self.ctx.value(expr))
        self._check(node, SETTINGS_BY_NAME[CELERY_SETTING], name, expr, value, keyword=type(node) is cst.Arg)

    # --- judging a value -------------------------------------------------------------

    def _check(self, node: cst.CSTNode, setting: Setting, name: str, expr: cst.BaseExpression, value: Any,
               keyword: bool = True) -> None:
        """Report `name` (a keyword parameter, or a config key / setting when not `keyword`)
        if `value` disables the setting's limit or exceeds its threshold."""
        if value is UNKNOWN or isinstance(value, bool):
            return
        maximum = self._thresholds.get(setting.name, setting.maximum)
        text = self.ctx.module.code_for_node(expr).strip()
        label = f"{name}={text}" if keyword else f"{name} = {text}"
        unit = f" {setting.unit}" if setting.unit else ""
        default = "no limit" if setting.default is None else f"{setting.default}{unit}"
        if is_sentinel(value, setting.unbounded) or (maximum is None and self.ctx.is_unbounded_number(value)):
            message = (
                f"{setting.what} {label} disables the limit: memory grows without bound {setting.when} — "
                f"set a bound such as {setting.bound}"
            )
            fix = f"Set {name} to a bound such as {setting.bound}"
        elif maximum is not None and _number(value) and value > maximum:
            message = (
                f"{setting.what} {label}{unit}: memory grows to this size {setting.when} — "
                f"keep it at or below {maximum}{unit} (the library default is {default})"
            )
            fix = f"Set {name} to at most {maximum}{unit} (library default: {default})"
        else:
            return
        self._report(node, message, fix)

    def _report(self, node: cst.CSTNode, message: str, fix: str) -> None:
        node = getattr(node, "origin", None) or node  # a `**{...}` entry: where it is written
        if id(node) in self._reported:  # a shared config constant: one finding per setting
            return
        self._reported.add(id(node))
        self.report(node, message, Fix(Applicability.SUGGESTED, fix))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _config_number(value: Any) -> Any:
    """librdkafka and Celery take numbers as strings too: '2097151'."""
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        if text.lstrip("-").isdigit():
            return int(text)
        return UNKNOWN
    return value


# --- candidates (leaklint.sieve): where the checks above may report ---------------------


class _Judge:
    """Whether a value may be reported (see sieve_ll4.may_be)."""

    def __init__(self, index) -> None:
        self.index = index
        self.huge = index.settings.huge_threshold
        self.thresholds = dict(index.settings.thresholds)

    def setting(self, expr: ast.AST, setting: Setting, config: bool = False) -> bool:
        maximum = self.thresholds.get(setting.name, setting.maximum)
        return ll4.may_be(self.index, expr, lambda value: ll4.judge_literal(
            _config_number(value) if config else value, setting.unbounded, maximum, self.huge))

    def declared(self, expr: ast.AST, spec: BufferParam) -> bool:
        return ll4.may_be(self.index, expr, lambda value: ll4.judge_literal(
            value, spec.unbounded, spec.maximum, self.huge))

    def is_value(self, expr: ast.AST, wanted: Any) -> bool:
        """Whether `evaluate` may give `expr` the value True or None (`is wanted`)."""
        return ll4.may_be(self.index, expr, lambda value: value is wanted)


def _method_candidate(call: ast.Call, method: str, judge: _Judge) -> bool:
    for row in _METHODS[method]:
        setting = SETTINGS_BY_NAME[row.setting]
        if any(judge.setting(expr, setting) for expr in arguments(call, row.param, row.position, judge.index)):
            return True
    # pika's trap: one positional argument, and no prefetch_count
    return (
        method in PREFETCH_SIZE_FIRST
        and len(call.args) == 1 and type(call.args[0]) is not ast.Starred
        and all(kw.arg is not None and kw.arg != "prefetch_count" for kw in call.keywords)
    )


def _auto_ack_candidate(call: ast.Call, judge: _Judge) -> bool:
    return any(judge.is_value(expr, True) for param in AUTO_ACK_PARAMS for expr in arguments(call, param, None, judge.index))


def _batch_candidate(call: ast.Call, row, judge: _Judge) -> bool:
    return any(judge.is_value(expr, None) for expr in arguments(call, row.param, row.position, judge.index))


def _celery_update_candidate(call: ast.Call, judge: _Judge) -> bool:
    setting = SETTINGS_BY_NAME[CELERY_SETTING]
    for kw in call.keywords:
        if kw.arg in CELERY_PREFETCH_NAMES and judge.setting(kw.value, setting, config=True):
            return True
    return any(type(arg) is not ast.Starred and _dict_may_hold(arg, CELERY_PREFETCH_NAMES, judge) for arg in call.args)


def _dict_may_hold(expr: ast.AST, keys, judge: _Judge) -> bool:
    """Whether dict_entries of `expr` may yield a reported entry for one of `keys`."""
    if type(expr) is not ast.Dict:
        return True  # a name, dict(...), .copy(): followed elsewhere
    for key, value in zip(expr.keys, expr.values):
        if key is None:
            if _dict_may_hold(value, keys, judge):
                return True
            continue
        name = ll4.constant(key)
        if not ll4.is_literal(name):
            return True  # a key through a constant
        if name in keys and judge.setting(value, SETTINGS_BY_NAME[CELERY_SETTING], config=True):
            return True
    return False


def _callee_candidates(index, judge: _Judge):
    knowledge = index.knowledge
    names = knowledge.short_names("buffers") | _KAFKA_SHORT | _AUTO_ACK_SHORT
    calls = list(index.calls(names))
    if not calls:
        return
    by_last: Dict[str, List[BufferParam]] = {}
    for specs in knowledge.buffers.values():
        for spec in specs:
            by_last.setdefault(last_component(spec.callable), []).append(spec)
    kafka = None
    for call in calls:
        labels = ll4.stands_for(index, terminal(call.func))
        specs = [spec for label in labels for spec in by_last.get(label, ())]
        if any(_parameter_candidate(call, spec, judge) for spec in specs):
            yield Need(call)
        elif not labels.isdisjoint(_KAFKA_SHORT):
            if kafka is None:
                kafka = _kafka_keys_may_offend(index, judge)
            if kafka:
                yield Need(call)
        if not labels.isdisjoint(_AUTO_ACK_SHORT) and _auto_ack_candidate(call, judge):
            yield Need(call)


def _parameter_candidate(call: ast.Call, spec: BufferParam, judge: _Judge) -> bool:
    setting = SETTINGS_BY_NAME.get(spec.note)
    for expr in arguments(call, spec.param, spec.position, judge.index):
        if type(expr) is ast.Tuple and expr.elts:  # websockets: (high, low)
            expr = expr.elts[0]
        if judge.setting(expr, setting) if setting is not None else judge.declared(expr, spec):
            return True
    return False


def _kafka_keys_may_offend(index, judge: _Judge) -> bool:
    """Whether any Kafka key written in the file (dict_entries' keys are string constants)
    may be given a reported value."""
    keys = {key for role in KAFKA_KEYS.values() for key in role}
    for node in index.of(ast.Constant):
        if type(node.value) is not str or node.value not in keys:
            continue
        parent = index.parent(node)
        if type(parent) is ast.Dict and node in parent.keys:
            value = parent.values[parent.keys.index(node)]
            if judge.setting(value, SETTINGS_BY_NAME[node.value], config=True):
                return True
        else:
            return True  # `conf["k"] = v`, `K = "k"`: judged where it is used
    return False


def _celery_assignments(index, judge: _Judge):
    if not any(name in index.text for name in CELERY_PREFETCH_NAMES):
        return
    setting = SETTINGS_BY_NAME[CELERY_SETTING]
    for node in index.of(ast.Assign, ast.AnnAssign):
        if node.value is None:
            continue
        targets = node.targets if type(node) is ast.Assign else [node.target]
        for target in targets:
            if type(target) is ast.Attribute:
                hit = target.attr in CELERY_PREFETCH_NAMES and terminal(target.value) == "conf"
            else:
                hit = type(target) is ast.Name and target.id in CELERY_PREFETCH_NAMES and index.function(node) is None
            if hit and judge.setting(node.value, setting, config=True):
                yield Need(node)
                break
