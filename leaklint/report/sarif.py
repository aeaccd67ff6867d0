"""`--format sarif`: a SARIF 2.1.0 log for GitHub code scanning and other SARIF viewers.

One run; the driver lists every rule (selected or not) so a viewer can explain any
result; each result has its location, the fix as a property and, when the fix engine
can say which text replaces which range, SARIF `fixes`. Columns count code points
(`columnKind`), 1-based, the end column just past the last character, as leaklint's.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, TextIO
from urllib.parse import quote

from leaklint import __version__
from leaklint.diagnostics import Diagnostic
from leaklint.docs import PROJECT_URL, render_rule, rule_url
from leaklint.rules import all_rules  # light: the rule modules load when asked for

if TYPE_CHECKING:
    from leaklint.report import ReportOptions

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "leaklint/v1"


class TextEdit(NamedTuple):
    """Replace the text from (line, column) to just before (end_line, end_column) of a
    diagnostic's file (1-based; the fix engine supplies these) with `text`."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str


def artifact_location(path: str) -> Dict[str, str]:
    """A relative path stays relative to the checkout (%SRCROOT%), as code scanning expects."""
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(os.path.normpath(path).replace(os.sep, "/")), "uriBaseId": "%SRCROOT%"}


def region(line: int, column: int, end_line: int, end_column: int) -> Dict[str, int]:
    out = {"startLine": line, "startColumn": column}
    if (end_line, end_column) > (line, column):  # an empty range says "from here"
        out.update(endLine=end_line, endColumn=end_column)
    return out


def _rule(rule) -> Dict[str, Any]:
    data: Dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.rationale.strip(), "markdown": rule.rationale.strip()},
        "helpUri": rule_url(rule.code),
        "help": {"text": f"{rule.summary} See {rule_url(rule.code)}", "markdown": render_rule(rule)},
        "defaultConfiguration": {"enabled": rule.default, "level": "error"},
    }
    if rule.fix_applicability is not None:
        data["properties"] = {"fix": rule.fix_applicability.value}
    return data


def _result(d: Diagnostic, rule_index: Dict[str, int], options: "ReportOptions") -> Dict[str, Any]:
    location: Dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": artifact_location(d.path),
            "region": region(d.line, d.column, d.end_line, d.end_column),
        }
    }
    if d.cell is not None:  # notebooks: the region's lines count within this cell
        location["logicalLocations"] = [{"name": f"cell {d.cell}", "kind": "notebookCell"}]
        location["properties"] = {"cell": d.cell}
    result: Dict[str, Any] = {
        "ruleId": d.code,
        "ruleIndex": rule_index[d.code],
        "level": "error",
        "message": {"text": d.message},
        "locations": [location],
    }
    if d.fingerprint:
        result["partialFingerprints"] = {FINGERPRINT_KEY: d.fingerprint}
    if d.fix is not None:
        result["properties"] = {"fix": d.fix.to_dict()}
        edits = options.fix_edits(d) if options.fix_edits is not None else ()
        if edits:
            result["fixes"] = [{
                "description": {"text": d.fix.description},
                "artifactChanges": [{
                    "artifactLocation": artifact_location(d.path),
                    "replacements": [
                        # always the full range: SARIF reads a region with no end as
                        # "to the end of the line", which would delete an insertion point's line
                        {"deletedRegion": {"startLine": e.line, "startColumn": e.column,
                                           "endLine": e.end_line, "endColumn": e.end_column},
                         "insertedContent": {"text": e.text}}
                        for e in edits
                    ],
                }],
            }]
    return result


def document(diagnostics: List[Diagnostic], options: "ReportOptions") -> Dict[str, Any]:
    rules = all_rules()
    rule_index = {rule.code: index for index, rule in enumerate(rules)}
    driver = {
        "name": "leaklint",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": PROJECT_URL,
        "rules": [_rule(rule) for rule in rules],
    }
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "columnKind": "unicodeCodePoints",
            "results": [_result(d, rule_index, options) for d in diagnostics],
        }],
    }


def write(diagnostics: List[Diagnostic], stream: TextIO, options: "ReportOptions") -> None:
    json.dump(document(diagnostics, options), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
