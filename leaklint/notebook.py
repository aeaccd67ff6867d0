""".ipynb in, cell-aware positions out.

A notebook's code cells are linted as one module, in order, since later cells use
what earlier ones define. IPython syntax is made opaque without moving any line:
a cell that starts with a `%%` cell magic is left out, and a `%magic`, `!shell` or
`name?` line becomes `pass` (`x = !ls` becomes `x = ...`). A code cell that still does
not parse is left out too and reported as LL001, so one broken cell does not hide the
findings in the others. A comment line marks where each cell starts (rules that care
about cells, LL304, read it with `cell_of_statements`), and positions are mapped back
to (cell, line in cell), cells numbered from 1 over all cells as Jupyter shows them.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple, Union

import libcst as cst

from leaklint.config import Settings
from leaklint.diagnostics import Applicability, Fix
from leaklint.engine import FileResult, SourceFile, _parse_error, file_noqa_codes, lint_text

SUFFIX = ".ipynb"

_MARKER = "# %% [leaklint cell {}]"
_MARKER_RE = re.compile(r"^# %% \[leaklint cell (\d+)\]$")
_ASSIGN_MAGIC = re.compile(r"^(\s*)([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*[!%]")
_HELP = re.compile(r"^\s*(?:\?\??[A-Za-z_][\w.]*\*?|[A-Za-z_][\w.]*\*?\?\??)\s*$")
# IPython's automagic: a magic or shell alias called without `%`, as notebooks often do
# (`pip install x`). Only when followed by something no Python expression can be:
# a word, a path, a quote or an option, and not a keyword (`ls if ok else x`).
_AUTOMAGIC = re.compile(
    r"^\s*(?:pip|conda|mamba|cd|ls|ll|pwd|env|cat|mkdir|rmdir|rm|cp|mv|load_ext|reload_ext|matplotlib|"
    r"pylab|timeit|time|run|who|whos|reset|history|store|autoreload|aimport|config|xmode|pdb|debug)"
    r"\s+(?!(?:if|else|in|is|and|or|not|for|async|await|lambda)\b)(?:-+[A-Za-z]|[A-Za-z0-9_./~'\"$])"
)
_PARSE_FLAGS = ast.PyCF_ONLY_AST | getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)


class NotebookError(Exception):
    """The file is not a notebook that can be read; line and column in the file."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


@dataclass
class Cell:
    number: int  # 1-based over all cells, code or not
    source: str


@dataclass
class BrokenCell:
    number: int
    line: int  # in the cell
    column: int
    message: str


@dataclass
class Notebook:
    """The code cells as one module's text, and where each of its lines came from."""

    text: str
    origins: List[Tuple[int, int]] = field(default_factory=list)  # text line -> (cell, line in cell)
    broken: List[BrokenCell] = field(default_factory=list)

    def line_map(self, line: int) -> Tuple[Optional[int], int]:
        if 0 < line <= len(self.origins):
            return self.origins[line - 1]
        if self.origins:  # past the end (an error at end of file): the last cell's next line
            cell, last = self.origins[-1]
            return cell, last + 1
        return None, line


# --- reading the JSON ---------------------------------------------------------------

def code_cells(data: bytes) -> List[Cell]:
    """The code cells of an nbformat 4 (or 3) notebook. Raises NotebookError when the
    bytes are not UTF-8 JSON or not shaped like a notebook; a notebook with no cells
    has no code cells."""
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise NotebookError(line, 1, f"notebook is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise NotebookError(exc.lineno, exc.colno, f"notebook is not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise NotebookError(1, 1, "notebook is not valid JSON: too deeply nested") from None
    if not isinstance(document, dict):
        raise NotebookError(1, 1, "not a Jupyter notebook: the top level is not a JSON object")
    if "cells" in document:
        cells = document["cells"]
        source_key = "source"
    else:  # nbformat 3: worksheets of cells, code in "input"
        cells = []
        worksheets = document.get("worksheets", [])
        if not isinstance(worksheets, list):
            raise NotebookError(1, 1, "not a Jupyter notebook: \"worksheets\" is not a list")
        for sheet in worksheets:
            if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list):
                cells.extend(sheet["cells"])
        source_key = "input"
    if not isinstance(cells, list):
        raise NotebookError(1, 1, "not a Jupyter notebook: \"cells\" is not a list")
    out: List[Cell] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        out.append(Cell(number, _joined(cell.get(source_key, ""))))
    return out


def _joined(source: object) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return ""


# --- IPython syntax -----------------------------------------------------------------

