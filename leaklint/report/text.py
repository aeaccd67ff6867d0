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
    unsafe = getattr(options, "unsafe_fixes", False)
    for d in diagnostics:
        # `[*]`: --fix (with the flags given) would fix it, as ruff marks them
        mark = "[*] " if d.fix is not None and d.fix.applies(unsafe) else ""
        if options.color:
            stream.write(f"{_BOLD}{location(d)}{_RESET}: {_RED}{_BOLD}{d.code}{_RESET} {mark}{d.message}\n")
        else:
            stream.write(f"{location(d)}: {d.code} {mark}{d.message}\n")
    if options.quiet:
        return
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
