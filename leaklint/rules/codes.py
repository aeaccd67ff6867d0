"""Every rule's code, and which rules are off by default, known without importing the
rules (which import libcst): what configuration needs to select rules. The registry
(`leaklint.rules.all_rules`) checks its rules against this; tests/test_docs.py too."""
from __future__ import annotations

import os
import pkgutil
import re
from functools import lru_cache
from typing import Tuple

# rules whose `default` is False: they run only when selected
DEFAULT_OFF = frozenset({"LL404"})

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
    return frozenset(codes()) - DEFAULT_OFF
