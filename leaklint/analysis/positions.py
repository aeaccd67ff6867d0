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


def positions_in_statements(module: cst.Module, nodes: Sequence[cst.CSTNode],
                            tops: Sequence[Optional[cst.CSTNode]], starts: List[int]) -> Optional[Dict[cst.CSTNode, Range]]:
    """The ranges of `nodes`, each found in its top-level statement in `tops` alone,
    placed by where CPython's tree says that statement starts (`starts`: the line of each
    statement of the ast's module body). A codegen of a few statements instead of the
    whole module. None when it cannot tell (a node outside its statement, a statement
    the two trees do not line up on): then the caller codegens the whole module."""
    if CodegenState is None or not nodes or any(top is None for top in tops):
        return None
    index_of: Dict[cst.CSTNode, int] = {}
    count = 0  # the ast splits `a; b` into two statements, libcst keeps one line
    for statement in module.body:
        index_of[statement] = count
        count += len(statement.body) if type(statement) is cst.SimpleStatementLine else 1
    if count != len(starts):
        return None
    found: Dict[cst.CSTNode, Range] = {}
    done: Dict[cst.CSTNode, Dict[cst.CSTNode, Range]] = {}
    for node, top in zip(nodes, tops):
        ranges = done.get(top)  # type: ignore[arg-type]
        if ranges is None:
            if top not in index_of:
                return None
            state = _PositionState(module)
            top._codegen(state)  # type: ignore[union-attr]
            own = state.positions.get(top)  # type: ignore[arg-type]
            if own is None:
                return None
            shift = starts[index_of[top]] - own[0][0]  # type: ignore[index]
            ranges = done[top] = {  # type: ignore[index]
                n: ((a + shift, b), (c + shift, d)) for n, ((a, b), (c, d)) in state.positions.items()
            }
        if node not in ranges:
            return None
        found[node] = ranges[node]
    return found
