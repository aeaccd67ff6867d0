"""Suppression comments, read from the file's comment tokens (never from inside a string):
`# noqa` / `# noqa: LL201` on the reported line, `# leaklint: noqa[: codes]` or
`# flake8: noqa[: codes]` on a line of its own for the whole file, and a peer linter's
code for the same check (`# noqa: RUF006` silences LL205).

The text is searched first, cheaply; the file is tokenized only when a candidate
comment is there, so a file without one costs one regex scan.
"""
from __future__ import annotations

import io
import re
import tokenize
from typing import TYPE_CHECKING, Dict, FrozenSet, Iterable, List, Optional, Tuple

if TYPE_CHECKING:  # the checks below meet libcst's nodes only once a file was linted
    import libcst as cst

_CODES = r"[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*"
_LINE = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>" + _CODES + "))?", re.IGNORECASE)
# a comment that is the whole line, as flake8 requires of its file-level `# flake8: noqa`
_FILE = re.compile(
    r"^[ \t]*#[ \t]*(?:leaklint|flake8)[ \t]*:[ \t]*noqa(?::[ \t]*(?P<codes>" + _CODES + r"))?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)

# Peer linters' codes for the same check, and where the peer reports it. Only exact
# matches: the peer flags this very construct for this very leak (see
# docs/configuration.md for each one's reasoning).
PEER_CODES: Dict[str, Tuple[Tuple[str, ...], Optional[str]]] = {
    # ruff asyncio-dangling-task: create_task/ensure_future result not stored
    "RUF006": (("LL205",), None),
    # flake8-async create-task-no-reference: the same check
    "ASYNC300": (("LL205",), None),
    # flake8-simplify / ruff open-file-with-context-handler: a file opened without `with`
    "SIM115": (("LL201", "LL204"), "file"),
    # flake8-bugbear / ruff cached-instance-method: lru_cache/cache on a method keeps
    # every instance (and argument) alive; LL404 reports the unbounded ones
    "B019": (("LL404",), "method"),
}

# the callables SIM115 knows as opening a file (ruff's list: builtins, io, codecs,
# tempfile, tarfile, zipfile, bz2, gzip, lzma, dbm, shelve, tokenize, wave, fileinput)
_FILE_OPENERS = frozenset({
    "open", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile", "ZipFile", "TarFile",
    "BZ2File", "GzipFile", "LZMAFile", "FileInput", "input",
})


def comments(text: str) -> Optional[Dict[int, List[str]]]:
    """Each line's comments, from the tokenizer; None when the text does not tokenize
    (it will be reported as LL001 then, and its comments are read as text)."""
    out: Dict[int, List[str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                out.setdefault(token.start[0], []).append(token.string)
    except (tokenize.TokenError, SyntaxError, ValueError):  # IndentationError is a SyntaxError
        return None
    return out


def _codes(text: Optional[str]) -> FrozenSet[str]:
    return frozenset(c.upper() for c in _CODE.findall(text or ""))


def file_noqa_codes(text: str) -> Optional[FrozenSet[str]]:
    """Codes a file-level `# leaklint: noqa[: codes]` (or `# flake8: noqa[: codes]`)
    silences; an empty set means all. None when there is no such comment."""
    lowered = text.lower()  # a copy, but 10x faster than a case-blind regex
    if "noqa" not in lowered or ("flake8" not in lowered and "leaklint" not in lowered):
        return None  # (line-level `# noqa` comments are common; file-level ones are not)
    matches = list(_FILE.finditer(text))
    if not matches:
        return None
    real = comments(text)
    found: Optional[FrozenSet[str]] = None
    for match in matches:
        if real is not None:
            line = text.count("\n", 0, match.start()) + 1
            if match.group(0).strip() not in (c.strip() for c in real.get(line, ())):
                continue  # the text of a string, not a comment
        codes = match.group("codes")
        if codes is None:
            return frozenset()
        found = (found or frozenset()) | _codes(codes)
    return found


# Python's own line breaks. str.splitlines also breaks at form feeds, vertical tabs,
# \x1c-\x1e, \x85 and \u2028/\u2029, which may stand in comments and strings: the line
# numbers of everything after one would be off by one.
_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(text: str) -> List[str]:
    """The file's lines as Python (and so every reported line number) counts them."""
    return _BREAK.split(text)


class LineNoqa:
    """`# noqa` comments of one file's reported lines."""

    def __init__(self, text: str, lines: List[str], peer: bool = True) -> None:
        self.text = text
        self.lines = lines
        self.peer = peer
        self._comments: Optional[Dict[int, List[str]]] = None
        self._tokenized = False

    def _line_comments(self, line: int) -> Iterable[str]:
        source = self.lines[line - 1]
        if "noqa" not in source.lower():
            return ()
        if not self._tokenized:
            self._comments, self._tokenized = comments(self.text), True
        if self._comments is None:
            return (source,)
        return self._comments.get(line, ())

    def suppresses(self, line: int, code: str, node: Optional[cst.CSTNode] = None,
                   member: Optional[cst.CSTNode] = None) -> bool:
        if not 0 < line <= len(self.lines):
            return False
        for comment in self._line_comments(line):
            for match in _LINE.finditer(comment):
                codes = match.group("codes")
                if codes is None:
                    return True
                for named in _codes(codes):
                    if code.startswith(named):
                        return True
                    if self.peer and peer_silences(named, code, node, member):
                        return True
        return False


def peer_silences(peer: str, code: str, node: Optional[cst.CSTNode], member: Optional[cst.CSTNode]) -> bool:
    """Whether a `# noqa: <peer>` silences `code` reported on `node` (`member`: the
    top-level class body statement holding it, if any)."""
    entry = PEER_CODES.get(peer)
    if entry is None or code not in entry[0]:
        return False
    where = entry[1]
    if where == "file":
        return _opens_a_file(node)
    if where == "method":
        return _decorates_a_method(node, member)
    return True


def _terminal(expr: "cst.BaseExpression") -> Optional[str]:
    import libcst as cst

    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return None


def _opens_a_file(node: Optional["cst.CSTNode"]) -> bool:
    import libcst as cst

    if not isinstance(node, cst.Call):
        return False
    name = _terminal(node.func)
    if name == "input":  # fileinput.input only, not the builtin
        return isinstance(node.func, cst.Attribute) and _terminal(node.func.value) == "fileinput"
    return name in _FILE_OPENERS


def _decorates_a_method(node: Optional["cst.CSTNode"], member: Optional["cst.CSTNode"]) -> bool:
    """A decorator of a function defined in a class body, not a static or class method
    (B019 looks at regular methods only)."""
    import libcst as cst

    if not isinstance(member, cst.FunctionDef) or not any(d is node for d in member.decorators):
        return False
    return not any(_terminal(d.decorator) in ("staticmethod", "classmethod") for d in member.decorators)
