"""Where a resource goes after it is created: the one flow analysis the LL2 rules share.

`creation(ctx, call)` says whether a call creates a resource (through the knowledge
table, imports and aliases, `await` included). `local_resource(ctx)` follows a resource
bound to a local name through its function: every later mention of the name is a
release (`x.close()`, `with x`), an escape (returned, stored, put in a container,
handed to a call that may keep it, captured by a nested function), or a plain use.
Released on which paths is decided by a small walk over the function's statements
(`_Paths`). `attribute_uses(ctx)` indexes `<expr>.attr` mentions for LL203. Anything
the analysis cannot follow counts as an escape: uncertain is clean.

The rewrites the fixes share (wrap uses in `with`, move a release into `finally`) are
at the end. Results are cached per file, so the rules that ask share one analysis, and
a function is analysed only when a resource is created in it.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst

from leaklint.analysis.calls import argument, terminal_name
from leaklint.analysis.loops import is_forever
from leaklint.analysis.scopes import Scope, dotted_name, qualified_name
from leaklint.analysis.walk import iter_children, walk
from leaklint.diagnostics import Applicability, Edit, Fix
from leaklint.knowledge import resources as table
from leaklint.knowledge.specs import ResourceSpec

if TYPE_CHECKING:
    from leaklint.context import FileContext


# --- which calls create resources ----------------------------------------------------

@dataclass(frozen=True)
class Creation:
    call: cst.Call
    expr: cst.BaseExpression  # the call, or the `await` around it: what a name is bound to
    spec: ResourceSpec
    label: str  # for messages: `open()`, `aiohttp.ClientSession()`, `.pubsub()`

    @property
    def builtin(self) -> bool:
        """From leaklint's own table (so the rewrite tables apply), not user-declared."""
        return self.spec.callable in _BUILTIN_NAMES

    def release_text(self) -> str:
        return " / ".join(f"{m}()" for m in self.spec.release)


_BUILTIN_NAMES = frozenset(s.callable for s in table.RESOURCES) | frozenset(
    s.callable for s in table.METHOD_RESOURCES.values()
) | frozenset(s.callable for specs in table.TYPED_METHOD_RESOURCES.values() for s in specs.values())


class _FileState:
    """Per-file caches, shared by every LL2 rule linting that file."""

    def __init__(self) -> None:
        self.creations: Dict[cst.Call, Optional[Creation]] = {}
        self.locals: Dict[cst.Call, Optional["LocalResource"]] = {}
        self.attributes: Optional["AttributeUses"] = None
        self.binds: Dict[cst.CSTNode, frozenset] = {}  # names a nested scope binds


def _state(ctx: "FileContext") -> _FileState:
    return ctx.state(_FileState)


def short_names(knowledge) -> frozenset:
    """What a call's last name must be for it to possibly create a resource."""
    return knowledge.short_names("resources") | frozenset(table.METHOD_RESOURCES) | frozenset(
        table.TYPED_METHOD_RESOURCES)


# A name is only ever called (`open(`), imported under an alias (`open as`), or aliased
# by an assignment ending the line (`opener = open`). Matching these instead of the bare
# word keeps "connect" from matching every file that says "connection".
_NAME_SUFFIXES = ("(", " as ", "\n", "\r")


def call_triggers(names) -> frozenset:
    """Trigger words for rules that look for calls of `names` (see Rule.triggers)."""
    return frozenset(name + suffix for name in names for suffix in _NAME_SUFFIXES)


def triggers(knowledge) -> frozenset:
    return call_triggers(short_names(knowledge))


def call_gate(ctx: "FileContext") -> frozenset:
    """The last names a call must have to be worth asking `creation` about in this
    file: the table's, plus every name the file may bind to another callable."""
    names = short_names(ctx.knowledge) | ctx.alias_names
    return names | ctx.project.short_names if ctx.project is not None else names


def label(call: cst.Call) -> Optional[str]:
    """`open` for `open(p)`, `ClientSession` for `aiohttp.ClientSession()`."""
    func = call.func
    kind = type(func)
    if kind is cst.Name:
        return func.value
    if kind is cst.Attribute:
        return func.attr.value
    return None


def creation(ctx: "FileContext", call: cst.Call) -> Optional[Creation]:
    """The resource `call` creates, if any. Call it while the walk is at `call` (it
    resolves names in the current scope)."""
    label = terminal_name(call.func)
    knowledge = ctx.knowledge
    project = ctx.project
    if label is None or (
        label not in knowledge.short_names("resources")
        and label not in table.METHOD_RESOURCES
        and label not in table.TYPED_METHOD_RESOURCES
        and label not in ctx.alias_names
        and (project is None or label not in project.short_names)
    ):
        return None  # cheap: the great majority of calls
    cache = _state(ctx).creations
    if call in cache:
        return cache[call]
    found: Optional[Creation] = None
    name = ctx.callee(call, knowledge.short_names("resources"))
    specs = knowledge.resources.get(name or "")
    made = project.made(ctx, call) if project is not None and not specs else None
    if made is not None:  # a project factory or resource class (leaklint.project)
        if not _patched(ctx):
            found = Creation(call, _awaited(ctx, call), made.spec, made.label)
    elif specs and not _owns_nothing(ctx, name, call) and not _patched(ctx):
        spec = specs[0] if len(specs) == 1 else _merge(specs)
        label = name[len("builtins."):] if name.startswith("builtins.") else name
        if name not in table.STARTED_BY or _started(ctx, call, table.STARTED_BY[name]):
            found = Creation(call, _awaited(ctx, call), spec, f"{label}()")
    elif type(call.func) is cst.Attribute and call.func.attr.value in table.METHOD_RESOURCES:
        method = call.func.attr.value
        found = Creation(call, _awaited(ctx, call), table.METHOD_RESOURCES[method], f".{method}()")
    elif type(call.func) is cst.Attribute and call.func.attr.value in table.TYPED_METHOD_RESOURCES and not specs:
        from leaklint.analysis.subscribing import receiver_class  # it reads the subscription tables
        method = call.func.attr.value
        owner = receiver_class(call.func.value, ctx.scope)
        spec = table.TYPED_METHOD_RESOURCES[method].get(owner or "")
        if spec is not None and not _patched(ctx):
            found = Creation(call, _awaited(ctx, call), spec, f"{owner}.{method}()")
    cache[call] = found
    return found


