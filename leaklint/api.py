"""The one path every front end takes: paths -> files -> results.

The CLI, the flake8 plugin and the tests all call these functions. `lint_paths` can
read results from the cache and lint the rest in worker processes; what comes back
from either is plain data (no libcst node). The fix engine fixes files on the same
workers (`run_on_workers`: each worker lints with the nodes, fixes and writes its files)
and skips the files whose cached result has no fix to apply.
"""
from __future__ import annotations

import gc
import os
import signal
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, TypeVar, Union

from leaklint import fingerprint
from leaklint.config import Settings, expand_codes
from leaklint.diagnostics import Diagnostic, Fix
from leaklint.discovery import STDIN, discover, path_matches
from leaklint.cache import content_hash, from_data
from leaklint.engine import (DecodeError, FileResult, SourceFile, decode_source, lint_bytes, lint_text,
                             report_unreadable)
from leaklint.project import ModuleView, ProjectIndex, module_name, project_roots, summarize_text
from leaklint.project.index import NO_FACTS
from leaklint.project.summary import valid as valid_summary

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

# With the default --jobs, each worker must have at least this much to lint, or starting
# it (importing libcst, under spawn) costs more than it saves; most files are dropped by
# the text pre-filter in well under a millisecond.
MIN_FILES_PER_WORKER = 8
T = TypeVar("T")
MIN_BYTES_PER_WORKER = 256 * 1024


def lint_source(source: Union[str, bytes], path: str, settings: Settings, *, whole: bool = False,
                project: Union[ModuleView, ProjectIndex, None] = None, want_summary: bool = False) -> FileResult:
    """Lint source given in memory; `path` is only reported (and matched against
    per-file-ignores). `whole`: keep the whole file's libcst module in the result, for
    the fix engine (by default only what the rules' candidates need is parsed).
    `project`: the project index as this file sees it (default: the file's own facts);
    `want_summary`: return the file's index summary too."""
    if path.endswith(".ipynb"):  # notebook.SUFFIX; the module (libcst) loads only for notebooks
        from leaklint import notebook

        result = notebook.lint_notebook(source, path, settings)
    elif isinstance(source, bytes):
        result = lint_bytes(source, path, settings, whole=whole, project=project, want_summary=want_summary)
    else:
        result = lint_text(SourceFile(path, source), settings, whole=whole, project=project,
                           want_summary=want_summary)
    return _finish(result, settings)


def lint_file(path: str, settings: Settings, *, whole: bool = False,
              project: Optional[ModuleView] = None) -> FileResult:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return _finish(report_unreadable(path, exc, settings), settings)
    return lint_source(data, path, settings, whole=whole, project=project)


