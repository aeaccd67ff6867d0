"""The flake8 plugin: registered as LL, same findings as the CLI, flake8's noqa."""
import json
import os

from helpers import REPO, run_cli, run_flake8

FIXTURE = REPO / "tests" / "fixtures" / "ll1" / "ll101_stdlib_limits.py"


def _pairs_from_flake8(stdout):
    pairs = set()
    for line in stdout.decode().splitlines():
        path, line_no, _col, rest = line.split(":", 3)
        pairs.add((os.path.normpath(path), int(line_no), rest.split()[0]))
    return pairs


def test_flake8_select_ll_on_a_fixture_matches_cli(tmp_path):
    proc = run_flake8("--select", "LL", str(FIXTURE), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    flake8_pairs = {(line, code) for _p, line, code in _pairs_from_flake8(proc.stdout)}
    cli = run_cli("check", "--format", "json", str(FIXTURE), cwd=tmp_path)
    cli_pairs = {(d["line"], d["code"]) for d in json.loads(cli.stdout)}
    assert flake8_pairs == cli_pairs
    assert len(flake8_pairs) >= 8


def test_flake8_on_examples_matches_cli():
    proc = run_flake8("--select", "LL", "examples/", cwd=REPO)
    cli = run_cli("check", "--format", "json", "examples/", cwd=REPO)
    cli_triples = {(os.path.normpath(d["path"]), d["line"], d["code"]) for d in json.loads(cli.stdout)}
    assert _pairs_from_flake8(proc.stdout) == cli_triples
    assert cli_triples


def test_flake8_columns_are_the_clis(tmp_path):
    (tmp_path / "a.py").write_text("import asyncio, sys\nsem = asyncio.Semaphore(sys.maxsize)\n")
    proc = run_flake8("--select", "LL", "a.py", cwd=tmp_path)
    assert proc.stdout.decode().startswith("a.py:2:25: LL101 ")


def test_flake8_noqa_and_ignore(tmp_path):
    (tmp_path / "a.py").write_text(
        "import asyncio, sys\n"
        "a = asyncio.Semaphore(sys.maxsize)  # noqa: LL101\n"
        "b = asyncio.Semaphore(sys.maxsize)\n"
    )
    proc = run_flake8("--select", "LL", "a.py", cwd=tmp_path)
    assert [line.split(":")[1] for line in proc.stdout.decode().splitlines()] == ["3"]
    proc = run_flake8("--select", "LL", "--extend-ignore", "LL101", "a.py", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == b""


def test_flake8_syntax_error_is_e999_only(tmp_path):
    (tmp_path / "a.py").write_text("import asyncio\ndef f(:\n    asyncio.create_task(x())\n")
    proc = run_flake8("--select", "LL,E999", "a.py", cwd=tmp_path)
    out = proc.stdout.decode()
    assert "E999" in out and "LL001" not in out


def test_flake8_reads_tool_leaklint_tables_and_options(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.leaklint.limits]\n\"mycompany.work.run_all\" = { param = \"concurrency\", unbounded = [0] }\n"
    )
    (tmp_path / "a.py").write_text(
        "import asyncio\nfrom mycompany.work import run_all\nrun_all(jobs, concurrency=0)\nsem = asyncio.Semaphore(5000)\n"
    )
    proc = run_flake8("--select", "LL", "a.py", cwd=tmp_path)
    assert [line.split(":")[1] for line in proc.stdout.decode().splitlines()] == ["3"]
    proc = run_flake8("--select", "LL", "--leaklint-huge-threshold", "2000", "a.py", cwd=tmp_path)
    assert [line.split(":")[1] for line in proc.stdout.decode().splitlines()] == ["3", "4"]


def test_flake8_bad_tool_leaklint_is_reported(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nhuge-threshold = 'x'\n")
    (tmp_path / "a.py").write_text("x = 1\n")
    proc = run_flake8("--select", "LL", "a.py", cwd=tmp_path)
    assert proc.returncode != 0
    assert b"[tool.leaklint] huge-threshold: expected a positive integer" in proc.stdout + proc.stderr
