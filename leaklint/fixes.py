"""Applying the automatic fixes of findings (ruff's model): safe ones with --fix, unsafe
ones too with --unsafe-fixes, suggestions never.

One pass applies every fix whose edits do not overlap an earlier one's (the rest wait
for the next pass), as a libcst transformation keyed by node identity, so comments and
formatting survive. The result is parsed again (and compiled, when the original
compiled) and linted again; passes repeat until no fix applies. A fix that breaks the
file, or that never converges, is a leaklint bug: it is reported and refused on its own
(the pass is split in halves until the culprit is found), and the other fixes are
applied. libcst recurses per nesting level, so its passes run with the linter's deep
stack (analysis/deep.py). Files are written atomically, in their own encoding and
newline style.
"""
from __future__ import annotations

import ast
import difflib
import errno
import os
import stat
import symtable
import tempfile
from functools import partial
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from leaklint.analysis.deep import run_deep
from leaklint.analysis.walk import walk
from leaklint import notebook
from leaklint.api import _finish as finish_result
from leaklint.api import lint_file, lint_source, portable, run_on_workers
from leaklint.config import Settings
from leaklint.diagnostics import Applicability, Diagnostic, Fix
from leaklint.discovery import STDIN, discover
from leaklint.engine import DecodeError, FileResult, decode_source

# ruff stops at 100; leaklint's fixes are independent of each other, so a file needs as
# many passes as it has overlapping fixes at one place — a handful at most.
MAX_PASSES = 16

# An existing `from m import a, b` is extended with a new name only while it stays
# this short; otherwise the name gets its own import line.
MAX_IMPORT_LINE = 88

Replacement = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]


class FixError(Exception):
    """A fix could not be applied (a bug in a rule's fix); the file is kept as it was."""


# --- which fixes apply ---------------------------------------------------------------

def applicable(fix: Optional[Fix], unsafe: bool) -> bool:
    """Would this fix be applied: an automatic fix (one with edits), safe, or unsafe
    when unsafe fixes are on. Suggestions never are."""
    return fix is not None and bool(fix.edits) and fix.applies(unsafe)


# --- one pass ------------------------------------------------------------------------

@dataclass
class Applied:
    """A fix that was applied: the finding it fixed, as reported before the fix."""

    code: str
    name: str
    description: str
    applicability: Applicability


@dataclass
class PassResult:
    module: cst.Module
    applied: List[Diagnostic]
    deferred: List[Diagnostic]  # overlapped an earlier fix: retried next pass


def _nodes(node: cst.CSTNode) -> Set[cst.CSTNode]:
    """`node` and every node under it, tokens and whitespace included."""
    found = set()
    todo = [node]
    while todo:
        current = todo.pop()
        found.add(current)
        todo.extend(current.children)
    return found


def choose(diagnostics: Sequence[Diagnostic]) -> Tuple[List[Diagnostic], List[Diagnostic]]:
    """Split fixes into those applied this pass and those deferred: a fix with an edit
    inside, around or on an accepted fix's edit waits for the next pass (first wins).
    A fix whose own edits overlap each other is a bug (FixError)."""
    accepted: List[Diagnostic] = []
    deferred: List[Diagnostic] = []
    claimed: Set[cst.CSTNode] = set()  # every node inside an accepted edit
    accepted_olds: Set[cst.CSTNode] = set()  # the nodes accepted edits replace
    seen_fixes: Set[int] = set()
    for d in diagnostics:
        fix = d.fix
        assert fix is not None
        if id(fix) in seen_fixes:  # one fix reported for two findings: applied once
            accepted.append(d)
            continue
        olds = [edit.old for edit in fix.edits]
        trees = [_nodes(old) for old in olds]
        overlaps = any(old in claimed for old in olds) or any(tree & accepted_olds for tree in trees)
        if len(set(olds)) != len(olds) or any(
            olds[i] in trees[j] for i in range(len(olds)) for j in range(len(olds)) if i != j
        ):
            raise FixError(f"a fix for {d.code} has edits that overlap each other")
        if overlaps:
            deferred.append(d)
            continue
        accepted.append(d)
        seen_fixes.add(id(fix))
        accepted_olds.update(olds)
        for tree in trees:
            claimed |= tree
    return accepted, deferred


