"""Our cheap position pass agrees with libcst's PositionProvider on every node."""
from pathlib import Path

import libcst as cst
import pytest

from leaklint.analysis.positions import compute_positions

SAMPLES = sorted((Path(__file__).parent / "fixtures").rglob("*.py"))
SAMPLES = [p for p in SAMPLES if b"coding" not in p.read_bytes()[:80]] + [Path(cst.__file__)]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_positions_match_libcst(path):
    try:
        module = cst.parse_module(path.read_text(encoding="utf-8"))
    except (cst.ParserSyntaxError, UnicodeDecodeError):
        pytest.skip("not parseable: nothing to compare")
    ours = compute_positions(module)
    reference = cst.MetadataWrapper(module, unsafe_skip_copy=True).resolve(cst.metadata.PositionProvider)
    assert len(reference) > 0
    for node, rng in reference.items():
        assert ours[node] == ((rng.start.line, rng.start.column), (rng.end.line, rng.end.column))


def test_crlf_and_tabs():
    source = "import asyncio\r\nif True:\r\n\tx = asyncio.Semaphore(\r\n\t\t5)\r\n"
    module = cst.parse_module(source)
    ours = compute_positions(module)
    reference = cst.MetadataWrapper(module, unsafe_skip_copy=True).resolve(cst.metadata.PositionProvider)
    for node, rng in reference.items():
        assert ours[node] == ((rng.start.line, rng.start.column), (rng.end.line, rng.end.column))


def _findings(path, settings):
    from leaklint.api import lint_file

    return [(d.cell, d.line, d.column, d.end_line, d.end_column, d.code) for d in lint_file(str(path), settings).diagnostics]


def test_positions_from_the_findings_statements_match_the_whole_modules(monkeypatch):
    """The engine codegens only the top-level statements that hold findings, placed by
    CPython's line numbers; the whole module's codegen must agree on every finding."""
    import sysconfig

    from harness import fixture_files, settings_for
    from leaklint import engine
    from leaklint.config import Settings

    every = Settings().with_overrides(select=("LL",))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    corpus = [(p, settings_for(p)) for p in fixture_files()]
    corpus += [(p, every) for name in ("asyncio", "concurrent", "multiprocessing", "logging")
               for p in sorted((stdlib / name).rglob("*.py"))]
    compared = 0
    for path, settings in corpus:
        partial = _findings(path, settings)
        with monkeypatch.context() as patch:
            patch.setattr(engine, "PARTIAL_POSITIONS", False)
            whole = _findings(path, settings)
        assert partial == whole, path
        compared += len(whole)
    assert compared > 100


def test_a_finding_in_a_one_line_class_body_is_placed():
    from leaklint.api import lint_source
    from leaklint.config import Settings

    source = "import asyncio\n\n\nclass Pool: sem = asyncio.Semaphore(2**63)\n"
    (found,) = lint_source(source, "m.py", Settings()).diagnostics
    assert (found.code, found.line, found.column) == ("LL101", 4, 37)
