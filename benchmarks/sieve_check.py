"""Does the sieve hide anything, and what does it save? Lints every file under the given
folders twice in this process, with and without leaklint.sieve, and compares the
findings (code, position, message, fix); then prints how much libcst was spared.

    python benchmarks/sieve_check.py /tmp/leaklint-bench/corpus-small
    python benchmarks/sieve_check.py --select LL2 --corpus small

With the project index of all the files given (`--no-index`: each file's own facts).
Exit status 1 when a finding differs. Not a test (a corpus takes minutes without the
sieve); tests/test_sieve.py runs the same comparison on the fixtures and the standard
library's concurrency modules.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from leaklint import engine, sieve  # noqa: E402
from leaklint.api import lint_source  # noqa: E402
from leaklint.config import Settings  # noqa: E402


def files_under(roots):
    for root in roots:
        if os.path.isfile(root):
            yield root
            continue
        for folder, dirs, names in os.walk(root):
            dirs.sort()
            for name in sorted(names):
                if name.endswith(".py"):
                    yield os.path.join(folder, name)


def libcst_lines(text, rules, settings):
    """The non-blank lines the sieve gives libcst for `text` (a file past the text
    filter), or None when it gives none: no candidate, or CPython cannot parse it."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    kept = sieve.plan(rules, sieve.AstFile(tree, text, settings, settings.knowledge()))
    if kept is None:
        return None
    return sum(1 for line in sieve.sliced_text(text, tree, kept).splitlines() if line.strip())


def key(diagnostics):
    return [(d.code, d.line, d.column, d.end_line, d.end_column, d.message,
             None if d.fix is None else (d.fix.applicability, d.fix.description)) for d in diagnostics]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--corpus", choices=["small", "large"], help="the benchmark corpus (built by bench.py)")
    parser.add_argument("--select", default="LL", help="codes to run (default: every rule)")
    parser.add_argument("--no-index", action="store_true",
                        help="each file with its own facts only (default: with the project index of all the files)")
    args = parser.parse_args()
    paths = list(args.paths)
    if args.corpus:
        work = Path(os.environ.get("LEAKLINT_BENCH_DIR") or "/tmp/leaklint-bench")
        paths.append(str(work / f"corpus-{args.corpus}"))
    settings = Settings().with_overrides(select=tuple(args.select.split(",")))
    rules = engine.selected_rules(settings)
    pattern = engine.trigger_pattern(rules, settings)

    index = None
    if not args.no_index:  # the facts of every file, as `leaklint check` sees them
        from leaklint.api import build_project

        index = build_project(list(files_under(paths)), paths, settings)
    files = lines = past_filter = past_filter_lines = past_sieve = kept_lines = 0
    differ = 0
    timing = {True: 0.0, False: 0.0}
    for path in files_under(paths):
        data = Path(path).read_bytes()
        text = data.decode("utf-8", "replace")
        files += 1
        count = text.count("\n") + 1
        lines += count
        found = {}
        for on in (True, False):
            engine.SIEVE = on
            start = time.perf_counter()
            found[on] = key(lint_source(data, path, settings, project=index).diagnostics)
            timing[on] += time.perf_counter() - start
        engine.SIEVE = True
        if found[True] != found[False]:
            differ += 1
            print(f"DIFFERS: {path}")
            for item in sorted(set(found[False]) - set(found[True])):
                print(f"  hidden: {item}")
            for item in sorted(set(found[True]) - set(found[False])):
                print(f"  extra:  {item}")
        if pattern is not None and pattern.search(text) is None:
            continue
        past_filter += 1
        past_filter_lines += count
        sliced = libcst_lines(text, rules, settings)
        if sliced is not None:
            past_sieve += 1
            kept_lines += sliced

    print(f"{files} files, {lines} lines; past the text filter {past_filter} files ({past_filter_lines} lines); "
          f"past the sieve {past_sieve} files, {kept_lines} non-blank lines given to libcst "
          f"({kept_lines / max(lines, 1):.1%} of all lines)")
    print(f"in-process lint time: sieve {timing[True]:.2f} s, no sieve {timing[False]:.2f} s")
    print(f"files whose findings differ: {differ}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