def _finish(result: FileResult, settings: Settings) -> FileResult:
    result = _apply_per_file_ignores(result, settings)
    if result.diagnostics:
        result.diagnostics = fingerprint.assign(result.diagnostics, settings.root)
    return result


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def lint_paths(paths: Iterable[str], settings: Settings, stdin: Optional[bytes] = None,
               stdin_filename: Optional[str] = None, *, jobs: Optional[int] = 1,
               use_cache: bool = False, keep_nodes: bool = False) -> List[FileResult]:
    """Lint every file under `paths`, in a stable order (the same whatever `jobs` and
    the cache). `-` stands for `stdin`.

    jobs: worker processes (None: one per CPU); use_cache: read and write
    `.leaklint_cache/` in the project root; keep_nodes: keep the libcst nodes and
    modules for the fix engine (in this process, no cache).

    The project index (leaklint.project) is built from the same parse: each file is
    linted first with its own facts while its summary is taken; the other files of
    the project (the rest of the given files' top-level packages) are only
    summarized; then the files whose findings may depend on another module's facts
    are linted again with the whole index."""
    paths = list(paths)
    files = discover(paths, settings)
    if keep_nodes:
        index = build_project(files, [p for p in paths if p != STDIN], settings)
        return [_lint_one(path, settings, stdin, stdin_filename, index) for path in files]

    cache = None
    if use_cache:
        from leaklint.cache import Cache

        cache = Cache(settings.root, settings)
    results: List[Optional[FileResult]] = [None] * len(files)
    summaries: Dict[str, Optional[dict]] = {}  # path -> summary, for every project file
    digests: Dict[str, str] = {}  # path -> content hash (with the cache)
    pending: Dict[int, List[Diagnostic]] = {}  # cached results, valid if their facts still hold
    # What is left to lint: (index, path, size). Contents are not kept here, so memory
    # follows the largest file being linted, not the size of the tree.
    todo: List[Tuple[int, str, int]] = []
    for index, path in enumerate(files):
        if path == STDIN:  # one file: the CLI's cached summaries when there are, else its own facts
            known = cached_index(settings) if use_cache and stdin_filename else None
            results[index] = portable(lint_source(stdin or b"", stdin_filename or STDIN, settings, project=known))
            continue
        if cache is None:
            try:
                size = os.stat(path).st_size
            except OSError:
                size = 0  # linting reports it as unreadable
            todo.append((index, path, size))
            continue
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            results[index] = _finish(report_unreadable(path, exc, settings), settings)
            continue
        digest = digests[path] = content_hash(data)
        entry = cache.entry(path, digest)
        if (entry is not None and "summary" in entry and isinstance(entry.get("diagnostics"), list)
                and (entry["summary"] is None or valid_summary(entry["summary"]))):
            summaries[path] = entry["summary"]
            pending[index] = entry  # type: ignore[assignment]
        else:
            todo.append((index, path, len(data)))

    # the files whose summaries the cache knew, whatever their content then
    known_before = {p for p, e in cache.entries.items() if isinstance(e, dict) and "summary" in e} if cache else None
    linted = _lint_many([(path, size) for _i, path, size in todo], settings, jobs)
    fresh: Dict[int, str] = {}
    for (index, path, _size), (result, digest) in zip(todo, linted):
        results[index] = result
        summaries[path] = result.summary
        if digest is not None:
            fresh[index] = digests[path] = digest
    # the rest of the project: summaries only
    given = set(files)
    misses: List[str] = []
    for path in project_files(paths, settings):
        if path in given:
            continue
        summaries[path] = _summary_only(path, settings, cache, digests, misses)
    # No summary changed (the same files, and each edit kept its file's summary): no
    # file's facts can have changed, so the cached results stand without recomputing
    # what each one used (the pre-commit case: a few files edited in a large project).
    stable = (
        cache is not None and not misses and _same_files(known_before, summaries)
        and all(_old_summary(cache, files[i]) == summaries[files[i]] for i in fresh)
    )

    index = build_index(summaries, settings)
    relint: List[int] = []
    deps: Dict[int, Optional[str]] = {}
    for i, path in enumerate(files):
        summary = summaries.get(path)
        if path == STDIN:
            continue
        if not summary:  # it does not parse: no facts to use, nothing to depend on
            entry = pending.pop(i, None)
            if entry is not None:
                try:
                    results[i] = FileResult(path, [from_data(d, path) for d in entry["diagnostics"]])  # type: ignore[index]
                    cache.hits += 1  # type: ignore[union-attr]
                except (KeyError, TypeError, ValueError):
                    relint.append(i)
            continue
        if stable and i in pending:
            entry = pending.pop(i)
            try:
                results[i] = FileResult(path, [from_data(d, path) for d in entry["diagnostics"]])  # type: ignore[index]
                cache.hits += 1  # type: ignore[union-attr]
                continue
            except (KeyError, TypeError, ValueError):
                pending[i] = entry
        module = summary["module"]
        if index.paths.get(module) != path:  # another file has its module name: its own facts only
            deps[i] = local_digest(summary, path, settings)
        else:
            deps[i] = index.digest_of(module)
        if i in pending:
            entry = pending.pop(i)
            if entry.get("deps") == deps[i]:
                try:
                    results[i] = FileResult(path, [from_data(d, path) for d in entry["diagnostics"]])  # type: ignore[index]
                    cache.hits += 1  # type: ignore[union-attr]
                    continue
                except (KeyError, TypeError, ValueError):
                    pass
            relint.append(i)
        elif deps[i] != _first_pass_digest(deps[i], summary, path, settings):
            relint.append(i)  # its first pass saw its own facts only; others' facts change it
    for i in pending:  # a cached entry without a summary: lint again
        relint.append(i)
    for i in sorted(set(relint)):
        path = files[i]
        summary = summaries.get(path)
        view = index.view(summary["module"], path) if summary and index.paths.get(summary["module"]) == path else None
        result, digest = read_and_lint(path, settings, project=view)
        results[i] = result
        if summary is None:
            summaries[path] = result.summary
        if digest is not None:
            fresh[i] = digests[path] = digest
    if cache is not None:
        for i, digest in fresh.items():
            path = files[i]
            cache.put_digest(path, digest, results[i].diagnostics, summaries.get(path), deps.get(i))  # type: ignore[union-attr]
        cache.save()
    return results  # type: ignore[return-value]  # every slot is filled above