def _owns_nothing(ctx: "FileContext", name: str, call: cst.Call) -> bool:
    """A wrapper around someone else's file object or an in-memory buffer, a process
    started to outlive its parent, or one this module reaps with os.waitpid: nothing of
    its own to release."""
    wrapped = table.FILEOBJ_PARAMETER.get(name)
    if wrapped is not None:
        arg = argument(call, *wrapped)
        if arg is not None and not (type(arg.value) is cst.Name and arg.value.value == "None"):
            return True
    if name in table.FIRST_ARGUMENT_MAY_BE_BUFFER:
        arg = argument(call, None, 0)
        value = arg.value if arg is not None else None
        if type(value) is cst.Name:
            bindings = ctx.scope.lookup(value.value)
            if bindings and len(bindings) == 1 and bindings[0].kind == "with":
                return True  # `with open(p) as fh: ZipFile(fh)`: the with closes the file
            value = bindings[0].value if bindings and len(bindings) == 1 else None
        if type(value) is cst.Call:
            inner = ctx.call_name(value)
            if inner in table.IN_MEMORY_BUFFERS or inner in ctx.knowledge.resources:
                return True  # a buffer, or a file whose own owner releases it
    for keyword in table.DETACHING_KEYWORDS.get(name, ()):
        arg = argument(call, keyword, None)
        if arg is not None and not (type(arg.value) is cst.Name and arg.value.value in ("False", "None")):
            return True
    preexec = table.DETACHING_PREEXEC.get(name)
    if preexec:
        arg = argument(call, "preexec_fn", None)
        if arg is not None and ctx.qualified_name(arg.value) in preexec:
            return True  # `preexec_fn=os.setsid`: start_new_session=True, the old way
    return any(word in ctx.source for word in table.REAPED_BY.get(name, ()))


def _started(ctx: "FileContext", call: cst.Call, method: str) -> bool:
    """`X(...).start()`, or `name = X(...)` / `self.x = X(...)` with `name.start(` in the
    file: a manager that holds a server process only once started."""
    stack = ctx.stack
    index = len(stack) - 2
    parent = stack[index] if index >= 0 else None
    if type(parent) is cst.Attribute and parent.value is call:
        return parent.attr.value == method
    if type(parent) is cst.Assign and len(parent.targets) == 1:
        target = parent.targets[0].target
    elif type(parent) is cst.AnnAssign:
        target = parent.target
    else:
        return False
    shown = dotted_name(target)
    if shown is None:
        return False
    function = ctx.scope.function_scope
    # a local is started in its function; `self.x` in any method
    where = ctx.module.code_for_node(function.node) if function is not None and "." not in shown else ctx.source
    return re.search(rf"(?<![\w.]){re.escape(shown)}\.{method}\(", where) is not None


def _patched(ctx: "FileContext") -> bool:
    """Inside `with patch(...)`, or a function or class decorated with `@patch(...)`:
    the name called may be a mock (`patch("builtins.open", mock_open())`)."""
    for node in reversed(ctx.stack):
        kind = type(node)
        if kind is cst.With:
            if any(_is_patch(item.item) for item in node.items):
                return True
        elif kind is cst.FunctionDef or kind is cst.ClassDef:
            if any(_is_patch(decorator.decorator) for decorator in node.decorators):
                return True
    return False


def _is_patch(expr: cst.BaseExpression) -> bool:
    if type(expr) is not cst.Call:
        return False
    name = dotted_name(expr.func) or ""
    return "patch" in name.split(".")


def _merge(specs: Sequence[ResourceSpec]) -> ResourceSpec:
    """A callable declared both built in and by the user: any listed method releases."""
    release: List[str] = []
    for spec in specs:
        release.extend(m for m in spec.release if m not in release)
    return ResourceSpec(
        specs[0].callable, tuple(release), awaited=any(s.awaited for s in specs),
        with_releases=all(s.with_releases for s in specs), note=specs[0].note,
    )


def _awaited(ctx: "FileContext", call: cst.Call) -> cst.BaseExpression:
    parent = ctx.parent()
    if type(parent) is cst.Await and parent.expression is call:
        return parent
    return call


def context_of(ctx: "FileContext", made: Creation) -> Tuple[Optional[cst.CSTNode], int]:
    """The node holding the created value (the `await` skipped) and its index in
    ctx.stack: what the creation's result is used for."""
    index = len(ctx.stack) - (3 if made.expr is not made.call else 2)
    return (ctx.stack[index] if index >= 0 else None), index


# --- what callees do with a resource handed to them --------------------------------------

_BORROWER_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in table.BORROWERS)


def is_borrower(func: cst.BaseExpression, scope: Scope) -> bool:
    """A callable known to use its argument and keep no reference (`json.load`, `len`)."""
    if terminal_name(func) not in _BORROWER_NAMES:
        return False  # cheap: most callees are not
    return qualified_name(func, scope) in table.BORROWERS


# --- a resource bound to a local name ---------------------------------------------------

class Fate(enum.Enum):
    ESCAPES = "escapes"  # returned, stored, handed over or captured: someone else may release it
    RELEASED = "released"  # by `with`, in a `finally` or an `except`, or on every path
    HAPPY_PATH = "happy-path"  # released, but an exception or early exit before it skips the release
    NEVER = "never"  # no release and no escape


@dataclass
class Release:
    call: cst.Call
    awaited: bool
    line: Optional[cst.SimpleStatementLine]  # the statement holding it
    small: Optional[cst.CSTNode]  # the small statement, or the if/while/for whose header holds it
    guarded: bool  # in a `finally` or an `except` handler


@dataclass
class LocalResource:
    creation: Creation
    name: str
    function: cst.FunctionDef
    statement: cst.BaseStatement  # the line holding `name = <creation>`
    assign: cst.BaseSmallStatement
    block: Optional[cst.IndentedBlock]  # the block holding `statement`, when it is one
    fate: Fate
    releases: List[Release] = field(default_factory=list)
    # the statements of `block` that mention the name (in order), None if some mention
    # lies outside `block`
    top_uses: Optional[List[cst.BaseStatement]] = None
    skipped_by: Optional[cst.CSTNode] = None  # HAPPY_PATH: what can skip the release
    skip_kind: str = ""  # "raise": it can raise; "iterate": iterating it can; "exit": return/raise
    # the statements of the function's body before this binding, when the name was bound
    # to something else there: their mentions are of that earlier value
    earlier: FrozenSet[int] = frozenset()

    @property
    def is_async(self) -> bool:
        return self.function.asynchronous is not None


