"""The docs pages: the key table is the code's, links resolve, the README keeps its
quick start and points at every page."""
import re
from pathlib import Path

import pytest

from leaklint.config import KEYS
from leaklint.docs import KEYS_END, KEYS_START, render_keys, update_keys
from leaklint.flake8_plugin import _OPTIONS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + sorted((DOCS / "rules").glob("*.md")) + [ROOT / "README.md"]


def test_configuration_key_table_is_current():
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    block = page[page.index(KEYS_START): page.index(KEYS_END) + len(KEYS_END)]
    assert block == render_keys(), "docs/configuration.md is stale: run `python -m leaklint.docs`"


def test_key_table_names_every_key_with_its_default():
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z-]+)` \| (.*?) \|", render_keys(), re.M)}
    assert list(rows) == [k.name for k in KEYS]
    assert rows["huge-threshold"] == "`1_000_000`" and rows["default-limit"] == "`32`"
    assert rows["select"] == "the rules that are on by default"


def test_update_keys_rewrites_only_the_block(tmp_path):
    page = tmp_path / "configuration.md"
    page.write_text(f"# Configuration\n\nprose\n\n{KEYS_START}\nold table\n{KEYS_END}\n\nmore prose\n")
    assert update_keys(page)
    assert page.read_text() == f"# Configuration\n\nprose\n\n{render_keys()}\n\nmore prose\n"
    assert not update_keys(page)


def test_every_flake8_option_is_documented():
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for flag, _attr, _help in _OPTIONS:
        assert f"`{flag}`" in page, flag
    assert "--leaklint-config" in page


def _anchors(text):
    return {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: broken link {target}"
        if anchor:
            assert anchor in _anchors(resolved.read_text(encoding="utf-8")), f"{page.name}: no #{anchor} in {path}"


def test_readme_links_every_page_and_keeps_its_quick_start():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):  # every top-level page, a new one included
        name = f"docs/{page.name}"
        assert f"]({name}" in readme, name
    assert "pip install . && leaklint check examples/\npip install -e '.[test]' && python -m pytest -q\n" in readme


def test_index_tells_the_incidents_of_the_spec():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert index.count("| LL") >= 5
    spec = ROOT.parent.parent / "shared" / "SPEC.md"
    if not spec.exists():  # beside the checkout in the workplace; absent in a bare clone
        spec = ROOT.parent / "shared" / "SPEC.md"
    if spec.exists():
        text = spec.read_text(encoding="utf-8")
        table = text[text.index("| incident |"): text.index("\n\n", text.index("| incident |"))]
        for row in table.splitlines()[2:]:
            assert row in index, row
