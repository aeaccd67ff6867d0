"""Searching source text for many words at once (the text pre-filters)."""
from __future__ import annotations

import re
from typing import Callable, Dict, Iterable, Tuple, TypeVar

T = TypeVar("T")


def trie_regex(words: Iterable[str]) -> str:
    """A regex matching any of `words`, factored by common prefixes (`Queue(?:\\(| as)?`).

    A flat `a|b|c` of ~350 words makes `re` try every alternative at every position:
    0.47 s over the 129k-line benchmark corpus, as long as `ast.parse`. The trie form
    tries one branch per character and takes 0.06 s, with the same matches."""
    root: Dict[str, dict] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def build(node: Dict[str, dict]) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a shorter word ends here: the rest is optional
            return body + "?" if len(branches) == 1 and len(body) == 1 else "(?:" + body + ")?"
        return body

    return build(root)


_last: Dict[str, Tuple[str, object]] = {}


def once_per_text(key: str, text: str, compute: Callable[[str], T]) -> T:
    """`compute(text)`, remembered for the latest text under `key`: a rule's candidate
    check and the rule itself read the same file's text with the same regex."""
    hit = _last.get(key)
    if hit is not None and hit[0] is text:
        return hit[1]  # type: ignore[return-value]
    value = compute(text)
    _last[key] = (text, value)
    return value
