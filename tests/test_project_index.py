"""The project index (leaklint.project): summaries, facts, and how the front ends use it."""
from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from harness import FIXTURES, expected, package_actual, package_expected, package_fixtures
from leaklint import engine
from leaklint.api import lint_file, lint_paths, lint_source
from leaklint.config import Settings, settings_from_table
from leaklint.project import ProjectIndex, module_name, summarize_text
from leaklint.project.summary import resolve_relative


def _settings(root: Path) -> Settings:
    return settings_from_table({"select": ["LL"]}, None, root=root)


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def _index(folder: Path) -> ProjectIndex:
    settings = _settings(folder)
    summaries, paths = {}, {}
    for path in sorted(folder.rglob("*.py")):
        summary = summarize_text(path.read_text(), str(path), settings)
        summaries[summary["module"]] = summary
        paths[summary["module"]] = str(path)
    return ProjectIndex(summaries, paths, settings.knowledge(), str(folder))


# --- what the package fixtures need ---------------------------------------------------


@pytest.mark.parametrize("folder", package_fixtures(), ids=lambda p: p.name)
def test_each_package_fixture_has_findings_only_the_index_gives(folder):
    """Linted file by file (no other module's facts), each package misses findings: the
    package fixtures test the index, not what one file shows."""
    alone = Counter()
    for path in sorted(folder.rglob("*.py")):
        for d in lint_file(str(path), _settings(folder)).diagnostics:
            alone[(str(path.relative_to(folder)), d.line, d.code)] += 1
    want = package_expected(folder)
    assert want - alone, "every expected finding is found without the index"


@pytest.mark.parametrize("folder", package_fixtures(), ids=lambda p: p.name)
def test_the_sieve_changes_no_finding_in_the_packages(folder, monkeypatch):
    sieved = package_actual(folder)
    monkeypatch.setattr(engine, "SIEVE", False)
    assert package_actual(folder) == sieved


@pytest.mark.parametrize("folder", package_fixtures(), ids=lambda p: p.name)
def test_workers_and_the_cache_give_the_same_findings(folder, tmp_path):
    copy = _copy(folder.name, tmp_path)
    want = package_expected(copy)
    assert package_actual(copy, jobs=2) == want
    assert package_actual(copy, use_cache=True) == want  # cold, writes the cache
    assert package_actual(copy, use_cache=True) == want  # warm, reads it


def test_a_file_given_alone_sees_the_rest_of_its_package(tmp_path):
    copy = _copy("project_factories", tmp_path)
    results = lint_paths([str(copy / "reports.py")], _settings(copy))
    codes = Counter(d.code for r in results for d in r.diagnostics)
    assert codes == Counter({"LL202": 3, "LL201": 2, "LL204": 1})
    assert [r.path for r in results] == [str(copy / "reports.py")]  # the others are only read


# --- the cache: a changed summary invalidates the results that used it ---------------


def test_a_change_in_a_base_class_relints_its_subclasses_unchanged_module(tmp_path):
    copy = _copy("project_inherit", tmp_path)
    settings = _settings(copy)
    backends = str(copy / "storage" / "backends.py")

    def ll203_lines():
        results = lint_paths([str(copy)], settings, use_cache=True)
        return sorted(d.line for r in results if r.path == backends for d in r.diagnostics if d.code == "LL203")

    assert ll203_lines() == [26, 34]
    assert ll203_lines() == [26, 34]  # from the cache
    base = copy / "base.py"
    base.write_text(base.read_text().replace("self._conn.close()", "pass"))
    # backends.py did not change, but the release it relied on is gone
    assert ll203_lines() == [11, 19, 26, 33, 34]


def test_a_new_factory_elsewhere_relints_its_callers(tmp_path):
    copy = _copy("project_factories", tmp_path)
    settings = _settings(copy)
    clients = copy / "util" / "clients.py"

    def lines():
        results = lint_paths([str(copy)], settings, use_cache=True)
        return sorted((Path(r.path).name, d.line) for r in results for d in r.diagnostics)

    before = lines()
    clients.write_text(clients.read_text().replace("return _SHARED  # the module's own client: not fresh",
                                                   "return httpx.Client()"))
    after = lines()
    assert set(after) - set(before) == {("reports.py", 35)}  # fetch_shared now leaks its client


# --- one file at a time: flake8 and stdin ------------------------------------------------


def test_stdin_sees_its_own_facts_without_a_cache_and_the_projects_with_one(tmp_path, monkeypatch):
    copy = _copy("project_factories", tmp_path)
    monkeypatch.chdir(copy)
    settings = _settings(copy)
    source = (copy / "reports.py").read_bytes()
    alone = lint_paths(["-"], settings, stdin=source, stdin_filename="reports.py", use_cache=True)
    assert [d.line for d in alone[0].diagnostics] == [53]  # only the class's own `self._open()`
    lint_paths(["."], settings, use_cache=True)  # the CLI's run caches every summary
    seen = lint_paths(["-"], settings, stdin=source, stdin_filename="reports.py", use_cache=True)
    assert sorted(d.line for d in seen[0].diagnostics) == [7, 18, 23, 40, 45, 53]


