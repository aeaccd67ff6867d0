"""The CLI's public contract: output shapes, exit statuses, selection, noqa, stdin."""
import json

import pytest

from helpers import LEAKY, REPO, run_cli


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "leaky.py").write_text(LEAKY)
    (tmp_path / "clean.py").write_text("import asyncio\nsem = asyncio.Semaphore(4)\n")
    return tmp_path


def test_text_output_and_exit_1(project):
    proc = run_cli("check", "--output-format", "concise", "leaky.py", "clean.py", cwd=project)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert lines[0].startswith("leaky.py:4:25: LL101 asyncio.Semaphore(value=sys.maxsize)")
    assert lines[1].startswith("leaky.py:7:5: LL205 task from create_task() is not kept")
    assert lines[2] == "Found 2 findings."
    assert proc.stderr == b""


def test_clean_exit_0(project):
    proc = run_cli("check", "clean.py", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == "All checks passed!\n"


def test_json_contract(project):
    proc = run_cli("check", "--format", "json", "leaky.py", cwd=project)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert isinstance(data, list) and len(data) == 2
    first = data[0]
    assert set(first) == {"code", "name", "message", "path", "line", "column", "end_line", "end_column", "fix"}
    assert first["code"] == "LL101"
    assert first["name"] == "unbounded-concurrency-limit"
    assert first["path"] == "leaky.py"  # relative as given
    assert (first["line"], first["column"], first["end_line"], first["end_column"]) == (4, 25, 4, 36)
    assert first["fix"] == {"applicability": "unsafe", "description": first["fix"]["description"]}
    assert "32" in first["fix"]["description"]
    second = data[1]
    assert (second["code"], second["line"], second["column"]) == ("LL205", 7, 5)
    assert second["fix"]["applicability"] == "unsafe"


def test_json_empty_array_when_clean(project):
    proc = run_cli("check", "--format", "json", "clean.py", cwd=project)
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == []


def test_directory_discovery_paths_stay_relative(project):
    sub = project / "pkg"
    sub.mkdir()
    (sub / "mod.py").write_text(LEAKY)
    (project / ".venv").mkdir()
    (project / ".venv" / "pyvenv.cfg").write_text("")
    (project / ".venv" / "lib.py").write_text(LEAKY)
    (project / "build").mkdir()
    (project / "build" / "gen.py").write_text(LEAKY)
    (project / "node_modules").mkdir()
    (project / "node_modules" / "x.py").write_text(LEAKY)
    proc = run_cli("check", "--format", "json", ".", cwd=project)
    paths = sorted({d["path"] for d in json.loads(proc.stdout)})
    assert paths == ["leaky.py", "pkg/mod.py"]


def test_exit_zero(project):
    proc = run_cli("check", "--exit-zero", "leaky.py", cwd=project)
    assert proc.returncode == 0
    assert b"LL101" in proc.stdout


@pytest.mark.parametrize(
    "flags, codes",
    [
        ((), {"LL101", "LL205"}),
        (("--select", "LL1"), {"LL101"}),
        (("--select", "LL205"), {"LL205"}),
        (("--ignore", "LL2"), {"LL101"}),
        (("--select", "LL1", "--extend-select", "LL20"), {"LL101", "LL205"}),
        (("--select", "LL101,LL205", "--ignore", "LL101"), {"LL205"}),
    ],
)
def test_select_ignore_prefixes(project, flags, codes):
    proc = run_cli("check", "--format", "json", *flags, "leaky.py", cwd=project)
    assert {d["code"] for d in json.loads(proc.stdout)} == codes


def test_unknown_code_is_usage_error(project):
    proc = run_cli("check", "--select", "LL999", "leaky.py", cwd=project)
    assert proc.returncode == 2
    assert b"unknown rule code or prefix 'LL999'" in proc.stderr


def test_noqa(tmp_path):
    (tmp_path / "a.py").write_text(
        "import asyncio, sys\n"
        "a = asyncio.Semaphore(sys.maxsize)  # noqa\n"
        "b = asyncio.Semaphore(sys.maxsize)  # noqa: LL101\n"
        "c = asyncio.Semaphore(sys.maxsize)  # noqa:LL1\n"
        "d = asyncio.Semaphore(sys.maxsize)  # noqa: LL205\n"
        "e = asyncio.Semaphore(sys.maxsize)  # NOQA: E501,LL101\n"
    )
    proc = run_cli("check", "--format", "json", "a.py", cwd=tmp_path)
    assert [d["line"] for d in json.loads(proc.stdout)] == [5]


@pytest.mark.parametrize(
    "comment, expected",
    [("# leaklint: noqa", set()), ("# leaklint: noqa: LL205", {"LL101"}), ("#leaklint:NOQA:LL1", {"LL205"})],
)
def test_file_level_noqa(tmp_path, comment, expected):
    (tmp_path / "a.py").write_text(comment + "\n" + LEAKY)
    proc = run_cli("check", "--format", "json", "a.py", cwd=tmp_path)
    assert {d["code"] for d in json.loads(proc.stdout)} == expected


def test_stdin(project):
    proc = run_cli("check", "--format", "json", "--stdin-filename", "pkg/from_stdin.py", "-",
                   cwd=project, stdin=LEAKY.encode())
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert [(d["path"], d["code"], d["line"]) for d in data] == [
        ("pkg/from_stdin.py", "LL101", 4), ("pkg/from_stdin.py", "LL205", 7)]


def test_stdin_default_name(project):
    proc = run_cli("check", "-", cwd=project, stdin=LEAKY.encode())
    assert proc.stdout.decode().startswith("-:4:25: LL101")


def test_syntax_error_is_ll001_and_run_goes_on(project):
    (project / "broken.py").write_text("import asyncio\n\ndef f(:\n    asyncio.create_task(x())\n")
    proc = run_cli("check", "--format", "json", "broken.py", "leaky.py", cwd=project)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert [(d["path"], d["code"], d["line"]) for d in data] == [
        ("broken.py", "LL001", 3), ("leaky.py", "LL101", 4), ("leaky.py", "LL205", 7)]
    assert data[0]["message"].startswith("syntax error: ")
    assert proc.stderr == b""


def test_bad_encoding_is_ll001(project):
    (project / "latin.py").write_bytes(b"import asyncio\n\nx = '\xff\xfe'\nasyncio.create_task(x())\n")
    proc = run_cli("check", "--format", "json", "latin.py", cwd=project)
    data = json.loads(proc.stdout)
    assert [(d["code"], d["line"]) for d in data] == [("LL001", 3)]
    assert "cannot decode as utf-8" in data[0]["message"]


@pytest.mark.parametrize("extra", [(), ("--ignore", "LL001"), ("--select", "LL2")])
def test_a_path_that_does_not_exist_is_an_error_whatever_is_selected(project, extra):
    # a typo in CI must fail loudly, not pass because LL001 is ignored (issue 18)
    proc = run_cli("check", "--format", "json", *extra, "typo_dir/", "nope.py", "leaky.py", cwd=project)
    assert proc.returncode == 2
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "typo_dir/: no such file or folder" in err and "nope.py" in err


def test_statistics_prints_only_the_table_with_a_fixable_column(project):
    (project / "more.py").write_text(LEAKY)
    (project / "files.py").write_text("def f(p):\n    return open(p).read()\n")  # LL204: a safe fix
    proc = run_cli("check", "--statistics", "leaky.py", "more.py", "files.py", cwd=project)
    assert proc.returncode == 1
    assert proc.stdout.decode().splitlines() == [
        "2  LL101  [ ] unbounded-concurrency-limit", "2  LL205  [ ] dangling-task", "1  LL204  [*] inline-resource-discarded"]
    # unsafe fixes count as fixable when --unsafe-fixes is given, as in the text report
    proc = run_cli("check", "--statistics", "--unsafe-fixes", "leaky.py", cwd=project)
    assert proc.stdout.decode().splitlines() == ["1  LL101  [*] unbounded-concurrency-limit", "1  LL205  [*] dangling-task"]
    proc = run_cli("check", "--statistics", "--format", "json", "leaky.py", cwd=project)
    assert json.loads(proc.stdout) == [
        {"code": "LL101", "name": "unbounded-concurrency-limit", "count": 1, "fixable": False},
        {"code": "LL205", "name": "dangling-task", "count": 1, "fixable": False}]


def test_quiet_prints_findings_only(project):
    proc = run_cli("check", "-q", "--output-format", "concise", "leaky.py", cwd=project)
    out = proc.stdout.decode().splitlines()
    assert len(out) == 2 and all(": LL" in line for line in out)


def test_version():
    from leaklint import __version__

    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.decode().strip() == f"leaklint {__version__}"


def test_rule_explains():
    proc = run_cli("rule", "LL101")
    assert proc.returncode == 0
    text = proc.stdout.decode()
    assert text.startswith("# LL101 unbounded-concurrency-limit")
    assert "## Why is this bad?" in text and "## Flagged" in text and "## Not flagged" in text


def test_rule_unknown():
    proc = run_cli("rule", "LL999")
    assert proc.returncode == 2
    assert b"unknown rule 'LL999'" in proc.stderr


def test_rules_table_lists_every_rule():
    from leaklint.rules import all_rules

    proc = run_cli("rules", "--format", "json")
    assert [r["code"] for r in json.loads(proc.stdout)] == [r.code for r in all_rules()]


def test_no_command_is_usage_error():
    proc = run_cli()
    assert proc.returncode == 2


def test_examples_folder_shows_findings():
    proc = run_cli("check", "--format", "json", "examples", cwd=REPO)
    assert proc.returncode == 1
    codes = {d["code"] for d in json.loads(proc.stdout)}
    # the quick start promises a newcomer every family's findings
    assert {code[:3] for code in codes} == {"LL1", "LL2", "LL3", "LL4"}
    assert {"LL101", "LL205"} <= codes


# --- issue 18: a ruff user's expectations ----------------------------------------------

def _codes_of(proc):
    return sorted(d["code"] for d in json.loads(proc.stdout))


def test_config_is_found_from_the_linted_path_and_the_cache_is_written_there(tmp_path):
    proj = tmp_path / "code" / "proj1"
    proj.mkdir(parents=True)
    (proj / "pyproject.toml").write_text("[tool.leaklint]\nignore = ['LL205']\n")
    (proj / "leaky.py").write_text(LEAKY)
    home = tmp_path / "home"
    home.mkdir()
    proc = run_cli("check", "--format", "json", str(proj), cwd=home)
    assert _codes_of(proc) == ["LL101"], proc.stderr
    assert (proj / ".leaklint_cache").is_dir()
    assert not (home / ".leaklint_cache").exists()


def test_each_path_uses_its_own_projects_config(tmp_path):
    for name, ignored in (("one", "LL101"), ("two", "LL205")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pyproject.toml").write_text(f"[tool.leaklint]\nignore = ['{ignored}']\n")
        (tmp_path / name / "m.py").write_text(LEAKY)
    (tmp_path / "loose.py").write_text(LEAKY)  # no config of its own: the current folder's (none)
    proc = run_cli("check", "--no-cache", "--format", "json", "one/m.py", "two", "loose.py", cwd=tmp_path)
    found = sorted((d["path"], d["code"]) for d in json.loads(proc.stdout))
    assert found == [("loose.py", "LL101"), ("loose.py", "LL205"), ("one/m.py", "LL205"), ("two/m.py", "LL101")]


def test_a_nested_project_in_a_walked_folder_uses_its_own_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nignore = ['LL205']\nextend-exclude = ['skipped']\n")
    inner = tmp_path / "libs" / "inner"
    (inner / "gen").mkdir(parents=True)
    (inner / "pyproject.toml").write_text("[tool.leaklint]\nignore = ['LL101']\nexclude = ['gen']\n")
    (inner / "m.py").write_text(LEAKY)
    (inner / "gen" / "g.py").write_text(LEAKY)  # the inner project's exclude
    (tmp_path / "skipped").mkdir()
    (tmp_path / "skipped" / "s.py").write_text(LEAKY)  # the outer one's
    (tmp_path / "outer.py").write_text(LEAKY)
    proc = run_cli("check", "--format", "json", ".", cwd=tmp_path)
    found = sorted((d["path"], d["code"]) for d in json.loads(proc.stdout))
    assert found == [("libs/inner/m.py", "LL205"), ("outer.py", "LL101")], proc.stderr
    assert (inner / ".leaklint_cache").is_dir() and (tmp_path / ".leaklint_cache").is_dir()


def test_a_path_without_config_uses_the_current_folders(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nignore = ['LL205']\n")
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (outside / "m.py").write_text(LEAKY)
    proc = run_cli("check", "--no-cache", "--format", "json", str(outside / "m.py"), cwd=tmp_path)
    assert _codes_of(proc) == ["LL101"]


def test_config_flag_applies_to_every_path(tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "pyproject.toml").write_text("[tool.leaklint]\nignore = ['LL205']\n")
    (tmp_path / "proj" / "m.py").write_text(LEAKY)
    (tmp_path / "other.toml").write_text("ignore = ['LL101']\n")
    proc = run_cli("check", "--no-cache", "--format", "json", "--config", "other.toml", "proj", cwd=tmp_path)
    assert _codes_of(proc) == ["LL205"]


@pytest.mark.parametrize(
    "config, flags, codes",
    [
        # the command line's --select replaces the config's select and extend-select
        ("extend-select = ['LL404']", ("--select", "LL001"), []),
        ("extend-select = ['LL404']", ("--select", "LL1"), ["LL101"]),
        ("select = ['LL4']", ("--select", "LL2"), ["LL205"]),
        # repeated flags add up
        ("", ("--select", "LL101", "--select", "LL205"), ["LL101", "LL205"]),
        ("extend-select = ['LL404']", ("--ignore", "LL101", "--ignore", "LL205"), ["LL404"]),
        ("", ("--select", "LL101", "--extend-select", "LL205", "--extend-select", "LL404"), ["LL101", "LL205", "LL404"]),
        # the command line comes after the config: it can turn back on what the config ignores
        ("ignore = ['LL205']", ("--extend-select", "LL205"), ["LL101", "LL205"]),
        ("ignore = ['LL205']", ("--select", "LL2"), ["LL205"]),
        # without a --select the config's choices stay
        ("extend-select = ['LL404']", ("--ignore", "LL101"), ["LL205", "LL404"]),
        # within one layer the more specific prefix wins, and ignore between equals
        ("", ("--select", "LL2", "--ignore", "LL205"), []),
        ("", ("--select", "LL205", "--ignore", "LL2"), ["LL205"]),
        ("", ("--select", "LL205", "--ignore", "LL205"), []),
    ],
)
def test_command_line_selection_follows_ruff(tmp_path, config, flags, codes):
    (tmp_path / "pyproject.toml").write_text(f"[tool.leaklint]\n{config}\n")
    (tmp_path / "m.py").write_text(LEAKY + "\nimport functools\n\n@functools.cache\ndef f(x):\n    return x\n")
    proc = run_cli("check", "--no-cache", "--format", "json", *flags, "m.py", cwd=tmp_path)
    assert _codes_of(proc) == codes, proc.stderr


def test_ll001_is_reported_whatever_is_selected_unless_ignored(tmp_path):
    (tmp_path / "bad.py").write_text("import asyncio\nif True\n    pass\n")
    proc = run_cli("check", "--no-cache", "--format", "json", "--select", "LL2", "bad.py", cwd=tmp_path)
    assert _codes_of(proc) == ["LL001"]
    proc = run_cli("check", "--no-cache", "--format", "json", "--ignore", "LL001", "bad.py", cwd=tmp_path)
    assert _codes_of(proc) == []
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nignore = ['LL0']\n")
    proc = run_cli("check", "--no-cache", "--format", "json", "bad.py", cwd=tmp_path)
    assert _codes_of(proc) == []


@pytest.mark.parametrize("source", [
    "import asyncio\nif True\n    pass\n",     # no trigger word of any rule
    "x = (\n",
    "def f():\nreturn 1\n",
])
def test_syntax_errors_are_reported_in_files_without_trigger_words(tmp_path, source):
    (tmp_path / "bad.py").write_text(source)
    proc = run_cli("check", "--no-cache", "--format", "json", "bad.py", cwd=tmp_path)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert [d["code"] for d in data] == ["LL001"] and data[0]["message"].startswith("syntax error")


def test_jobs_are_capped_at_the_cpus_and_the_files(project, monkeypatch):
    from leaklint import api

    monkeypatch.setattr(api, "default_jobs", lambda: 2)
    items = [(f"f{i}.py", 10**6) for i in range(50)]
    assert api.worker_count(items, 100_000) == 2
    assert api.worker_count(items[:1], 100_000) == 1
    proc = run_cli("check", "--help")
    assert "capped at the number of CPUs and of files" in " ".join(proc.stdout.decode().split())
    proc = run_cli("check", "--no-cache", "-j", "100000", "leaky.py", "clean.py", cwd=project)
    assert proc.returncode == 1 and b"Found 2 findings." in proc.stdout


def test_write_baseline_says_what_it_recorded(project):
    proc = run_cli("check", "--no-cache", "--write-baseline", "base.json", "leaky.py", cwd=project)
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert "All checks passed" not in out
    assert out.startswith("Recorded 2 findings in base.json")
    proc = run_cli("check", "--no-cache", "--baseline", "base.json", "leaky.py", cwd=project)
    assert (proc.returncode, proc.stdout.decode()) == (0, "All checks passed!\n")


@pytest.mark.parametrize("comment, expected", [
    ("# flake8: noqa", []),
    ("#FLAKE8:NOQA", []),
    ("# flake8: noqa: LL205", ["LL101"]),
    ("# flake8: noqa: E501", ["LL101", "LL205"]),  # another tool's codes silence nothing here
    ("x = 1  # flake8: noqa", ["LL101", "LL205"]),  # not on a line of its own, as in flake8
])
def test_flake8_file_noqa(tmp_path, comment, expected):
    (tmp_path / "a.py").write_text(comment + "\n" + LEAKY)
    proc = run_cli("check", "--no-cache", "--format", "json", "a.py", cwd=tmp_path)
    assert _codes_of(proc) == expected


@pytest.mark.parametrize("text", [
    'DOC = """\n# leaklint: noqa\n"""\n',
    'DOC = """\n# flake8: noqa\n"""\n',
    "DOC = '''\n  # leaklint: noqa: LL1\n'''\n",
])
def test_noqa_inside_a_string_silences_nothing(tmp_path, text):
    (tmp_path / "a.py").write_text(LEAKY + text)
    proc = run_cli("check", "--no-cache", "--format", "json", "a.py", cwd=tmp_path)
    assert _codes_of(proc) == ["LL101", "LL205"]


def test_line_noqa_in_a_string_on_the_reported_line_silences_nothing(tmp_path):
    (tmp_path / "a.py").write_text(
        "import asyncio\n\nasync def main():\n"
        "    asyncio.create_task(main()); s = '# noqa'\n"
        "    asyncio.create_task(main()); s = '# noqa'  # noqa: LL205\n"
    )
    proc = run_cli("check", "--no-cache", "--format", "json", "a.py", cwd=tmp_path)
    assert [(d["code"], d["line"]) for d in json.loads(proc.stdout)] == [("LL205", 4)]


PEERS = '''\
import asyncio
import functools
import requests


def read(p):
    f = open(p)  # noqa: SIM115
    return f.readline()


def session(u):
    s = requests.Session()  # noqa: SIM115
    return s.get(u).status_code


def inline(p):
    return open(p).read()  # noqa: SIM115


class C:
    @functools.lru_cache(maxsize=None)  # noqa: B019
    def method(self, x):
        return x

    @staticmethod
    @functools.cache  # noqa: B019
    def static(x):
        return x


@functools.cache  # noqa: B019
def function(x):
    return x


async def main():
    asyncio.create_task(main())  # noqa: RUF006
    asyncio.ensure_future(main())  # noqa: ASYNC300
    asyncio.create_task(main())  # noqa: RUF005
    sem = asyncio.Semaphore(10**9)  # noqa: RUF006
'''


def test_peer_noqa_codes_silence_the_same_check_only(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nextend-select = ['LL404']\n")
    (tmp_path / "a.py").write_text(PEERS)
    proc = run_cli("check", "--no-cache", "--format", "json", "a.py", cwd=tmp_path)
    found = [(d["code"], d["line"]) for d in json.loads(proc.stdout)]
    assert found == [
        ("LL201", 12),  # SIM115 is about files: a session is not one
        ("LL404", 26),  # B019 is about methods: a static method is not one
        ("LL404", 31),  # nor a module-level function
        ("LL205", 39),  # another ruff rule
        ("LL101", 40),  # RUF006 is about tasks
    ]


def test_peer_noqa_can_be_turned_off(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nextend-select = ['LL404']\npeer-noqa = false\n")
    (tmp_path / "a.py").write_text(PEERS)
    proc = run_cli("check", "--no-cache", "--format", "json", "a.py", cwd=tmp_path)
    assert [d["line"] for d in json.loads(proc.stdout)] == [7, 12, 17, 21, 26, 31, 37, 38, 39, 40]


def test_peer_codes_name_rules_that_exist():
    from leaklint.noqa import PEER_CODES
    from leaklint.rules import rules_by_code

    for peer, (codes, _where) in PEER_CODES.items():
        assert codes and all(code in rules_by_code() for code in codes), peer


def test_exclude_and_per_file_ignores_on_the_command_line(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nexclude = ['legacy']\n")
    for folder in ("legacy", "generated", "tests", "src"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "m.py").write_text(LEAKY)

    def paths(*flags):
        proc = run_cli("check", "--no-cache", "--format", "json", *flags, ".", cwd=tmp_path)
        assert proc.returncode in (0, 1), proc.stderr
        return sorted({(d["path"], d["code"]) for d in json.loads(proc.stdout)})

    assert {p for p, _c in paths()} == {"generated/m.py", "src/m.py", "tests/m.py"}
    # --exclude replaces the config's exclude; --extend-exclude adds to it (repeatable)
    assert {p for p, _c in paths("--exclude", "generated")} == {"legacy/m.py", "src/m.py", "tests/m.py"}
    assert {p for p, _c in paths("--extend-exclude", "generated", "--extend-exclude", "tests/*")} == {"src/m.py"}
    found = paths("--extend-exclude", "generated", "--per-file-ignores", "tests/*:LL1,LL205")
    assert found == [("src/m.py", "LL101"), ("src/m.py", "LL205")]
    found = paths("--extend-exclude", "generated,src", "--per-file-ignores", "tests/*:LL1",
                  "--extend-per-file-ignores", "tests/*:LL205")
    assert found == []


@pytest.mark.parametrize("flag, value, reason", [
    ("--per-file-ignores", "tests/*", "expected GLOB:CODES"),
    ("--per-file-ignores", "tests/*:LL999", "unknown rule code or prefix 'LL999'"),
    ("--exclude", "a/[b", "has an unclosed '['"),
])
def test_bad_file_flags_are_usage_errors(project, flag, value, reason):
    proc = run_cli("check", flag, value, "leaky.py", cwd=project)
    assert proc.returncode == 2 and reason in proc.stderr.decode()


def test_gitignore_and_ignore_files_are_respected(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("generated/\n*_pb2.py\n!keep_pb2.py\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / ".ignore").write_text("scratch.py\n")
    for path in ("generated/m.py", "src/a.py", "src/x_pb2.py", "src/keep_pb2.py", "src/scratch.py"):
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text(LEAKY)

    def paths(*args, cwd=tmp_path):
        proc = run_cli("check", "--no-cache", "--format", "json", *args, cwd=cwd)
        return sorted({d["path"] for d in json.loads(proc.stdout)})

    assert paths(".") == ["src/a.py", "src/keep_pb2.py"]
    # the repository root's .gitignore counts when linting a folder below it
    assert paths(".", cwd=tmp_path / "src") == ["a.py", "keep_pb2.py"]
    # a file named on the command line is linted whatever ignores it
    assert paths("src/x_pb2.py") == ["src/x_pb2.py"]
    assert paths("--no-respect-gitignore", ".") == [
        "generated/m.py", "src/a.py", "src/keep_pb2.py", "src/scratch.py", "src/x_pb2.py"]
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nrespect-gitignore = false\n")
    assert len(paths(".")) == 5


def test_a_folder_given_inside_an_ignored_tree_is_linted(tmp_path):
    # pyenv's checkout ignores /versions/, where the interpreter being linted lives: the
    # ignore files above a folder that is itself ignored do not count
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("/versions/\n*_pb2.py\n")
    lib = tmp_path / "versions" / "lib"
    lib.mkdir(parents=True)
    (lib / "m.py").write_text(LEAKY)
    (lib / "m_pb2.py").write_text(LEAKY)
    proc = run_cli("check", "--no-cache", "--format", "json", "versions/lib", cwd=tmp_path)
    assert sorted({d["path"] for d in json.loads(proc.stdout)}) == ["versions/lib/m.py", "versions/lib/m_pb2.py"]
    proc = run_cli("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    assert json.loads(proc.stdout) == []


def test_rules_json_fields_are_a_public_contract():
    data = json.loads(run_cli("rules", "--format", "json").stdout)
    assert all(set(r) == {"code", "name", "default", "fix", "summary"} for r in data)
    assert {r["fix"] for r in data} <= {None, "safe", "unsafe", "suggested"}


def test_rules_table_has_a_header_row():
    proc = run_cli("rules")
    header, first = proc.stdout.decode().splitlines()[:2]
    assert header.split() == ["code", "name", "default", "fix", "summary"]
    assert first.startswith("LL001")


def test_rule_by_name_and_all():
    by_name = run_cli("rule", "dangling-task")
    assert by_name.returncode == 0
    assert by_name.stdout == run_cli("rule", "LL205").stdout
    every = run_cli("rule", "--all")
    from leaklint.rules import all_rules

    text = every.stdout.decode()
    assert every.returncode == 0 and all(f"# {r.code} {r.name}" in text for r in all_rules())
    assert run_cli("rule").returncode == 2
    assert b"unknown rule 'no-such-rule'" in run_cli("rule", "no-such-rule").stderr
