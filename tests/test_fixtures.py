"""Every fixture's findings are exactly the ones written on its lines."""
import pytest

from harness import (FIXTURES, actual, describe_mismatch, describe_package_mismatch, expected, fixture_files,
                     package_actual, package_expected, package_fixtures)


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture(path):
    want, got = expected(path), actual(path)
    assert got == want, describe_mismatch(path, want, got)


def test_fixtures_exist_for_every_rule():
    from leaklint.rules import all_rules

    mentioned = set()
    for path in fixture_files():
        mentioned |= {code for (_line, code) in expected(path)}
    missing = [r.code for r in all_rules() if r.code not in mentioned]
    assert not missing, f"rules with no flagged fixture line: {missing}"


@pytest.mark.parametrize("folder", package_fixtures(), ids=lambda p: p.name)
def test_package_fixture(folder):
    """A multi-module fixture, linted as one project: its findings need the index."""
    want, got = package_expected(folder), package_actual(folder)
    assert got == want, describe_package_mismatch(folder, want, got)