def test_the_flake8_plugin_reuses_the_clis_summaries(tmp_path):
    pytest.importorskip("flake8")
    copy = _copy("project_wrappers", tmp_path)

    def flake8():
        run = subprocess.run([sys.executable, "-m", "flake8", "--select", "LL", "handlers.py"], cwd=copy,
                             capture_output=True, text=True)
        return sorted(int(line.split(":")[1]) for line in run.stdout.splitlines())

    assert flake8() == []  # its own facts: nothing in handlers.py is a resource by itself
    subprocess.run([sys.executable, "-m", "leaklint", "check", "--exit-zero", "-q", "."], cwd=copy,
                   capture_output=True, check=True)
    assert flake8() == [7, 12, 35, 46]


# --- summaries and facts -------------------------------------------------------------------


def test_relative_imports_resolve_against_the_module():
    assert resolve_relative("pkg.sub.mod", False, 1, "x") == "pkg.sub.x"
    assert resolve_relative("pkg.sub.mod", False, 2, None) == "pkg"
    assert resolve_relative("pkg.sub", True, 1, "mod") == "pkg.sub.mod"  # in pkg/sub/__init__.py


def test_module_names_follow_packages_and_src_layouts(tmp_path):
    package = tmp_path / "src" / "app" / "core"
    package.mkdir(parents=True)
    (tmp_path / "src" / "app" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "db.py").write_text("")
    assert module_name(str(package / "db.py")) == ("app.core.db", False)
    assert module_name(str(package / "__init__.py")) == ("app.core", True)


def test_a_namespace_package_is_found_by_the_end_of_a_name(tmp_path):
    """`ns/` has no __init__.py: its modules are named from `ns/pkg`, and a name written
    `ns.pkg.clients.make` still finds them."""
    pkg = tmp_path / "ns" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "clients.py").write_text("import httpx\n\ndef make():\n    return httpx.Client()\n")
    (pkg / "use.py").write_text(
        "from ns.pkg.clients import make\n\ndef go():\n    c = make()\n    c.get('/')\n")
    results = lint_paths([str(tmp_path / "ns")], _settings(tmp_path))
    assert [(Path(r.path).name, d.code) for r in results for d in r.diagnostics] == [("use.py", "LL201")]


def test_factories_reach_a_fixed_point_through_modules_and_ignore_cycles(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "__init__.py").write_text("")
    (tmp_path / "p" / "a.py").write_text(
        "from .b import second\n\ndef first():\n    return second()\n\ndef loop_a():\n    return loop_b()\n\n"
        "from .b import loop_b\n")
    (tmp_path / "p" / "b.py").write_text(
        "import socket\nfrom . import a\n\ndef second():\n    return socket.socket()\n\n"
        "def loop_b():\n    return a.loop_a()\n")
    index = _index(tmp_path / "p")
    made = index.made_by("p.a.first")
    assert made is not None and made.resource == "socket.socket()" and made.where.endswith("b.py:5")
    assert index.made_by("p.a.loop_a") is None  # a cycle makes nothing


def test_what_is_not_a_factory(tmp_path):
    (tmp_path / "m.py").write_text(
        "import functools, contextlib\n\n_CLIENT = open('x')\n\n"
        "def shared():\n    return _CLIENT\n\n"
        "@functools.lru_cache\ndef cached():\n    return open('x')\n\n"
        "@contextlib.contextmanager\ndef managed():\n    f = open('x')\n    yield f\n\n"
        "def stored(holder):\n    f = open('x')\n    holder.f = f\n    return f\n\n"
        "def mixed(flag):\n    if flag:\n        return open('x')\n    return 3\n\n"
        "def optional(flag):\n    if not flag:\n        return None\n    return open('x')\n")
    index = _index(tmp_path)
    assert {name: index.made_by(f"m.{name}") is not None
            for name in ("shared", "cached", "managed", "stored", "mixed", "optional")} == {
        "shared": False, "cached": False, "managed": False, "stored": False, "mixed": False, "optional": True}


def test_a_class_owning_a_resource_it_never_releases_is_no_resource_class(tmp_path):
    (tmp_path / "m.py").write_text(
        "import httpx\n\nclass Leaky:\n    def __init__(self):\n        self.c = httpx.Client()\n\n"
        "class Finalized:\n    def __init__(self):\n        self.c = httpx.Client()\n\n"
        "    def __del__(self):\n        self.c.close()\n\n"
        "class Polled:\n    def __init__(self):\n        self.c = httpx.Client()\n\n"
        "    def check(self):\n        self.c.poll()\n")
    index = _index(tmp_path)
    assert [index.made_by(f"m.{name}") for name in ("Leaky", "Finalized", "Polled")] == [None, None, None]


