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
