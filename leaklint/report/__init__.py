"""Reporters: formatting only. Each takes the diagnostics of a run and a stream."""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, TextIO

from leaklint.diagnostics import Diagnostic
from leaklint.report import github, json_format, sarif, text

Reporter = Callable[[List[Diagnostic], TextIO, "ReportOptions"], None]


class ReportOptions:
    def __init__(self, color: bool = False, quiet: bool = False, files: int = 0,
                 fix_edits: Optional[Callable[[Diagnostic], Sequence["sarif.TextEdit"]]] = None) -> None:
        self.color = color
        self.quiet = quiet
        self.files = files
        # the text edits of a diagnostic's fix, from the fix engine, for SARIF `fixes`
        self.fix_edits = fix_edits

    # set by the CLI: whether unsafe fixes count as fixable (--unsafe-fixes), and how
    # many findings --fix fixed
    unsafe_fixes: bool = False
    fixed: int = 0
    # for the full text format: a diagnostic's fix as diff lines ("- 4 | old", "+ 4 | new"),
    # from the fix engine; None when not computed
    fix_diff: Optional[Callable[[Diagnostic], Optional[List[str]]]] = None


FORMATS: Dict[str, Reporter] = {
    "full": text.write,
    "concise": text.write_concise,
    "text": text.write,  # the name before --output-format: the full format
    "json": json_format.write,
    "sarif": sarif.write,
    "github": github.write,
}

# the formats that write text for a person (colour, statistics beside them)
TEXT_FORMATS = frozenset({"full", "concise", "text"})
