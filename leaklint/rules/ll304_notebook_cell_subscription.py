"""LL304: in a notebook, a subscription or a broker made at a cell's top level, unguarded."""
from __future__ import annotations

from typing import Dict, List, Optional

import libcst as cst

from leaklint.analysis import subscribing as subs
from leaklint.analysis.calls import call_holder, terminal_name
from leaklint.analysis.walk import walk
from leaklint.diagnostics import Applicability, Fix
from leaklint.knowledge import last_component
from leaklint.knowledge import subscriptions as table
from leaklint.rules.subscription_rule import SubscriptionRule

# what makes a statement run only sometimes: re-running the cell may skip it
_GUARDS = (cst.If, cst.ExceptHandler, cst.ExceptStarHandler, cst.IfExp, cst.BooleanOperation, cst.WithItem)
_HOLDER_NAMES = frozenset(
    {last_component(name) for name in table.HOLDERS}
    | {method for method, cls in table.METHOD_PRODUCTS.items() if cls in table.HOLDERS}
)


class NotebookCellSubscription(SubscriptionRule):
    code = "LL304"
    name = "notebook-cell-subscription"
    summary = "In a notebook, a subscription or a broker/consumer is made at a cell's top level with no guard, so re-running the cell makes it again."
    rationale = """\
A notebook cell is run again and again while you work. A cell that subscribes
(`@broker.subscriber("orders")`, `logger.addHandler(...)`, `atexit.register(...)`)
registers once more on every run, on the same long-lived object: the broker now calls
your handler twice per message, then three times, and stopping the broker does not
remove the extra subscribers. A cell that creates a broker, a Kafka consumer or a
redis PubSub makes a new one on every run and orphans the old one, still connected and
still subscribed; so does a cell that creates a client with a connection pool
(`aiohttp.ClientSession()`, `httpx.Client()`, `requests.Session()`, `redis.Redis()`):
the old one keeps its connections until it is collected. This is the FastStream-in-Jupyter incident behind this rule family.

Reported at a cell's top level (not inside a function), when nothing guards the
statement: an `if` (`if "broker" not in globals():`), an `except NameError:`, a `with`
that closes what it opens, or a call in the same cell that stops or undoes the old
one first (`await broker.stop()`, `logger.removeHandler(...)`, `logger.handlers`).
Subscriptions on an object the same cell creates anew are not reported (the creation
is), nor are repeats the API ignores (the same handler object given again to a logger
or signal, Kafka's `subscribe`, which replaces). In the examples, `# %%` starts a cell."""
    default = True
    notebook_only = True
    fix_applicability = Applicability.SUGGESTED
    fix_description = (
        "Guard the cell (`if \"broker\" not in globals():`), or stop or undo the old object first "
        "(`await broker.stop()`, `logger.handlers.clear()`); or move the set-up into a cell you run once."
    )
    flagged = (
        "from faststream.redis import RedisBroker\n\nbroker = RedisBroker(\"redis://localhost:6379\")\n"
        "# %%\n@broker.subscriber(\"orders\")\nasync def on_order(order):\n    print(order)\n",
        "from aiokafka import AIOKafkaConsumer\n\nconsumer = AIOKafkaConsumer(\"orders\")\nawait consumer.start()\n",
        "import logging\n\nlog = logging.getLogger(\"nb\")\n# %%\nlog.addHandler(logging.StreamHandler())\n",
        "import aiohttp\n\nsession = aiohttp.ClientSession()\nresp = await session.get(\"https://example.org\")\n",
    )
    clean = (
        "from faststream.redis import RedisBroker\n\nif \"broker\" not in globals():\n"
        "    broker = RedisBroker(\"redis://localhost:6379\")\n",
        "from aiokafka import AIOKafkaConsumer\n\ntry:\n    await consumer.stop()\nexcept NameError:\n    pass\n"
        "consumer = AIOKafkaConsumer(\"orders\")\nawait consumer.start()\n",
        "import logging\n\nlog = logging.getLogger(\"nb\")\nlog.handlers.clear()\nlog.addHandler(logging.StreamHandler())\n",
        "from faststream.redis import RedisBroker\n\nasync with RedisBroker() as broker:  # closed when the cell ends\n"
        "    await broker.publish(\"hi\", \"greetings\")\n",
    )

    @classmethod
    def triggers(cls, knowledge):
        return super().triggers(knowledge) | _HOLDER_NAMES

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._cells: Optional[Dict[int, int]] = None  # id(top-level statement) -> cell
        self._node_cells: Optional[Dict[int, int]] = None  # id(any node) -> cell
        self._found = False  # the call being visited is a subscription

    def visit_Call(self, node: cst.Call) -> None:
        if self._unguarded_top_level():
            super().visit_Call(node)
            if not self._found:
                self._check_creation(node)
        self._found = False

    def visit_Decorator(self, node: cst.Decorator) -> None:
        if self._unguarded_top_level():
            super().visit_Decorator(node)
        self._found = False

    # --- where ---------------------------------------------------------------------

    def _unguarded_top_level(self) -> bool:
        stack = self.ctx.stack
        if len(stack) < 2 or subs.frame_index(stack) != 0:
            return False
        return not any(isinstance(node, _GUARDS) for node in stack[1:-1])

    def _cell(self, node: cst.CSTNode) -> Optional[int]:
        """The cell of any node (computed once, only for notebooks with a candidate)."""
        if self._node_cells is None:
            from leaklint.notebook import cell_of_statements  # notebooks only: not loaded for .py files

            self._cells = cell_of_statements(self.ctx.module)
            self._node_cells = {}
            for statement in self.ctx.module.body:
                cell = self._cells[id(statement)]
                for inner in walk(statement):
                    self._node_cells[id(inner)] = cell
        return self._node_cells.get(id(node))

    def _cell_statements(self, cell: Optional[int]) -> List[cst.CSTNode]:
        self._cell(self.ctx.module)
        assert self._cells is not None
        return [s for s in self.ctx.module.body if self._cells[id(s)] == cell]

    def _made_in_cell(self, node: cst.CSTNode, cell: Optional[int]) -> bool:
        """Whether `node` (a binding) runs unguarded at the top level of `cell`."""
        if self._cell(node) != cell:
            return False
        for statement in self._cell_statements(cell):
            for inner in walk(statement, into_scopes=False):
                if inner is node:
                    return True
                if isinstance(inner, _GUARDS) and _contains(inner, node):
                    return False
        return False

    # --- subscriptions -------------------------------------------------------------

    def check(self, sub: subs.Subscription) -> None:
        self._found = True  # a subscription, so not a creation
        if sub.spec.repeat == subs.REPLACES:
            return
        cell = self._cell(self.ctx.stack[1])
        if self._receiver_new_in_cell(sub, cell) or not subs.registers_again(sub, self._fresh(sub, cell)):
            return
        if any(subs.undo_calls(self.ctx, sub, statement) for statement in self._cell_statements(cell)):
            return
        shown = subs.describe(self.ctx, sub)
        owner = f"`{subs.text(self.ctx, sub.receiver)}`" if sub.receiver is not None else "the process"
        self.report(
            sub.node,
            f"`{shown}` runs at the top level of this cell: every re-run adds {subs.what_it_adds(sub)} to "
            f"{owner}, so each event is handled once more per run and nothing releases them — guard the "
            "cell (`if ... not in globals():`) or move the subscription to a cell you run once",
            Fix(Applicability.SUGGESTED, self.fix_description),
        )

    def _receiver_new_in_cell(self, sub: subs.Subscription, cell: Optional[int]) -> bool:
        """The receiver is made anew when the cell runs (then the creation is the leak)."""
        receiver = sub.receiver
        if receiver is None:
            return False
        if subs.is_fresh(receiver, sub.scope):
            return True
        root = receiver
        while type(root) is cst.Attribute:
            root = root.value
        if type(root) is not cst.Name:
            return False
        bindings = sub.scope.lookup(root.value) or []
        return any(
            self._made_in_cell(b.node, cell)
            and (b.kind == "with" or (b.value is not None and subs.is_fresh(b.value, sub.scope)))
            for b in bindings
        )

    def _fresh(self, sub: subs.Subscription, cell: Optional[int]) -> bool:
        """The handler is a new object each time the cell runs."""
        handler = sub.handler
        if sub.is_def_handler or subs.is_fresh(handler, sub.scope):
            return True
        if type(handler) is cst.Name:
            bindings = sub.scope.lookup(handler.value) or []
            return any(
                self._made_in_cell(b.node, cell)
                and (b.kind == "def" or (b.value is not None and subs.is_fresh(b.value, sub.scope)))
                for b in bindings
            )
        return False

    # --- creations -----------------------------------------------------------------

    def _check_creation(self, call: cst.Call) -> None:
        label = terminal_name(call.func)
        if label is None or (label not in _HOLDER_NAMES and label not in self.ctx.alias_names):
            return
        holder = subs.receiver_class(call, self.ctx.scope)
        if holder not in table.HOLDERS:
            return
        name = _bound_name(self.ctx.stack)
        cell = self._cell(self.ctx.stack[1])
        if name is not None and self._released_in_cell(name, table.HOLDERS[holder], cell):
            return
        shown = subs.text(self.ctx, call.func)
        once = f"create `{name}` once (`if \"{name}\" not in globals():`)" if name else "create it in a cell you run once"
        pooled = holder in table.POOLED_CLIENTS
        held, verb = ("its connection pool", "close") if pooled else ("its subscribers", "stop")
        self.report(
            call,
            f"`{shown}(...)` at the top level of this cell makes a new {last_component(holder)} on every re-run "
            f"and orphans the old one, still connected with {held} — {once} or {verb} the old one first",
            Fix(Applicability.SUGGESTED, self.fix_description),
        )

    def _released_in_cell(self, name: str, release: tuple, cell: Optional[int]) -> bool:
        """`name.stop()` / `name.close()` anywhere in the cell, or `with name` / `async with name`."""
        for statement in self._cell_statements(cell):
            for node in walk(statement):
                if type(node) is cst.Attribute and node.attr.value in release and _is_name(node.value, name):
                    return True
                if type(node) is cst.WithItem and _is_name(node.item, name):
                    return True
        return False


def _is_name(expr: cst.BaseExpression, name: str) -> bool:
    return type(expr) is cst.Name and expr.value == name


def _bound_name(stack) -> Optional[str]:
    """`broker` for `broker = RedisBroker()` or `broker = await connect_robust()`."""
    node = call_holder(stack)
    if type(node) is cst.Assign and len(node.targets) == 1 and type(node.targets[0].target) is cst.Name:
        return node.targets[0].target.value
    if type(node) is cst.AnnAssign and type(node.target) is cst.Name:
        return node.target.value
    return None


def _contains(outer: cst.CSTNode, node: cst.CSTNode) -> bool:
    return any(inner is node for inner in walk(outer))
