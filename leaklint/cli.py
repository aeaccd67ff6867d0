"""Command line: argument parsing and exit statuses only; the work is in leaklint.api.

Exit status: 0 no findings, 1 findings, 2 usage, configuration or internal error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

from leaklint import __version__, baseline
from leaklint.api import default_jobs, lint_file, lint_paths, lint_source, tune_gc
from leaklint.config import ConfigError, ConfigFinder, Selection, Settings, check_code_prefix, check_glob
from leaklint.diagnostics import Applicability, Diagnostic
from leaklint.discovery import STDIN, discover
from leaklint.docs import render_rule
from leaklint.report import FORMATS, TEXT_FORMATS, ReportOptions
from leaklint.report.sarif import TextEdit
from leaklint.report.statistics import write_statistics
from leaklint.rules import all_rules, rules_by_code  # light: the rule modules load when asked for

if TYPE_CHECKING:  # the fix engine (libcst) is imported where a fix is needed
    from leaklint.fixes import FixOutcome

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


def _checked_list(value: str, check: Callable[[str], Any]) -> List[str]:
    """A comma-separated option's items, each passed by `check` (a ValueError is a usage
    error naming the item)."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    for item in items:
        try:
            check(item)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return items


def _codes(value: str) -> List[str]:
    return _checked_list(value.upper(), check_code_prefix)


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
    # as in ruff: the command line's selection comes after the config's (a --select
    # replaces its select and extend-select), and repeated flags add up
    check.add_argument("--select", type=_codes, action="append", metavar="CODES",
                       help="comma-separated codes or prefixes to run instead of the configured selection "
                       "(its select and extend-select); may be repeated")
    check.add_argument("--extend-select", type=_codes, action="append", metavar="CODES",
                       help="codes or prefixes to run as well; may be repeated")
    check.add_argument("--ignore", type=_codes, action="append", metavar="CODES",
                       help="codes or prefixes not to report; may be repeated")
    _add_file_arguments(check)
    _add_fix_arguments(check)
    check.add_argument("--output-format", "--format", dest="format", choices=sorted(FORMATS), default="full",
                       help="full: each finding with its source line and fix (default; `text` is the same); "
                       "concise: one line per finding; or json, sarif, github")
    check.add_argument("--config", metavar="PATH", help="pyproject.toml (or a TOML file) to use for every path, instead of the nearest "
                       "pyproject.toml with [tool.leaklint] upward of each path")
    check.add_argument("--stdin-filename", metavar="NAME", help="the name to report for - (stdin)")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--statistics", action="store_true",
                       help="print only a table of the number of findings per code ([*]: fixable)")
    check.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary")
    check.add_argument("-v", "--verbose", action="store_true", help="show tracebacks of internal errors")
    check.add_argument("--explain-index", action="store_true",
                       help="lint nothing: print what the project index knows about each file given")
    _add_run_arguments(check)

    rule = sub.add_parser("rule", help="explain one rule (by code or name), or every rule with --all")
    rule.add_argument("code", metavar="CODE", nargs="?", help="a rule code (LL205) or name (dangling-task)")
    rule.add_argument("--all", action="store_true", help="explain every rule")

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