def cached_index(settings: Settings) -> Optional[ProjectIndex]:
    """The project index from the summaries the last CLI run cached under the project
    root (what the front ends that see one file, flake8 and stdin, can know of the
    rest of the project); None when there are none."""
    from leaklint.cache import latest_summaries

    summaries = {path: s for path, s in latest_summaries(settings.root).items() if valid_summary(s)}
    return build_index(summaries, settings) if summaries else None  # type: ignore[arg-type]


def project_files(paths: Sequence[str], settings: Settings) -> List[str]:
    """The Python files of the top-level packages holding `paths` (the project)."""
    roots = project_roots(p for p in paths if p != STDIN)
    return discover(roots, settings, suffixes=(".py",)) if roots else []


_MISSING = object()


def _same_files(known: Optional[set], summaries: Dict[str, Optional[dict]]) -> bool:
    """Whether the cache knew the summary of every file of this run, and no file it knew
    in their folders is gone (a new or removed module can change what names resolve to).
    Files of other folders (another run's paths) do not matter."""
    if known is None:
        return False
    now = {os.path.abspath(p) for p in summaries if p != STDIN}
    if not now <= known:
        return False
    folders = {os.path.dirname(p) for p in now}
    return not any(os.path.dirname(p) in folders for p in known - now)


def _old_summary(cache, path: str) -> object:
    """The summary the cache holds for `path`, whatever content it was taken from."""
    entry = cache.entries.get(os.path.abspath(path))
    return entry.get("summary", _MISSING) if isinstance(entry, dict) else _MISSING


def _summary_only(path: str, settings: Settings, cache, digests: Dict[str, str],
                  misses: Optional[List[str]] = None) -> Optional[dict]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    digest = content_hash(data)
    if cache is not None:
        found = cache.summary(path, digest)
        if found is not None and valid_summary(found):
            return found
    try:
        text, _encoding = decode_source(data)
    except DecodeError:
        return None
    summary = summarize_text(text, path, settings)
    if cache is not None:
        if misses is not None and _old_summary(cache, path) != summary:
            misses.append(path)
        cache.put_summary(path, digest, summary)
    return summary


def build_index(summaries: Dict[str, Optional[dict]], settings: Settings) -> ProjectIndex:
    """The project index from the files' summaries (path -> summary)."""
    modules: Dict[str, dict] = {}
    where: Dict[str, str] = {}
    for path, summary in summaries.items():
        if summary and summary["module"] not in modules:
            modules[summary["module"]] = summary
            where[summary["module"]] = path
    return ProjectIndex(modules, where, settings.knowledge(), str(settings.root))


def build_project(files: Sequence[str], paths: Sequence[str], settings: Settings) -> ProjectIndex:
    """The index of `files` and the rest of their project, every file summarized afresh
    (for the fix engine, which lints in this process without the cache)."""
    summaries: Dict[str, Optional[dict]] = {}
    for path in [*files, *project_files(paths, settings)]:
        if path != STDIN and path.endswith(".py") and path not in summaries:
            summaries[path] = _summary_only(path, settings, None, {})
    return build_index(summaries, settings)


def _first_pass_digest(whole: str, summary: dict, path: str, settings: Settings) -> str:
    """The facts digest of a file as its first pass saw them, given the digest `whole`
    of its facts in the whole index. What a file's own summary tells is also in the
    whole index (the same factories, classes and bases), except an attribute type its
    own `a.b = ...` sets that another module sets otherwise: with no facts in the whole
    index and no such attribute, the first pass saw none either."""
    if whole == NO_FACTS and not summary["attrs"]:
        return NO_FACTS
    return local_digest(summary, path, settings)


def local_digest(summary: dict, path: str, settings: Settings) -> str:
    """The facts digest of a file as its first pass saw them: its own summary alone."""
    module = summary["module"]
    return ProjectIndex({module: summary}, {module: path}, settings.knowledge(), str(settings.root)).digest_of(module)


