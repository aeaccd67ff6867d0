"""What every rule sees of the file being linted: the tree, where the walk is, and the
shared analyses (name resolution, constant values), computed once per file."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, AbstractSet, Any, Dict, List, Optional, Type, TypeVar

import libcst as cst

from leaklint.analysis import values
from leaklint.analysis.calls import terminal_name
from leaklint.analysis.scopes import Scope, qualified_name

if TYPE_CHECKING:
    from leaklint.config import Settings
    from leaklint.diagnostics import Finding
    from leaklint.knowledge import Knowledge


# Names a file may bind to another callable: `import x as NAME`, `from m import x as
# NAME`, `NAME = dotted.name`. Read off the text, over-approximating, so a call whose
# name is neither an API's own nor one of these is dismissed without resolving it.
_ALIASES = re.compile(
    r"\bas[ \t]+([A-Za-z_]\w*)|^[ \t]*([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=[ \t]*[A-Za-z_][\w.]*[ \t]*(?:#.*)?$",
    re.MULTILINE,
)


T = TypeVar("T")


class FileContext:
    def __init__(
        self,
        path: str,
        source: str,
        module: cst.Module,
        settings: "Settings",
        knowledge: "Knowledge",
        is_notebook: bool = False,
        aliases: Optional[frozenset] = None,
        project: Optional[Any] = None,
    ) -> None:
        self.path = path
        self.source = source
        self.module = module
        self.settings = settings
        self.knowledge = knowledge
        self.is_notebook = is_notebook
        self.findings: List["Finding"] = []
        # maintained by the engine's walk: ancestors of the node being visited, the
        # node itself last; and the innermost scope
        self.stack: List[cst.CSTNode] = []
        self.scope: Scope = Scope(module, None)
        self.scopes: Dict[cst.CSTNode, Scope] = {module: self.scope}
        self._aliases: Optional[frozenset] = aliases  # given when CPython's tree was read
        # the project index as this file sees it (leaklint.project.ModuleView), or None;
        # read-only: built before any rule runs
        self.project = project
        # where analyses that only hold a scope find it (subscribing.receiver_class)
        self.scope.memo["leaklint.project"] = project
        self._states: Dict[type, Any] = {}

    def state(self, kind: Type[T]) -> T:
        """This file's instance of an analysis's per-file cache class (made on first use),
        shared by every rule linting the file."""
        found = self._states.get(kind)
        if found is None:
            found = self._states[kind] = kind()
        return found

    # --- where the walk is --------------------------------------------------------

    def parent(self, levels: int = 1) -> Optional[cst.CSTNode]:
        """The ancestor `levels` up from the node being visited."""
        index = len(self.stack) - 1 - levels
        return self.stack[index] if index >= 0 else None

    def scope_of(self, node: cst.CSTNode) -> Optional[Scope]:
        """The scope a function, class, lambda or comprehension node opens, once the
        walk has entered it."""
        return self.scopes.get(node)

    # --- shared analyses ----------------------------------------------------------

    def qualified_name(self, expr: cst.CSTNode, scope: Optional[Scope] = None) -> Optional[str]:
        return qualified_name(expr, scope or self.scope)

    def call_name(self, call: cst.Call, scope: Optional[Scope] = None) -> Optional[str]:
        """Qualified name of the callable of `call`, through imports and aliases."""
        return qualified_name(call.func, scope or self.scope)

    @property
    def alias_names(self) -> frozenset:
        if self._aliases is None:
            self._aliases = frozenset(a or b for a, b in _ALIASES.findall(self.source))
        return self._aliases

    def callee(self, call: cst.Call, names: AbstractSet[str]) -> Optional[str]:
        """Qualified name of `call`'s callable, but only when its last name is one of
        `names` (the last components of the APIs a rule knows) or a possible alias;
        cheap for the great majority of calls, which are neither."""
        label = terminal_name(call.func)
        if label is None or (label not in names and label not in self.alias_names):
            return None
        return qualified_name(call.func, self.scope)

    def value(self, expr: Optional[cst.BaseExpression], scope: Optional[Scope] = None) -> Any:
        """Constant value of `expr` (see analysis.values)."""
        return values.evaluate(expr, scope or self.scope)

    def is_unbounded_number(self, value: Any) -> bool:
        """Infinity, or an integer at or above the huge-threshold setting."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return value == values.INF or value >= self.settings.huge_threshold
