"""`--format json`: one array; the element shape is a public contract (SPEC section 2)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, List, TextIO

from leaklint.diagnostics import Diagnostic

if TYPE_CHECKING:
    from leaklint.report import ReportOptions


def write(diagnostics: List[Diagnostic], stream: TextIO, options: "ReportOptions") -> None:
    json.dump([d.to_dict() for d in diagnostics], stream, indent=2, ensure_ascii=False)
    stream.write("\n")
