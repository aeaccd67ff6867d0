"""--write-baseline / --baseline: adopt leaklint by reporting only new findings."""
import json

import pytest

from helpers import LEAKY, run_cli


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text(LEAKY)
    (tmp_path / "src" / "b.py").write_text(LEAKY)
    return tmp_path


def check(project, *args, cwd=None):
    proc = run_cli("check", "--format", "json", *args, cwd=cwd or project)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip() else None)


def test_round_trip(project):
    proc, reported = check(project, "--write-baseline", "leaklint-baseline.json", ".")
    assert proc.returncode == 0, proc.stderr
    assert reported == []
    assert proc.stderr.decode() == (
        "Recorded 4 findings in leaklint-baseline.json: runs with --baseline leaklint-baseline.json report only new ones.\n")
    data = json.loads((project / "leaklint-baseline.json").read_text())
    assert data["leaklint-baseline"] == 1
    assert [(e["path"], e["code"], e["line"]) for e in data["findings"]] == [
        ("src/a.py", "LL101", 4), ("src/a.py", "LL205", 7), ("src/b.py", "LL101", 4), ("src/b.py", "LL205", 7)]

    proc, reported = check(project, "--baseline", "leaklint-baseline.json", ".")
    assert (proc.returncode, reported) == (0, [])

    # code moves down, an unrelated line changes: still known
    moved = "import os\n\n\n" + LEAKY.replace("async def main():", "async def main():  # entry point")
    (project / "src" / "a.py").write_text(moved)
    proc, reported = check(project, "--baseline", "leaklint-baseline.json", ".")
    assert (proc.returncode, reported) == (0, [])

    # a new leak, and a second copy of a known one: both reported, nothing else
    (project / "src" / "a.py").write_text(moved + "\nother = asyncio.BoundedSemaphore(10**9)\nsem = asyncio.Semaphore(sys.maxsize)\n")
    proc, reported = check(project, "--baseline", "leaklint-baseline.json", ".")
    assert proc.returncode == 1
    assert [(d["path"], d["line"], d["code"]) for d in reported] == [("src/a.py", 12, "LL101"), ("src/a.py", 13, "LL101")]

    # fixing a known leak leaves nothing new to report
    (project / "src" / "b.py").write_text(LEAKY.replace("sys.maxsize", "8"))
    proc, reported = check(project, "--baseline", "leaklint-baseline.json", "src/b.py")
    assert (proc.returncode, reported) == (0, [])


def test_fix_reports_only_findings_not_in_the_baseline(project):
    """--fix applies fixes as usual; what remains is filtered by the baseline too."""
    check(project, "--write-baseline", "base.json", ".")
    (project / "src" / "c.py").write_text("import asyncio, sys\nnew = asyncio.Semaphore(sys.maxsize)\n")
    proc, reported = check(project, "--fix", "--baseline", "base.json", ".")
    assert proc.returncode == 1
    # LL101's fix is unsafe: nothing is fixed, and only the new file's finding is reported
    assert [(d["path"], d["code"]) for d in reported] == [("src/c.py", "LL101")]
    proc, reported = check(project, "--fix", "--unsafe-fixes", "--baseline", "base.json", ".")
    assert (proc.returncode, reported) == (0, [])
    assert "Semaphore(32)" in (project / "src" / "c.py").read_text()


def test_paths_are_matched_from_the_project_root(project):
    check(project, "--write-baseline", "base.json", "src")
    # another spelling of the same files, from another folder
    proc, reported = check(project, "--baseline", "../base.json", "./a.py", "b.py", cwd=project / "src")
    assert (proc.returncode, reported) == (0, [])
    # the same code in another file is not known
    (project / "src" / "c.py").write_text(LEAKY)
    proc, reported = check(project, "--baseline", "base.json", "src")
    assert {d["path"] for d in reported} == {"src/c.py"}


def test_baseline_and_text_report(project):
    check(project, "--write-baseline", "base.json", ".")
    (project / "src" / "a.py").write_text(LEAKY + "extra = asyncio.Semaphore(sys.maxsize)\n")
    proc = run_cli("check", "--output-format", "concise", "--baseline", "base.json", ".", cwd=project)
    out = proc.stdout.decode().splitlines()
    assert out[0].startswith("src/a.py:8:27: LL101 ")
    assert out[1] == "Found 1 finding."


@pytest.mark.parametrize(
    "content, reason",
    [
        ("{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        ("[]", "not a leaklint baseline"),
        ('{"findings": []}', "not a leaklint baseline"),
        ('{"leaklint-baseline": 1, "findings": {}}', "not a leaklint baseline"),
        ('{"leaklint-baseline": 1, "findings": [{"code": "LL101", "path": "a.py"}]}', "finding 1 needs"),
        ('{"leaklint-baseline": 1, "findings": [{"code": "LL101", "path": "a.py", "fingerprint": 3}]}', "finding 1 needs"),
        ('{"leaklint-baseline": 1, "findings": [{"code": "LL101", "path": "a.py", "fingerprint": "abc"}]}', "finding 1 needs"),
    ],
)
def test_bad_baseline_is_exit_2_with_one_line(project, content, reason):
    target = project / "base.json"
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    proc = run_cli("check", "--baseline", "base.json", ".", cwd=project)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.count("\n") == 1, err
    assert err.startswith("leaklint: error: baseline base.json: ") and reason in err
    assert proc.stdout == b""  # nothing linted or printed


def test_missing_baseline_is_exit_2(project):
    proc = run_cli("check", "--baseline", "nope.json", ".", cwd=project)
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("leaklint: error: baseline nope.json: cannot read")


def test_unwritable_baseline_is_exit_2(project):
    proc = run_cli("check", "--write-baseline", "no/such/folder/base.json", ".", cwd=project)
    assert proc.returncode == 2
    assert "baseline no/such/folder/base.json: cannot write" in proc.stderr.decode()