class _Scanner:
    """Just enough of Python's tokenizer to know whether a line starts a new logical
    line: open brackets, open strings, a trailing backslash."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: Optional[str] = None
        self.continued = False

    @property
    def at_logical_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.continued

    def feed(self, line: str) -> None:
        body = line.rstrip("\r\n")
        i, n = 0, len(body)
        comment = False
        while i < n:
            ch = body[i]
            if self.quote is not None:
                if ch == "\\":
                    i += 2
                    continue
                if body.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                    continue
                i += 1
                continue
            if ch == "#":
                comment = True
                break
            if ch in "'\"":
                self.quote = ch * 3 if body.startswith(ch * 3, i) else ch
                i += len(self.quote)
                continue
            if ch in "([{":
                self.depth += 1
            elif ch in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        self.continued = not comment and body.endswith("\\")
        if self.quote in ("'", '"') and not self.continued:
            self.quote = None  # a one-line string ends with its line


def opaque_ipython(source: str) -> str:
    """`source` with IPython-only lines replaced, keeping every line in place."""
    lines = source.splitlines(keepends=True)
    scanner = _Scanner()
    out: List[str] = []
    magic: Optional[_Scanner] = None  # a magic's logical line goes on: open brackets, a backslash
    for line in lines:
        ending = line[len(line.rstrip("\r\n")):]
        body = line[: len(line) - len(ending)]
        if magic is not None:
            magic.feed(body)
            if magic.at_logical_start:
                magic = None
            out.append(ending)
            continue
        if scanner.at_logical_start:
            stripped = body.lstrip()
            indent = body[: len(body) - len(stripped)]
            replacement = None
            if stripped[:1] in ("!", "%") or _HELP.match(body) or _AUTOMAGIC.match(body):
                replacement = f"{indent}pass"
            else:
                match = _ASSIGN_MAGIC.match(body)
                if match:
                    replacement = f"{match.group(1)}{match.group(2)} = ..."
            if replacement is not None:
                magic = _Scanner()
                magic.feed(body)
                if magic.at_logical_start:
                    magic = None
                out.append(replacement + ending)
                continue
        scanner.feed(body)
        out.append(line)
    return "".join(out)


def _is_cell_magic(source: str) -> bool:
    for line in source.splitlines():
        if line.strip():
            return line.startswith("%%")
    return False


# --- building the module ------------------------------------------------------------

def build(cells: List[Cell], path: str = "<notebook>") -> Notebook:
    """One module from the code cells, each introduced by a marker comment line."""
    parts: List[str] = []
    origins: List[Tuple[int, int]] = []
    broken: List[BrokenCell] = []
    for cell in cells:
        if not cell.source.strip() or _is_cell_magic(cell.source):
            continue
        code = opaque_ipython(cell.source)
        problem = _syntax_problem(code, path)
        if problem is not None:
            line, column, message = problem
            broken.append(BrokenCell(cell.number, line, column, message))
            continue
        if not code.endswith("\n"):
            code += "\n"
        parts.append(_MARKER.format(cell.number) + "\n")
        origins.append((cell.number, 1))
        parts.append(code)
        origins.extend((cell.number, n) for n in range(1, code.count("\n") + 1))
    return Notebook("".join(parts), origins, broken)


def _syntax_problem(code: str, path: str) -> Optional[Tuple[int, int, str]]:
    """Where and why a cell does not parse (parsed only, never compiled or run)."""
    try:
        compile(code, path, "exec", _PARSE_FLAGS, dont_inherit=True)
    except SyntaxError as exc:
        return exc.lineno or 1, max(exc.offset or 1, 1), f"syntax error: {exc.msg}; this cell is not linted"
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return 1, 1, f"syntax error: {exc}; this cell is not linted"
    return None


def cell_of_statements(module: cst.Module) -> Dict[int, int]:
    """id() of each top-level statement -> the number of the cell it is in, read from the
    marker comments the reader put before each cell."""
    current = 0
    for line in module.header:
        current = _marker(line) or current
    cells: Dict[int, int] = {}
    for statement in module.body:
        for line in statement.leading_lines:
            current = _marker(line) or current
        cells[id(statement)] = current
    return cells


def _marker(line: cst.EmptyLine) -> Optional[int]:
    if line.comment is None:
        return None
    match = _MARKER_RE.match(line.comment.value)
    return int(match.group(1)) if match else None


# --- linting ---------------------------------------------------------------------------

def lint_notebook(data: Union[bytes, str], path: str, settings: Settings) -> FileResult:
    """Lint a notebook's bytes: the code cells as one module, positions in cells."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        cells = code_cells(data)
    except NotebookError as exc:
        result = FileResult(path)
        _parse_error(result, SourceFile(path, ""), settings, exc.line, exc.column, exc.message, None)
        return result
    notebook = build(cells, path)
    source = SourceFile(path, notebook.text, line_map=notebook.line_map, is_notebook=True)
    # each cell in the text was parsed by CPython above (the broken ones are left out)
    result = lint_text(source, settings, cpython_parsed=True)
    # the fix engine rewrites Python files, not a notebook's JSON: in a notebook a fix
    # is a suggestion, so nothing is marked fixable that --fix would not fix
    result.diagnostics = [
        replace(d, fix=Fix(Applicability.SUGGESTED, d.fix.description))
        if d.fix is not None and d.fix.applicability is not Applicability.SUGGESTED else d
        for d in result.diagnostics
    ]
    if notebook.broken:
        # one LL001 per notebook, as for a file, on the first cell that does not parse
        first = notebook.broken[0]
        message = first.message
        if len(notebook.broken) > 1:
            others = len(notebook.broken) - 1
            message += f" (nor {others} more cell{'s' if others > 1 else ''} that do not parse)"
        cell_source = SourceFile(path, "", line_map=lambda line, cell=first.number: (cell, line))
        _parse_error(result, cell_source, settings, first.line, first.column, message, file_noqa_codes(notebook.text))
        result.diagnostics.sort(key=lambda d: d.sort_key())
    return result


def from_script(script: str) -> str:
    """A notebook (JSON) from a percent-format script, where a `# %%` line starts each
    cell (as jupytext writes them): how rule examples and tests spell a notebook."""
    cells: List[List[str]] = [[]]
    for line in script.splitlines(keepends=True):
        if line.rstrip() == "# %%":
            cells.append([])
        else:
            cells[-1].append(line)
    if not cells[0]:
        cells.pop(0)
    document = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
             "source": lines[:-1] + [lines[-1].rstrip("\n")] if lines else []}
            for lines in cells
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, indent=1) + "\n"