class _Replace(cst.CSTTransformer):
    """Replace nodes by identity; record which were met.

    A statement removed keeps the comment lines above it: they go to the statement
    that follows (as ruff's line-range deletions leave them). They may describe more
    than the statement, and in a notebook one of them marks where a cell starts."""

    def __init__(self, replacements: Dict[cst.CSTNode, Replacement]) -> None:
        super().__init__()
        self.replacements = replacements
        self.met: Set[cst.CSTNode] = set()
        self.pending: List[cst.EmptyLine] = []  # comment lines of a removed statement
        self.carry: Dict[cst.CSTNode, List[cst.EmptyLine]] = {}  # statement -> lines it receives

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.pending and isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.carry[node] = self.pending
            self.pending = []
        return super().on_visit(node)

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        carried = self.carry.pop(original_node, None)
        new = self.replacements.get(original_node)
        if new is None:
            if carried and isinstance(updated_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return updated_node.with_changes(leading_lines=[*carried, *updated_node.leading_lines])
            if isinstance(updated_node, cst.Module) and self.pending:
                lines, self.pending = self.pending, []
                return updated_node.with_changes(footer=[*lines, *updated_node.footer])
            return updated_node
        self.met.add(original_node)
        if carried and isinstance(new, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            new = new.with_changes(leading_lines=[*carried, *new.leading_lines])
        elif carried:
            self.pending = carried + self.pending
        if new is cst.RemovalSentinel.REMOVE and any(line.comment is not None
                                                     for line in getattr(original_node, "leading_lines", ())):
            self.pending = [*original_node.leading_lines, *self.pending]
        return new


def apply_pass(module: cst.Module, diagnostics: Sequence[Diagnostic]) -> PassResult:
    """Apply the non-overlapping fixes of `diagnostics` (all of which must carry a fix
    with edits, made against `module`) in one transformation. Raises FixError."""
    accepted, deferred = choose(diagnostics)
    replacements: Dict[cst.CSTNode, Replacement] = {}
    imports: List[str] = []
    statements: List[str] = []
    done: Set[int] = set()
    for d in accepted:
        fix = d.fix
        assert fix is not None
        if id(fix) in done:
            continue
        done.add(id(fix))
        for edit in fix.edits:
            replacements[edit.old] = edit.new
        imports.extend(fix.imports)
        statements.extend(fix.module_statements)
    codes = ", ".join(sorted({d.code for d in accepted}))
    transformer = _Replace(replacements)
    try:
        updated = module.visit(transformer)
    except RecursionError:
        raise  # deep nesting, not a bad edit: the caller retries with a deeper stack
    except Exception as exc:  # a rule's edit put a node where libcst allows none
        raise FixError(f"a fix for {codes} could not be applied: {type(exc).__name__}: {exc}") from None
    missing = [old for old in replacements if old not in transformer.met]
    if missing:
        bad = sorted({d.code for d in accepted if d.fix and any(e.old in missing for e in d.fix.edits)})
        raise FixError(f"a fix for {', '.join(bad)} edits a node that is not in the file")
    if not isinstance(updated, cst.Module):  # pragma: no cover - an edit of the module itself
        raise FixError(f"a fix for {codes} replaced the whole module")
    try:
        updated = add_imports(updated, imports)
        updated = add_module_statements(updated, statements)
    except (cst.ParserSyntaxError, ValueError) as exc:
        raise FixError(f"a fix for {codes} asks for an invalid import or statement: {exc}") from None
    return PassResult(updated, accepted, deferred)


# --- imports and module statements -----------------------------------------------------

def _dotted(expr: Union[cst.BaseExpression, None]) -> str:
    if expr is None:
        return ""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return f"{_dotted(expr.value)}.{expr.attr.value}"
    return ""


def _asname(alias: cst.ImportAlias) -> Optional[str]:
    if alias.asname is None or not isinstance(alias.asname.name, cst.Name):
        return None
    return alias.asname.name.value


def _import_line(stmt: cst.CSTNode) -> Optional[Union[cst.Import, cst.ImportFrom]]:
    """The import of a module-level `import ...` / `from ... import ...` line."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            return small
    return None


def _parse_import(source: str) -> Union[cst.Import, cst.ImportFrom]:
    stmt = cst.parse_statement(source.strip() + "\n")
    found = _import_line(stmt)
    if found is None:
        raise ValueError(f"{source!r} is not one import statement")
    return found


def _from_key(node: cst.ImportFrom) -> Tuple[int, str]:
    return (len(node.relative), _dotted(node.module))


def _import_satisfied(new: cst.Import, existing: Sequence[Union[cst.Import, cst.ImportFrom]]) -> bool:
    """`import a` is there already when `import a` or `import a.b` binds `a`;
    `import a.b` when `import a.b` (or `a.b.c`) is; `import a as x` only as itself."""
    for alias in new.names:
        name, asname = _dotted(alias.name), _asname(alias)
        found = False
        for imp in existing:
            if not isinstance(imp, cst.Import):
                continue
            for have in imp.names:
                have_name, have_as = _dotted(have.name), _asname(have)
                if asname is not None:
                    found = have_name == name and have_as == asname
                else:
                    found = have_as is None and (have_name == name or have_name.startswith(name + "."))
                if found:
                    break
            if found:
                break
        if not found:
            return False
    return True


def _from_names_missing(new: cst.ImportFrom, existing: Sequence[Union[cst.Import, cst.ImportFrom]]) -> List[cst.ImportAlias]:
    """The names of `from m import ...` that no existing `from m import` binds as asked."""
    if isinstance(new.names, cst.ImportStar):
        raise ValueError("a fix may not add a star import")
    have: Set[Tuple[str, Optional[str]]] = set()
    for imp in existing:
        if isinstance(imp, cst.ImportFrom) and _from_key(imp) == _from_key(new) and not isinstance(imp.names, cst.ImportStar):
            have |= {(_dotted(a.name), _asname(a)) for a in imp.names}
    return [a for a in new.names if (_dotted(a.name), _asname(a)) not in have]


def _leading_block(module: cst.Module) -> Tuple[int, int]:
    """(index after the docstring, index after the last import of the module's leading
    import block); the block ends at the first statement that is neither an import nor
    a compound statement holding imports (`try: import x`, `if TYPE_CHECKING:`)."""
    body = module.body
    start = 0
    if body and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1:
        first = body[0].body[0]
        if isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString, cst.ConcatenatedString)):
            start = 1
    end = start
    for index in range(start, len(body)):
        stmt = body[index]
        if _import_line(stmt) is not None:
            end = index + 1
            continue
        if isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.Pass) for s in stmt.body):
            continue  # `pass`: in a notebook, an IPython line (`!pip install x`) made opaque
        if isinstance(stmt, (cst.If, cst.Try)) and any(
            isinstance(n, (cst.Import, cst.ImportFrom)) for n in walk(stmt.body, into_scopes=False)
        ):
            continue
        break
    return start, end


def add_imports(module: cst.Module, imports: Sequence[str]) -> cst.Module:
    """Add each import once if the module does not have it: reuse what is there
    (`import asyncio`), extend a short existing `from m import ...` with a missing
    name, else add a line after the module's leading imports."""
    for source in dict.fromkeys(imports):  # once each, in order
        new = _parse_import(source)
        body = list(module.body)
        lines = [(i, imp) for i, imp in ((i, _import_line(s)) for i, s in enumerate(body)) if imp is not None]
        existing = [imp for _i, imp in lines]
        if isinstance(new, cst.Import):
            if _import_satisfied(new, existing):
                continue
            stmt: cst.SimpleStatementLine = cst.SimpleStatementLine(body=[new])
        else:
            missing = _from_names_missing(new, existing)
            if not missing:
                continue
            extended = _extend_from_import(module, body, lines, new, missing)
            if extended is not None:
                module = extended
                continue
            stmt = cst.SimpleStatementLine(body=[new.with_changes(names=_aliases(missing))])
        start, end = _leading_block(module)
        # a first import right after the docstring is set off from it by a blank line
        module = _insert_after_imports(module, stmt, blank_before=end == start == 1)
    return module


def _aliases(names: Sequence[cst.ImportAlias]) -> List[cst.ImportAlias]:
    out = []
    for i, alias in enumerate(names):
        comma = cst.MaybeSentinel.DEFAULT if i == len(names) - 1 else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        out.append(alias.with_changes(comma=comma))
    return out


def _extend_from_import(module: cst.Module, body: List[cst.BaseStatement], lines, new: cst.ImportFrom,
                        missing: Sequence[cst.ImportAlias]) -> Optional[cst.Module]:
    """`from m import a` -> `from m import a, b` when that line stays one short line."""
    for index, imp in lines:
        if not isinstance(imp, cst.ImportFrom) or _from_key(imp) != _from_key(new) or isinstance(imp.names, cst.ImportStar):
            continue
        line = module.code_for_node(body[index].with_changes(leading_lines=()))
        if "\n" in line.rstrip("\r\n") or "#" in line:
            continue  # a multi-line or commented import: leave it alone
        names = list(imp.names)
        last = names[-1]
        trailing = last.comma  # `(a, b,)` keeps its trailing comma after the new last name
        names[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        added = _aliases(missing)
        added[-1] = added[-1].with_changes(comma=trailing)
        updated = body[index].with_changes(body=[imp.with_changes(names=names + added)])
        if len(module.code_for_node(updated.with_changes(leading_lines=())).rstrip("\r\n")) > MAX_IMPORT_LINE:
            continue
        body[index] = updated
        return module.with_changes(body=body)
    return None


def _insert_after_imports(module: cst.Module, stmt: cst.BaseStatement, blank_before: bool) -> cst.Module:
    body = list(module.body)
    _start, end = _leading_block(module)
    if blank_before:
        stmt = stmt.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(end, stmt)
    return module.with_changes(body=body)


def _statement_key(module: cst.Module, stmt: cst.BaseStatement) -> Optional[str]:
    """A module-level simple statement's code without comments or layout around it."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return None
    return "; ".join(module.code_for_node(s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)).strip() for s in stmt.body)


def add_module_statements(module: cst.Module, statements: Sequence[str]) -> cst.Module:
    """Add each statement once (unless the module already has it at top level) after
    the module's leading imports, set off by a blank line."""
    for source in dict.fromkeys(statements):
        stmt = cst.parse_statement(source.strip() + "\n")
        key = _statement_key(module, stmt)
        if key is None:
            raise ValueError(f"{source!r} is not a simple statement")
        if any(_statement_key(module, s) == key for s in module.body):
            continue
        _start, end = _leading_block(module)
        module = _insert_after_imports(module, stmt, blank_before=end > 0)
        body = list(module.body)
        if end + 1 < len(body):  # and a blank line after it, unless there is one
            after = body[end + 1]
            lines = after.leading_lines
            if not lines or lines[0].comment is not None:
                body[end + 1] = after.with_changes(leading_lines=[cst.EmptyLine(), *lines])
                module = module.with_changes(body=body)
    return module


# --- to a fixed point --------------------------------------------------------------------

@dataclass
class FixOutcome:
    """What fixing one file did. `fixed` is the text to write (the original when
    nothing applied or when `error` says why the fixes were abandoned)."""

    path: str
    original: str
    fixed: str
    encoding: str = "utf-8"
    applied: List[Applied] = field(default_factory=list)
    diagnostics: List[Diagnostic] = field(default_factory=list)  # what remains
    error: Optional[str] = None
    from_stdin: bool = False

    @property
    def changed(self) -> bool:
        return self.fixed != self.original

    def diff(self) -> str:
        return unified_diff(self.path, self.original, self.fixed)


def _compiles(text: str, path: str) -> bool:
    """Whether CPython accepts the source: its parser, then its symbol table (which
    catches `nonlocal`, `yield` and `await` out of place). Never compiled to code,
    never run: leaklint makes no code object from a file it lints."""
    try:
        tree = ast.parse(text, path)
        symtable.symtable(text, path, "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return not _Misplaced().found(tree)


class _Misplaced(ast.NodeVisitor):
    """The compiler's own checks that the parser and symbol table leave to it: `return`,
    `yield` and `await` outside a function (`await`, `async for/with` outside an async
    one), `break` and `continue` outside a loop."""

    def found(self, tree: ast.AST) -> bool:
        self.function: Optional[str] = None  # None, "def", "async" or "lambda"
        self.loops = 0
        self.bad = False
        try:
            self.visit(tree)
        except RecursionError:
            return False  # too deep to check here; the parser accepted it
        return self.bad

    def _scope(self, node: ast.AST, kind: Optional[str], body: Sequence[ast.AST]) -> None:
        saved = self.function, self.loops
        self.function, self.loops = kind, 0
        for child in body:
            self.visit(child)
        self.function, self.loops = saved

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for outer in (*node.decorator_list, node.args, *(n for n in (node.returns,) if n)):
            self.visit(outer)
        self._scope(node, "def", node.body)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        for outer in (*node.decorator_list, node.args, *(n for n in (node.returns,) if n)):
            self.visit(outer)
        self._scope(node, "async", node.body)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.args)
        self._scope(node, "lambda", [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for outer in (*node.decorator_list, *node.bases, *node.keywords):
            self.visit(outer)
        saved = self.function, self.loops
        self.function, self.loops = None, 0  # a class body is not the function's
        for child in node.body:
            self.visit(child)
        self.function, self.loops = saved

    def _loop(self, node: Union[ast.For, ast.AsyncFor, ast.While]) -> None:
        self.visit(node.iter if not isinstance(node, ast.While) else node.test)
        if not isinstance(node, ast.While):
            self.visit(node.target)
        self.loops += 1
        for child in node.body:
            self.visit(child)
        self.loops -= 1
        for child in node.orelse:  # `else:` belongs to the enclosing loop, if any
            self.visit(child)

    def visit_For(self, node: ast.For) -> None:
        self._loop(node)

    def visit_While(self, node: ast.While) -> None:
        self._loop(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self.bad |= self.function != "async"
        self._loop(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self.bad |= self.function != "async"
        self.generic_visit(node)

    def visit_Await(self, node: ast.Await) -> None:
        self.bad |= self.function != "async"
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        self.bad |= self.function not in ("def", "async")
        self.generic_visit(node)

    def visit_Yield(self, node: ast.Yield) -> None:
        self.bad |= self.function is None
        self.generic_visit(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.bad |= self.function in (None, "async")
        self.generic_visit(node)

    def _comprehension(self, node: Union[ast.ListComp, ast.SetComp, ast.DictComp]) -> None:
        # `[x async for x in xs]` outside an async function (a generator expression may)
        self.bad |= self.function != "async" and any(g.is_async for g in node.generators)
        self.generic_visit(node)

    visit_ListComp = visit_SetComp = visit_DictComp = _comprehension

    def visit_Break(self, node: ast.Break) -> None:
        self.bad |= self.loops == 0

    def visit_Continue(self, node: ast.Continue) -> None:
        self.bad |= self.loops == 0


def _code(module: cst.Module, codes: str) -> str:
    try:
        return run_deep(lambda: module.code)
    except RecursionError:  # deeper than even a raised recursion limit allows
        raise FixError(f"the fix for {codes} cannot be written: the file is nested too deeply") from None


def _check_parses(text: str, path: str, original_compiles: Optional[bool], codes: str) -> None:
    try:
        run_deep(cst.parse_module, text)
    except Exception as exc:  # libcst's native parser raises several types
        raise FixError(f"the fix for {codes} would leave the file unparseable ({type(exc).__name__}); not applied") from None
    if original_compiles and not _compiles(text, path):
        raise FixError(f"the fix for {codes} would leave the file failing to compile; not applied")


def _refusal_key(d: Diagnostic) -> Tuple[str, str, str]:
    """What identifies a refused fix's finding from one pass to the next, while other
    fixes move it: its code, message and line, not its position."""
    return d.code, d.message, d.source_line.strip()


def _changes_nothing(module: cst.Module, d: Diagnostic) -> bool:
    """A fix whose every edit writes back the code it replaces, and that adds nothing:
    applied, it leaves the finding where it was, pass after pass (e.g. a value the
    settings call unbounded replaced by the configured default, which they also do)."""
    fix = d.fix
    if fix is None or fix.imports or fix.module_statements:
        return False
    for edit in fix.edits:
        if not isinstance(edit.new, cst.CSTNode):
            return False
        try:
            if module.code_for_node(edit.old) != module.code_for_node(edit.new):
                return False
        except RecursionError:
            return False
    return True


@dataclass
class _Run:
    """The state of one run of passes over a file."""

    current: str
    applied: List[Applied] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    stuck_codes: Set[str] = field(default_factory=set)  # codes whose fixes never settle
    stuck_why: str = ""


class _Fixer:
    """Applies a file's fixes to a fixed point. A fix that cannot be applied (it breaks
    the file, hits a limit, changes nothing) is refused on its own, found by splitting
    the pass in halves, and the others are applied; fixes that never converge are
    refused by code and the run starts again from the original without them."""

    def __init__(self, text: str, path: str, settings: Settings, unsafe: bool, max_passes: int,
                 lint: Optional[Callable[[str], "FileResult"]] = None) -> None:
        self.text, self.path, self.settings = text, path, settings
        self.unsafe, self.max_passes = unsafe, max_passes
        self.lint = lint or (lambda text: lint_source(text, path, settings, whole=True))
        self.refused: Dict[Tuple[str, str, str], str] = {}
        self.refused_codes: Set[str] = set()
        self.original_compiles: Optional[bool] = None

    def wanted(self, d: Diagnostic) -> bool:
        return (applicable(d.fix, self.unsafe) and d.code not in self.refused_codes
                and _refusal_key(d) not in self.refused)

    def attempt(self, module: cst.Module, todo: Sequence[Diagnostic]) -> Tuple[PassResult, str]:
        """Apply `todo` in one pass; the new text, parsed (and compiled) again."""
        codes = ", ".join(sorted({d.code for d in todo}))
        if "\x0c" in module.default_indent:
            # libcst takes the first block's indentation, a form feed included, as the
            # default for every block and writes it on each of their lines, which it
            # cannot read back: the form feed (a page break, no meaning to Python) is
            # dropped from that first line instead
            module = module.with_changes(default_indent=module.default_indent.replace("\x0c", ""))
        done = run_deep(apply_pass, module, todo)
        new_text = _code(done.module, codes)
        if self.original_compiles is None:
            self.original_compiles = _compiles(self.text, self.path)
        _check_parses(new_text, self.path, self.original_compiles, codes)
        return done, new_text

    def split(self, module: cst.Module, todo: List[Diagnostic]):
        """(fixes that apply together, with the pass they make, or None when none do;
        refused fixes with why). Bisection: k bad fixes among n cost O(k log n)
        passes over the file, not n."""
        try:
            return todo, self.attempt(module, todo), []
        except RecursionError:
            error = "the fix cannot be applied: the file is nested too deeply"
            if len(todo) == 1:
                return [], None, [(todo[0], f"the fix for {todo[0].code}: {error}; not applied")]
        except FixError as exc:
            if len(todo) == 1:
                return [], None, [(todo[0], str(exc))]
        middle = len(todo) // 2
        good_left, done_left, bad_left = self.split(module, todo[:middle])
        good_right, done_right, bad_right = self.split(module, todo[middle:])
        bad = bad_left + bad_right
        if good_left and good_right:
            try:
                return good_left + good_right, self.attempt(module, good_left + good_right), bad
            except (FixError, RecursionError):
                # each half applies alone, not both: the right half waits for the next pass
                return good_left, done_left, bad
        if good_left:
            return good_left, done_left, bad
        return good_right, done_right, bad

    def run(self, first: "FileResult") -> Tuple[_Run, "FileResult"]:
        state = _Run(self.text)
        result = first
        seen = {self.text}
        for _ in range(self.max_passes):
            todo = [d for d in result.diagnostics if self.wanted(d)]
            if todo and result.module is not None:
                for d in todo:
                    if _changes_nothing(result.module, d):
                        self.refuse(state, d, f"the fix for {d.code} does not remove its finding (applied again it "
                                              "changes nothing, so it would never converge); not applied")
                todo = [d for d in todo if self.wanted(d)]
            if not todo:
                return state, result
            if result.module is None:  # pragma: no cover - the engine keeps it when it reports
                state.errors.append("internal error: findings without their syntax tree")
                return state, result
            good, done, bad = self.split(result.module, todo)
            for d, why in bad:
                self.refuse(state, d, why)
            if done is None:
                continue  # every fix of the pass was refused: lint nothing new, try the rest
            passed, new_text = done
            if new_text in seen:  # back to an earlier state: these fixes undo each other
                state.stuck_codes |= {d.code for d in passed.applied}
                state.stuck_why = "do not converge (the file returns to an earlier state)"
                return state, result
            seen.add(new_text)
            state.applied.extend(Applied(d.code, d.name, d.fix.description, d.fix.applicability)  # type: ignore[union-attr]
                                 for d in passed.applied)
            state.current = new_text
            result = self.lint(new_text)
        state.stuck_codes |= {d.code for d in result.diagnostics if self.wanted(d)}
        state.stuck_why = f"do not converge after {self.max_passes} passes"
        return state, result

    def refuse(self, state: _Run, d: Diagnostic, why: str) -> None:
        self.refused[_refusal_key(d)] = why
        if why not in state.errors:
            state.errors.append(why)


def _to_fixed_point(fixer: _Fixer, first: "FileResult") -> Tuple[_Run, "FileResult", List[str]]:
    errors: List[str] = []
    while True:
        state, final = fixer.run(first)
        if not state.stuck_codes:
            break
        # fixes that never settle cannot be told apart pass after pass (each pass moves
        # them): refuse their code, and start again from the original without them
        codes = ", ".join(sorted(state.stuck_codes))
        errors.append(f"the fixes for {codes} {state.stuck_why}; not applied")
        fixer.refused_codes |= state.stuck_codes
    errors.extend(e for e in state.errors if e not in errors)
    return state, final, errors


def fix_text(text: str, path: str, settings: Settings, *, unsafe: bool = False,
             encoding: str = "utf-8", max_passes: int = MAX_PASSES) -> FixOutcome:
    """Lint `text`, apply its fixes to a fixed point and lint the result. Refused fixes
    are named in `error`; the others are applied."""
    outcome = FixOutcome(path, text, text, encoding)
    # most files have nothing to fix: the check's own lint (the sieve parses only what
    # the rules' candidates need) says so; libcst parses the whole file only for a fix
    result = lint_source(text, path, settings)
    if path.endswith(notebook.SUFFIX):
        return _fix_notebook(outcome, result, settings, unsafe, max_passes)
    if not any(applicable(d.fix, unsafe) for d in result.diagnostics):
        outcome.diagnostics = result.diagnostics
        return outcome
    result = lint_source(text, path, settings, whole=True)
    state, final, errors = _to_fixed_point(_Fixer(text, path, settings, unsafe, max_passes), result)
    outcome.error = "; ".join(errors) or None
    outcome.fixed = state.current
    outcome.applied = state.applied
    outcome.diagnostics = final.diagnostics
    return outcome


def _fix_notebook(outcome: FixOutcome, result: "FileResult", settings: Settings, unsafe: bool,
                  max_passes: int) -> FixOutcome:
    """A notebook's code cells are fixed as the one module they are linted as, then
    put back into the JSON: only the sources of the cells a fix changed, everything
    else (outputs, metadata, layout) kept byte for byte."""
    outcome.diagnostics = result.diagnostics
    if not any(applicable(d.fix, unsafe) for d in result.diagnostics):
        return outcome
    path = outcome.path
    fixable = notebook.for_fixing(outcome.original)
    if fixable is None:
        outcome.error = "the notebook's JSON is laid out in a way leaklint cannot write back exactly; not fixed"
        return outcome

    def lint(text: str) -> "FileResult":
        return finish_result(notebook.lint_built(text, path, settings), settings)

    start = lint(fixable.text)  # the cells' module with its nodes (the result above is the notebook's)
    fixer = _Fixer(fixable.text, path, settings, unsafe, max_passes, lint=lint)
    state, _final, errors = _to_fixed_point(fixer, start)
    if state.current != fixable.text:
        try:
            fixed = fixable.write_back(state.current)
        except notebook.NotebookError as exc:
            outcome.error = f"the fixes cannot be put back into the notebook's cells: {exc.message}; not fixed"
            return outcome
        outcome.fixed = fixed
        outcome.applied = state.applied
        outcome.diagnostics = lint_source(fixed, path, settings).diagnostics
    outcome.error = "; ".join(errors) or None
    return outcome


def fix_bytes(data: bytes, path: str, settings: Settings, *, unsafe: bool = False) -> Tuple[FixOutcome, bytes]:
    """Fix a file's raw bytes; returns the outcome and the bytes to write (in the
    file's own encoding; its newlines are kept by libcst)."""
    try:
        text, encoding = decode_source(data)
    except DecodeError:
        return FixOutcome(path, "", "", diagnostics=lint_source(data, path, settings).diagnostics), data
    outcome = fix_text(text, path, settings, unsafe=unsafe, encoding=encoding)
    if not outcome.changed:
        return outcome, data
    try:
        new = outcome.fixed.encode(encoding)
    except UnicodeEncodeError:
        outcome.error = f"the fixed text cannot be written as {encoding}; file left unchanged"
        outcome.fixed, outcome.applied = outcome.original, []
        outcome.diagnostics = lint_source(data, path, settings).diagnostics
        return outcome, data
    return outcome, new


# --- files -------------------------------------------------------------------------------

class ReadOnlyError(PermissionError):
    """The file may not be written: --fix reports it and leaves it alone."""


def _writable(path: str, info: os.stat_result) -> bool:
    """Whether the user may write the file, and means to let anyone: root may write
    anything, so a file with no write bit at all (0o444) is read-only for root too."""
    return os.access(path, os.W_OK) and bool(info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _keep_owner(temp: str, info: os.stat_result) -> None:
    """Give the new file the old one's owner and group where the OS allows: root may
    set both; a user may set the group when they belong to it; else it stays theirs."""
    for uid in (info.st_uid, -1):
        try:
            os.chown(temp, uid, info.st_gid)
            return
        except PermissionError:
            continue
        except OSError:  # a file system without owners (FAT, some mounts)
            return


def write_atomic(path: str, data: bytes, expected: Optional[bytes] = None) -> None:
    """Replace the file's content: a temporary file in the same folder, then a rename,
    keeping the file's permission bits and (where the OS allows) its owner and group; a
    symlink is followed (its target is rewritten). A file with other hard links is
    written in place, so the links stay one file. With `expected`, refuse when the file
    changed since it was read. A file without write permission is refused
    (ReadOnlyError), never replaced behind its owner's back."""
    target = os.path.realpath(path)
    info = os.stat(target)
    if not _writable(target, info):
        raise ReadOnlyError(13, "the file is read-only (no write permission); not fixed", path)
    if expected is not None:
        with open(target, "rb") as handle:
            if handle.read() != expected:
                raise OSError(f"{path} changed while it was being fixed")
    folder = os.path.dirname(target)
    try:
        fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".leaklint-tmp", dir=folder)
    except PermissionError:  # a writable file in a folder we may not add to
        _write_in_place(target, data, expected, None)
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if info.st_nlink > 1:
            _write_in_place(target, data, expected, temp)
            os.unlink(temp)
            return
        _keep_owner(temp, info)
        os.chmod(temp, stat.S_IMODE(info.st_mode))  # after chown, which may clear set-id bits
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def _write_in_place(target: str, data: bytes, original: Optional[bytes], temp: Optional[str]) -> None:
    """Copy `data` into the existing file (its inode, links, owner and mode unchanged).

    A rename cannot replace a file that has other hard links without splitting them, and
    no system call swaps a file's contents atomically, so this is as safe as it gets:
    the new bytes were first written whole to `temp` and synced (a full disk or a bad
    write shows there, before the file is touched); the file's new length is reserved
    (posix_fallocate) so the copy cannot run out of space half-way; the copy is one
    write of the whole buffer, then a truncate and a sync. If any of it fails, the
    original bytes are written back. Only a kill in the instant of that one write can
    leave it partial, and then `temp` still holds the complete fixed text beside it."""
    fd = os.open(target, os.O_RDWR)
    try:
        if original is None:
            with open(fd, "rb", closefd=False) as handle:
                original = handle.read()
        if hasattr(os, "posix_fallocate") and len(data) > 0:
            try:
                os.posix_fallocate(fd, 0, len(data))
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
                    raise  # no space: nothing was written yet
        try:
            _write_all(fd, data)
            os.ftruncate(fd, len(data))
            os.fsync(fd)
        except BaseException:
            if original is not None:
                try:
                    _write_all(fd, original)
                    os.ftruncate(fd, len(original))
                    os.fsync(fd)
                except OSError:
                    pass
            raise
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    offset = 0
    while offset < len(view):
        offset += os.pwrite(fd, view[offset:], offset)


def fix_paths(paths: Iterable[str], settings: Settings, *, unsafe: bool = False, write: bool = True,
              stdin: Optional[bytes] = None, stdin_filename: Optional[str] = None, jobs: Optional[int] = 1,
              use_cache: bool = False) -> List[Tuple[FixOutcome, bytes]]:
    """Fix every file under `paths` (`-` is stdin, never written); with `write`, the
    changed files are written back. Returns each outcome with the bytes it ends with.

    jobs: worker processes, as for lint_paths (None: by the amount of work); each
    worker fixes and writes its own files. use_cache: a file whose cached result (for
    its current content) has no fix that would apply is not fixed again, and each
    file's final result is recorded for the next run."""
    files = discover(paths, settings)
    cache = None
    if use_cache:
        from leaklint.cache import Cache

        cache = Cache(settings.root, settings)
    out: List[Optional[Tuple[FixOutcome, bytes]]] = [None] * len(files)
    todo: List[Tuple[int, str, int]] = []
    for index, path in enumerate(files):
        if path == STDIN:
            outcome, data = fix_bytes(stdin or b"", stdin_filename or STDIN, settings, unsafe=unsafe)
            outcome.from_stdin = True
            out[index] = (outcome, data)
            continue
        if cache is None:
            try:
                size = os.stat(path).st_size
            except OSError:
                size = 0  # reported as unreadable by the worker
            todo.append((index, path, size))
            continue
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            todo.append((index, path, 0))
            continue
        cached = cache.get(path, data)
        if cached is not None and not any(d.fix is not None and d.fix.applies(unsafe) for d in cached):
            out[index] = (FixOutcome(path, "", "", diagnostics=cached), data)
            continue
        todo.append((index, path, len(data)))
    task = partial(fix_file, unsafe=unsafe, write=write)
    done = run_on_workers([(path, size) for _i, path, size in todo], settings, jobs, task)
    for (index, path, _size), (outcome, data, digest) in zip(todo, done):
        out[index] = (outcome, data)
        if cache is not None and digest is not None:
            cache.put_digest(path, digest, outcome.diagnostics)
    if cache is not None:
        cache.save()
    return out  # type: ignore[return-value]  # every slot is filled above


def fix_file(path: str, settings: Settings, *, unsafe: bool = False,
             write: bool = True) -> Tuple[FixOutcome, bytes, Optional[str]]:
    """Fix one file (and write it, with `write`), in a worker or here: the outcome as
    plain data (no libcst node), the bytes the file ends with, and their hash when the
    outcome's findings are those of these bytes (what the cache records)."""
    from leaklint.cache import content_hash

    try:
        with open(path, "rb") as handle:
            original = handle.read()
    except OSError:  # linting reports it as unreadable
        return FixOutcome(path, "", "", diagnostics=lint_file(path, settings).diagnostics), b"", None
    outcome, data = fix_bytes(original, path, settings, unsafe=unsafe)
    if write and outcome.changed:
        try:
            write_atomic(path, data, expected=original)
        except OSError as exc:
            outcome.error = (exc.strerror if isinstance(exc, ReadOnlyError)
                             else f"cannot write the fixed file: {exc.strerror or exc}")
            outcome.fixed, outcome.applied = outcome.original, []
            outcome.diagnostics = lint_source(original, path, settings).diagnostics
            data = original
    outcome.diagnostics = portable(FileResult(path, outcome.diagnostics)).diagnostics
    digest = None if (outcome.changed and not write) else content_hash(data)
    return outcome, data, digest


def unified_diff(path: str, before: str, after: str) -> str:
    """`--- path` / `+++ path` hunks, as ruff --diff prints them; '' when equal."""
    if before == after:
        return ""
    lines = []
    for line in difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                     fromfile=path, tofile=path):
        if not line.endswith(("\n", "\r")):
            line += "\n\\ No newline at end of file\n"
        lines.append(line)
    return "".join(lines)


def _fix_opcodes(module: cst.Module, diagnostic: Diagnostic):
    """(lines before, lines after, changed line ranges) of applying the diagnostic's fix
    alone to `module`; None when it has no automatic fix (or is in a notebook cell,
    whose lines are not the module's)."""
    if diagnostic.fix is None or not diagnostic.fix.edits or diagnostic.cell is not None:
        return None
    try:
        new = run_deep(lambda: apply_pass(module, [diagnostic]).module.code)
        old = run_deep(lambda: module.code)
    except (FixError, RecursionError):
        return None
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return before, after, [op for op in matcher.get_opcodes() if op[0] != "equal"]


def text_edits(module: cst.Module, diagnostic: Diagnostic) -> List[Tuple[int, int, int, int, str]]:
    """The fix of `diagnostic` (made against `module`) as replacements of whole lines of
    the module's text: (line, column, end_line, end_column, new text), 1-based, the end
    just past the replaced range, in file order — the shape SARIF `fixes` and editors
    take. Empty when there is no automatic fix, or for notebook cells."""
    found = _fix_opcodes(module, diagnostic)
    if found is None:
        return []
    _before, after, changes = found
    return [(i1 + 1, 1, i2 + 1, 1, "".join(after[j1:j2])) for _tag, i1, i2, j1, j2 in changes]


def fix_diff(module: cst.Module, diagnostic: Diagnostic) -> List[str]:
    """The fix of `diagnostic` as the lines it removes and adds, numbered as in the file
    before and after: `- 4 | old`, `+ 4 | new` (hunks in file order)."""
    found = _fix_opcodes(module, diagnostic)
    if found is None:
        return []
    before, after, changes = found
    width = len(str(max(len(before), len(after))))
    lines: List[str] = []
    for _tag, i1, i2, j1, j2 in changes:
        lines.extend(f"-{i + 1:>{width}} | {before[i].rstrip(chr(13) + chr(10))}".rstrip() for i in range(i1, i2))
        lines.extend(f"+{j + 1:>{width}} | {after[j].rstrip(chr(13) + chr(10))}".rstrip() for j in range(j1, j2))
    return lines
