"""[tool.leaklint]: discovery, validation, and exit 2 with file, key and reason."""
import json

import pytest

from helpers import run_cli
from leaklint.config import KEYS, ConfigError, Settings, load_settings, settings_from_table

LEAKY = "import asyncio, sys\nsem = asyncio.Semaphore(10**7)\n"


def write(tmp_path, body):
    (tmp_path / "pyproject.toml").write_text(body)
    (tmp_path / "a.py").write_text(LEAKY)


@pytest.mark.parametrize(
    "body, key, reason",
    [
        ("[tool.leaklint]\nselekt = ['LL1']\n", "selekt", "unknown key"),
        ("[tool.leaklint]\nselect = 'LL1'\n", "select", "expected a list of strings, got a string"),
        ("[tool.leaklint]\nselect = ['LL999']\n", "select", "unknown rule code or prefix 'LL999'"),
        ("[tool.leaklint]\nhuge-threshold = 'big'\n", "huge-threshold", "expected a positive integer, got a string"),
        ("[tool.leaklint]\nhuge-threshold = 0\n", "huge-threshold", "expected a positive integer, got 0"),
        ("[tool.leaklint]\ndefault-limit = true\n", "default-limit", "expected a positive integer, got a boolean"),
        ("[tool.leaklint]\nper-file-ignores = { 'tests/*' = ['XX1'] }\n", "per-file-ignores", "unknown rule code"),
        ("[tool.leaklint.limits]\n'a.b' = { position = 1 }\n", "limits", "missing 'param'"),
        ("[tool.leaklint.limits]\n'a.b' = { param = 'n', unbounded = ['huge'] }\n", "limits", "'unbounded' values"),
        ("[tool.leaklint.resources]\n'a.b' = 'close'\n", "resources", "non-empty list of method names"),
        ("[tool.leaklint.resources]\n'not a name' = ['close']\n", "resources", "is not a dotted name"),
        ("[tool.leaklint.buffers]\n'a.b' = { param = 'n', max = -1 }\n", "buffers", "must not be negative"),
        ("[tool.leaklint.subscriptions]\n'a.b' = { channel = 0 }\n", "subscriptions", "unknown key 'channel'"),
        ("[tool.leaklint]\nextend-exclude = ['a/**[']\n", "extend-exclude", "glob 'a/**[' has an unclosed '['"),
        ("[tool.leaklint]\nexclude = ['']\n", "exclude", "empty glob pattern"),
        ("[tool.leaklint]\nper-file-ignores = { 'tests/[x' = ['LL1'] }\n", "per-file-ignores", "unclosed '['"),
        ("[tool.leaklint]\nextend-select = ['LL1', 42]\n", "extend-select", "expected a list of strings"),
    ],
)
def test_bad_config_exit_2_with_key_and_reason(tmp_path, body, key, reason):
    write(tmp_path, body)
    proc = run_cli("check", "a.py", cwd=tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.count("\n") == 1, err  # one line
    assert "pyproject.toml" in err and f"[tool.leaklint] {key}" in err and reason in err
    assert proc.stdout == b""  # nothing linted


def test_invalid_toml_exit_2(tmp_path):
    write(tmp_path, "[tool.leaklint\nselect = [\n")
    proc = run_cli("check", "a.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert b"invalid TOML" in proc.stderr and b"Traceback" not in proc.stderr


def test_missing_config_file_exit_2(tmp_path):
    write(tmp_path, "")
    proc = run_cli("check", "--config", "nope.toml", "a.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert b"nope.toml: config file not found" in proc.stderr


def test_nearest_pyproject_with_section_is_used(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nhuge-threshold = 2000\n")
    sub = tmp_path / "pkg"
    sub.mkdir()
    (sub / "pyproject.toml").write_text("[project]\nname = 'inner'\n")  # no [tool.leaklint]: skipped
    (sub / "a.py").write_text("import asyncio\nsem = asyncio.Semaphore(5000)\n")
    proc = run_cli("check", "--format", "json", "a.py", cwd=sub)
    assert [d["code"] for d in json.loads(proc.stdout)] == ["LL101"]


def test_config_select_and_cli_override(tmp_path):
    write(tmp_path, "[tool.leaklint]\nselect = ['LL2']\n")
    proc = run_cli("check", "--format", "json", "a.py", cwd=tmp_path)
    assert json.loads(proc.stdout) == []
    proc = run_cli("check", "--format", "json", "--select", "LL1", "a.py", cwd=tmp_path)
    assert [d["code"] for d in json.loads(proc.stdout)] == ["LL101"]


def test_exclude(tmp_path):
    write(tmp_path, "[tool.leaklint]\nextend-exclude = ['generated', 'legacy/*.py']\n")
    for folder in ("generated", "legacy", "src"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "m.py").write_text(LEAKY)
    proc = run_cli("check", "--format", "json", ".", cwd=tmp_path)
    assert sorted({d["path"] for d in json.loads(proc.stdout)}) == ["a.py", "src/m.py"]


def test_per_file_ignores(tmp_path):
    write(tmp_path, "[tool.leaklint.per-file-ignores]\n'tests/*' = ['LL1']\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.py").write_text(LEAKY)
    proc = run_cli("check", "--format", "json", ".", cwd=tmp_path)
    assert [d["path"] for d in json.loads(proc.stdout)] == ["a.py"]


def test_every_key_validates_its_default():
    for key in KEYS:
        if key.default is not None:
            assert key.validate(key.default) == key.default


def test_defaults_without_config(tmp_path):
    settings = load_settings(start=tmp_path)
    assert settings == Settings()
    assert settings.huge_threshold == 1_000_000


def test_config_error_message_names_file_key_reason(tmp_path):
    with pytest.raises(ConfigError) as info:
        settings_from_table({"ignore": [1]}, tmp_path / "pyproject.toml")
    assert str(info.value) == (f"{tmp_path / 'pyproject.toml'}: [tool.leaklint] ignore: "
                               "expected a list of strings, got an integer at index 0 (1)")


# --- issue 18 ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "body, key, reason",
    [
        ("default-limit = 2000\nhuge-threshold = 2000\n", "default-limit", "default-limit = 2000 is at or above huge-threshold = 2000"),
        ("default-limit = 1000000\n", "default-limit", "default-limit = 1000000 is at or above huge-threshold = 1000000"),
        ("huge-threshold = 20\n", "huge-threshold", "default-limit = 32 is at or above huge-threshold = 20"),
        ("huge-threshold = 500\n", "huge-threshold", "default-queue-size = 1000 is at or above huge-threshold = 500"),
        ("huge-threshold = 100\ndefault-queue-size = 50\ndefault-cache-size = 128\n", "default-cache-size",
         "default-cache-size = 128 is at or above huge-threshold = 100"),
        ("exclude = [1]\n", "exclude", "expected a list of strings, got an integer at index 0 (1)"),
        ("extend-exclude = ['ok', true]\n", "extend-exclude", "got a boolean at index 1 (True)"),
        ("select = ['LL1', ['LL2']]\n", "select", "got a list at index 1 (['LL2'])"),
        ("peer-noqa = 'no'\n", "peer-noqa", "expected true or false, got a string"),
        ("respect-gitignore = 0\n", "respect-gitignore", "expected true or false, got an integer"),
    ],
)
def test_values_the_rules_would_flag_and_bad_elements_are_rejected(tmp_path, body, key, reason):
    write(tmp_path, "[tool.leaklint]\n" + body)
    proc = run_cli("check", "a.py", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1, err
    assert "pyproject.toml" in err and f"[tool.leaklint] {key}:" in err and reason in err, err


def test_fix_values_just_below_the_threshold_are_accepted(tmp_path):
    write(tmp_path, "[tool.leaklint]\nhuge-threshold = 100\ndefault-limit = 99\ndefault-queue-size = 99\ndefault-cache-size = 99\n")
    proc = run_cli("check", "--no-cache", "a.py", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr


def test_flake8_options_are_checked_too(tmp_path):
    from helpers import run_flake8

    (tmp_path / "a.py").write_text(LEAKY)
    proc = run_flake8("--select", "LL", "--leaklint-huge-threshold", "20", "a.py", cwd=tmp_path)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert b"--leaklint-huge-threshold: default-limit = 32 is at or above huge-threshold = 20" in out
    assert b"Traceback" not in out
    # and a malformed [tool.leaklint] is one message there too, not a traceback
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nselekt = []\n")
    proc = run_flake8("--select", "LL", "a.py", cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and b"[tool.leaklint] selekt: unknown key" in out and b"Traceback" not in out


def test_finder_reads_each_config_once_and_falls_back_to_the_current_folder(tmp_path):
    from leaklint.config import ConfigFinder

    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nignore = ['LL1']\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_text("[tool.leaklint]\nignore = ['LL2']\n")
    finder = ConfigFinder(cwd=tmp_path)
    inner = finder.for_path(str(tmp_path / "sub" / "x.py"))
    assert inner.ignore == ("LL2",) and inner.root == tmp_path / "sub"
    assert finder.for_path(str(tmp_path / "sub")) is inner
    assert finder.for_path(str(tmp_path / "y.py")).ignore == ("LL1",)
    assert finder.fallback().root == tmp_path


@pytest.mark.parametrize("flags, expected", [
    (("--extend-select", "LL"), {"E999", "LL205"}),           # the README's command: default rules only
    (("--select", "E9,LL"), {"E999", "LL205"}),
    (("--extend-select", "LL,LL404"), {"E999", "LL205", "LL404"}),  # named: on
    (("--select", "E9,LL4"), {"E999", "LL404"}),
])
def test_flake8_extend_select_ll_keeps_e999_and_default_off_rules_off(tmp_path, flags, expected):
    from helpers import run_flake8

    (tmp_path / "a.py").write_text(
        "import asyncio\nimport functools\n\n\n@functools.cache\ndef f(x):\n    return x\n\n\n"
        "async def g():\n    asyncio.create_task(g())\n")
    (tmp_path / "bad.py").write_text("if True\n    pass\n")
    proc = run_flake8(*flags, "a.py", "bad.py", cwd=tmp_path)
    codes = {line.split()[1] for line in proc.stdout.decode().splitlines()}
    assert codes == expected, proc.stdout


def test_the_config_keys_are_a_public_contract():
    # renaming or dropping a key breaks every pyproject.toml that uses it: add, never change
    assert [k.name for k in KEYS] == [
        "select", "extend-select", "ignore", "per-file-ignores", "exclude", "extend-exclude",
        "huge-threshold", "default-limit", "default-queue-size", "default-cache-size",
        "resources", "limits", "subscriptions", "buffers", "thresholds", "respect-gitignore", "peer-noqa",
    ]


def test_exit_statuses_are_a_public_contract(tmp_path):
    from leaklint import cli

    assert (cli.EXIT_CLEAN, cli.EXIT_FINDINGS, cli.EXIT_ERROR) == (0, 1, 2)
    write(tmp_path, "[tool.leaklint]\n")
    (tmp_path / "clean.py").write_text("x = 1\n")
    assert run_cli("check", "--no-cache", "clean.py", cwd=tmp_path).returncode == 0
    assert run_cli("check", "--no-cache", "a.py", cwd=tmp_path).returncode == 1
    assert run_cli("check", "--no-cache", "--exit-zero", "a.py", cwd=tmp_path).returncode == 0
    assert run_cli("check", "--no-cache", "missing.py", cwd=tmp_path).returncode == 2
    assert run_cli("check", "--no-cache", "--select", "LL999", "a.py", cwd=tmp_path).returncode == 2