_NESTED_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.GeneratorExp)
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp)
_SMALL = (cst.Expr, cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Return, cst.Raise, cst.Assert,
          cst.Del, cst.Pass, cst.Break, cst.Continue, cst.Import, cst.ImportFrom, cst.Global, cst.Nonlocal)
# parents under which a mention of the resource is a plain use that keeps no reference
_READS = (cst.Subscript, cst.Comparison, cst.ComparisonTarget, cst.BooleanOperation,
          cst.UnaryOperation, cst.If, cst.While, cst.Assert, cst.FormattedStringExpression,
          cst.BinaryOperation, cst.Await, cst.Expr, cst.For, cst.CompFor, cst.SubscriptElement,
          cst.Index)


def local_resource(ctx: "FileContext", made: Creation) -> Optional[LocalResource]:
    """The fate of the resource `made` (the call being visited) when it is bound by
    `name = <creation>` in a function; None for any other shape (module level, tuple
    targets, attributes, several bindings of the name...)."""
    cache = _state(ctx).locals
    if made.call in cache:
        return cache[made.call]
    result = _local_resource(ctx, made)
    cache[made.call] = result
    return result


def _local_resource(ctx: "FileContext", made: Creation) -> Optional[LocalResource]:
    scope = ctx.scope
    if scope.kind != "function" or type(scope.node) is not cst.FunctionDef:
        return None
    holder, index = context_of(ctx, made)
    if type(holder) is cst.Assign:
        if len(holder.targets) != 1 or type(holder.targets[0].target) is not cst.Name:
            return None
        name = holder.targets[0].target.value
    elif type(holder) is cst.AnnAssign and type(holder.target) is cst.Name:
        name = holder.target.value
    else:
        return None
    line = ctx.stack[index - 1]
    if type(line) is not cst.SimpleStatementLine and type(line) is not cst.SimpleStatementSuite:
        return None
    found = scope.find(name)
    if found is None or found[0] is not scope:
        return None  # global / nonlocal
    block = ctx.stack[index - 2]
    function: cst.FunctionDef = scope.node  # type: ignore[assignment]
    earlier: Set[int] = set()
    for binding in found[1]:
        if binding.node is holder:
            continue
        if binding.kind == "except":
            continue  # `except E as name`: a new variable for the handler (see _follow)
        # `x = None` before a `try:` (and after a close) is the usual companion
        if binding.kind in ("assign", "annassign") and _is_none(binding.value):
            continue
        # `f = open(a)` ... `f = open(b)` in the function's own body: from here on the
        # name is this one (the earlier one is judged by `reopened`)
        before = _earlier_statement(function, line, binding.node)
        if before is None:
            return None
        earlier.add(before)
    if earlier:
        # every statement before this binding: a mention there is of the earlier value
        position = next(i for i, s in enumerate(function.body.body) if s is line)  # type: ignore[union-attr]
        earlier = {id(s) for s in function.body.body[:position]}  # type: ignore[union-attr]
    local = LocalResource(made, name, function, line, holder,
                          block if type(block) is cst.IndentedBlock else None, Fate.NEVER,
                          earlier=frozenset(earlier))
    _follow(ctx, local)
    return local


def _earlier_statement(function: cst.FunctionDef, line: cst.CSTNode, bound: cst.CSTNode) -> Optional[int]:
    """id of the statement of the function's own body that holds the binding `bound`,
    when both it and `line` (this creation's statement) are statements of that body and it
    comes first; else None (a binding in a branch, a loop, or after this one)."""
    body = function.body
    if type(body) is not cst.IndentedBlock or not any(statement is line for statement in body.body):
        return None  # this creation sits in a branch or a loop: too many ways to reach it
    for statement in body.body:
        if statement is line:
            return None  # reached this creation first: the other binding comes after
        if type(statement) is cst.SimpleStatementLine and any(small is bound for small in statement.body):
            return id(statement)
    return None


def _is_none(value: Optional[cst.BaseExpression]) -> bool:
    return type(value) is cst.Name and value.value == "None"


def _name_paths(root: cst.CSTNode, name: str) -> Iterator[List[cst.CSTNode]]:
    """Each Name `name` under `root`, with its ancestors (root first, the Name last).
    The list is reused: read it before asking for the next one."""
    path: List[cst.CSTNode] = []
    todo: List[Tuple[cst.CSTNode, int]] = [(root, 0)]
    while todo:
        node, depth = todo.pop()
        del path[depth:]
        path.append(node)
        if type(node) is cst.Name:
            if node.value == name:
                yield path
            continue
        children = list(iter_children(node))
        for child in reversed(children):
            todo.append((child, depth + 1))


def _rebinds(ctx: "FileContext", node: cst.CSTNode, name: str) -> bool:
    """Whether a nested function/lambda/class/comprehension binds `name` itself."""
    cache = _state(ctx).binds
    names = cache.get(node)
    if names is None:
        scope = Scope(node, None)
        bound = scope.bindings()  # also fills the nonlocal/global declarations
        names = cache[node] = frozenset(
            n for n in bound if n not in scope._declared_nonlocal and n not in scope._declared_global
        )
    return name in names


