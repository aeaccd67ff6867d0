"""`path:line:col: LLnnn message`, as flake8 and ruff print; coloured on a terminal."""
from __future__ import annotations

from typing import TYPE_CHECKING, List, TextIO

from leaklint.diagnostics import Diagnostic

if TYPE_CHECKING:
    from leaklint.report import ReportOptions

_BOLD, _RED, _RESET = "\033[1m", "\033[31m", "\033[0m"


def location(d: Diagnostic) -> str:
    cell = f"cell {d.cell}:" if d.cell is not None else ""
    return f"{d.path}:{cell}{d.line}:{d.column}"


def write(diagnostics: List[Diagnostic], stream: TextIO, options: "ReportOptions") -> None:
    for d in diagnostics:
        if options.color:
            stream.write(f"{_BOLD}{location(d)}{_RESET}: {_RED}{_BOLD}{d.code}{_RESET} {d.message}\n")
        else:
            stream.write(f"{location(d)}: {d.code} {d.message}\n")
    if options.quiet:
        return
    count = len(diagnostics)
    if count:
        noun = "finding" if count == 1 else "findings"
        stream.write(f"Found {count} {noun}.\n")
    else:
        stream.write("All checks passed!\n")


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
