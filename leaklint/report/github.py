"""`--format github`: workflow commands that GitHub Actions shows as annotations on the
pull request's diff.

`::error file=F,line=L,col=C,endLine=L2,endColumn=C2,title=LLnnn::message`, escaped as
GitHub's runner reads them: `%`, CR and LF in the message; also `:` and `,` in the
properties. A notebook's lines count within a cell, which the diff of the .ipynb file
cannot show, so its annotation is on the file with the cell and line in the message.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, List, TextIO

from leaklint.diagnostics import Diagnostic

if TYPE_CHECKING:
    from leaklint.report import ReportOptions


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(d: Diagnostic) -> str:
    path = os.path.normpath(d.path).replace(os.sep, "/") if d.path != "-" else d.path
    properties = [("file", path)]
    message = d.message
    if d.cell is not None:
        message = f"cell {d.cell}, line {d.line}: {message}"
    else:
        properties += [("line", d.line), ("col", d.column)]
        if (d.end_line, d.end_column) > (d.line, d.column):
            properties += [("endLine", d.end_line), ("endColumn", d.end_column)]
    properties.append(("title", d.code))
    rendered = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties)
    return f"::error {rendered}::{escape_data(message)}"


def write(diagnostics: List[Diagnostic], stream: TextIO, options: "ReportOptions") -> None:
    for d in diagnostics:
        stream.write(annotation(d) + "\n")
