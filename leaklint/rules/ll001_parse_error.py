"""LL001: the engine reports this itself when a file cannot be decoded or parsed."""
from leaklint.rules.base import Rule


class ParseError(Rule):
    code = "LL001"
    name = "parse-error"
    summary = "The file could not be decoded or parsed, so nothing in it was checked."
    rationale = """\
A file leaklint cannot read is a file it cannot check: the report says where the
decoder or the parser stopped, so the rest of the run still tells you about every
other file. Causes: a syntax error, a wrong or unknown PEP 263 coding cookie, bytes
that are not valid in the declared encoding, a NUL byte, or nesting deeper than the
parser's recursion limit. For notebooks, a file that is not valid notebook JSON.

Files that contain none of the names the selected rules look for are skipped before
parsing (that is what keeps leaklint fast), so a syntax error in such a file is left
to your compiler and your other linters. In flake8 mode the plugin stays silent:
flake8 reports E999 itself."""
    flagged = (
        "import asyncio\n\nasync def main(:\n    asyncio.create_task(work())\n",
        "# -*- coding: klingon -*-\nimport asyncio\n",
        "import threading\n\nsem = threading.Semaphore(4\n",
    )
    clean = ("import asyncio\n\nasync def main():\n    await asyncio.create_task(work())\n",)
