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


def test_missing_file_is_reported_not_a_crash(project):
    proc = run_cli("check", "--format", "json", "nope.py", "leaky.py", cwd=project)
    data = json.loads(proc.stdout)
    assert data[0]["path"] == "nope.py" and data[0]["code"] == "LL001"
    assert "cannot read file" in data[0]["message"]
    assert len(data) == 3


def test_statistics(project):
    (project / "more.py").write_text(LEAKY)
    proc = run_cli("check", "--statistics", "-q", "leaky.py", "more.py", cwd=project)
    tail = proc.stdout.decode().splitlines()[-2:]
    assert tail == ["2  LL101  unbounded-concurrency-limit", "2  LL205  dangling-task"]


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
