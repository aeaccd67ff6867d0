"""Command line: argument parsing and exit statuses only; the work is in leaklint.api.

Exit status: 0 no findings, 1 findings, 2 usage, configuration or internal error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

from leaklint import __version__, baseline
from leaklint.api import lint_file, lint_paths, lint_source, tune_gc
from leaklint.config import ConfigError, Settings, check_code_prefix, load_settings
from leaklint.diagnostics import Applicability, Diagnostic
from leaklint.discovery import STDIN
from leaklint.docs import render_rule
from leaklint.fixes import FixOutcome, fix_paths, text_edits
from leaklint.report import FORMATS, ReportOptions
from leaklint.report.sarif import TextEdit
from leaklint.report.text import write_statistics
from leaklint.rules import all_rules, rules_by_code

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


def _codes(value: str) -> List[str]:
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    for code in codes:
        try:
            check_code_prefix(code)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return codes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leaklint",
        description="Find leak-prone concurrency patterns: unbounded parallelism, unclosed "
        "resources, repeated subscriptions and unbounded buffers.",
    )
    parser.add_argument("--version", action="version", version=f"leaklint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="lint files and folders (default: the current folder)")
    check.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="files or folders; - reads stdin")
    check.add_argument("--select", type=_codes, metavar="CODES", help="comma-separated codes or prefixes to run instead of the defaults")
    check.add_argument("--extend-select", type=_codes, metavar="CODES", help="codes or prefixes to run as well")
    check.add_argument("--ignore", type=_codes, metavar="CODES", help="codes or prefixes not to report")
    _add_fix_arguments(check)
    check.add_argument("--format", choices=sorted(FORMATS), default="text", help="output format (default: text)")
    check.add_argument("--config", metavar="PATH", help="pyproject.toml (or a TOML file) to read instead of searching")
    check.add_argument("--stdin-filename", metavar="NAME", help="the name to report for - (stdin)")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--statistics", action="store_true", help="print the number of findings per code")
    check.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary")
    check.add_argument("-v", "--verbose", action="store_true", help="show tracebacks of internal errors")
    _add_run_arguments(check)

    rule = sub.add_parser("rule", help="explain one rule")
    rule.add_argument("code", metavar="CODE")

    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--format", choices=["text", "json"], default="text")

    sub.add_parser("server", help="run the language server over stdin/stdout (needs leaklint[lsp])")
    return parser


def run_server() -> int:
    """`leaklint server`: the LSP server, when its optional dependencies are installed."""
    try:
        from leaklint import server
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise  # not a missing extra: an internal error
        print(f"leaklint: error: the language server needs pygls and lsprotocol ({exc}); "
              "install them with: pip install 'leaklint[lsp]'", file=sys.stderr)
        return EXIT_ERROR
    return server.main()


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _add_run_arguments(check: argparse.ArgumentParser) -> None:
    """How a check runs and what it keeps: parallelism, the cache, the baseline."""
    check.add_argument("--jobs", "-j", type=_positive_int, metavar="N", help="files linted in parallel by N processes (default: one per CPU)")
    check.add_argument("--no-cache", action="store_true", help="neither read nor write .leaklint_cache/")
    check.add_argument("--baseline", metavar="FILE", help="report only findings that are not in FILE (see --write-baseline)")
    check.add_argument("--write-baseline", metavar="FILE", help="record every current finding in FILE, report none, exit 0")


def _lint_options(args: argparse.Namespace) -> dict:
    return {"jobs": args.jobs, "use_cache": not args.no_cache}


def _load_baseline(args: argparse.Namespace) -> Optional[Counter]:
    """Read --baseline before linting, so a bad one stops the run at once."""
    if not args.baseline:
        return None
    try:
        return baseline.load(args.baseline)
    except baseline.BaselineError as exc:
        raise UsageError(str(exc)) from None


def _apply_baseline(args: argparse.Namespace, known: Optional[Counter], diagnostics: List[Diagnostic],
                    settings: Settings) -> List[Diagnostic]:
    if args.write_baseline:
        try:
            count = baseline.write(args.write_baseline, diagnostics, settings.root)
        except baseline.BaselineError as exc:
            raise UsageError(str(exc)) from None
        print(f"leaklint: wrote {count} finding{'' if count == 1 else 's'} to {args.write_baseline}", file=sys.stderr)
        return []
    if known is not None:
        return baseline.new_findings(diagnostics, known, settings.root)
    return diagnostics


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    changes = {}
    if args.select is not None:
        changes["select"] = tuple(args.select)
    if args.extend_select:
        changes["extend_select"] = settings.extend_select + tuple(args.extend_select)
    if args.ignore:
        changes["ignore"] = settings.ignore + tuple(args.ignore)
    return settings.with_overrides(**changes) if changes else settings


def _use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def run_check(args: argparse.Namespace, out: TextIO) -> int:
    settings = _settings(args)
    if args.fix or args.diff:
        return run_fix(args, settings, out)
    stdin = None
    if "-" in args.paths:
        stdin = sys.stdin.buffer.read()
    known = _load_baseline(args)
    results = lint_paths(args.paths, settings, stdin=stdin, stdin_filename=args.stdin_filename, **_lint_options(args))
    diagnostics: List[Diagnostic] = [d for r in results for d in r.diagnostics]
    diagnostics = _apply_baseline(args, known, diagnostics, settings)
    options = ReportOptions(color=args.format == "text" and _use_color(out), quiet=args.quiet, files=len(results))
    options.unsafe_fixes = args.unsafe_fixes
    if args.format == "sarif":
        options.fix_edits = _sarif_edits(diagnostics, settings, stdin, args.stdin_filename)
    FORMATS[args.format](diagnostics, out, options)
    if args.statistics:
        write_statistics(diagnostics, out if args.format == "text" else sys.stderr)
    if diagnostics and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _sarif_edits(diagnostics: Sequence[Diagnostic], settings: Settings, stdin: Optional[bytes],
                 stdin_filename: Optional[str]) -> Callable[[Diagnostic], List[TextEdit]]:
    """SARIF `fixes` need the syntax trees, which neither the cache nor the worker
    processes keep: lint again, in this process, only the files with an automatic fix,
    and match their findings to the reported ones by position and code."""
    fixable = {d.path for d in diagnostics if d.fix is not None and d.fix.applicability is not Applicability.SUGGESTED}
    by_key: Dict[Tuple[str, int, int, str], Tuple[Any, Diagnostic]] = {}
    for path in sorted(fixable):
        if stdin is not None and path == (stdin_filename or STDIN):
            result = lint_source(stdin, path, settings, whole=True)
        else:
            result = lint_file(path, settings, whole=True)
        if result.module is None:
            continue
        for d in result.diagnostics:
            by_key[(d.path, d.line, d.column, d.code)] = (result.module, d)

    def edits(d: Diagnostic) -> List[TextEdit]:
        found = by_key.get((d.path, d.line, d.column, d.code))
        if found is None:
            return []
        module, fresh = found
        return [TextEdit(*e) for e in text_edits(module, fresh)]

    return edits


def _add_fix_arguments(check: argparse.ArgumentParser) -> None:
    """Automatic fixes (ruff's model): safe ones with --fix, unsafe ones on request."""
    check.add_argument("--fix", action="store_true", help="apply the safe fixes, then report what remains")
    check.add_argument("--unsafe-fixes", action="store_true",
                       help="with --fix or --diff, apply the unsafe fixes too (they may change behaviour); "
                       "alone, mark them [*] as fixable")
    check.add_argument("--diff", action="store_true",
                       help="print a unified diff of what the fixes would change and write nothing (exit 1 when there is a diff)")
    check.add_argument("--show-fixes", action="store_true", help="with --fix, list the fixes applied per file")


def run_fix(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """--fix / --diff: fix every file to a fixed point; write (or diff) the result; report
    the findings that remain. Standard input's fixed text goes to standard output, and
    the report then to standard error."""
    known = _load_baseline(args)
    stdin = sys.stdin.buffer.read() if "-" in args.paths else None
    results = fix_paths(args.paths, settings, unsafe=args.unsafe_fixes, write=not args.diff,
                        stdin=stdin, stdin_filename=args.stdin_filename)
    outcomes = [outcome for outcome, _data in results]
    for outcome in outcomes:
        if outcome.error:
            print(f"leaklint: error: {outcome.path}: {outcome.error}", file=sys.stderr)
    fixed = sum(len(o.applied) for o in outcomes)
    if args.diff:
        for outcome in outcomes:
            out.write(outcome.diff())
        if not args.quiet and fixed:
            print(f"Would fix {fixed} finding{'' if fixed == 1 else 's'}.", file=sys.stderr)
        changed = any(o.changed for o in outcomes)
        return EXIT_FINDINGS if changed and not args.exit_zero else EXIT_CLEAN
    report = out
    for outcome, data in results:
        if outcome.from_stdin:
            out.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            report = sys.stderr
    diagnostics: List[Diagnostic] = [d for o in outcomes for d in o.diagnostics]
    diagnostics = _apply_baseline(args, known, diagnostics, settings)
    options = ReportOptions(color=args.format == "text" and _use_color(report), quiet=args.quiet, files=len(outcomes))
    options.unsafe_fixes, options.fixed = args.unsafe_fixes, fixed
    FORMATS[args.format](diagnostics, report, options)
    if args.show_fixes:
        _show_fixes(outcomes, report if args.format == "text" else sys.stderr)
    if args.statistics:
        write_statistics(diagnostics, report if args.format == "text" else sys.stderr)
    if diagnostics and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _show_fixes(outcomes: Sequence[FixOutcome], stream: TextIO) -> None:
    """ruff's --show-fixes: per file, how many of each code were fixed."""
    fixed = [o for o in outcomes if o.applied]
    total = sum(len(o.applied) for o in fixed)
    if not total:
        stream.write("No findings fixed.\n")
        return
    stream.write(f"Fixed {total} finding{'' if total == 1 else 's'}:\n")
    for outcome in fixed:
        stream.write(f"- {outcome.path}:\n")
        counts = Counter((a.code, a.name) for a in outcome.applied)
        for (code, name), count in sorted(counts.items()):
            stream.write(f"    {count} × {code} ({name})\n")


def run_rule(code: str, out: TextIO) -> int:
    rule = rules_by_code().get(code.strip().upper())
    if rule is None:
        raise UsageError(f"unknown rule {code!r}; `leaklint rules` lists them")
    out.write(render_rule(rule))
    return EXIT_CLEAN


def run_rules(fmt: str, out: TextIO) -> int:
    rules = all_rules()
    if fmt == "json":
        data = [
            {
                "code": r.code,
                "name": r.name,
                "default": r.default,
                "fix": r.fix_applicability.value if r.fix_applicability else None,
                "summary": r.summary,
            }
            for r in rules
        ]
        json.dump(data, out, indent=2)
        out.write("\n")
        return EXIT_CLEAN
    width = max(len(r.name) for r in rules)
    for r in rules:
        default = "on " if r.default else "off"
        fix = (r.fix_applicability.value if r.fix_applicability else "-").ljust(9)
        out.write(f"{r.code}  {r.name.ljust(width)}  {default}  {fix}  {r.summary}\n")
    return EXIT_CLEAN


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on usage errors, as argparse does
    out = sys.stdout
    try:
        if args.command == "check":
            if argv is None:  # the process is ours (console script, python -m), not a caller's
                tune_gc()
            return run_check(args, out)
        if args.command == "rule":
            return run_rule(args.code, out)
        if args.command == "rules":
            return run_rules(args.format, out)
        if args.command == "server":
            return run_server()
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    except ConfigError as exc:
        print(f"leaklint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except UsageError as exc:
        print(f"leaklint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # `leaklint check | head`: stop quietly, and keep Python from complaining at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("leaklint: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in leaklint: say so in one line, traceback on request
        if getattr(args, "verbose", False):
            traceback.print_exc()
        print(f"leaklint: internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)", file=sys.stderr)
        return EXIT_ERROR