def _follow(ctx: "FileContext", local: LocalResource) -> None:
    """Classify every mention of the name after its creation and decide the fate."""
    spec = local.creation.spec
    releases = set(spec.release) | {"__exit__", "__aexit__"}
    escapes = yields = with_release = False
    top_uses: Optional[List[cst.BaseStatement]] = []
    seen_tops: Set[int] = set()
    block = local.block
    for path in _name_paths(local.function.body, local.name):
        if local.earlier and id(path[1]) in local.earlier:
            continue  # the name's earlier value
        node = path[-1]
        parent = path[-2]
        # a nested scope that binds the name has its own variable; one that does not
        # captures ours, and may outlive the call
        captured = False
        shadowed = False
        for ancestor in path[1:-1]:
            kind = type(ancestor)
            if kind in _NESTED_SCOPES or kind in _COMPREHENSIONS:
                if _rebinds(ctx, ancestor, local.name):
                    shadowed = True
                    break
                if kind in _NESTED_SCOPES:
                    captured = True
        if shadowed or _in_handler_binding(path, local.name):
            continue
        if type(parent) is cst.AssignTarget or (type(parent) is cst.AnnAssign and parent.target is node):
            continue  # the creation itself, or `x = None`
        if captured:
            escapes = True
            break
        verdict = _classify(ctx, path, releases, spec)
        if verdict == "escape":
            escapes = True
            break
        if verdict == "yield":
            yields = True
        elif verdict == "with":
            with_release = True
        elif verdict == "release":
            call = path[-3]
            outer = path[-4] if len(path) > 3 else None
            awaited = type(outer) is cst.Await and outer.expression is call
            line = small = None
            guarded = False
            for position in range(len(path) - 2, -1, -1):
                ancestor = path[position]
                kind = type(ancestor)
                if small is None and (kind in _SMALL or _in_header(ancestor, path[position + 1])):
                    small = ancestor  # where the release happens, for the path walk
                elif line is None and kind is cst.SimpleStatementLine:
                    line = ancestor
                elif kind is cst.Finally or kind is cst.ExceptHandler or kind is cst.ExceptStarHandler:
                    guarded = True
            local.releases.append(Release(call, awaited, line, small, guarded))  # type: ignore[arg-type]
        # which statement of the creation's block holds this mention (for rewrites)
        if top_uses is not None:
            top = None
            if block is not None:
                for position, ancestor in enumerate(path):
                    if ancestor is block:
                        top = path[position + 1] if position + 1 < len(path) else None
                        break
            if top is None:
                top_uses = None
            elif id(top) not in seen_tops:
                seen_tops.add(id(top))
                top_uses.append(top)  # type: ignore[arg-type]
    local.top_uses = top_uses
    if escapes or (yields and not local.releases):
        local.fate = Fate.ESCAPES
    elif with_release or any(r.guarded for r in local.releases):
        local.fate = Fate.RELEASED
    elif not local.releases:
        local.fate = Fate.NEVER
    else:
        paths = _Paths(local, _yield_is_risky(ctx, local.function), ctx.scope)
        paths.body(local.function.body, _BEFORE)
        if paths.first is not None:
            local.fate = Fate.HAPPY_PATH
            local.skipped_by, local.skip_kind = paths.first, paths.first_kind
        else:
            local.fate = Fate.RELEASED


def _getattr_called(path: List[cst.CSTNode]) -> bool:
    """The mention is the object of `getattr(x, name)` and what it returns is called."""
    if len(path) < 4:
        return False
    arg, call, outer = path[-2], path[-3], path[-4]
    return (type(call) is cst.Call and type(call.func) is cst.Name and call.func.value == "getattr"
            and bool(call.args) and call.args[0] is arg and arg.keyword is None
            and type(outer) is cst.Call and outer.func is call)


def reopened(ctx: "FileContext", made: Creation) -> Optional[Tuple[str, cst.CSTNode]]:
    """`f = open(a)` ... `f = open(b)` in one block of a function, with nothing between
    that releases, hands over or keeps `f`: the first is lost when the name is bound
    again. The name and the statement that rebinds it; None for any other shape."""
    scope = ctx.scope
    if scope.kind != "function" or type(scope.node) is not cst.FunctionDef:
        return None
    holder, index = context_of(ctx, made)
    if type(holder) is not cst.Assign or len(holder.targets) != 1 or type(holder.targets[0].target) is not cst.Name:
        return None
    name = holder.targets[0].target.value
    line, block = ctx.stack[index - 1], ctx.stack[index - 2]
    if type(line) is not cst.SimpleStatementLine or len(line.body) != 1 or type(block) is not cst.IndentedBlock:
        return None
    found = scope.find(name)
    if found is None or found[0] is not scope:
        return None
    statements = list(block.body)
    start = next((i for i, s in enumerate(statements) if s is line), -1)
    if start < 0:
        return None
    releases = set(made.spec.release) | {"__exit__", "__aexit__"}
    func_text = ctx.module.code_for_node(made.call.func)
    for statement in statements[start + 1:]:
        if type(statement) is cst.SimpleStatementLine and len(statement.body) == 1:
            small = statement.body[0]
            if (type(small) is cst.Assign and len(small.targets) == 1 and type(small.targets[0].target) is cst.Name
                    and small.targets[0].target.value == name):
                value = small.value
                if type(value) is cst.Await:
                    value = value.expression
                if type(value) is cst.Call and not any(True for _ in _name_paths(value, name)) and (
                        ctx.module.code_for_node(value.func) == func_text or creation(ctx, value) is not None):
                    return name, statement
                return None
        if type(statement) not in (cst.SimpleStatementLine, cst.If, cst.For, cst.While):
            if not any(True for _ in _name_paths(statement, name)):
                continue  # a `with`, `try`, def... that never mentions the name cannot release it
            return None  # a `try`, `with`, def...: too many ways to release or keep it
        for path in _name_paths(statement, name):
            if any(type(a) in _NESTED_SCOPES or type(a) in _COMPREHENSIONS for a in path[1:-1]):
                return None
            if type(path[-2]) is cst.AssignTarget or _classify(ctx, list(path), releases, made.spec) != "use":
                return None
    return None

def _in_handler_binding(path: List[cst.CSTNode], name: str) -> bool:
    """The mention is `except E as name` itself or inside that handler: there `name` is
    the exception, a new binding, not the resource."""
    for ancestor in path:
        if type(ancestor) is cst.ExceptHandler or type(ancestor) is cst.ExceptStarHandler:
            bound = ancestor.name
            if bound is not None and type(bound.name) is cst.Name and bound.name.value == name:
                return True
    return False


def _in_header(statement: cst.CSTNode, child: cst.CSTNode) -> bool:
    """`child` is the test of an `if`/`while` or the iterable of a `for`."""
    kind = type(statement)
    if kind is cst.If or kind is cst.While:
        return statement.test is child
    return kind is cst.For and statement.iter is child