def read_and_lint(path: str, settings: Settings,
                  project: Optional[ModuleView] = None) -> Tuple[FileResult, Optional[str]]:
    """Lint the file as it is now; with the hash of the bytes linted (None when it
    could not be read), which is what the cache records. The result carries the file's
    index summary."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return _finish(report_unreadable(path, exc, settings), settings), None
    return portable(lint_source(data, path, settings, project=project, want_summary=True)), content_hash(data)


def _lint_one(path: str, settings: Settings, stdin: Optional[bytes], stdin_filename: Optional[str],
              index: Optional[ProjectIndex] = None) -> FileResult:
    if path == STDIN:
        return lint_source(stdin or b"", stdin_filename or STDIN, settings, whole=True)
    view = None
    if index is not None:
        name, _package = module_name(path)
        view = index.view(name, path) if name in index.modules else None
    return lint_file(path, settings, whole=True, project=view)


def portable(result: FileResult) -> FileResult:
    """The result without libcst objects: what a worker sends back and the cache keeps."""
    return FileResult(result.path, [_portable(d) for d in result.diagnostics], summary=result.summary)


def _portable(d: Diagnostic) -> Diagnostic:
    fix = d.fix
    if fix is not None and fix.edits:
        fix = Fix(fix.applicability, fix.description, imports=fix.imports, module_statements=fix.module_statements)
    return replace(d, node=None, fix=fix)


def worker_count(items: Sequence[Tuple[str, int]], jobs: Optional[int]) -> int:
    """Processes for `items` (path, size): as asked, but at most one per file and one
    per CPU (more only cost memory and start-up: `-j 100000` was killed for memory); by
    default one per CPU, but only as many as there is enough work for."""
    if jobs is not None:
        return max(1, min(jobs, len(items), default_jobs()))
    size = sum(size for _path, size in items)
    return max(1, min(default_jobs(), len(items) // MIN_FILES_PER_WORKER, size // MIN_BYTES_PER_WORKER))


def _lint_many(items: Sequence[Tuple[str, int]], settings: Settings,
               jobs: Optional[int]) -> List[Tuple[FileResult, Optional[str]]]:
    return run_on_workers(items, settings, jobs, read_and_lint)


def run_on_workers(items: Sequence[Tuple[str, int]], settings: Settings, jobs: Optional[int],
                   task: Callable[[str, Settings], T]) -> List[T]:
    """`task(path, settings)` for each (path, size) of `items`, in order, on as many
    worker processes as `worker_count` says (the check's, and --fix's): `task` must
    be picklable (a module-level function, or a partial of one)."""
    workers = worker_count(items, jobs)
    paths = [path for path, _size in items]
    if workers > 1:
        try:
            pool = _process_pool(workers, settings)
        except (OSError, NotImplementedError):
            pool = None  # no processes here (a sandbox, no /dev/shm): work in this one
        if pool is not None:
            try:
                # small chunks balance big files across workers; map keeps the order
                chunk = max(1, len(items) // (workers * 32))
                return list(pool.map(partial(_worker_task, task), paths, chunksize=chunk))
            except Exception as exc:
                from concurrent.futures.process import BrokenProcessPool

                if not isinstance(exc, (OSError, BrokenProcessPool)):
                    raise
                # a worker was killed (out of memory?): work in this process instead
            except KeyboardInterrupt:
                _stop(pool)
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    return [task(path, settings) for path in paths]


def _process_pool(workers: int, settings: Settings) -> "ProcessPoolExecutor":
    from concurrent.futures import ProcessPoolExecutor  # 12 ms of imports: only when there are workers

    return ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(settings,))


def _worker_task(task: Callable[[str, Settings], T], path: str) -> T:
    assert _worker_settings is not None
    return task(path, _worker_settings)


def _stop(pool: "ProcessPoolExecutor") -> None:
    """Ctrl-C: end the workers now rather than wait for the files they are on."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


_worker_settings: Optional[Settings] = None


def tune_gc() -> None:
    """For a process that lints and exits (the CLI, its workers): the objects made so
    far (the imports) are moved out of the collector's sight, and young collections run
    every 200 000 allocations, not 700. Parsing makes millions of short-lived objects
    that reference counting frees; collecting them young cost ~15% of a cold run (at
    50 000, still 10% of a cold run of the 1M-line corpus; 200 000 costs 5 MB there)."""
    gc.freeze()
    gc.set_threshold(200_000, 50, 50)


def _init_worker(settings: Settings) -> None:
    global _worker_settings
    _worker_settings = settings
    tune_gc()
    # Ctrl-C is the parent's to handle; workers printing their own tracebacks is noise
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _apply_per_file_ignores(result: FileResult, settings: Settings) -> FileResult:
    if not settings.per_file_ignores or not result.diagnostics:
        return result
    ignored = set()
    for pattern, codes in settings.per_file_ignores:
        if path_matches(result.path, (pattern,), settings.root):
            ignored |= expand_codes(codes)
    if ignored:
        result.diagnostics = [d for d in result.diagnostics if d.code not in ignored]
    return result
