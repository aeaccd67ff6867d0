"""Every rule's code, and which rules are off by default, known without importing the
rules (which import libcst): what configuration needs to select rules. The registry
(`leaklint.rules.all_rules`) checks its rules against this; tests/test_docs.py too."""
from __future__ import annotations

import os
import pkgutil
import re
import sys
from functools import lru_cache
from typing import Tuple

# rules whose `default` is False: they run only when selected
DEFAULT_OFF = frozenset({"LL104", "LL404"})

_MODULE = re.compile(r"(ll\d{3})_")


@lru_cache(maxsize=None)
def codes() -> Tuple[str, ...]:
    """Every rule code, sorted: read off the rule modules' names (`ll201_*.py`)."""
    found = set()
    for info in pkgutil.iter_modules([os.path.dirname(__file__)]):
        match = _MODULE.match(info.name)
        if match:
            found.add(match.group(1).upper())
    return tuple(sorted(found))


def default_codes() -> frozenset:
    loaded = _loaded()
    if loaded is not None:
        return frozenset(r.code for r in loaded if r.default)
    return frozenset(codes()) - DEFAULT_OFF


def known_codes() -> Tuple[str, ...]:
    """Every rule code: from the registry when the rules are imported already (it may
    hold a rule registered at run time, as the tests do), else from the file names."""
    loaded = _loaded()
    return tuple(r.code for r in loaded) if loaded is not None else codes()


def _loaded():
    if "leaklint.rules.base" not in sys.modules:  # the rules (and libcst) are not imported
        return None
    from leaklint.rules import all_rules

    return all_rules()
