"""Results cached by file content, leaklint version and effective configuration.

One JSON file per (version, settings) under `.leaklint_cache/` in the project root maps
each linted file's absolute path to its content hash and its diagnostics. An edit
changes the hash; a config or version change opens another cache file. Only plain data is
stored (no libcst node, no fix edit). A cache that cannot be read, parsed or written is
ignored: the run lints instead, and never fails because of it.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, List, Optional

import leaklint
from leaklint.config import Settings
from leaklint.diagnostics import Applicability, Diagnostic, Fix

FOLDER = ".leaklint_cache"
_FORMAT = 1
# a cache file no run has written for this long belongs to an old version or config
STALE_AFTER = 14 * 24 * 3600
NO_SUMMARY = object()  # put_digest's default: the entry records no project-index summary


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def settings_digest(settings: Settings) -> str:
    """Everything in the settings that can change a result (root and config path only
    say where the settings came from)."""
    values = tuple((f.name, getattr(settings, f.name)) for f in fields(Settings) if f.compare)
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def version_stamp() -> str:
    """The version, plus the size and time of leaklint's own modules, so that a checkout
    whose rules changed without a version bump does not read stale results."""
    package = Path(leaklint.__file__).parent
    stamp = hashlib.sha256(leaklint.__version__.encode())
    for path in sorted(package.rglob("*.py")):
        try:
            info = path.stat()
        except OSError:
            continue
        stamp.update(f"{path.relative_to(package)}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return f"{leaklint.__version__}+{stamp.hexdigest()[:12]}"


def to_data(d: Diagnostic) -> Dict[str, Any]:
    """A diagnostic as plain data (what crosses process boundaries and goes on disk)."""
    data = {
        "code": d.code, "name": d.name, "message": d.message,
        "line": d.line, "column": d.column, "end_line": d.end_line, "end_column": d.end_column,
        "cell": d.cell, "source_line": d.source_line, "fingerprint": d.fingerprint, "fix": None,
    }
    if d.fix is not None:
        data["fix"] = {
            "applicability": d.fix.applicability.value, "description": d.fix.description,
            "imports": list(d.fix.imports), "module_statements": list(d.fix.module_statements),
        }
    return data


def from_data(data: Dict[str, Any], path: str) -> Diagnostic:
    """The inverse of `to_data`; raises KeyError, TypeError or ValueError on bad data."""
    fix = None
    if data["fix"] is not None:
        raw = data["fix"]
        fix = Fix(Applicability(raw["applicability"]), str(raw["description"]),
                  imports=tuple(raw["imports"]), module_statements=tuple(raw["module_statements"]))
    ints = [data[k] for k in ("line", "column", "end_line", "end_column")]
    if not all(type(v) is int for v in ints) or not (data["cell"] is None or type(data["cell"]) is int):
        raise TypeError("positions must be integers")
    return Diagnostic(str(data["code"]), str(data["name"]), str(data["message"]), path, *ints,
                      fix=fix, cell=data["cell"], source_line=str(data["source_line"]),
                      fingerprint=str(data["fingerprint"]))


class Cache:
    def __init__(self, root: Path, settings: Settings, version: Optional[str] = None) -> None:
        self.folder = Path(root) / FOLDER
        key = f"{version or version_stamp()}\0{settings_digest(settings)}"
        self.file = self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.json"
        self.entries: Dict[str, Dict[str, Any]] = self._load()
        self.dirty = False
        self.hits = 0

    def _load(self) -> Dict[str, Dict[str, Any]]:
        try:
            with open(self.file, "rb") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("files"), dict):
            return {}
        return data["files"]

    def get(self, path: str, data: bytes) -> Optional[List[Diagnostic]]:
        """The cached diagnostics of `path` if its content is unchanged, else None."""
        return self._diagnostics(path, self.entry(path, content_hash(data)))

    def entry(self, path: str, digest: str) -> Optional[Dict[str, Any]]:
        """The raw entry of `path` if it was recorded for the content whose hash is
        `digest` (results and, for the project index, its summary and the digest of
        the index facts its results used)."""
        entry = self.entries.get(os.path.abspath(path))
        if not isinstance(entry, dict) or entry.get("sha256") != digest:
            return None
        return entry

    def results(self, path: str, digest: str, deps: Optional[str]) -> Optional[List[Diagnostic]]:
        """The cached diagnostics of `path`'s content `digest`, if the index facts they
        used still hash to `deps`."""
        entry = self.entry(path, digest)
        if entry is None or entry.get("deps") != deps:
            return None
        return self._diagnostics(path, entry)

    def _diagnostics(self, path: str, entry: Optional[Dict[str, Any]]) -> Optional[List[Diagnostic]]:
        """An entry's diagnostics (a hit), or None when it has none that read back."""
        if entry is None:
            return None
        try:
            diagnostics = [from_data(item, path) for item in entry["diagnostics"]]
        except (KeyError, TypeError, ValueError):
            return None
        self.hits += 1
        return diagnostics

    def summary(self, path: str, digest: str) -> Optional[Dict[str, Any]]:
        """The project-index summary of `path`'s content `digest`, if recorded."""
        entry = self.entry(path, digest)
        summary = entry.get("summary") if entry is not None else None
        return summary if isinstance(summary, dict) else None

    def put_summary(self, path: str, digest: str, summary: Optional[Dict[str, Any]]) -> None:
        """Record a summary (a file of the project that is not linted keeps no results)."""
        key = os.path.abspath(path)
        entry = self.entries.get(key)
        if not isinstance(entry, dict) or entry.get("sha256") != digest:
            entry = self.entries[key] = {"sha256": digest}
        entry["summary"] = summary
        self.dirty = True

    def put(self, path: str, data: bytes, diagnostics: List[Diagnostic]) -> None:
        self.put_digest(path, content_hash(data), diagnostics)

    def put_digest(self, path: str, digest: str, diagnostics: List[Diagnostic],
                   summary: Any = NO_SUMMARY, deps: Optional[str] = None) -> None:
        """Record the findings of the content whose hash is `digest` (with its index
        summary, None for a file that does not parse, and the digest of the index facts
        they used, when given)."""
        entry: Dict[str, Any] = {"sha256": digest, "diagnostics": [to_data(d) for d in diagnostics]}
        if summary is not NO_SUMMARY:
            entry["summary"] = summary
        if deps is not None:
            entry["deps"] = deps
        self.entries[os.path.abspath(path)] = entry
        self.dirty = True

    def save(self) -> None:
        """Write atomically; on any OS error leave the cache as it was."""
        if not self.dirty:
            return
        # forget files that are gone, so the cache does not grow with every rename
        files = {p: e for p, e in self.entries.items() if os.path.exists(p)}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# created by leaklint: nothing here belongs in version control\n*\n")
            import tempfile  # 3 ms of imports: only when there is something to write

            handle, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    # dumps, not dump: only the one-shot form uses the C encoder (10x faster)
                    out.write(json.dumps({"format": _FORMAT, "files": files}, ensure_ascii=False, separators=(",", ":")))
                os.replace(tmp, self.file)
            except BaseException:
                os.unlink(tmp)
                raise
            self._prune()
        except OSError:
            return
        self.dirty = False

    def _prune(self) -> None:
        """Drop the files of other versions and configurations not used for a while."""
        horizon = time.time() - STALE_AFTER
        for other in self.folder.glob("*.json"):
            if other != self.file and other.stat().st_mtime < horizon:
                other.unlink()


def latest_summaries(root: Path) -> Dict[str, Dict[str, Any]]:
    """The project-index summaries of the cache file a CLI run wrote last under `root`
    (path -> summary), for the front ends that see one file (flake8, stdin). Their
    settings differ from the CLI's (flake8 selects every rule), so they cannot open the
    CLI's file by its key; summaries depend on little of the settings. Empty when there
    is no cache or it cannot be read."""
    folder = Path(root) / FOLDER
    try:
        files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return {}
    for path in files:
        try:
            with open(path, "rb") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            continue
        found = {p: e["summary"] for p, e in data["files"].items()
                 if isinstance(e, dict) and isinstance(e.get("summary"), dict)}
        if found:
            return found
    return {}
