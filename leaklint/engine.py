"""Lint one file: decode, pre-filter, parse once, walk once with every selected rule,
then turn findings into diagnostics (positions, noqa)."""
from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Type, Union

from leaklint import sieve
from leaklint.config import Settings
from leaklint.diagnostics import Diagnostic, Finding
from leaklint.textsearch import trie_regex
from leaklint.noqa import LineNoqa, file_noqa_codes, source_lines  # file_noqa_codes: notebook.py imports it from here
from leaklint.project import ModuleView, ProjectIndex, local_view, summarize_tree, summary_of

if TYPE_CHECKING:
    import libcst as cst

    from leaklint.context import FileContext
    from leaklint.rules import Rule

# libcst, the rules and the analyses on libcst's tree are imported when a file first
# reaches them (about a third of a second): a run that reads every result from the
# cache, or whose files no rule can match, never pays for them.

PARSE_ERROR = "LL001"


@dataclass
class SourceFile:
    """A file's text as Python reads it, plus what a fixer needs to write it back."""

    path: str
    text: str
    encoding: str = "utf-8"
    # for notebooks: maps a line of `text` to (cell, line in cell); set by the notebook reader
    line_map: Optional[Callable[[int], Tuple[Optional[int], int]]] = None
    is_notebook: bool = False


@dataclass
class FileResult:
    path: str
    diagnostics: List[Diagnostic] = field(default_factory=list)
    module: Optional["cst.Module"] = None  # kept for the fix engine when it asks
    # the file's project-index summary (leaklint.project), when it was asked for and the
    # file parses; what the index is built from
    summary: Optional[dict] = None


