"""Text output, as ruff prints it. `full` (the default): `path:line:col: CODE message`,
the message wrapped, then the offending source line with a caret under the span, the
fix's description and, where the fix engine could say (options.fix_diff), the fix as
a short diff. `concise`: the first line only, one line per finding, as flake8 prints.
Coloured on a terminal."""
from __future__ import annotations

import shutil
import textwrap
from typing import TYPE_CHECKING, List, Optional, TextIO

from leaklint.diagnostics import Applicability, Diagnostic

if TYPE_CHECKING:
    from leaklint.report import ReportOptions

_BOLD, _RED, _BLUE, _GREEN, _CYAN, _RESET = "\033[1m", "\033[31m", "\033[34m", "\033[32m", "\033[36m", "\033[0m"

# a diff longer than this is cut (the rest: `--diff`)
MAX_DIFF_LINES = 12


def location(d: Diagnostic) -> str:
    cell = f"cell {d.cell}:" if d.cell is not None else ""
    return f"{d.path}:{cell}{d.line}:{d.column}"


def _mark(d: Diagnostic, unsafe: bool) -> str:
    # `[*]`: --fix (with the flags given) would fix it, as ruff marks them
    return "[*] " if d.fix is not None and d.fix.applies(unsafe) else ""


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color and text else text


def write_concise(diagnostics: List[Diagnostic], stream: TextIO, options: "ReportOptions") -> None:
    unsafe = getattr(options, "unsafe_fixes", False)
    for d in diagnostics:
        stream.write(_header(d, unsafe, options.color) + "\n")
    _summary(diagnostics, stream, options)


def _header(d: Diagnostic, unsafe: bool, color: bool) -> str:
    mark = _mark(d, unsafe)
    if color:
        return f"{_BOLD}{location(d)}{_RESET}: {_RED}{_BOLD}{d.code}{_RESET} {mark}{d.message}"
    return f"{location(d)}: {d.code} {mark}{d.message}"


def width() -> int:
    """Where messages wrap: the terminal's width ($COLUMNS), 100 when not a terminal."""
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def write(diagnostics: List[Diagnostic], stream: TextIO, options: "ReportOptions") -> None:
    """The `full` format."""
    unsafe = getattr(options, "unsafe_fixes", False)
    fix_diff = getattr(options, "fix_diff", None)
    columns = width()
    for d in diagnostics:
        mark = _mark(d, unsafe)
        head = f"{location(d)}: {d.code} {mark}"
        lines = textwrap.wrap(d.message, width=max(columns - len(head), 40), break_long_words=False,
                              break_on_hyphens=False) or [""]
        first = lines[0]
        if options.color:
            stream.write(f"{_BOLD}{location(d)}{_RESET}: {_RED}{_BOLD}{d.code}{_RESET} {mark}{first}\n")
        else:
            stream.write(f"{head}{first}\n")
        rest = " ".join(lines[1:])
        for more in textwrap.wrap(rest, width=columns - 2, break_long_words=False, break_on_hyphens=False):
            stream.write(f"  {more}\n")
        stream.write(_snippet(d, options.color))
        stream.write(_help(d, fix_diff(d) if fix_diff is not None else None, options.color))
        stream.write("\n")
    _summary(diagnostics, stream, options)


def _snippet(d: Diagnostic, color: bool) -> str:
    """The reported line, numbered, with `^` under the reported span (to the end of the
    line when the span goes on); nothing when the line is not known (a cached result
    from before, a file that could not be read)."""
    text = d.source_line.rstrip("\r\n")
    if not text.strip():
        return ""
    number = str(d.line)
    gutter = " " * len(number)
    start = max(d.column - 1, 0)
    end = d.end_column - 1 if d.end_line == d.line and d.end_column > d.column else len(text)
    end = max(min(end, len(text)), start + 1)
    # keep tabs under tabs, so the caret lines up however wide the terminal shows one
    pad = "".join("\t" if ch == "\t" else " " for ch in text[:start])
    bar = _paint("|", _BLUE, color)
    carets = _paint("^" * (end - start), _RED, color)
    return (f"{gutter} {bar}\n"
            f"{_paint(number, _BLUE, color)} {bar} {text}\n"
            f"{gutter} {bar} {pad}{carets} {_paint(d.code, _RED, color)}\n"
            f"{gutter} {bar}\n")


def _help(d: Diagnostic, diff: Optional[List[str]], color: bool) -> str:
    fix = d.fix
    if fix is None:
        return ""
    kind = {Applicability.SAFE: "safe fix", Applicability.UNSAFE: "unsafe fix"}.get(fix.applicability, "suggestion")
    columns = width()
    out = [line + "\n" for line in textwrap.wrap(f"= help ({kind}): {fix.description}", width=columns - 2,
                                                 initial_indent="  ", subsequent_indent="    ",
                                                 break_long_words=False, break_on_hyphens=False)]
    if diff:
        shown = diff[:MAX_DIFF_LINES]
        for line in shown:
            paint = _GREEN if line.startswith("+") else _RED if line.startswith("-") else ""
            out.append("    " + (_paint(line, paint, color) if paint else line) + "\n")
        if len(diff) > len(shown):
            out.append(f"    ... {len(diff) - len(shown)} more lines (see --diff)\n")
    return "".join(out)


def _summary(diagnostics: List[Diagnostic], stream: TextIO, options: "ReportOptions") -> None:
    if options.quiet:
        return
    unsafe = getattr(options, "unsafe_fixes", False)
    count = len(diagnostics)
    fixed = getattr(options, "fixed", 0)
    if fixed:
        total = count + fixed
        stream.write(f"Found {total} {_findings(total)} ({fixed} fixed, {count} remaining).\n")
    elif count:
        stream.write(f"Found {count} {_findings(count)}.\n")
    else:
        stream.write("All checks passed!\n")
    hint = fix_hint(diagnostics, unsafe)
    if hint:
        stream.write(hint + "\n")


def _findings(count: int) -> str:
    return "finding" if count == 1 else "findings"


def fix_hint(diagnostics: List[Diagnostic], unsafe: bool) -> str:
    """How many findings the fix options would fix, as ruff says it."""
    fixable = sum(1 for d in diagnostics if d.fix is not None and d.fix.applies(unsafe))
    hidden = 0 if unsafe else sum(1 for d in diagnostics if d.fix is not None and d.fix.applies(True)
                                   and not d.fix.applies(False))
    flags = "`--fix --unsafe-fixes` options" if unsafe and any(
        d.fix is not None and not d.fix.applies(False) and d.fix.applies(True) for d in diagnostics
    ) else "`--fix` option"
    more = f" ({hidden} hidden {'fix' if hidden == 1 else 'fixes'} can be enabled with the `--unsafe-fixes` option)" if hidden else ""
    if fixable:
        return f"[*] {fixable} fixable with the {flags}{more}."
    if hidden:
        return f"No fixes available{more}."
    return ""


def write_statistics(diagnostics: List[Diagnostic], stream: TextIO) -> None:
    """Count per code, most frequent first (ruff's --statistics)."""
    counts = {}
    names = {}
    for d in diagnostics:
        counts[d.code] = counts.get(d.code, 0) + 1
        names[d.code] = d.name
    width = max((len(str(c)) for c in counts.values()), default=1)
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        stream.write(f"{count:>{width}}  {code}  {names[code]}\n")