def _classify(ctx: "FileContext", path: List[cst.CSTNode], releases: Set[str], spec: ResourceSpec) -> str:
    """What one mention of the resource does with it: release, with, yield, use, escape."""
    node, parent = path[-1], path[-2]
    kind = type(parent)
    if kind is cst.Attribute:
        method = parent.attr.value
        grand = path[-3]
        if type(grand) is cst.Call and grand.func is parent:
            return "release" if method in releases else "use"
        # `stack.callback(x.close)`, `atexit.register(x.close)`: released later, elsewhere
        if method in releases:
            return "escape"
        if method in table.HANDLE_ATTRIBUTES.get(spec.callable, ()) and _handle_leaves(path[0], path[:-1]):
            return "escape"  # `pid_file.write_text(str(proc.pid))`: handed over by pid
        return "use"
    if kind is cst.Arg:
        call = path[-3]
        if type(call) is cst.Call and parent.star == "" and is_borrower(call.func, ctx.scope):
            return "use"
        if _getattr_called(path):
            return "use"  # `getattr(session, method)(url)`: a method call on it, not a hand-over
        return "escape"  # a constructor, an exit stack, `closing()`, or a call that may keep it
    if kind is cst.WithItem:
        return "with" if parent.item is node and spec.with_releases else "use"
    if kind is cst.Yield:
        return "yield"
    if kind is cst.Call:
        return "use" if parent.func is node else "escape"
    if kind in _READS:
        return "use"
    return "escape"  # returned, assigned, put in a container, deleted, ...


_DISPLAY = (cst.FormattedString, cst.FormattedStringExpression, cst.BinaryOperation, cst.ConcatenatedString)


def _handle_leaves(root: cst.CSTNode, path: List[cst.CSTNode], depth: int = 0) -> bool:
    """Whether the value at the end of `path` (a resource's handle: `proc.pid`) leaves
    the function `root` is the body of: returned or yielded, stored on an attribute,
    in a subscript or a container, or passed to a call other than one that only shows
    it (print, logging). Followed through conversions (`str(pid)`, f-strings, `%`) and
    through a local name it is bound to."""
    position = len(path) - 2
    while position >= 0:
        parent = path[position]
        kind = type(parent)
        if kind is cst.Arg:
            call = path[position - 1] if position > 0 else None
            label = terminal_name(call.func) if type(call) is cst.Call else None
            if label in table.HANDLE_CONVERSIONS and type(call.func) is cst.Name:
                position -= 2  # `str(proc.pid)`: follow the converted value
                continue
            return label not in table.DISPLAY_CALLS
        if kind in _DISPLAY:
            position -= 1
            continue
        if kind in (cst.Return, cst.Yield, cst.Element, cst.DictElement, cst.StarredElement,
                    cst.StarredDictElement, cst.Dict, cst.List, cst.Tuple, cst.Set):
            return True
        if kind in (cst.Assign, cst.AnnAssign, cst.AugAssign):
            targets = ([t.target for t in parent.targets] if kind is cst.Assign
                       else [parent.target])
            if any(type(t) is not cst.Name for t in targets):
                return True  # `self.pid = proc.pid`, `pids[name] = ...`, unpacking
            if depth >= 3:
                return False
            for target in targets:
                for mention in _name_paths(root, target.value):
                    mention = list(mention)  # _name_paths reuses its list
                    if type(mention[-2]) is cst.AssignTarget or (
                            type(mention[-2]) is cst.AnnAssign and mention[-2].target is mention[-1]):
                        continue
                    if _handle_leaves(root, mention, depth + 1):
                        return True
            return False
        return False  # compared, tested, read in place
    return False


def _yield_is_risky(ctx: "FileContext", function: cst.FunctionDef) -> bool:
    """In a @contextmanager generator the with-block's exception is thrown in at the
    `yield`; elsewhere a `yield` is just a pause."""
    for decorator in function.decorators:
        expr = decorator.decorator
        if type(expr) is cst.Call:
            expr = expr.func
        name = expr.attr.value if type(expr) is cst.Attribute else getattr(expr, "value", "")
        if name in ("contextmanager", "asynccontextmanager"):
            return True
    return False


_NON_RAISING_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in table.NON_RAISING)

# States of the resource on a path, as a bit set.
_OPEN, _CLOSED, _BEFORE = 1, 2, 4


