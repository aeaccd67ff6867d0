""".ipynb in, cell-aware positions out, fixed cells back in.

A notebook's code cells are linted as one module, in order, since later cells use
what earlier ones define; a notebook whose kernel is not Python is skipped. IPython
syntax is made opaque without moving any line: a cell that starts with a `%%` cell
magic is left out unless the magic runs its body as Python (`%%time`, `%%timeit`,
`%%capture`...), and a `%magic`, `!shell` or `name?` line becomes `pass` (`x = !ls`
becomes `x = ...`). A code cell that still does not parse, or is not shaped as
nbformat says, is left out and reported as LL001, so one broken cell does not hide
the findings in the others. A comment line marks where each cell starts (rules that
care about cells, LL304, read it with `cell_of_statements`; the fix engine splits the
fixed module on it), and positions are mapped back to (cell, line in cell), cells
numbered from 1 over all cells as Jupyter shows them.
"""
from __future__ import annotations

import ast
import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple, Union

import libcst as cst

from leaklint.config import Settings
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
    problem: Optional[str] = None  # the cell is not shaped as nbformat says: LL001
    raw: Optional[dict] = field(default=None, repr=False, compare=False)  # the cell's JSON object
    key: str = "source"  # where its code is ("input" in nbformat 3)


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
    # cell number -> (the cell, its code as put in `text`): what the fix engine maps back
    included: Dict[int, Tuple[Cell, str]] = field(default_factory=dict)

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
    has no code cells. A cell that is not shaped as nbformat says (not an object, a
    source that is neither a string nor a list of strings) is kept with its `problem`."""
    return read(data)[1]


def read(data: Union[bytes, str]) -> Tuple[dict, List[Cell]]:
    """The notebook's JSON document and its code cells (see code_cells)."""
    if isinstance(data, str):
        raw = data[1:] if data.startswith("\ufeff") else data
    else:
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
        if not isinstance(cell, dict):
            out.append(Cell(number, "", f"cell {number} is a JSON {_json_type(cell)}, not an object with "
                                        "\"cell_type\" and \"source\"; it is not linted"))
            continue
        if cell.get("cell_type") != "code":
            continue
        source = cell.get(source_key, "")
        text = _joined(source)
        problem = None
        if text is None:
            problem = (f"the \"{source_key}\" of cell {number} is a JSON {_json_type(source)}; nbformat "
                       "allows a string or a list of strings; this cell is not linted")
            text = ""
        out.append(Cell(number, text, problem, cell, source_key))
    return document, out


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list of " + ", ".join(sorted({_json_type(v) for v in value})) if value else "list"
    if value is None:
        return "null"
    return "object"


def _joined(source: object) -> Optional[str]:
    """A cell's source as one string (nbformat: a string, or a list of strings, its
    lines); None when it is neither."""
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    return None


# Kernel languages whose code cells are Python (IPython's, with its magics).
_PYTHON_LANGUAGE = re.compile(r"i?python[\s\d.]*", re.IGNORECASE)


def is_python(document: dict) -> bool:
    """Whether the notebook's kernel runs Python: a notebook that names another
    language (metadata.language_info.name or metadata.kernelspec.language: R, Julia,
    Scala...) is skipped, as ruff does. One that names none is taken for Python."""
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return True
    named = []
    info = metadata.get("language_info")
    if isinstance(info, dict) and isinstance(info.get("name"), str):
        named.append(info["name"])
    spec = metadata.get("kernelspec")
    if isinstance(spec, dict) and isinstance(spec.get("language"), str):
        named.append(spec["language"])
    return all(_PYTHON_LANGUAGE.fullmatch(name.strip()) for name in named)


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


# Cell magics that run their body as Python in the kernel (timing, profiling,
# capturing output, the debugger) or in a Python subprocess: the body is linted, the
# magic line made opaque like a line magic. Any other (`%%bash`, `%%html`, `%%sql`,
# `%%writefile`) holds another language or plain text: the cell is skipped.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit", "python", "python3",
                                "pypy"})


def _is_cell_magic(source: str) -> bool:
    """Whether the cell starts with a cell magic whose body is not Python."""
    for line in source.splitlines():
        if line.strip():
            if not line.startswith("%%"):
                return False
            name = line[2:].split(None, 1)[0] if line[2:].strip() else ""
            return name not in PYTHON_CELL_MAGICS
    return False


# --- building the module ------------------------------------------------------------

def build(cells: List[Cell], path: str = "<notebook>") -> Notebook:
    """One module from the code cells, each introduced by a marker comment line."""
    parts: List[str] = []
    origins: List[Tuple[int, int]] = []
    broken: List[BrokenCell] = []
    included: Dict[int, Tuple[Cell, str]] = {}
    for cell in cells:
        if cell.problem is not None:
            broken.append(BrokenCell(cell.number, 1, 1, cell.problem))
            continue
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
        included[cell.number] = (cell, code)
    return Notebook("".join(parts), origins, broken, included)


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
        document, cells = read(data)
    except NotebookError as exc:
        result = FileResult(path)
        _parse_error(result, SourceFile(path, ""), settings, exc.line, exc.column, exc.message, None)
        return result
    if not is_python(document):
        return FileResult(path)
    notebook = build(cells, path)
    result = lint_built(notebook.text, path, settings, notebook.line_map)
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


