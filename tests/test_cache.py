"""The result cache and parallel linting: same output whatever the jobs and the cache,
misses on every change that can change a result, never a failure of its own."""
import json
import os
import time

import pytest

from helpers import run_cli
from leaklint import api, cache
from leaklint.config import load_settings

LEAKY = (
    "import asyncio\n"
    "import sys\n"
    "\n"
    "sem = asyncio.Semaphore(sys.maxsize)\n"
    "big = asyncio.Semaphore(5000)\n"
    "\n"
    "async def main():\n"
    "    asyncio.create_task(work())\n"
)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\n")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    for i in range(12):
        (pkg / f"m{i:02}.py").write_text(LEAKY if i % 3 else "x = 1\n")
    (pkg / "broken.py").write_text("import asyncio\ndef f(:\n    asyncio.create_task(x())\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


class Spy:
    """Records which files were linted rather than read from the cache."""

    def __init__(self, monkeypatch):
        self.linted = []
        real = api._lint_many

        def lint_many(items, settings, jobs):
            self.linted.extend(path for path, _data in items)
            return real(items, settings, jobs)

        monkeypatch.setattr(api, "_lint_many", lint_many)

    def run(self, settings=None):
        self.linted = []
        results = api.lint_paths(["pkg"], settings or load_settings(), use_cache=True)
        return [d.to_dict() | {"fp": d.fingerprint} for r in results for d in r.diagnostics]


def test_warm_run_reads_everything_from_the_cache(project, monkeypatch):
    spy = Spy(monkeypatch)
    cold = spy.run()
    assert len(spy.linted) == 13
    warm = spy.run()
    assert spy.linted == []
    assert warm == cold
    assert (project / ".leaklint_cache" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_an_edit_misses_the_cache(project, monkeypatch):
    spy = Spy(monkeypatch)
    spy.run()
    (project / "pkg" / "m01.py").write_text(LEAKY.replace("sys.maxsize", "10"))
    results = spy.run()
    assert spy.linted == ["pkg/m01.py"]
    assert [(d["line"], d["code"]) for d in results if d["path"] == "pkg/m01.py"] == [(8, "LL205")]


def test_a_config_change_misses_the_cache(project, monkeypatch):
    spy = Spy(monkeypatch)
    before = spy.run()
    (project / "pyproject.toml").write_text("[tool.leaklint]\nhuge-threshold = 2000\n")
    after = spy.run()
    assert len(spy.linted) == 13
    assert len(after) == len(before) + 8  # Semaphore(5000) is now no limit, in 8 files
    spy.run()
    assert spy.linted == []  # and the new configuration has its own warm cache


def test_a_version_change_misses_the_cache(project, monkeypatch):
    spy = Spy(monkeypatch)
    spy.run()
    stamp = cache.version_stamp()
    monkeypatch.setattr(cache, "version_stamp", lambda: stamp + "-next")
    spy.run()
    assert len(spy.linted) == 13


def test_the_cache_lives_in_the_config_folder(project):
    proc = run_cli("check", "-q", ".", cwd=project / "pkg")
    assert proc.returncode == 1
    assert (project / ".leaklint_cache").is_dir()
    assert not (project / "pkg" / ".leaklint_cache").exists()


def test_no_cache_writes_nothing(project):
    proc = run_cli("check", "--no-cache", "-q", "pkg", cwd=project)
    assert proc.returncode == 1
    assert not (project / ".leaklint_cache").exists()


def test_a_broken_cache_is_ignored(project):
    first = run_cli("check", "--format", "json", "pkg", cwd=project)
    for path in (project / ".leaklint_cache").glob("*.json"):
        path.write_text('{"format": 1, "files": {"x": 3, ' + "garbage")
    again = run_cli("check", "--format", "json", "pkg", cwd=project)
    assert (again.returncode, again.stdout, again.stderr) == (1, first.stdout, b"")
    # a well-formed file with entries of the wrong shape
    for path in (project / ".leaklint_cache").glob("*.json"):
        data = json.loads(path.read_text())
        for entry in data["files"].values():
            entry["diagnostics"] = [{"code": "LL101"}] if entry["diagnostics"] else "nope"
        path.write_text(json.dumps(data))
    again = run_cli("check", "--format", "json", "pkg", cwd=project)
    assert (again.returncode, again.stdout, again.stderr) == (1, first.stdout, b"")


def test_an_unwritable_cache_never_fails_the_run(project):
    (project / ".leaklint_cache").write_text("a file where the folder should be\n")
    proc = run_cli("check", "--format", "json", "pkg", cwd=project)
    assert proc.returncode == 1 and proc.stderr == b""
    assert len(json.loads(proc.stdout)) == 17


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_jobs_1_and_2_and_the_cache_give_identical_output(project, fmt):
    outputs = [
        run_cli("check", "--format", fmt, "--no-cache", "--jobs", "1", "pkg", cwd=project),
        run_cli("check", "--format", fmt, "--no-cache", "--jobs", "2", "pkg", cwd=project),
        run_cli("check", "--format", fmt, "--jobs", "2", "pkg", cwd=project),  # cold cache
        run_cli("check", "--format", fmt, "--jobs", "1", "pkg", cwd=project),  # warm cache
    ]
    assert all(proc.returncode == 1 for proc in outputs)
    assert len({proc.stdout for proc in outputs}) == 1
    assert outputs[0].stdout.count(b"LL205") >= 8


def test_jobs_2_really_uses_two_processes(project, monkeypatch):
    started = []
    real = api._process_pool

    def pool(workers, settings):
        started.append(workers)
        return real(workers, settings)

    monkeypatch.setattr(api, "_process_pool", pool)
    parallel = api.lint_paths(["pkg"], load_settings(), jobs=2)
    assert started == [2]
    serial = api.lint_paths(["pkg"], load_settings(), jobs=1)
    assert started == [2]
    assert [[d.to_dict() for d in r.diagnostics] for r in parallel] == [[d.to_dict() for d in r.diagnostics] for r in serial]
    assert all(d.node is None for r in parallel for d in r.diagnostics)


def test_default_jobs_stay_in_one_process_for_a_few_small_files(project, monkeypatch):
    monkeypatch.setattr(api, "default_jobs", lambda: 4)
    items = [(f"f{i}.py", len(b"x = 1\n")) for i in range(40)]
    assert api.worker_count(items, None) == 1
    assert api.worker_count(items, 3) == 3
    assert api.worker_count(items[:2], 8) == 2


def test_keep_nodes_lints_in_process_without_the_cache(project, monkeypatch):
    spy = Spy(monkeypatch)
    results = api.lint_paths(["pkg"], load_settings(), jobs=2, use_cache=True, keep_nodes=True)
    assert spy.linted == [] and not (project / ".leaklint_cache").exists()
    diagnostics = [d for r in results for d in r.diagnostics if d.code != "LL001"]
    assert diagnostics and all(d.node is not None for d in diagnostics)
    assert all(r.module is not None for r in results if any(d.code != "LL001" for d in r.diagnostics))
    # and the same findings as the cached, parallel path
    plain = api.lint_paths(["pkg"], load_settings(), jobs=2, use_cache=True)
    assert [[d.to_dict() for d in r.diagnostics] for r in plain] == [[d.to_dict() for d in r.diagnostics] for r in results]


def test_files_of_other_configurations_are_pruned_when_stale(project):
    folder = project / ".leaklint_cache"
    folder.mkdir()
    old, recent = folder / ("0" * 20 + ".json"), folder / ("1" * 20 + ".json")
    old.write_text("{}")
    recent.write_text("{}")
    month_ago = time.time() - 30 * 24 * 3600
    os.utime(old, (month_ago, month_ago))
    assert run_cli("check", "-q", "pkg", cwd=project).returncode == 1
    assert not old.exists() and recent.exists()
    assert len(list(folder.glob("*.json"))) == 2  # the recent one and this configuration's


def test_jobs_must_be_positive(project):
    proc = run_cli("check", "--jobs", "0", "pkg", cwd=project)
    assert proc.returncode == 2 and b"expected a positive integer, got '0'" in proc.stderr


def test_a_broken_worker_pool_means_linting_in_this_process(project, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    class Broken:
        def map(self, *args, **kwargs):
            raise BrokenProcessPool("a worker was killed")

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(api, "_process_pool", lambda workers, settings: Broken())
    parallel = api.lint_paths(["pkg"], load_settings(), jobs=2)
    serial = api.lint_paths(["pkg"], load_settings(), jobs=1)
    assert [[d.to_dict() for d in r.diagnostics] for r in parallel] == [[d.to_dict() for d in r.diagnostics] for r in serial]
    assert any(r.diagnostics for r in serial)
