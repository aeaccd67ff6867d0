"""Registry: every module in this package named `llNNN_*.py` holds exactly one rule."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Dict, List, Type

if TYPE_CHECKING:
    from leaklint.rules.base import Rule

__all__ = ["Rule", "all_rules", "rules_by_code"]


def __getattr__(name: str) -> Any:
    # `Rule` (and with it libcst) is imported when first asked for: the package itself
    # stays light, for what only needs the codes (leaklint.rules.codes)
    if name == "Rule":
        from leaklint.rules.base import Rule

        return Rule
    raise AttributeError(name)


@lru_cache(maxsize=None)
def _load() -> tuple:
    from leaklint.rules.base import Rule

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
    from leaklint.rules.codes import DEFAULT_OFF

    off = {r.code for r in found if not r.default}
    if off != DEFAULT_OFF:  # configuration selects rules by that table, without importing them
        raise RuntimeError(f"leaklint/rules/codes.py: DEFAULT_OFF must be {sorted(off)}")
    return tuple(found)


def all_rules() -> List[Type["Rule"]]:
    """Every rule, sorted by code."""
    return list(_load())


def rules_by_code() -> Dict[str, Type["Rule"]]:
    return {r.code: r for r in _load()}
