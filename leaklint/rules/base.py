"""The Rule base class: a rule's metadata, examples and visitor in one place."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Iterable, Iterator, Optional, Tuple

import libcst as cst

from leaklint.diagnostics import Applicability, Finding, Fix
from leaklint.sieve import MODULE, Need

if TYPE_CHECKING:
    from leaklint.context import FileContext
    from leaklint.knowledge import Knowledge
    from leaklint.sieve import AstFile


class Rule:
    """One rule. Subclasses set the class attributes and define `visit_<Node>` /
    `leave_<Node>` methods, which the engine calls during its single walk of the tree
    (node types as named by libcst). A rule instance lives for one file.

    Metadata is rendered by `leaklint rule`, `leaklint rules` and `docs/rules/`; the
    examples are run by the test suite, so they cannot drift from the behaviour.
    """

    code: ClassVar[str]
    name: ClassVar[str]  # kebab-case, names the pattern flagged
    summary: ClassVar[str]  # one line: what is flagged
    rationale: ClassVar[str]  # markdown: why it leaks
    default: ClassVar[bool] = True  # runs without being selected
    fix_applicability: ClassVar[Optional[Applicability]] = None
    fix_description: ClassVar[str] = ""
    flagged: ClassVar[Tuple[str, ...]] = ()  # code snippets the rule reports
    clean: ClassVar[Tuple[str, ...]] = ()  # look-alikes it must not report
    options: ClassVar[Tuple[str, ...]] = ()  # [tool.leaklint] settings the rule reads
    notebook_only: ClassVar[bool] = False

    def __init__(self, ctx: "FileContext") -> None:
        self.ctx = ctx

    @classmethod
    def triggers(cls, knowledge: "Knowledge") -> Iterable[str]:
        """Substrings of which a file must contain at least one for this rule to be able
        to report on it; the engine skips parsing files that hold none of the selected
        rules' triggers. An empty result means "cannot tell": always parse."""
        return ()

    @classmethod
    def candidates(cls, index: "AstFile") -> Iterator[Need]:
        """Where in CPython's tree of the file this rule might report, and what it needs
        around each place to judge it (see leaklint.sieve). Must over-approximate: the
        engine gives libcst only what some rule asked for, and nothing when none asked.
        The default cannot tell, and asks for the whole file."""
        yield Need(index.tree, MODULE)

    def report(self, node: cst.CSTNode, message: str, fix: Optional[Fix] = None) -> None:
        stack = self.ctx.stack
        # where positions can be found cheaply: the statement of the module or of a
        # top-level class body being walked
        top = stack[1] if len(stack) > 1 else None
        member = stack[3] if len(stack) > 3 and type(top) is cst.ClassDef and stack[2] is top.body else None
        self.ctx.findings.append(Finding(self.code, message, node, fix, top, member))
