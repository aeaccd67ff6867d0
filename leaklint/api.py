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
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from functools import partial
from typing import Callable, Iterable, List, Optional, Sequence, Tuple, TypeVar, Union

from leaklint import fingerprint, notebook
from leaklint.config import Settings, expand_codes
from leaklint.diagnostics import Diagnostic, Fix
from leaklint.discovery import STDIN, discover, path_matches
from leaklint.engine import FileResult, SourceFile, lint_bytes, lint_text, report_unreadable

# With the default --jobs, each worker must have at least this much to lint, or starting
# it (importing libcst, under spawn) costs more than it saves; most files are dropped by
# the text pre-filter in well under a millisecond.
MIN_FILES_PER_WORKER = 8
T = TypeVar("T")
MIN_BYTES_PER_WORKER = 256 * 1024


def lint_source(source: Union[str, bytes], path: str, settings: Settings, *, whole: bool = False) -> FileResult:
    """Lint source given in memory; `path` is only reported (and matched against
    per-file-ignores). `whole`: keep the whole file's libcst module in the result, for
    the fix engine (by default only what the rules' candidates need is parsed)."""
    if path.endswith(notebook.SUFFIX):
        result = notebook.lint_notebook(source, path, settings)
    elif isinstance(source, bytes):
        result = lint_bytes(source, path, settings, whole=whole)
    else:
        result = lint_text(SourceFile(path, source), settings, whole=whole)
    return _finish(result, settings)


def lint_file(path: str, settings: Settings, *, whole: bool = False) -> FileResult:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return _finish(report_unreadable(path, exc, settings), settings)
    return lint_source(data, path, settings, whole=whole)


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
    modules for the fix engine (in this process, no cache)."""
    files = discover(paths, settings)
    if keep_nodes:
        return [_lint_one(path, settings, stdin, stdin_filename) for path in files]

    cache = None
    if use_cache:
        from leaklint.cache import Cache

        cache = Cache(settings.root, settings)
    results: List[Optional[FileResult]] = [None] * len(files)
    # What is left to lint: (index, path, size). Contents are not kept here, so memory
    # follows the largest file being linted, not the size of the tree.
    todo: List[Tuple[int, str, int]] = []
    for index, path in enumerate(files):
        if path == STDIN:
            results[index] = portable(lint_source(stdin or b"", stdin_filename or STDIN, settings))
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
        cached = cache.get(path, data)
        if cached is not None:
            results[index] = FileResult(path, cached)
        else:
            todo.append((index, path, len(data)))

    linted = _lint_many([(path, size) for _i, path, size in todo], settings, jobs)
    for (index, path, _size), (result, digest) in zip(todo, linted):
        results[index] = result
        if cache is not None and digest is not None:
            cache.put_digest(path, digest, result.diagnostics)
    if cache is not None:
        cache.save()
    return results  # type: ignore[return-value]  # every slot is filled above


def read_and_lint(path: str, settings: Settings) -> Tuple[FileResult, Optional[str]]:
    """Lint the file as it is now; with the hash of the bytes linted (None when it
    could not be read), which is what the cache records."""
    from leaklint.cache import content_hash

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return _finish(report_unreadable(path, exc, settings), settings), None
    return portable(lint_source(data, path, settings)), content_hash(data)


def _lint_one(path: str, settings: Settings, stdin: Optional[bytes], stdin_filename: Optional[str]) -> FileResult:
    if path == STDIN:
        return lint_source(stdin or b"", stdin_filename or STDIN, settings, whole=True)
    return lint_file(path, settings, whole=True)


def portable(result: FileResult) -> FileResult:
    """The result without libcst objects: what a worker sends back and the cache keeps."""
    return FileResult(result.path, [_portable(d) for d in result.diagnostics])


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
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(settings,))
        except (OSError, NotImplementedError):
            pool = None  # no processes here (a sandbox, no /dev/shm): work in this one
        if pool is not None:
            try:
                # small chunks balance big files across workers; map keeps the order
                chunk = max(1, len(items) // (workers * 32))
                return list(pool.map(partial(_worker_task, task), paths, chunksize=chunk))
            except (OSError, BrokenProcessPool):
                pass  # a worker was killed (out of memory?): work in this process instead
            except KeyboardInterrupt:
                _stop(pool)
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    return [task(path, settings) for path in paths]


def _worker_task(task: Callable[[str, Settings], T], path: str) -> T:
    assert _worker_settings is not None
    return task(path, _worker_settings)


def _stop(pool: ProcessPoolExecutor) -> None:
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
    every 50 000 allocations, not 700. Parsing makes millions of short-lived objects
    that reference counting frees; collecting them young cost ~15% of a cold run."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


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