def test_a_summary_that_fails_costs_the_facts_not_the_findings(monkeypatch):
    import leaklint.engine as module

    def broken(*_args, **_kwargs):
        raise ValueError("a bug in the summarizer")

    monkeypatch.setattr(module, "summary_of", broken)
    result = lint_source("def f(p):\n    fh = open(p)\n    return fh.read()\n", "x.py", Settings())
    assert [d.code for d in result.diagnostics] == ["LL201"]


def test_explain_index_says_why_a_call_counts(capsys):
    from leaklint.cli import main

    folder = FIXTURES / "project_factories"
    code = main(["check", "--explain-index", str(folder / "util" / "clients.py")])
    out = capsys.readouterr().out
    assert code == 0
    assert "factory make_client: make_client() (returns httpx.Client(), made at" in out
    assert "shared_client" not in out


def test_a_declared_library_resource_makes_its_owners_resource_classes(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.leaklint.resources]\n"posthog.Posthog" = ["shutdown"]\n')
    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "telemetry.py").write_text(
        "from posthog import Posthog\n\nclass Telemetry:\n    def __init__(self, key):\n"
        "        self._client = Posthog(key)\n\n    def shutdown(self):\n        self._client.shutdown()\n")
    (pkg / "events.py").write_text(
        "from .telemetry import Telemetry\n\ndef on_event(event):\n    t = Telemetry('k')\n    t.capture(event)\n")
    from leaklint.config import load_settings

    settings = load_settings(str(tmp_path / "pyproject.toml"))
    results = lint_paths([str(pkg)], settings)
    found = [(Path(r.path).name, d.line, d.code) for r in results for d in r.diagnostics]
    assert found == [("events.py", 4, "LL201")]
    assert any("Telemetry() (owns posthog.Posthog()" in d.message for r in results for d in r.diagnostics)


_NO_LIBCST = """
import sys
from leaklint.api import lint_paths
from leaklint.config import Settings
settings = Settings()
assert sorted(settings.enabled_codes())[:2] == ["LL001", "LL101"]  # codes, not rule modules
lint_paths([sys.argv[1]], settings, use_cache=True)
assert "libcst" not in sys.modules, "a warm run imported libcst"
"""


def test_a_warm_run_and_rule_selection_never_import_libcst(tmp_path, monkeypatch):
    copy = _copy("project_factories", tmp_path)
    monkeypatch.chdir(tmp_path)
    lint_paths([str(copy)], Settings(root=tmp_path), use_cache=True)  # fills the cache
    run = subprocess.run([sys.executable, "-c", _NO_LIBCST, str(copy)], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_the_codes_table_agrees_with_the_rules():
    from leaklint.rules import all_rules
    from leaklint.rules.codes import DEFAULT_OFF, codes

    assert list(codes()) == [r.code for r in all_rules()]
    assert DEFAULT_OFF == {r.code for r in all_rules() if not r.default}


def test_a_with_block_that_does_not_close_is_no_release_method(tmp_path):
    """sqlite3's `with conn:` commits: a method using it releases nothing."""
    (tmp_path / "m.py").write_text(
        "import sqlite3\n\nclass Store:\n    def __init__(self):\n        self._db = sqlite3.connect(':memory:')\n\n"
        "    def add(self, row):\n        with self._db:\n            self._db.execute('insert', row)\n\n"
        "    def close(self):\n        self._db.close()\n")
    made = _index(tmp_path).made_by("m.Store")
    assert made is not None and made.spec.release == ("close",)


def test_an_edit_that_keeps_the_summary_relints_only_that_file(tmp_path, monkeypatch):
    import leaklint.api as api

    copy = _copy("project_factories", tmp_path)
    settings = _settings(copy)
    before = package_actual(copy, use_cache=True)
    linted = []
    real = api.read_and_lint
    monkeypatch.setattr(api, "read_and_lint", lambda path, s, project=None: linted.append(path) or real(path, s, project))
    clients = copy / "util" / "clients.py"
    clients.write_text(clients.read_text() + "\n# a comment: no fact changes\n")
    assert package_actual(copy, use_cache=True) == before
    assert [Path(p).name for p in linted] == ["clients.py"]
    # a new module beside it: names may resolve differently, every result is checked again
    (copy / "util" / "extra.py").write_text("def helper():\n    return 1\n")
    linted.clear()
    assert package_actual(copy, use_cache=True) == before
    assert [Path(p).name for p in linted] == ["extra.py"]


def test_a_cache_with_broken_summaries_is_read_as_no_summary(tmp_path):
    import json

    copy = _copy("project_factories", tmp_path)
    settings = _settings(copy)
    want = package_expected(copy)
    assert package_actual(copy, use_cache=True) == want
    for cache_file in (copy / ".leaklint_cache").glob("*.json"):
        data = json.loads(cache_file.read_text())
        for entry in data["files"].values():
            entry["summary"] = {"format": 1, "module": 3, "classes": "x"}
        cache_file.write_text(json.dumps(data))
    assert package_actual(copy, use_cache=True) == want