def lint_built(text: str, path: str, settings: Settings,
               line_map: Optional[Callable[[int], Tuple[Optional[int], int]]] = None) -> FileResult:
    """Lint the module made of a notebook's cells (by `build`, or as the fix engine
    rewrote it: then the cells are found again from its marker lines)."""
    source = SourceFile(path, text, line_map=line_map or _marker_line_map(text), is_notebook=True)
    # each cell in the text was parsed by CPython (the broken ones are left out), and a
    # fixed text was parsed again by the fix engine
    return lint_text(source, settings, cpython_parsed=True)


def _marker_line_map(text: str) -> Callable[[int], Tuple[Optional[int], int]]:
    origins: List[Tuple[int, int]] = []
    cell, line = 0, 0
    for raw in text.splitlines():
        match = _MARKER_RE.match(raw)
        if match:
            cell, line = int(match.group(1)), 0
        line += 1
        origins.append((cell or 1, line))
    return Notebook(text, origins).line_map


# --- writing fixes back ---------------------------------------------------------------

@dataclass
class Fixable:
    """A notebook read for the fix engine: the module it lints, and how to put a fixed
    module back into the same JSON."""

    raw: str
    document: dict
    notebook: Notebook
    layout: Dict[str, object]

    @property
    def text(self) -> str:
        return self.notebook.text

    def write_back(self, fixed: str) -> str:
        """The notebook's JSON with each code cell's source taken from `fixed` (the
        module after fixes): outputs, metadata, key order, indentation and the final
        newline are kept; IPython lines are put back as they were. Raises
        NotebookError when that cannot be done exactly (a fix moved a cell marker or
        rewrote an IPython line)."""
        pieces = _split_cells(fixed)
        if [number for number, _code in pieces] != list(self.notebook.included):
            raise NotebookError(1, 1, "the fixes moved a cell boundary")
        for number, code in pieces:
            cell, built = self.notebook.included[number]
            if code == built:
                continue
            source = _restore(cell.source, built, code)
            assert cell.raw is not None
            old = cell.raw.get(cell.key)
            cell.raw[cell.key] = source.splitlines(keepends=True) if isinstance(old, list) else source
        return _dump(self.document, self.layout)


def for_fixing(raw: str) -> Optional[Fixable]:
    """The notebook ready for the fix engine; None when it cannot be written back as
    it was read (not a notebook, not Python, or JSON laid out in a way `json` does not
    write: then its fixes are not applied)."""
    try:
        document, cells = read(raw)
    except NotebookError:
        return None
    if not is_python(document):
        return None
    layout = _layout(raw, document)
    if layout is None:
        return None
    return Fixable(raw, document, build(cells), layout)


def _layout(raw: str, document: dict) -> Optional[Dict[str, object]]:
    """How `json.dumps` reproduces this file byte for byte (indent, ASCII escapes, line
    ending, final newline), or None if it does not."""
    body = raw[1:] if raw.startswith("\ufeff") else raw
    match = re.match(r"[\[{]\r?\n([ \t]+)", body)
    newline = "\r\n" if "\r\n" in body else "\n"
    stripped = body.rstrip("\r\n")
    layout: Dict[str, object] = {
        "indent": match.group(1) if match else None,
        "ensure_ascii": not any(ord(ch) > 127 for ch in body) and "\\u" in body,
        "newline": newline,
        "end": body[len(stripped):],
        "bom": raw[:len(raw) - len(body)],
    }
    if _dump(document, layout) != raw:
        return None
    return layout


def _dump(document: dict, layout: Dict[str, object]) -> str:
    text = json.dumps(document, indent=layout["indent"], ensure_ascii=bool(layout["ensure_ascii"]))  # type: ignore[arg-type]
    if layout["newline"] != "\n":  # JSON strings escape their newlines: these are the layout's
        text = text.replace("\n", str(layout["newline"]))
    return f"{layout['bom']}{text}{layout['end']}"


def _split_cells(text: str) -> List[Tuple[int, str]]:
    """(cell number, code) for each marker line of a fixed module, in order. What a fix
    put before the first marker (an import, at the top of the module) joins the first
    cell."""
    pieces: List[Tuple[int, List[str]]] = []
    before: List[str] = []
    for line in text.splitlines(keepends=True):
        match = _MARKER_RE.match(line.rstrip("\r\n"))
        if match:
            pieces.append((int(match.group(1)), []))
        elif pieces:
            pieces[-1][1].append(line)
        else:
            before.append(line)
    if pieces and before:
        pieces[0] = (pieces[0][0], before + pieces[0][1])
    return [(number, "".join(lines)) for number, lines in pieces]


def _restore(original: str, built: str, fixed: str) -> str:
    """The cell's new source: `fixed` (its code after the fixes), with the lines the
    fixes did not touch taken from `original`, so IPython lines (made opaque in
    `built`) come back as they were. A fix that rewrote one of those lines cannot be
    mapped back: NotebookError."""
    lines = original.splitlines(keepends=True)
    missing_newline = not original.endswith(("\n", "\r"))
    if lines and missing_newline:
        lines[-1] += "\n"  # as `build` added it
    opaque = built.splitlines(keepends=True)
    new = fixed.splitlines(keepends=True)
    out: List[str] = []
    matcher = difflib.SequenceMatcher(None, opaque, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(lines[i1:i2])
            continue
        if any(lines[k] != opaque[k] for k in range(i1, i2)):
            raise NotebookError(1, 1, "a fix would rewrite an IPython line")
        out.extend(new[j1:j2])
    source = "".join(out)
    if missing_newline and source.endswith("\n"):
        source = source[:-1]
    return source


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