class _Paths:
    """Runs the function's statements over the set of states the resource can be in,
    and records the first place where it is open and an exception (or a return) can
    leave the function without releasing it. Code in a `try` with handlers counts as
    caught; loops run twice so a second iteration sees the first one's state."""

    def __init__(self, local: LocalResource, risky_yield: bool, scope: Scope) -> None:
        self.assign = local.assign
        self.release_smalls = {id(r.small) for r in local.releases if r.small is not None}
        self.risky_yield = risky_yield
        self.scope = scope
        self.name = local.name
        self.guard = 0
        self.loops: List[List[int]] = []  # [break states, continue states]
        # per enclosing `try` with handlers: the states in which its body may raise,
        # which are the states its handlers start in
        self.raised: List[int] = []
        self.origins: List[Optional[cst.CSTNode]] = []  # per such `try`: the first raise seen open
        # per `except` handler being run: the code of its `try` body that raised into it
        # with the resource open (None: the handler started with it closed or unmade)
        self.handlers: List[Optional[cst.CSTNode]] = []
        self.first: Optional[cst.CSTNode] = None
        self.first_kind = ""

    def found(self, node: cst.CSTNode, state: int, kind: str = "raise") -> None:
        if self.first is not None or not state & _OPEN:
            return
        origin = self.handlers[-1] if self.handlers else None
        if origin is not None:
            # In a handler the resource is open because its `try` body raised. A call
            # there is the error path's own code: not what the reader must change. A
            # `raise` or `return` there lets the first failure skip the release: name that.
            if kind == "exit":
                self.first, self.first_kind = origin, ("reraise" if type(node) is cst.Raise else "handler-exit")
            return
        self.first, self.first_kind = node, kind

    def may_raise(self, node: cst.CSTNode, state: int, kind: str = "raise") -> None:
        """An exception may start here: a handler of an enclosing `try` sees `state`,
        and with no handler the function is left with the resource as it is."""
        if self.raised:
            self.raised[-1] |= state
            if self.origins[-1] is None and state & _OPEN:
                # raised from a handler: blame what raised into that handler
                self.origins[-1] = (self.handlers[-1] if self.handlers else None) or node
        if not self.guard:
            self.found(node, state, kind)

    def risky(self, node: Optional[cst.CSTNode]) -> bool:
        if node is None:
            return False
        for sub in walk(node, into_scopes=False):
            kind = type(sub)
            if kind is cst.Call:
                if not self.cannot_raise(sub):
                    return True
            elif kind in (cst.Await, cst.Subscript, cst.Raise, cst.Assert, cst.Import,
                          cst.ImportFrom, cst.Del):
                return True
            if kind is cst.Yield and self.risky_yield:
                return True
            if kind is cst.Lambda:
                continue
        return False

    def cannot_raise(self, call: cst.Call) -> bool:
        func = call.func
        if (type(func) is cst.Attribute and func.attr.value == "fileno" and not call.args
                and type(func.value) is cst.Name and func.value.value == self.name):
            return True  # the open resource's own descriptor number (a socket's, a file's)
        if terminal_name(func) not in _NON_RAISING_NAMES:
            return False
        return qualified_name(call.func, self.scope) in table.NON_RAISING

    def header(self, node: cst.CSTNode, expr: cst.CSTNode, state: int) -> int:
        """Evaluate an if/while test or a for iterable: it may raise, or release.
        Iterating the resource itself (`for line in f`) reads it, which may raise."""
        if id(node) in self.release_smalls:
            return (state & ~_OPEN) | _CLOSED if state & _OPEN else state
        reads = type(node) is cst.For and _root_name(expr) == self.name
        if reads or self.risky(expr):
            self.may_raise(expr, state, "iterate" if reads else "raise")
        return state

    def block(self, statements: Sequence[cst.CSTNode], state: int) -> int:
        for statement in statements:
            if not state:
                break
            state = self.statement(statement, state)
        return state

    def body(self, suite: Optional[cst.BaseSuite], state: int) -> int:
        """An indented block, or the statements after a colon on one line."""
        if suite is None:
            return state
        if type(suite) is cst.SimpleStatementSuite:
            return self.statement(suite, state)
        return self.block(suite.body, state)

    def statement(self, node: cst.CSTNode, state: int) -> int:
        kind = type(node)
        if kind is cst.SimpleStatementLine or kind is cst.SimpleStatementSuite:
            for small in node.body:
                state = self.small(small, state)
                if not state:
                    return 0
            return state
        if kind is cst.If:
            state = self.header(node, node.test, state)
            present = _tests_presence(node.test, self.name)
            then_state = state if present is not False else _absent(state)
            else_state = state if present is not True else _absent(state)
            then = self.body(node.body, then_state)
            orelse = node.orelse
            if orelse is None:
                other = else_state
            elif type(orelse) is cst.If:
                other = self.statement(orelse, else_state)
            else:
                other = self.body(orelse.body, else_state)
            return then | other
        if kind is cst.For or kind is cst.While:
            return self.loop(node, state)
        if kind is cst.Try or kind is cst.TryStar:
            return self.try_(node, state)
        if kind is cst.With:
            suppress = any(_suppresses(item.item) for item in node.items)
            for item in node.items:
                if not _suppresses(item.item) and self.risky(item.item):
                    self.may_raise(item.item, state)
            self.guard += suppress
            after = self.body(node.body, state)
            self.guard -= suppress
            return after | (state if suppress else 0)
        if kind is cst.Match:
            if self.risky(node.subject):
                self.may_raise(node.subject, state)
            out = state
            for case in node.cases:
                out |= self.body(case.body, state)
            return out
        return state  # def / class: nothing runs now

    def small(self, node: cst.CSTNode, state: int) -> int:
        if node is self.assign:
            if self.raised:  # the creation itself failed: nothing to release yet
                self.raised[-1] |= state
            return _OPEN
        if id(node) in self.release_smalls:
            return (state & ~_OPEN) | _CLOSED if state & _OPEN else state
        kind = type(node)
        if kind is cst.Return:
            if self.risky(node.value):
                self.may_raise(node, state)
            # no handler catches a return; a `finally` release made the resource RELEASED
            self.found(node, state, "exit")
            return 0
        if kind is cst.Raise:
            self.may_raise(node, state, "exit")
            return 0
        if kind is cst.Break or kind is cst.Continue:
            if self.loops:
                self.loops[-1][0 if kind is cst.Break else 1] |= state
            return 0
        if self.risky(node):
            self.may_raise(node, state)
        return state

    def loop(self, node: cst.CSTNode, state: int) -> int:
        state = self.header(node, node.iter if type(node) is cst.For else node.test, state)
        self.loops.append([0, 0])
        first = self.body(node.body, state)
        again = self.body(node.body, state | first | self.loops[-1][1])
        breaks, continues = self.loops.pop()
        if type(node) is cst.While and is_forever(node):
            after = 0
        else:
            after = self.body(node.orelse.body if node.orelse else None, state | first | again | continues)
        return after | breaks

    def try_(self, node: cst.CSTNode, state: int) -> int:
        caught = bool(node.handlers)
        origin = None
        if caught:
            self.guard += 1
            self.raised.append(0)
            self.origins.append(None)
        after_body = self.body(node.body, state)
        raised = 0
        if caught:
            self.guard -= 1
            raised = self.raised.pop()
            origin = self.origins.pop()
        out = self.body(node.orelse.body if node.orelse else None, after_body)
        for handler in node.handlers:
            self.handlers.append(origin if raised & _OPEN else None)
            out |= self.body(handler.body, raised)
            self.handlers.pop()
        if node.finalbody is not None:
            out = self.body(node.finalbody.body, out) if out else 0
        return out


def _absent(state: int) -> int:
    """`state` where the resource was never made (`if sock is None:` after a failed try)."""
    return (state & ~_OPEN) | _BEFORE if state & _OPEN else state


