"""Whole-file fixture harness.

A fixture is a source file under tests/fixtures/ whose expected findings are written on
the offending line: `# error: LL101` (several: `# error: LL101, LL205`). The harness
lints the file with every rule selected and compares the exact multiset of
(line, code) pairs, so a missing finding and a false positive both fail. A sidecar
`<fixture>.toml` holds a `[tool.leaklint]` table for fixtures that need settings.
In a notebook fixture (.ipynb) the annotations sit in the code cells, and the "line"
compared is (cell, line in cell), cells numbered from 1 as Jupyter shows them.
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Counter as CounterT, List, Tuple, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from leaklint.api import lint_file
from leaklint.config import Settings, settings_from_table
from leaklint.notebook import code_cells

FIXTURES = Path(__file__).parent / "fixtures"
SUFFIXES = (".py", ".ipynb")
EXPECT = re.compile(r"#\s*error:\s*(LL\d{3}(?:\s*,\s*LL\d{3})*)")

Line = Union[int, Tuple[int, int]]  # a line, or (cell, line in cell) in a notebook
Key = Tuple[Line, str]


def fixture_files():
    """Single-file fixtures, each linted on its own (not the project packages below)."""
    return sorted(p for p in FIXTURES.rglob("*")
                  if p.suffix in SUFFIXES and p.is_file() and not p.relative_to(FIXTURES).parts[0].startswith("project_"))


def package_fixtures():
    """Multi-module fixtures: tests/fixtures/project_*/, each linted as one project, so
    the project index (leaklint.project) sees across its modules."""
    return sorted(p for p in FIXTURES.glob("project_*") if p.is_dir())


def package_expected(folder: Path) -> CounterT[Tuple[str, Line, str]]:
    found: CounterT[Tuple[str, Line, str]] = Counter()
    for path in sorted(folder.rglob("*.py")):
        for (line, code), count in expected(path).items():
            found[(str(path.relative_to(folder)), line, code)] += count
    return found


def package_actual(folder: Path, **options) -> CounterT[Tuple[str, Line, str]]:
    """Findings of linting the whole folder (`options`: lint_paths's, e.g. jobs, use_cache)."""
    from leaklint.api import lint_paths

    settings = settings_from_table({"select": ["LL"]}, None, root=folder)
    found: CounterT[Tuple[str, Line, str]] = Counter()
    for result in lint_paths([str(folder)], settings, **options):
        for d in result.diagnostics:
            found[(str(Path(d.path).relative_to(folder)), d.line, d.code)] += 1
    return found


def describe_package_mismatch(folder: Path, want, got) -> str:
    out = [f"{folder.name}:"]
    for key, count in sorted((want - got).items(), key=repr):
        out.append(f"  missing    {key[2]} at {key[0]}:{key[1]} (x{count})")
    for key, count in sorted((got - want).items(), key=repr):
        out.append(f"  unexpected {key[2]} at {key[0]}:{key[1]} (x{count})")
    return "\n".join(out)


def source_lines(path: Path) -> List[Tuple[Line, str]]:
    """Each line of the fixture with where the linter reports it."""
    if path.suffix == ".ipynb":
        return [
            ((cell.number, number), line)
            for cell in code_cells(path.read_bytes())
            for number, line in enumerate(cell.source.splitlines(), start=1)
        ]
    # latin-1 reads any bytes, so fixtures with broken encodings can carry expectations too
    text = path.read_bytes().decode("latin-1")
    return list(enumerate(text.splitlines(), start=1))


def expected(path: Path) -> CounterT[Key]:
    found: CounterT[Key] = Counter()
    for where, line in source_lines(path):
        for match in EXPECT.finditer(line):
            for code in match.group(1).split(","):
                found[(where, code.strip())] += 1
    return found


def settings_for(path: Path) -> Settings:
    sidecar = path.with_name(path.name + ".toml")
    table = {}
    if sidecar.exists():
        table = tomllib.loads(sidecar.read_text(encoding="utf-8")).get("tool", {}).get("leaklint", {})
    table = dict(table)
    table.setdefault("select", ["LL"])  # every rule, default-off ones too
    return settings_from_table(table, sidecar if sidecar.exists() else None, root=path.parent)


def actual(path: Path) -> CounterT[Key]:
    result = lint_file(str(path), settings_for(path))
    return Counter(((d.cell, d.line) if d.cell is not None else d.line, d.code) for d in result.diagnostics)


def describe_mismatch(path: Path, want: CounterT[Key], got: CounterT[Key]) -> str:
    lines = dict(source_lines(path))
    out = [f"{path.relative_to(FIXTURES)}:"]
    for (line, code), count in sorted((want - got).items(), key=repr):
        out.append(f"  missing  {code} on line {line} (x{count}): {lines.get(line, '').strip()}")
    for (line, code), count in sorted((got - want).items(), key=repr):
        out.append(f"  unexpected {code} on line {line} (x{count}): {lines.get(line, '').strip()}")
    return "\n".join(out)
