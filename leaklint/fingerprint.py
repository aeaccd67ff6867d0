"""Fingerprints that name a finding across unrelated edits, shared by the baseline and
SARIF's `partialFingerprints`.

A fingerprint is `<hash>:<n>`: the hash of the code, the path relative to the project
root and the reported line's text without its comment and with whitespace collapsed;
`n` counts earlier findings in the same file with the same hash. No line number goes in,
so a finding keeps its fingerprint when code above it is added or removed.
"""
from __future__ import annotations

import hashlib
import io
import tokenize
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Tuple

from leaklint.diagnostics import Diagnostic
from leaklint.discovery import project_relative


def _without_comment(line: str) -> str:
    if "#" not in line:
        return line
    try:
        for token in tokenize.generate_tokens(io.StringIO(line).readline):
            if token.type == tokenize.COMMENT:
                return line[: token.start[1]]
    except (tokenize.TokenError, SyntaxError):
        pass  # a line cut out of a bracket or a string: keep it whole
    return line


def normalise(line: str) -> str:
    """The code of a line as the fingerprint sees it: no comment, single spaces."""
    return " ".join(_without_comment(line).split())


def line_hash(code: str, path: str, text: str) -> str:
    digest = hashlib.sha256(f"{code}\0{path}\0{text}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]


def split(fingerprint: str) -> Tuple[str, int]:
    """(hash, occurrence index) of a fingerprint."""
    digest, _, index = fingerprint.rpartition(":")
    return digest, int(index)


def assign(diagnostics: List[Diagnostic], root: Path) -> List[Diagnostic]:
    """The diagnostics of one file, in report order, with their fingerprints set."""
    seen: Dict[str, int] = {}
    out = []
    for d in diagnostics:
        # a finding with no line text (an unreadable file) is told apart by its message
        text = normalise(d.source_line) if d.source_line.strip() else d.message
        digest = line_hash(d.code, project_relative(d.path, root), text)
        index = seen.get(digest, 0)
        seen[digest] = index + 1
        out.append(replace(d, fingerprint=f"{digest}:{index}"))
    return out