def _tests_presence(test: cst.BaseExpression, name: str) -> Optional[bool]:
    """True when `test` holds only if the resource exists (`if f:`, `if f is not None:`),
    False when only if it does not (`if not f:`, `if f is None:`), else None."""
    if type(test) is cst.Name:
        return True if test.value == name else None
    if type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
        inner = _tests_presence(test.expression, name)
        return None if inner is None else not inner
    if (
        type(test) is cst.Comparison
        and len(test.comparisons) == 1
        and type(test.left) is cst.Name
        and test.left.value == name
        and _is_none(test.comparisons[0].comparator)
    ):
        operator = type(test.comparisons[0].operator)
        if operator is cst.IsNot or operator is cst.NotEqual:
            return True
        if operator is cst.Is or operator is cst.Equal:
            return False
    return None


def _root_name(expr: cst.CSTNode) -> Optional[str]:
    """`f` for `f`, `proc.stdout`, `f.buffer.raw`."""
    while type(expr) is cst.Attribute:
        expr = expr.value
    return expr.value if type(expr) is cst.Name else None


def _suppresses(expr: cst.BaseExpression) -> bool:
    """`with contextlib.suppress(...)`: exceptions in the body go no further."""
    if type(expr) is cst.Call:
        func = expr.func
        name = func.attr.value if type(func) is cst.Attribute else getattr(func, "value", "")
        return name == "suppress"
    return False


# --- attributes (LL203) -----------------------------------------------------------------

@dataclass
class AttributeUses:
    """Every `<expr>.attr` in a module that may release what the attribute holds, by
    attribute name and by the class the code is in (None outside classes): a release
    method called or taken (`x.close()`, `stack.callback(x.close)`), a `with` item, or
    an escape (handed to a call, aliased, put in a container, exposed by a property).
    `owners` are the classes that assign the attribute on their instances."""

    released_in: Dict[str, Dict[Optional[cst.ClassDef], Set[str]]] = field(default_factory=dict)
    owners: Dict[str, Set[cst.ClassDef]] = field(default_factory=dict)
    bases: Dict[cst.ClassDef, Tuple[str, ...]] = field(default_factory=dict)
    strings: frozenset = frozenset()  # string literals: getattr(self, "name") may reach it

    def add(self, attr: str, owner: Optional[cst.ClassDef], how: str) -> None:
        self.released_in.setdefault(attr, {}).setdefault(owner, set()).add(how)

    def released(self, attr: str, release: Sequence[str], cls: cst.ClassDef) -> bool:
        """Whether anything that may release `cls`'s `self.<attr>` exists: in `cls`, in a
        class related to it by inheritance, outside classes, or in a class that does not
        hold an attribute of that name itself (so it handles someone else's)."""
        if attr in self.strings:
            return True
        ways = set(release) | table.GENERIC_RELEASE | {"<with>", "<escape>"}
        related = related_classes(cls, self.bases)
        owners = self.owners.get(attr, set())
        for where, hows in self.released_in.get(attr, {}).items():
            if hows & ways and (where is None or where in related or where not in owners):
                return True
        return False



def related_classes(cls: Any, bases: Dict[Any, Tuple[str, ...]],
                    name_of: Callable[[Any], str] = lambda c: c.name.value) -> Set[Any]:
    """`cls`, its bases and its subclasses among `bases` (every class of the module,
    with the names of its bases): code there may manage `cls`'s attributes. Classes are
    libcst's, or (with `name_of`) CPython's, for the sieve's candidate checks."""
    by_name: Dict[str, List[Any]] = {}
    for other in bases:
        by_name.setdefault(name_of(other), []).append(other)
    related = {cls}
    changed = True
    while changed:
        changed = False
        for other, names in bases.items():
            if other in related:
                new = {c for b in names for c in by_name.get(b, ())} - related
            elif any(name_of(c) in names for c in related):
                new = {other}
            else:
                continue
            if new:
                related |= new
                changed = True
    return related


def class_bases(node: cst.ClassDef) -> Tuple[str, ...]:
    return tuple(b.value.value for b in node.bases if type(b.value) is cst.Name)


_STRING = re.compile(r"""["']([A-Za-z_]\w*)["']""")


def attribute_uses(ctx: "FileContext") -> AttributeUses:
    state = _state(ctx)
    if state.attributes is None:
        state.attributes = _index_attributes(ctx)
    return state.attributes


def _index_attributes(ctx: "FileContext") -> AttributeUses:
    uses = AttributeUses(strings=frozenset(_STRING.findall(ctx.source)))
    path: List[cst.CSTNode] = []
    classes: List[Tuple[int, cst.ClassDef]] = []  # enclosing classes, with their depth
    todo: List[Tuple[cst.CSTNode, int]] = [(ctx.module, 0)]
    while todo:
        node, depth = todo.pop()
        del path[depth:]
        while classes and classes[-1][0] >= depth:
            classes.pop()
        path.append(node)
        kind = type(node)
        if kind is cst.ClassDef:
            uses.bases[node] = class_bases(node)
            classes.append((depth, node))
        elif kind is cst.Attribute and depth >= 1:
            _index_attribute(ctx, uses, node, path, classes[-1][1] if classes else None)
        children = list(iter_children(node))
        for child in reversed(children):
            todo.append((child, depth + 1))
    return uses


def _index_attribute(ctx: "FileContext", uses: AttributeUses, node: cst.Attribute, path: List[cst.CSTNode],
                     owner: Optional[cst.ClassDef]) -> None:
    attr = node.attr.value
    parent = path[-2]
    kind = type(parent)
    if kind is cst.Attribute:
        if parent.value is node:
            uses.add(attr, owner, parent.attr.value)
            if len(path) >= 4 and type(path[-3]) is cst.Arg and type(path[-4]) is cst.Call:
                # `Thread(target=self.loop.run_forever)`: a bound method handed to a call
                # carries its object along; the thread (or registry) now runs or holds it
                uses.add(attr, owner, "<escape>")
    elif kind is cst.WithItem:
        if parent.item is node:
            uses.add(attr, owner, "<with>")
    elif kind is cst.AssignTarget:
        if owner is not None:
            uses.owners.setdefault(attr, set()).add(owner)
    elif kind is cst.Arg:
        call = path[-3]
        # the walk is elsewhere; borrowers are module-level names anyway
        if type(call) is not cst.Call or not is_borrower(call.func, ctx.scope.module_scope):
            uses.add(attr, owner, "<escape>")
    elif kind in (cst.Element, cst.StarredElement, cst.DictElement, cst.NamedExpr, cst.IfExp):
        uses.add(attr, owner, "<escape>")
    elif (kind is cst.Assign or kind is cst.AnnAssign) and parent.value is node:
        uses.add(attr, owner, "<escape>")
    elif kind is cst.Return and _in_property(path):
        uses.add(attr, owner, "<escape>")  # public under the property's name: released through it, maybe


