"""What a rule reports: findings on nodes, and diagnostics with positions for reporters."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Tuple, Union

if TYPE_CHECKING:  # annotations only: reporting and the cache never need libcst
    import libcst as cst


class Applicability(str, enum.Enum):
    """How far a fix may be trusted (ruff's model).

    safe: keeps behaviour on every path except the leak; applied by --fix.
    unsafe: may change behaviour; applied only with --unsafe-fixes.
    suggested: no automatic edit, a description a person can follow.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"
    SUGGESTED = "suggested"


@dataclass(frozen=True)
class Edit:
    """Replace `old` (a node of the parsed module) by `new`.

    `new` may be a node, `cst.RemovalSentinel.REMOVE` or a `cst.FlattenSentinel`.
    Edits live only in memory: the fix engine applies them to the module they were
    made against.
    """

    old: cst.CSTNode
    new: Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]


@dataclass(frozen=True)
class Fix:
    """A fix: node edits, plus what the edits need at module level.

    `imports` are import statements as source (`"import asyncio"`, `"from contextlib
    import closing"`), added once each if the module lacks them; `module_statements`
    are statements (`"_background_tasks = set()"`) added after the imports once each.
    A fix with no edits is a suggestion a person follows (its description), and says
    so: `Applicability.SUGGESTED` (a test holds every rule to it).

    How leaklint.fixes applies them (the contract rules can rely on):
    - every edit's `old` must be a node of the module the finding was made against;
      the edits of one fix are applied together or not at all, and must not overlap
      each other. A fix overlapping an earlier fix's edits (same node, inside it or
      around it) waits for the next pass, after the file is parsed and linted again.
    - an import is added only when the module-level imports do not already bind it:
      `import asyncio` is reused for `"import asyncio"` (and `import a.b` for
      `"import a"`); `"from m import x"` is satisfied by an existing `from m import x`,
      else added to a one-line `from m import ...` that has room, else put on its own
      line after the module's leading imports (after the docstring when there are none).
      Rules should write their edits against the names the file already has.
    - a module statement is added unless the module has the same statement at top
      level, after the leading imports, set off by a blank line.
    """

    applicability: Applicability
    description: str
    edits: Tuple[Edit, ...] = ()
    imports: Tuple[str, ...] = ()
    module_statements: Tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"applicability": self.applicability.value, "description": self.description}

    def applies(self, unsafe: bool = False) -> bool:
        """Whether `--fix` applies this fix: safe ones always, unsafe ones only with
        `--unsafe-fixes` (`unsafe`), suggestions never. Reads the applicability only,
        so it holds for fixes whose edits were dropped (cached or sent between
        processes)."""
        return self.applicability is Applicability.SAFE or (unsafe and self.applicability is Applicability.UNSAFE)


@dataclass(frozen=True)
class Finding:
    """A rule's report before positions are known: the node to blame."""

    code: str
    message: str
    node: cst.CSTNode
    fix: Optional[Fix] = None
    top: Optional[cst.CSTNode] = None  # the top-level statement being walked, if any
    member: Optional[cst.CSTNode] = None  # and the statement of its class body, if a class


@dataclass(frozen=True)
class Diagnostic:
    """One reported leak. `line`/`column` are 1-based; `end_column` points just past
    the last character (as ruff and SARIF). `cell` is set for notebooks, and then
    `line` counts within that cell."""

    code: str
    name: str
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    fix: Optional[Fix] = None
    cell: Optional[int] = None
    # the finding's node, kept so the fix engine can apply edits; never serialised
    node: Optional[cst.CSTNode] = field(default=None, compare=False, repr=False)
    # the text of the reported line (its first line), the input of `fingerprint`
    source_line: str = field(default="", compare=False, repr=False)
    # identifies the finding across unrelated edits (leaklint.fingerprint); set by the api
    fingerprint: str = field(default="", compare=False, repr=False)

    def sort_key(self) -> tuple:
        return (self.path, self.cell or 0, self.line, self.column, self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "fix": self.fix.to_dict() if self.fix else None,
        }
        if self.cell is not None:
            data["cell"] = self.cell
        return data