class DecodeError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def decode_source(data: bytes) -> Tuple[str, str]:
    """Decode as Python does: BOM, then a PEP 263 coding cookie, else UTF-8.
    Returns (text, encoding); raises DecodeError with a 1-based line."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        # a bad or unknown cookie: it sits on line 1 or 2
        first_two = data.split(b"\n", 2)[:2]
        line = 2 if len(first_two) == 2 and b"coding" in first_two[1] and b"coding" not in first_two[0] else 1
        raise DecodeError(line, str(exc.msg if getattr(exc, "msg", None) else exc)) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DecodeError(line, f"cannot decode as {encoding}: {exc.reason} at byte {exc.start}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, encoding


class _Dispatch:
    """visit_/leave_ handlers of the selected rules, indexed by node type."""

    def __init__(self, rules: Sequence["Rule"]) -> None:
        self.visit: Dict[type, List[Callable]] = {}
        self.leave: Dict[type, List[Callable]] = {}
        for rule in rules:
            for leaving, node_type, attr in _handlers(type(rule)):
                table = self.leave if leaving else self.visit
                table.setdefault(node_type, []).append(getattr(rule, attr))


_HANDLERS: Dict[type, List[Tuple[bool, type, str]]] = {}


def _handlers(rule: type) -> List[Tuple[bool, type, str]]:
    """A rule class's handlers: (leave?, node type, method name), found once per class
    (reading `dir()` per file cost more than some rules' whole walk)."""
    found = _HANDLERS.get(rule)
    if found is None:
        import libcst as cst

        found = []
        for attr in dir(rule):
            if attr.startswith("visit_"):
                leaving, name = False, attr[6:]
            elif attr.startswith("leave_"):
                leaving, name = True, attr[6:]
            else:
                continue
            node_type = getattr(cst, name, None)
            if not isinstance(node_type, type) or not issubclass(node_type, cst.CSTNode):
                raise TypeError(f"{rule.__name__}.{attr}: libcst has no node type {name!r}")
            found.append((leaving, node_type, attr))
        _HANDLERS[rule] = found
    return found


def _walk(module: "cst.Module", ctx: "FileContext", dispatch: _Dispatch) -> None:
    """One pre-order walk with enter/leave events, keeping ctx.stack and ctx.scope."""
    import libcst as cst

    from leaklint.analysis.scopes import Scope
    from leaklint.analysis.walk import SCOPE_NODES, iter_children

    visit, leave = dispatch.visit, dispatch.leave
    stack = ctx.stack
    # explicit stack of (node, children iterator) to survive deep nesting
    stack.append(module)
    for handler in visit.get(cst.Module, ()):
        handler(module)
    work: List[Tuple[cst.CSTNode, Iterable]] = [(module, iter_children(module))]
    while work:
        node, children = work[-1]
        child = next(children, None)
        if child is None:
            work.pop()
            for handler in leave.get(type(node), ()):
                handler(node)
            stack.pop()
            if ctx.scope.node is node:
                ctx.scope = ctx.scope.parent or ctx.scope
            continue
        stack.append(child)
        if type(child) in SCOPE_NODES:
            scope = Scope(child, ctx.scope)
            ctx.scopes[child] = scope
            ctx.scope = scope
        for handler in visit.get(type(child), ()):
            handler(child)
        work.append((child, iter_children(child)))


_selected: Dict[Tuple[Settings, bool, tuple], List[Type["Rule"]]] = {}


def selected_rules(settings: Settings, *, notebook: bool = False) -> List[Type["Rule"]]:
    from leaklint.rules import all_rules

    rules = tuple(all_rules())
    key = (settings, notebook, rules)
    found = _selected.get(key)
    if found is None:
        enabled = settings.enabled_codes()
        found = _selected[key] = [
            r for r in rules if r.code in enabled and r.code != PARSE_ERROR and (notebook or not r.notebook_only)
        ]
    return list(found)


_trigger_cache: Dict[Tuple, Optional["re.Pattern[str]"]] = {}


def trigger_pattern(rules: Sequence[Type["Rule"]], settings: Settings) -> Optional["re.Pattern[str]"]:
    """One regex matching any trigger of `rules`; None when some rule cannot tell
    (then every file is parsed)."""
    key = (tuple(r.code for r in rules), settings)
    if key not in _trigger_cache:
        knowledge = settings.knowledge()
        words = set()
        pattern: Optional[re.Pattern[str]] = None
        always = False
        for rule in rules:
            found = list(rule.triggers(knowledge))
            if not found:
                always = True
                break
            words.update(found)
        if not always and words:
            pattern = re.compile(trie_regex(words))
        elif not always:
            pattern = re.compile(r"(?!x)x")  # no rule selected: nothing can match
        _trigger_cache[key] = pattern
    return _trigger_cache[key]


def _suppressed(code: str, file_codes: Optional[frozenset]) -> bool:
    if file_codes is None:
        return False
    return not file_codes or any(code.startswith(c) for c in file_codes)


# The second pre-filter (leaklint.sieve); tests turn it off to prove it hides nothing.
SIEVE = True
# Positions from the findings' own top-level statements; tests compare with the whole module's.
PARTIAL_POSITIONS = True


def lint_text(source: SourceFile, settings: Settings, *, cpython_parsed: bool = False,
              tree: Optional[ast.Module] = None, whole: bool = False,
              project: Union[ModuleView, ProjectIndex, None] = None,
              want_summary: bool = False) -> FileResult:
    """Lint decoded source text. `cpython_parsed`: the caller (flake8) has already
    parsed it with CPython's parser, so the guard below need not parse it again; `tree`
    is that parse, when the caller has it. `whole`: parse the whole file with libcst,
    not only what the rules' candidates need (the fix engine writes the module back).
    `project`: the project index as this file sees it, or a whole index (the file's
    view of it is taken with its summary as it is now); without it the rules see the
    file's own facts only. `want_summary`: put the file's index summary in the result
    (parsing it for that alone when no rule needs it)."""
    result = FileResult(source.path)
    text = source.text
    file_codes = file_noqa_codes(text)
    if file_codes is not None and not file_codes:
        return result
    enabled = settings.enabled_codes()
    rules = selected_rules(settings, notebook=source.is_notebook)

    if "\x00" in text:  # CPython refuses these too; libcst would not
        line = text.count("\n", 0, text.index("\x00")) + 1
        _parse_error(result, source, settings, line, 1, "source contains a NUL byte", file_codes)
        return result
    # Files that hold none of the selected rules' trigger words need no libcst; CPython's
    # parse (the cheapest syntax check there is) still reports their syntax errors.
    if rules:
        pattern = trigger_pattern(rules, settings)
        if pattern is not None and pattern.search(text) is None and not _names_project_facts(text, project):
            _syntax_check(result, source, settings, cpython_parsed, file_codes,
                          want_summary and not source.is_notebook)
            return result
    else:  # LL001 alone (or nothing) selected: a syntax check of every file
        _syntax_check(result, source, settings, cpython_parsed, file_codes)
        return result
    # CPython's parser first: it is ~10x cheaper than libcst and guards it. libcst's
    # native parser can overflow the C stack on nesting CPython refuses (a segfault, not
    # an exception), and CPython's messages and positions are the ones users know.
    cpython_error = None
    if not cpython_parsed:
        tree, cpython_error = _cpython_parse(text)
    if cpython_error is not None and cpython_error.msg in _DEPTH_ERRORS:
        _report_syntax_error(result, source, settings, cpython_error, file_codes)
        return result
    parse_text = text
    line_map: Optional[List[int]] = None  # a slice's lines -> the file's
    aliases = None
    index = None
    if tree is not None and not source.is_notebook and (rules or want_summary):
        try:
            index = sieve.AstFile(tree, text, settings, settings.knowledge())
        except RecursionError:
            index = None
        try:  # a summary that fails (a bug) costs the index's facts, never the file's findings
            summary = summary_of(index, source.path) if index is not None else None
        except Exception:
            summary = None
        if want_summary:
            result.summary = summary
        if isinstance(project, ProjectIndex):  # a whole index (flake8, stdin): this file's view of it
            project = project.view_for(summary, source.path) if summary is not None else None
        if project is None:  # the file's own facts (flake8, stdin, the CLI's first pass)
            project = local_view(summary, source.path, settings.knowledge(), str(settings.root))
        if index is not None:
            index.project = project
    if index is not None and rules and SIEVE:
        try:
            kept = sieve.plan(rules, index)
            aliases = index.aliases
        except Exception:  # a candidate check that fails (deep nesting, a bug) hides nothing
            kept = sieve.WHOLE
        if kept is None:
            return result  # no rule has a candidate here: libcst is not needed
        if not whole:
            parse_text, line_map = sieve.slice_text(text, tree, kept)
    # where each top-level statement starts, for positions; the tree itself can go
    # before libcst's is built
    starts = None
    if tree is not None:  # and where the statements of each top-level class's body start
        starts = [(stmt.lineno, [s.lineno for s in stmt.body] if type(stmt) is ast.ClassDef else None)
                  for stmt in tree.body]
    tree = None
    import libcst as cst

    from leaklint.context import FileContext

    try:
        module = _parse_unvalidated(cst, parse_text)
    except Exception as exc:  # ParserSyntaxError, and the native parser's other complaints
        if parse_text is not text:  # a slice libcst refuses: judge the file as it is
            again = lint_text(source, settings, cpython_parsed=True, whole=True, project=project)
            again.summary = result.summary
            return again
        if cpython_error is not None:
            _report_syntax_error(result, source, settings, cpython_error, file_codes)
        elif isinstance(exc, cst.ParserSyntaxError):
            message = f"syntax error: {_first_line(exc.message)}"
            _parse_error(result, source, settings, exc.raw_line, exc.raw_column + 1, message, file_codes)
        else:
            _parse_error(result, source, settings, 1, 1, f"syntax error: {_first_line(str(exc))}", file_codes)
        return result
    # else: CPython may reject syntax newer than itself that libcst reads; go on

    if not rules:
        return result
    ctx = FileContext(source.path, text, module, settings, settings.knowledge(), is_notebook=source.is_notebook,
                      aliases=aliases, project=project)
    instances = [rule(ctx) for rule in rules]
    try:
        _walk(module, ctx, _Dispatch(instances))
        if not ctx.findings:
            return result
        result.diagnostics = _to_diagnostics(ctx.findings, source, module, enabled, file_codes, starts, line_map,
                                             settings.peer_noqa)
    except RecursionError:  # libcst's codegen recurses; CPython-legal nesting can exceed it
        result.diagnostics = []
        _parse_error(result, source, settings, 1, 1, "too deeply nested to analyse", file_codes)
        return result
    if parse_text is text:  # a slice is no module to write back
        result.module = module
    return result


def __getattr__(name: str):
    # `engine.cst`: libcst, imported when first asked for (tests spy on its parser)
    if name == "cst":
        import libcst

        return libcst
    raise AttributeError(name)


def _parse_unvalidated(cst, text: str) -> "cst.Module":
    """libcst's parse of `text`, without the check each new node runs on itself
    (`CSTNode._validate`, a sixth of the parse): what the parser builds is valid by
    construction, as libcst's own comment on `__post_init__` says. Nodes built later
    (fixes) are checked as usual."""
    node_class = cst.CSTNode
    check = node_class.__dict__.get("__post_init__")
    if check is None:  # a libcst that validates elsewhere: parse as it does
        return cst.parse_module(text)
    node_class.__post_init__ = _skip_validation
    try:
        return cst.parse_module(text)
    finally:
        node_class.__post_init__ = check


def _skip_validation(self) -> None:
    pass


def _names_project_facts(text: str, project: Union[ModuleView, ProjectIndex, None]) -> bool:
    """Whether `text` calls a project factory or resource class by name: the index's
    words widen the text pre-filter."""
    if project is None or not project.short_names:
        return False
    index = project if isinstance(project, ProjectIndex) else project.index
    pattern = index.trigger_pattern()
    return pattern is not None and pattern.search(text) is not None


def _syntax_check(result: FileResult, source: SourceFile, settings: Settings, cpython_parsed: bool,
                  file_codes: Optional[frozenset], want_summary: bool = False) -> None:
    """LL001 for a file no rule needs to parse (flake8 has parsed it already); and, when
    asked, its project-index summary from the same parse."""
    check = not cpython_parsed and settings.reports_parse_errors() and not _suppressed(PARSE_ERROR, file_codes)
    if not check and not want_summary:
        return
    tree, error = _cpython_parse(source.text)
    if error is not None:
        if check:
            _report_syntax_error(result, source, settings, error, file_codes)
        return
    if want_summary and tree is not None:
        result.summary = summarize_tree(tree, source.text, source.path, settings)


# CPython's own limits on nesting: a file it refuses for these is never given to libcst
_DEPTH_ERRORS = frozenset({"too many nested parentheses", "too deeply nested"})


def _cpython_parse(text: str) -> Tuple[Optional[ast.Module], Optional[SyntaxError]]:
    """CPython's tree of `text`, or its complaint. Parsing only: nothing is compiled."""
    try:
        return ast.parse(text), None
    except SyntaxError as err:
        return None, err
    except (RecursionError, MemoryError):
        return None, SyntaxError("too deeply nested", ("", 1, 1, ""))
    except ValueError as err:  # e.g. NUL bytes (caught earlier), surrogates
        return None, SyntaxError(str(err), ("", 1, 1, ""))


def _report_syntax_error(result: FileResult, source: SourceFile, settings: Settings, err: SyntaxError,
                         file_codes: Optional[frozenset]) -> None:
    message = f"syntax error: {err.msg}" if err.msg not in _DEPTH_ERRORS else f"{err.msg} for the parser"
    _parse_error(result, source, settings, err.lineno or 1, max(err.offset or 1, 1), message, file_codes)


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "syntax error"


def _parse_error(result: FileResult, source: SourceFile, settings: Settings, line: int, column: int,
                 message: str, file_codes: Optional[frozenset]) -> None:
    # reported whatever is selected (as ruff's syntax errors), unless explicitly ignored
    if not settings.reports_parse_errors() or _suppressed(PARSE_ERROR, file_codes):
        return
    from leaklint.rules import rules_by_code

    rule = rules_by_code()[PARSE_ERROR]
    cell, cell_line = source.line_map(line) if source.line_map else (None, line)
    lines = source_lines(source.text)
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    result.diagnostics.append(
        Diagnostic(PARSE_ERROR, rule.name, message, source.path,
                   cell_line, max(column, 1), cell_line, max(column, 1), cell=cell, source_line=source_line)
    )


def _to_diagnostics(findings: List[Finding], source: SourceFile, module: "cst.Module",
                    enabled: frozenset, file_codes: Optional[frozenset],
                    starts: Optional[list] = None, line_map: Optional[List[int]] = None,
                    peer_noqa: bool = True) -> List[Diagnostic]:
    from leaklint.analysis.deep import run_deep
    from leaklint.analysis.positions import compute_positions, positions_in_statements
    from leaklint.rules import rules_by_code

    positions = None
    if starts is not None and PARTIAL_POSITIONS:  # placed by the ast: the file's own lines
        positions = run_deep(positions_in_statements, module, findings, starts)
    if positions is None:
        positions = run_deep(compute_positions, module)
        if line_map is not None:  # a slice's lines: back to the file's
            last = len(line_map)
            positions = {node: ((line_map[min(a, last) - 1], b), (line_map[min(c, last) - 1], d))
                         for node, ((a, b), (c, d)) in positions.items()}
    lines = source_lines(source.text)
    names = {code: rule.name for code, rule in rules_by_code().items()}
    seen = set()
    out: List[Diagnostic] = []
    noqa = LineNoqa(source.text, lines, peer=peer_noqa)
    for finding in findings:
        if finding.code not in enabled or _suppressed(finding.code, file_codes):
            continue
        (line, col), (end_line, end_col) = positions.get(finding.node, ((1, 0), (1, 0)))
        if noqa.suppresses(line, finding.code, finding.node, finding.member):
            continue
        key = (finding.code, line, col, end_line, end_col, finding.message)
        if key in seen:  # two rules' walks may meet the same node; report a leak once
            continue
        seen.add(key)
        source_line = lines[line - 1] if 0 < line <= len(lines) else ""
        cell = None
        if source.line_map is not None:
            cell, line = source.line_map(line)
            end_cell, end_line = source.line_map(end_line)
            if end_cell != cell:
                end_line, end_col = line, col
        out.append(Diagnostic(finding.code, names[finding.code], finding.message, source.path,
                              line, col + 1, end_line, end_col + 1, finding.fix, cell=cell, node=finding.node,
                              source_line=source_line))
    out.sort(key=Diagnostic.sort_key)
    return out


def lint_bytes(data: bytes, path: str, settings: Settings, *, whole: bool = False,
               project: Optional[ModuleView] = None, want_summary: bool = False) -> FileResult:
    """Lint a Python file's raw bytes."""
    try:
        text, encoding = decode_source(data)
    except DecodeError as exc:
        result = FileResult(path)
        _parse_error(result, SourceFile(path, ""), settings, exc.line, 1, exc.message, None)
        return result
    return lint_text(SourceFile(path, text, encoding), settings, whole=whole, project=project,
                     want_summary=want_summary)


def report_unreadable(path: str, exc: OSError, settings: Settings) -> FileResult:
    """A file that vanished or cannot be read between discovery and reading."""
    result = FileResult(path)
    _parse_error(result, SourceFile(path, ""), settings, 1, 1, f"cannot read file: {exc.strerror or exc}", None)
    return result
