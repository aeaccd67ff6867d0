"""Registry: every module in this package named `llNNN_*.py` holds exactly one rule."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import Dict, List, Type

from leaklint.rules.base import Rule

__all__ = ["Rule", "all_rules", "rules_by_code"]


@lru_cache(maxsize=None)
def _load() -> tuple:
    found: List[Type[Rule]] = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("ll"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        rules = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, Rule) and obj is not Rule
            and obj.__module__ == module.__name__
        ]
        if len(rules) != 1:
            raise RuntimeError(f"{module.__name__} must define exactly one Rule, found {len(rules)}")
        rule = rules[0]
        if not info.name.startswith(rule.code.lower() + "_"):
            raise RuntimeError(f"{module.__name__} holds {rule.code}: module name must start with it")
        found.append(rule)
    found.sort(key=lambda r: r.code)
    codes = [r.code for r in found]
    if len(set(codes)) != len(codes):
        raise RuntimeError(f"duplicate rule codes: {codes}")
    return tuple(found)


def all_rules() -> List[Type[Rule]]:
    """Every rule, sorted by code."""
    return list(_load())


def rules_by_code() -> Dict[str, Type[Rule]]:
    return {r.code: r for r in _load()}
