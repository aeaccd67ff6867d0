"""Docs are generated from the rules' metadata, and the metadata's examples are tested."""
import re
from pathlib import Path

import pytest

from leaklint.api import lint_source
from leaklint.config import Settings
from leaklint.docs import expected_pages
from leaklint.notebook import from_script
from leaklint.rules import all_rules

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


@pytest.mark.parametrize("name", sorted(expected_pages()))
def test_rule_page_is_current(name):
    page = DOCS / name
    assert page.exists(), f"{page} is missing: run `python -m leaklint.docs`"
    assert page.read_text(encoding="utf-8") == expected_pages()[name], f"{page} is stale: run `python -m leaklint.docs`"


def test_no_page_without_a_rule():
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages == set(expected_pages())


RULES = all_rules()


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_metadata(rule):
    assert re.fullmatch(r"LL\d{3}", rule.code)
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.name)
    assert rule.summary and rule.rationale.strip()
    assert rule.flagged and rule.clean, "every rule documents flagged and clean examples"
    if rule.fix_applicability is not None:
        assert rule.fix_description


def _codes(source, rule):
    settings = Settings(select=(rule.code,))
    if rule.notebook_only:  # examples of notebook rules are percent scripts: `# %%` starts a cell
        return [d.code for d in lint_source(from_script(source), "example.ipynb", settings).diagnostics]
    # as bytes, so a coding cookie in an example is honoured as in a file
    return [d.code for d in lint_source(source.encode("utf-8"), "example.py", settings).diagnostics]


@pytest.mark.parametrize(
    "rule, example", [(r, e) for r in RULES for e in r.flagged], ids=lambda v: getattr(v, "code", "")
)
def test_flagged_example_is_flagged(rule, example):
    assert rule.code in _codes(example, rule)


@pytest.mark.parametrize(
    "rule, example", [(r, e) for r in RULES for e in r.clean], ids=lambda v: getattr(v, "code", "")
)
def test_clean_example_is_clean(rule, example):
    assert rule.code not in _codes(example, rule)


def test_codes_agree_between_spec_docs_and_registry():
    spec = Path(__file__).resolve().parent.parent.parent / "shared" / "SPEC.md"
    registered = {r.code for r in RULES}
    if spec.exists():  # beside the checkout in the workplace; absent in a bare clone
        spec_codes = set(re.findall(r"^\| (LL\d{3}) \|", spec.read_text(encoding="utf-8"), re.M))
        assert registered <= spec_codes, registered - spec_codes
