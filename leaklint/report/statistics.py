"""`--statistics`: one row per code instead of the findings, as ruff prints it.

A code is marked `[*]` when `--fix` (with the flags given) would fix at least one of its
findings, `[ ]` otherwise.
"""
from __future__ import annotations

import json
from typing import Dict, List, TextIO

from leaklint.diagnostics import Applicability, Diagnostic


def _fixable(d: Diagnostic, unsafe_fixes: bool) -> bool:
    if d.fix is None:
        return False
    if d.fix.applicability is Applicability.SAFE:
        return True
    return unsafe_fixes and d.fix.applicability is Applicability.UNSAFE


def rows(diagnostics: List[Diagnostic], unsafe_fixes: bool = False) -> List[Dict[str, object]]:
    """Per code: count, name and whether any is fixable; most frequent first."""
    table: Dict[str, Dict[str, object]] = {}
    for d in diagnostics:
        row = table.setdefault(d.code, {"code": d.code, "name": d.name, "count": 0, "fixable": False})
        row["count"] = int(row["count"]) + 1  # type: ignore[call-overload]
        row["fixable"] = bool(row["fixable"]) or _fixable(d, unsafe_fixes)
    return sorted(table.values(), key=lambda r: (-int(r["count"]), str(r["code"])))  # type: ignore[call-overload]


def write_statistics(diagnostics: List[Diagnostic], stream: TextIO, *, unsafe_fixes: bool = False,
                     json_format: bool = False) -> None:
    table = rows(diagnostics, unsafe_fixes)
    if json_format:
        json.dump(table, stream, indent=2)
        stream.write("\n")
        return
    width = max((len(str(r["count"])) for r in table), default=1)
    for r in table:
        mark = "[*]" if r["fixable"] else "[ ]"
        stream.write(f"{r['count']:>{width}}  {r['code']}  {mark} {r['name']}\n")