def _in_property(path: List[cst.CSTNode]) -> bool:
    for ancestor in reversed(path):
        if type(ancestor) is cst.FunctionDef:
            for decorator in ancestor.decorators:
                expr = decorator.decorator
                name = expr.attr.value if type(expr) is cst.Attribute else getattr(expr, "value", "")
                if name in ("property", "cached_property"):
                    return True
            return False
    return False


# --- rewrites shared by the fixes ------------------------------------------------------------

def statement_index(block: cst.IndentedBlock, statement: cst.CSTNode) -> int:
    for index, item in enumerate(block.body):
        if item is statement:
            return index
    return -1


def with_item(local: LocalResource, how: str) -> cst.WithItem:
    """`<creation> as name`, or `contextlib.closing(<creation>) as name`."""
    expr: cst.BaseExpression = local.creation.expr
    if how == "closing":
        expr = cst.Call(cst.Attribute(cst.Name("contextlib"), cst.Name("closing")), [cst.Arg(expr)])
    return cst.WithItem(expr, asname=cst.AsName(cst.Name(local.name)))


def wrap_in_with(local: LocalResource, item: cst.WithItem, moved: Sequence[cst.BaseStatement],
                 is_async: bool) -> cst.With:
    """The creation statement turned into a `with` over `moved`, its comments kept."""
    return cst.With(
        items=[item],
        body=cst.IndentedBlock(body=list(moved) or [cst.SimpleStatementLine([cst.Pass()])],
                               header=local.statement.trailing_whitespace),
        asynchronous=cst.Asynchronous() if is_async else None,
        leading_lines=local.statement.leading_lines,
    )


def try_finally(moved: Sequence[cst.BaseStatement], cleanup: Sequence[cst.BaseStatement]) -> cst.Try:
    return cst.Try(
        body=cst.IndentedBlock(body=list(moved) or [cst.SimpleStatementLine([cst.Pass()])]),
        finalbody=cst.Finally(body=cst.IndentedBlock(body=list(cleanup))),
    )


def release_statement(name: str, method: str, awaited: bool) -> cst.SimpleStatementLine:
    call: cst.BaseExpression = cst.Call(cst.Attribute(cst.Name(name), cst.Name(method)))
    if awaited:
        call = cst.Await(call)
    return cst.SimpleStatementLine([cst.Expr(call)])


def replace_statements(block: cst.IndentedBlock, start: int, end: int,
                       new: Sequence[cst.BaseStatement]) -> cst.IndentedBlock:
    """`block` with statements start..end (inclusive) replaced by `new`."""
    body = list(block.body)
    body[start:end + 1] = list(new)
    return block.with_changes(body=body)


Rewrite = Tuple[cst.IndentedBlock, Tuple[str, ...], str]  # new block, imports it needs, how


def guard_statements(local: LocalResource, start: int, end: int, moved: Sequence[cst.BaseStatement],
                     how: str, is_async: bool, cleanup: Sequence[cst.BaseStatement]) -> Rewrite:
    """Statements start..end of the creation's block replaced so that the resource is
    released after `moved`: a `with` over them ("with", "closing"), or the creation
    followed by `try: moved finally: cleanup` ("finally")."""
    block = local.block
    assert block is not None
    if how == "finally":
        new = [local.statement, try_finally(moved, cleanup)]
        return replace_statements(block, start, end, new), (), "`try/finally`"
    new = [wrap_in_with(local, with_item(local, how), moved, is_async)]
    if how == "closing":
        return replace_statements(block, start, end, new), ("import contextlib",), "`with contextlib.closing(...)`"
    return replace_statements(block, start, end, new), (), "`async with`" if is_async else "`with`"


def block_fix(local: LocalResource, rewrite: Optional[Rewrite], applicability: Applicability,
              description: str, fallback: str) -> Fix:
    """The Fix for a rewrite of the creation's block, or a suggestion without one."""
    if rewrite is None:
        return Fix(Applicability.SUGGESTED, fallback)
    new_block, imports, how = rewrite
    return Fix(applicability, description.format(name=local.name, how=how), (Edit(local.block, new_block),),
               imports=imports)


def rewrite_kind(made: Creation, method: Optional[str], awaited: bool, has_args: bool) -> str:
    """How to make the release exception-safe without changing what it does:
    "with" when the type's `with` performs exactly this release, "closing" when its
    `with` does something else but `contextlib.closing` is this release, else
    "finally" (keep the release, move it into a `finally`)."""
    if not made.builtin:
        return "finally"
    callable_ = made.spec.callable
    is_method_resource = callable_.startswith(".")
    if (
        method in table.WITH_EXIT.get(callable_, ())
        and not has_args
        and (is_method_resource or awaited == made.spec.awaited)
    ):
        return "with"
    if callable_ in table.CLOSING and method == "close" and not has_args and not awaited:
        return "closing"
    return "finally"


def has_comments(node: cst.CSTNode) -> bool:
    """Whether removing `node` would drop a comment."""
    return any(type(sub) is cst.Comment for sub in _all_nodes(node))


def _all_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    # iter_children skips whitespace and comments; libcst's own children do not
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        todo.extend(current.children)


def advice(made: Creation) -> str:
    """How to release this kind of resource on every path, for messages."""
    callable_ = made.spec.callable
    if made.builtin and callable_ in table.CLOSING:
        return "wrap it in `with contextlib.closing(...)` (its own `with` does not close it)"
    if made.builtin and callable_ not in table.WITH_EXIT:
        return f"call {made.release_text()} in a `finally`"
    if not made.builtin and not made.spec.with_releases:  # a project class that is no context manager
        return f"call {made.release_text()} in a `finally`"
    verb = "async with" if made.spec.awaited else "with"
    return f"use `{verb}`, or call {made.release_text()} in a `finally`"
