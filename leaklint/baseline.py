"""Baselines: adopt leaklint in an old codebase by recording today's findings and
reporting only new ones.

A finding is known when the baseline holds one with the same code, path (relative to
the project root) and fingerprint hash (leaklint.fingerprint: the reported line's code,
not its number), so moving code keeps it known. Counts matter: when a file has two
identical known leaks and gains a third, the third is reported.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple, Union

from leaklint import __version__, fingerprint
from leaklint.diagnostics import Diagnostic
from leaklint.discovery import project_relative

FORMAT = 1
Key = Tuple[str, str, str]
# the project root paths are relative to: one for the run, or each file's own (the
# folder of the config that file was linted with)
Root = Union[Path, Callable[[str], Path]]


def _relative(path: str, root: Root) -> str:
    return project_relative(path, root(path) if callable(root) else root)


class BaselineError(Exception):
    """The baseline cannot be used; `str()` is one line naming the file and why."""


def _key(code: str, path: str, print_: str) -> Key:
    return code, path, fingerprint.split(print_)[0]


def entries(diagnostics: List[Diagnostic], root: Root) -> List[Dict[str, Any]]:
    out = [
        {"code": d.code, "path": _relative(d.path, root), "fingerprint": d.fingerprint,
         "line": d.line, "message": d.message}
        for d in diagnostics
    ]
    out.sort(key=lambda e: (e["path"], e["line"], e["code"], e["fingerprint"]))
    return out


def write(path: str, diagnostics: List[Diagnostic], root: Root) -> int:
    """Record `diagnostics` in `path`; returns how many."""
    data = {"leaklint-baseline": FORMAT, "leaklint-version": __version__, "findings": entries(diagnostics, root)}
    try:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, ensure_ascii=False)
            out.write("\n")
    except OSError as exc:
        raise BaselineError(f"baseline {path}: cannot write: {exc.strerror or exc}") from None
    return len(data["findings"])


def load(path: str) -> Counter:
    """The baseline's findings as a multiset of keys; BaselineError when unusable."""
    try:
        with open(path, "rb") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise BaselineError(f"baseline {path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise BaselineError(f"baseline {path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("leaklint-baseline") != FORMAT or not isinstance(data.get("findings"), list):
        raise BaselineError(
            f"baseline {path}: not a leaklint baseline (expected an object with \"leaklint-baseline\": {FORMAT} "
            "and a \"findings\" list; write one with --write-baseline)"
        )
    known: Counter = Counter()
    for number, entry in enumerate(data["findings"], 1):
        try:
            if not all(isinstance(entry[k], str) for k in ("code", "path", "fingerprint")):
                raise TypeError
            known[_key(entry["code"], entry["path"], entry["fingerprint"])] += 1
        except (KeyError, TypeError, ValueError):
            raise BaselineError(
                f"baseline {path}: finding {number} needs string \"code\", \"path\" and \"fingerprint\" (\"<hash>:<n>\")"
            ) from None
    return known


def new_findings(diagnostics: List[Diagnostic], known: Counter, root: Root) -> List[Diagnostic]:
    """The diagnostics the baseline does not account for, in their order."""
    remaining = Counter(known)
    out = []
    for d in diagnostics:
        key = _key(d.code, _relative(d.path, root), d.fingerprint)
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            out.append(d)
    return out
