"""Line and column of nodes, computed only for files that have findings.

libcst's PositionProvider goes through MetadataWrapper and builds a CodeRange for every
node; this is the same codegen walk with plain tuples, about 4x cheaper, and the result
is identical (checked by tests/test_positions.py).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import libcst as cst

try:  # private, but stable across libcst 1.x; fall back to the public provider if it moves
    from libcst._nodes.internal import CodegenState
except ImportError:  # pragma: no cover
    CodegenState = None  # type: ignore[assignment,misc]

Pos = Tuple[int, int]  # (1-based line, 0-based column)
Range = Tuple[Pos, Pos]


if CodegenState is not None:

    class _PositionState(CodegenState):  # type: ignore[misc,valid-type]
        def __init__(self, module: cst.Module) -> None:
            super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
            self.line = 1
            self.column = 0
            self._starts: list = []
            self.positions: Dict[cst.CSTNode, Range] = {}

        def _advance(self, value: str) -> None:
            if "\n" in value or "\r" in value:
                value = value.replace("\r\n", "\n").replace("\r", "\n")
                self.line += value.count("\n")
                self.column = len(value) - value.rfind("\n") - 1
            else:
                self.column += len(value)

        def add_indent_tokens(self) -> None:
            self.tokens.extend(self.indent_tokens)
            for token in self.indent_tokens:
                self._advance(token)

        def add_token(self, value: str) -> None:
            self.tokens.append(value)
            self._advance(value)

        def before_codegen(self, node: cst.CSTNode) -> None:
            self._starts.append((self.line, self.column))

        def after_codegen(self, node: cst.CSTNode) -> None:
            start = self._starts.pop()
            if node not in self.positions:  # a syntactic position recorded inside wins
                self.positions[node] = (start, (self.line, self.column))

        @contextmanager
        def record_syntactic_position(
            self,
            node: cst.CSTNode,
            *,
            start_node: Optional[cst.CSTNode] = None,
            end_node: Optional[cst.CSTNode] = None,
        ) -> Iterator[None]:
            start = (self.line, self.column)
            try:
                yield
            finally:
                end = (self.line, self.column)
                if start_node is not None:
                    start = self.positions[start_node][0]
                if end_node is not None:
                    end = self.positions[end_node][1]
                self.positions[node] = (start, end)


def compute_positions(module: cst.Module) -> Dict[cst.CSTNode, Range]:
    """Syntactic range of every node of `module` (whitespace excluded, as libcst's
    PositionProvider): ((line, col), (end_line, end_col)), columns 0-based."""
    if CodegenState is not None:
        state = _PositionState(module)
        module._codegen(state)
        return state.positions
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)  # pragma: no cover
    ranges = wrapper.resolve(cst.metadata.PositionProvider)  # pragma: no cover
    return {  # pragma: no cover
        n: ((r.start.line, r.start.column), (r.end.line, r.end.column)) for n, r in ranges.items()
    }


def positions_in_statements(module: cst.Module, findings: Sequence, starts: list) -> Optional[Dict[cst.CSTNode, Range]]:
    """The ranges of the findings' nodes, each found by a codegen of the statement it
    was reported in alone -- of the module, or of a top-level class's body -- placed by
    where CPython's tree says that statement starts. `starts`: for each statement of
    the ast's module body, (its line, the lines of its body's statements if a class).
    None when it cannot tell (a finding outside any statement, a node outside its own,
    trees that do not line up): then the caller codegens the whole module."""
    if CodegenState is None or not findings:
        return None
    top_lines = _statement_lines(module.body, [line for line, _ in starts])
    if top_lines is None:
        return None
    found: Dict[cst.CSTNode, Range] = {}
    done: Dict[cst.CSTNode, Dict[cst.CSTNode, Range]] = {}
    for finding in findings:
        top, member = finding.top, finding.member
        if top is None or top not in top_lines:
            return None
        statement, line, indent = top, top_lines[top], None
        body = getattr(top, "body", None)
        if member is not None and type(body) is cst.IndentedBlock:  # not `class A: x = 1`
            members = starts[_index_of(module.body, top)][1]
            lines = _statement_lines(body.body, members) if members is not None else None
            if lines is not None and member in lines:
                statement, line = member, lines[member]
                indent = module.default_indent if body.indent is None else body.indent
        ranges = done.get(statement)
        if ranges is None:
            ranges = done[statement] = _placed(module, statement, line, indent)
            if ranges is None:
                return None
        if finding.node not in ranges:
            return None
        found[finding.node] = ranges[finding.node]
    return found


def _index_of(body: Sequence[cst.CSTNode], node: cst.CSTNode) -> int:
    """The position in the ast's statement list of `node` of libcst's `body`."""
    count = 0
    for statement in body:
        if statement is node:
            return count
        count += len(statement.body) if type(statement) is cst.SimpleStatementLine else 1  # type: ignore[attr-defined]
    raise ValueError("not in body")


def _statement_lines(body: Sequence[cst.CSTNode], lines: List[int]) -> Optional[Dict[cst.CSTNode, int]]:
    """libcst's statements of a body, each with the line the ast gives its first
    statement; None when the counts differ (the ast splits `a; b`, libcst does not)."""
    out: Dict[cst.CSTNode, int] = {}
    count = 0
    for statement in body:
        if count >= len(lines):
            return None
        out[statement] = lines[count]
        count += len(statement.body) if type(statement) is cst.SimpleStatementLine else 1  # type: ignore[attr-defined]
    return out if count == len(lines) else None


def _placed(module: cst.Module, statement: cst.CSTNode, line: int,
            indent: Optional[str]) -> Optional[Dict[cst.CSTNode, Range]]:
    state = _PositionState(module)
    if indent is not None:  # a class body's statement: indented as in its block
        state.increase_indent(indent)
    statement._codegen(state)
    own = state.positions.get(statement)
    if own is None:
        return None
    shift = line - own[0][0]
    return {n: ((a + shift, b), (c + shift, d)) for n, ((a, b), (c, d)) in state.positions.items()}