def _per_file_ignore(value: str) -> Tuple[str, Tuple[str, ...]]:
    """`GLOB:CODES`, as flake8 and ruff spell a per-file ignore on the command line."""
    pattern, sep, codes = value.rpartition(":")
    if not sep or not pattern.strip() or not codes.strip():
        raise argparse.ArgumentTypeError(f"expected GLOB:CODES (e.g. 'tests/*:LL2,LL101'), got {value!r}")
    try:
        check_glob(pattern.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return pattern.strip(), tuple(_codes(codes))


def _glob_list(value: str) -> List[str]:
    return _checked_list(value, check_glob)


def _add_file_arguments(check: argparse.ArgumentParser) -> None:
    """Which files, and which codes per file: the config's keys, on the command line."""
    check.add_argument("--exclude", type=_glob_list, action="append", metavar="GLOBS",
                       help="comma-separated globs of files and folders not to lint, instead of the configured exclude")
    check.add_argument("--extend-exclude", type=_glob_list, action="append", metavar="GLOBS",
                       help="globs not to lint, in addition to the configured ones")
    check.add_argument("--per-file-ignores", type=_per_file_ignore, action="append", metavar="GLOB:CODES",
                       help="codes not reported in files matching GLOB, instead of the configured per-file-ignores; "
                       "may be repeated (e.g. 'tests/*:LL2')")
    check.add_argument("--extend-per-file-ignores", type=_per_file_ignore, action="append", metavar="GLOB:CODES",
                       help="as --per-file-ignores, in addition to the configured ones")
    check.add_argument("--no-respect-gitignore", dest="respect_gitignore", action="store_false", default=None,
                       help="lint files that .gitignore and .ignore files ignore (they are skipped by default)")


def _add_run_arguments(check: argparse.ArgumentParser) -> None:
    """How a check runs and what it keeps: parallelism, the cache, the baseline."""
    check.add_argument("--jobs", "-j", type=_positive_int, metavar="N",
                       help="lint files in parallel in N processes, capped at the number of CPUs and of files "
                       f"(default: one per CPU, here {default_jobs()}, when there is enough work)")
    check.add_argument("--no-cache", action="store_true", help="neither read nor write .leaklint_cache/")
    check.add_argument("--baseline", metavar="FILE", help="report only findings that are not in FILE (see --write-baseline)")
    check.add_argument("--write-baseline", metavar="FILE", help="record every current finding in FILE, report none, exit 0")


def _lint_options(args: argparse.Namespace) -> dict:
    return {"jobs": args.jobs, "use_cache": not args.no_cache}


def _flat(values: Optional[List[List[Any]]]) -> List[Any]:
    return [item for value in values or () for item in value]


def _overrides(args: argparse.Namespace, settings: Settings) -> Settings:
    """The command line's settings on top of one configuration's."""
    changes: Dict[str, Any] = {}
    if args.select is not None or args.extend_select or args.ignore:
        select = tuple(_flat(args.select)) if args.select is not None else None
        changes["cli_selection"] = Selection(select, tuple(_flat(args.extend_select)), tuple(_flat(args.ignore)))
    if args.exclude is not None:
        changes["exclude"] = tuple(_flat(args.exclude))
    if args.extend_exclude:
        changes["extend_exclude"] = settings.extend_exclude + tuple(_flat(args.extend_exclude))
    if args.per_file_ignores is not None:
        changes["per_file_ignores"] = tuple(args.per_file_ignores)
    if args.extend_per_file_ignores:
        base = changes.get("per_file_ignores", settings.per_file_ignores)
        changes["per_file_ignores"] = tuple(base) + tuple(args.extend_per_file_ignores)
    if args.respect_gitignore is not None:
        changes["respect_gitignore"] = args.respect_gitignore
    return settings.with_overrides(**changes) if changes else settings


def _groups(args: argparse.Namespace) -> List[Tuple[Settings, List[str]]]:
    """The paths to lint, grouped by the configuration each is linted with (the nearest
    pyproject.toml with [tool.leaklint] upward of each path, as ruff finds it), in the
    order the paths were given. A path that does not exist stops the run."""
    missing = [p for p in args.paths if p != STDIN and not os.path.exists(p)]
    if missing:
        raise UsageError("; ".join(f"{p}: no such file or folder" for p in missing))
    finder = ConfigFinder(args.config)
    groups: Dict[Optional[Path], Tuple[Settings, List[str]]] = {}

    def add(settings: Settings, path: str) -> None:
        key = settings.config_path
        if key not in groups:
            groups[key] = (_overrides(args, settings), [])
        groups[key][1].append(path)

    for path in args.paths:
        if path == STDIN:
            add(finder.for_path(args.stdin_filename) if args.stdin_filename else finder.fallback(), path)
            continue
        settings = finder.for_path(path)
        if args.config is not None or not os.path.isdir(path):
            add(settings, path)
            continue
        # a folder: a project inside it with its own [tool.leaklint] is linted with that
        # (ruff's hierarchy); the folder's own exclusions decide what is walked
        files = discover([path], _overrides(args, settings))
        owners = [finder.for_path(f) for f in files]
        if all(owner.config_path == settings.config_path for owner in owners):
            add(settings, path)
            continue
        for file, owner in zip(files, owners):
            add(owner, file)
    return list(groups.values())


def _root_of(settings_of: Dict[str, Settings]) -> Callable[[str], Path]:
    """Each reported path's project root: baselines record paths relative to it."""
    return lambda path: settings_of[path].root if path in settings_of else Path.cwd()


def _load_baseline(args: argparse.Namespace) -> Optional[Counter]:
    """Read --baseline before linting, so a bad one stops the run at once."""
    if not args.baseline:
        return None
    try:
        return baseline.load(args.baseline)
    except baseline.BaselineError as exc:
        raise UsageError(str(exc)) from None


def _write_baseline(args: argparse.Namespace, diagnostics: List[Diagnostic], root: Callable[[str], Path],
                    out: TextIO) -> int:
    try:
        count = baseline.write(args.write_baseline, diagnostics, root)
    except baseline.BaselineError as exc:
        raise UsageError(str(exc)) from None
    message = (f"Recorded {count} finding{'' if count == 1 else 's'} in {args.write_baseline}: "
               f"runs with --baseline {args.write_baseline} report only new ones.\n")
    if args.format in TEXT_FORMATS:
        out.write(message)
    else:  # the report is for a machine: an empty one, and the message aside
        FORMATS[args.format]([], out, ReportOptions())
        sys.stderr.write(message)
    return EXIT_CLEAN


def _new_only(known: Optional[Counter], diagnostics: List[Diagnostic], root: Callable[[str], Path]) -> List[Diagnostic]:
    if known is not None:
        return baseline.new_findings(diagnostics, known, root)
    return diagnostics


def run_explain_index(paths: List[str], settings: Settings, out: TextIO) -> int:
    """`check --explain-index PATH...`: what the project index knows about each file (its
    factories, resource classes, releases, attributes it types, and the facts of other
    modules its findings depend on), so a user can see why a call counts as a creation."""
    from leaklint.api import build_project
    from leaklint.discovery import discover
    from leaklint.project import module_name

    files = [p for p in discover(paths, settings) if p != STDIN and p.endswith(".py")]
    index = build_project(files, paths, settings)
    for path in files:
        module, _package = module_name(path)
        module = module or "__main__"
        if index.paths.get(module) != path:
            out.write(f"{path}: not in the index (it does not parse, or another file has its module name)\n")
            continue
        facts = index.explain(module)
        out.write(f"{path} (module {module})\n")
        for heading, label in (("factories", "factory"), ("resource classes", "resource class"),
                               ("releases", "release of"), ("attributes", "attribute")):
            for name, text in sorted(facts[heading].items()):
                out.write(f"  {label} {name}: {text}\n")
        depends = facts["depends on"]
        out.write(f"  depends on: {', '.join(depends) if depends else 'nothing from the index'}\n")
    return 0


def _use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def run_check(args: argparse.Namespace, out: TextIO) -> int:
    groups = _groups(args)
    if args.fix or args.diff:
        return run_fix(args, groups, out)
    if args.explain_index:
        return max(run_explain_index(paths, settings, out) for settings, paths in groups)
    stdin = None
    if STDIN in args.paths:
        stdin = sys.stdin.buffer.read()
    known = _load_baseline(args)
    results = []
    settings_of: Dict[str, Settings] = {}
    for settings, paths in groups:
        found = lint_paths(paths, settings, stdin=stdin, stdin_filename=args.stdin_filename, **_lint_options(args))
        for result in found:
            settings_of[result.path] = settings
        results += found
    diagnostics: List[Diagnostic] = [d for r in results for d in r.diagnostics]
    root = _root_of(settings_of)
    if args.write_baseline:
        return _write_baseline(args, diagnostics, root, out)
    diagnostics = _new_only(known, diagnostics, root)
    if args.statistics:
        write_statistics(diagnostics, out, unsafe_fixes=args.unsafe_fixes, json_format=args.format == "json")
        return EXIT_FINDINGS if diagnostics and not args.exit_zero else EXIT_CLEAN
    options = ReportOptions(color=args.format in TEXT_FORMATS and _use_color(out), quiet=args.quiet, files=len(results))
    options.unsafe_fixes = args.unsafe_fixes
    if args.format == "sarif":
        options.fix_edits = _sarif_edits(diagnostics, settings_of, stdin, args.stdin_filename)
    if args.format in ("full", "text"):
        options.fix_diff = _fix_diffs(diagnostics, settings_of, stdin, args.stdin_filename, args.unsafe_fixes)
    FORMATS[args.format](diagnostics, out, options)
    if diagnostics and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


# The full text format shows the fixes that --fix would apply (with the flags given) as
# diffs, at most this many, from files of at most this many bytes in all: each costs
# parsing the whole file with libcst again, applying the fix and writing it out (about
# 0.25 s per 200 KB; at 1 MB the diffs were most of a warm run on the 1M-line corpus).
# `--diff` shows them all.
MAX_FIX_DIFFS = 20
MAX_FIX_DIFF_BYTES = 200_000


def _fix_lookup(diagnostics: Sequence[Diagnostic], settings_of: Dict[str, Settings], stdin: Optional[bytes],
                stdin_filename: Optional[str], limit: Optional[int] = None
                ) -> Callable[[Diagnostic], Optional[Tuple[Any, Diagnostic]]]:
    """Fixes need the syntax trees, which neither the cache nor the worker processes
    keep: lint again, in this process, only the files with an automatic fix (of the
    first `limit` such findings), each with its own settings, and match their findings
    to the reported ones by position and code."""
    wanted = [d for d in diagnostics if d.fix is not None and d.fix.applicability is not Applicability.SUGGESTED
              and d.cell is None]
    stdin_name = stdin_filename or STDIN
    if limit is not None:
        wanted = _within_budget(wanted, limit, stdin_name)
    by_key: Dict[Tuple[str, int, int, str], Tuple[Any, Diagnostic]] = {}
    for path in sorted({d.path for d in wanted}):
        settings = settings_of[path]
        if stdin is not None and path == stdin_name:
            result = lint_source(stdin, path, settings, whole=True)
        else:
            result = lint_file(path, settings, whole=True)
        if result.module is None:
            continue
        for d in result.diagnostics:
            by_key[(d.path, d.line, d.column, d.code)] = (result.module, d)
    keys = {(d.path, d.line, d.column, d.code) for d in wanted}

    def lookup(d: Diagnostic) -> Optional[Tuple[Any, Diagnostic]]:
        key = (d.path, d.line, d.column, d.code)
        return by_key.get(key) if key in keys else None

    return lookup


def _within_budget(wanted: List[Diagnostic], limit: int, stdin_name: str) -> List[Diagnostic]:
    kept: List[Diagnostic] = []
    sizes: Dict[str, int] = {}
    for d in wanted:
        if len(kept) >= limit:
            break
        if d.path not in sizes:
            try:
                size = 0 if d.path == stdin_name else os.path.getsize(d.path)
            except OSError:
                continue
            if sum(sizes.values()) + size > MAX_FIX_DIFF_BYTES:
                continue
            sizes[d.path] = size
        kept.append(d)
    return kept


def _sarif_edits(diagnostics: Sequence[Diagnostic], settings_of: Dict[str, Settings], stdin: Optional[bytes],
                 stdin_filename: Optional[str]) -> Callable[[Diagnostic], List[TextEdit]]:
    if not any(d.fix is not None and d.fix.applicability is not Applicability.SUGGESTED for d in diagnostics):
        return lambda d: []
    lookup = _fix_lookup(diagnostics, settings_of, stdin, stdin_filename)

    from leaklint.fixes import text_edits

    def edits(d: Diagnostic) -> List[TextEdit]:
        found = lookup(d)
        return [TextEdit(*e) for e in text_edits(*found)] if found else []

    return edits


def _fix_diffs(diagnostics: Sequence[Diagnostic], settings_of: Dict[str, Settings], stdin: Optional[bytes],
               stdin_filename: Optional[str], unsafe: bool) -> Callable[[Diagnostic], Optional[List[str]]]:
    applying = [d for d in diagnostics if d.fix is not None and d.fix.applies(unsafe)]
    if not applying:  # nothing to show: no libcst (a warm run is mostly its import)
        return lambda d: None
    lookup = _fix_lookup(applying, settings_of, stdin, stdin_filename, limit=MAX_FIX_DIFFS)
    from leaklint.fixes import fix_diff  # libcst: only when a fix is shown

    def diff(d: Diagnostic) -> Optional[List[str]]:
        found = lookup(d)
        return fix_diff(*found) if found else None

    return diff


def _add_fix_arguments(check: argparse.ArgumentParser) -> None:
    """Automatic fixes (ruff's model): safe ones with --fix, unsafe ones on request."""
    check.add_argument("--fix", action="store_true", help="apply the safe fixes, then report what remains")
    check.add_argument("--unsafe-fixes", action="store_true",
                       help="with --fix or --diff, apply the unsafe fixes too (they may change behaviour); "
                       "alone, mark them [*] as fixable")
    check.add_argument("--diff", action="store_true",
                       help="print a unified diff of what the fixes would change and write nothing (exit 1 when there is a diff)")
    check.add_argument("--show-fixes", action="store_true", help="with --fix, list the fixes applied per file")


def run_fix(args: argparse.Namespace, groups: List[Tuple[Settings, List[str]]], out: TextIO) -> int:
    """--fix / --diff: fix every file to a fixed point; write (or diff) the result; report
    the findings that remain. Standard input's fixed text goes to standard output, and
    the report then to standard error."""
    from leaklint.fixes import fix_paths  # libcst: only when fixing

    known = _load_baseline(args)
    stdin = sys.stdin.buffer.read() if STDIN in args.paths else None
    results = []
    settings_of: Dict[str, Settings] = {}
    for settings, paths in groups:
        found = fix_paths(paths, settings, unsafe=args.unsafe_fixes, write=not args.diff,
                          stdin=stdin, stdin_filename=args.stdin_filename, **_lint_options(args))
        for outcome, _data in found:
            settings_of[outcome.path] = settings
        results += found
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
    root = _root_of(settings_of)
    if args.write_baseline:
        return _write_baseline(args, diagnostics, root, report)
    diagnostics = _new_only(known, diagnostics, root)
    if args.statistics:
        write_statistics(diagnostics, report, unsafe_fixes=args.unsafe_fixes, json_format=args.format == "json")
    else:
        options = ReportOptions(color=args.format in TEXT_FORMATS and _use_color(report), quiet=args.quiet, files=len(outcomes))
        options.unsafe_fixes, options.fixed = args.unsafe_fixes, fixed
        FORMATS[args.format](diagnostics, report, options)
    if args.show_fixes:
        _show_fixes(outcomes, report if args.format in TEXT_FORMATS else sys.stderr)
    if diagnostics and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _show_fixes(outcomes: Sequence["FixOutcome"], stream: TextIO) -> None:
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


def run_rule(code: Optional[str], every: bool, out: TextIO) -> int:
    if every:
        if code:
            raise UsageError("give a rule or --all, not both")
        out.write("\n".join(render_rule(rule) for rule in all_rules()))
        return EXIT_CLEAN
    if not code:
        raise UsageError("give a rule code (LL205) or name (dangling-task), or --all")
    wanted = code.strip()
    rule = rules_by_code().get(wanted.upper())
    if rule is None:
        rule = next((r for r in all_rules() if r.name == wanted.lower()), None)
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
    out.write(f"{'code'.ljust(5)}  {'name'.ljust(width)}  {'default'}  {'fix'.ljust(9)}  summary\n")
    for r in rules:
        default = "on".ljust(7) if r.default else "off".ljust(7)
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
            return run_rule(args.code, args.all, out)
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
            import traceback

            traceback.print_exc()
        print(f"leaklint: internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)", file=sys.stderr)
        return EXIT_ERROR
