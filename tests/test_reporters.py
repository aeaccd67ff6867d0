"""--format sarif and --format github: the shapes code scanning and Actions read."""
import json
import re
from pathlib import Path

import jsonschema
import pytest

from helpers import LEAKY, run_cli
from leaklint.diagnostics import Applicability, Diagnostic, Fix
from leaklint.docs import rule_url
from leaklint.report import ReportOptions, github, sarif
from leaklint.rules import all_rules

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def validate(document):
    jsonschema.Draft4Validator(SCHEMA).validate(document)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "leaky.py").write_text(LEAKY)
    (tmp_path / "with space.py").write_text(LEAKY)
    (tmp_path / "broken.py").write_text("import asyncio\n\ndef f(:\n    asyncio.create_task(x())\n")
    (tmp_path / "clean.py").write_text("import asyncio\nsem = asyncio.Semaphore(4)\n")
    return tmp_path


def sarif_run(project, *paths):
    proc = run_cli("check", "--format", "sarif", *paths, cwd=project)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == b""
    document = json.loads(proc.stdout)
    validate(document)
    return document


def test_sarif_validates_and_lists_every_rule(project):
    document = sarif_run(project, "leaky.py")
    assert document["version"] == "2.1.0"
    assert len(document["runs"]) == 1
    run = document["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "leaklint"
    rules = all_rules()
    assert [r["id"] for r in driver["rules"]] == [r.code for r in rules]
    for described, rule in zip(driver["rules"], rules):
        assert described["name"] == rule.name
        assert described["shortDescription"]["text"] == rule.summary
        assert described["fullDescription"]["text"] == rule.rationale.strip()
        assert described["helpUri"] == rule_url(rule.code)
        assert described["helpUri"].endswith(f"/docs/rules/{rule.code}.md")
        assert (Path(__file__).parent.parent / "docs" / "rules" / f"{rule.code}.md").exists()


def test_sarif_results_match_the_json_report(project):
    run = sarif_run(project, "broken.py", "leaky.py", "with space.py")["runs"][0]
    findings = json.loads(run_cli("check", "--format", "json", "broken.py", "leaky.py", "with space.py", cwd=project).stdout)
    assert len(run["results"]) == len(findings) == 5
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for result, finding in zip(run["results"], findings):
        assert result["ruleId"] == finding["code"]
        assert ids[result["ruleIndex"]] == finding["code"]
        assert result["level"] == "error"
        assert result["message"]["text"] == finding["message"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        region = physical["region"]
        assert (region["startLine"], region["startColumn"]) == (finding["line"], finding["column"])
        if finding["code"] == "LL001":  # a point, not a range: no end
            assert "endLine" not in region and "endColumn" not in region
        else:
            assert (region["endLine"], region["endColumn"]) == (finding["end_line"], finding["end_column"])
        assert re.fullmatch(r"[0-9a-f]{16}:\d+", result["partialFingerprints"]["leaklint/v1"])
        assert result.get("properties", {}).get("fix") == finding["fix"] or finding["fix"] is None
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]]
    assert uris == ["broken.py", "leaky.py", "leaky.py", "with%20space.py", "with%20space.py"]
    first = run["results"][1]
    assert first["ruleId"] == "LL101"
    assert first["locations"][0]["physicalLocation"]["region"] == {"startLine": 4, "startColumn": 25, "endLine": 4, "endColumn": 36}
    assert first["properties"]["fix"]["applicability"] == "unsafe"


def test_sarif_when_clean_has_no_results(project):
    proc = run_cli("check", "--format", "sarif", "clean.py", cwd=project)
    assert proc.returncode == 0
    document = json.loads(proc.stdout)
    validate(document)
    assert document["runs"][0]["results"] == []


def test_sarif_fingerprints_survive_unrelated_edits(project):
    def prints():
        run = sarif_run(project, "leaky.py")["runs"][0]
        return [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"],
                 r["partialFingerprints"]["leaklint/v1"]) for r in run["results"]]

    before = prints()
    # lines added above, an unrelated line changed, a comment on the reported line
    edited = LEAKY.replace("import sys\n", "import sys\nimport os\n\n\nCONSTANT = 3\n")
    edited = edited.replace("sem = asyncio.Semaphore(sys.maxsize)", "sem  =  asyncio.Semaphore(sys.maxsize)  # why")
    (project / "leaky.py").write_text(edited)
    after = prints()
    assert [line for _c, line, _f in after] != [line for _c, line, _f in before]
    assert [(c, f) for c, _l, f in after] == [(c, f) for c, _l, f in before]
    # the offending code itself changed: a new fingerprint
    (project / "leaky.py").write_text(edited.replace("sys.maxsize", "10**9"))
    assert prints()[0][2] != before[0][2]


def test_sarif_identical_lines_get_distinct_fingerprints(tmp_path):
    (tmp_path / "a.py").write_text("import asyncio, sys\n" + "asyncio.Semaphore(sys.maxsize)\n" * 3)
    run = sarif_run(tmp_path, "a.py")["runs"][0]
    prints = [r["partialFingerprints"]["leaklint/v1"] for r in run["results"]]
    assert len(set(prints)) == 3
    assert {p.split(":")[0] for p in prints} == {prints[0].split(":")[0]}
    assert [p.split(":")[1] for p in prints] == ["0", "1", "2"]


def _diagnostic(**changes):
    fields = dict(code="LL101", name="unbounded-concurrency-limit", message="no limit", path="nb.ipynb",
                  line=2, column=5, end_line=2, end_column=9, fingerprint="0123456789abcdef:0")
    fields.update(changes)
    return Diagnostic(**fields)


def test_sarif_notebook_result_names_the_cell():
    document = sarif.document([_diagnostic(cell=3)], ReportOptions())
    validate(document)
    location = document["runs"][0]["results"][0]["locations"][0]
    assert location["properties"] == {"cell": 3}
    assert location["logicalLocations"][0]["name"] == "cell 3"
    assert location["physicalLocation"]["region"]["startLine"] == 2


def test_sarif_fixes_when_the_fix_engine_gives_text_edits():
    fix = Fix(Applicability.UNSAFE, "bound it at 32")
    with_fix = _diagnostic(path="src/a.py", fix=fix)
    suggestion = _diagnostic(path="src/a.py", line=7, end_line=7, fix=Fix(Applicability.SUGGESTED, "use a pool"))
    edits = {id(with_fix): [sarif.TextEdit(2, 5, 2, 9, "32")]}
    options = ReportOptions(fix_edits=lambda d: edits.get(id(d), []))
    document = sarif.document([with_fix, suggestion], options)
    validate(document)
    fixed, suggested = document["runs"][0]["results"]
    assert fixed["fixes"] == [{
        "description": {"text": "bound it at 32"},
        "artifactChanges": [{
            "artifactLocation": {"uri": "src/a.py", "uriBaseId": "%SRCROOT%"},
            "replacements": [{"deletedRegion": {"startLine": 2, "startColumn": 5, "endLine": 2, "endColumn": 9},
                              "insertedContent": {"text": "32"}}],
        }],
    }]
    assert "fixes" not in suggested
    assert suggested["properties"]["fix"] == {"applicability": "suggested", "description": "use a pool"}


def test_sarif_absolute_path_is_a_file_uri(tmp_path):
    document = sarif.document([_diagnostic(path=str(tmp_path / "a b.py"))], ReportOptions())
    validate(document)
    location = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": (tmp_path / "a b.py").as_uri()}


# --- GitHub workflow commands -------------------------------------------------------

def test_github_annotations(project):
    proc = run_cli("check", "--format", "github", "broken.py", "leaky.py", cwd=project)
    assert proc.returncode == 1
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 3
    assert lines[0] == "::error file=broken.py,line=3,col=7,title=LL001::syntax error: invalid syntax"
    assert lines[1].startswith(
        "::error file=leaky.py,line=4,col=25,endLine=4,endColumn=36,title=LL101::asyncio.Semaphore(value=sys.maxsize)")
    assert lines[2].startswith("::error file=leaky.py,line=7,col=5,endLine=7,endColumn=32,title=LL205::task from create_task()")


def test_github_escapes_data_and_properties():
    d = _diagnostic(path="odd,dir/a:b%.py", message="50% of\r\nall: tasks, lost")
    assert github.annotation(d) == (
        "::error file=odd%2Cdir/a%3Ab%25.py,line=2,col=5,endLine=2,endColumn=9,title=LL101"
        "::50%25 of%0D%0Aall: tasks, lost"
    )


def test_github_notebook_annotation_names_the_cell():
    assert github.annotation(_diagnostic(cell=4)) == "::error file=nb.ipynb,title=LL101::cell 4, line 2: no limit"


def test_github_clean_prints_nothing(project):
    proc = run_cli("check", "--format", "github", "clean.py", cwd=project)
    assert proc.returncode == 0 and proc.stdout == b""


def _apply_replacements(text, replacements):
    """Apply SARIF replacements (1-based, end exclusive) the way an editor would."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line, column):
        return starts[line - 1] + column - 1 if line <= len(lines) else starts[-1]

    spans = []
    for r in replacements:
        region = r["deletedRegion"]
        spans.append((offset(region["startLine"], region["startColumn"]),
                      offset(region["endLine"], region["endColumn"]), r["insertedContent"]["text"]))
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def test_cli_sarif_fixes_are_the_fix_engines(tmp_path):
    """Each SARIF fix, applied alone, gives what --fix --unsafe-fixes gives for that one
    finding; an insertion keeps the line it is inserted before."""
    source = (
        "import asyncio\nimport sys\n\n\n"
        "async def main(jobs):\n"
        "    asyncio.create_task(asyncio.sleep(1))\n"
        "    sem = asyncio.Semaphore(sys.maxsize)\n"
        "    return sem\n"
    )
    (tmp_path / "a.py").write_text(source)
    proc = run_cli("check", "--format", "sarif", "a.py", cwd=tmp_path)
    document = json.loads(proc.stdout)
    validate(document)
    warm = run_cli("check", "--format", "sarif", "a.py", cwd=tmp_path)  # findings from the cache
    assert json.loads(warm.stdout) == document
    results = {r["ruleId"]: r for r in document["runs"][0]["results"]}
    assert set(results) == {"LL101", "LL205"}
    for code, result in results.items():
        (change,) = result["fixes"][0]["artifactChanges"]
        patched = _apply_replacements(source, change["replacements"])
        compile(patched, "a.py", "exec")
        alone = tmp_path / f"{code}.py"
        alone.write_text(source)
        run_cli("check", "--fix", "--unsafe-fixes", "--select", code, alone.name, cwd=tmp_path)
        assert patched == alone.read_text(), code


# --- text: ruff's full format by default, concise on request ----------------------------------

FULL_LEAKY = """\
leaky.py:4:25: LL101 [*] asyncio.Semaphore(value=sys.maxsize) (= 9.2e+18) is no limit: everything
  that arrives runs at once and memory grows with the backlog — use a fixed bound such as 32
  |
4 | sem = asyncio.Semaphore(sys.maxsize)
  |                         ^^^^^^^^^^^ LL101
  |
  = help (unsafe fix): Replace the limit with 32 (the `default-limit` setting)
    -4 | sem = asyncio.Semaphore(sys.maxsize)
    +4 | sem = asyncio.Semaphore(32)

leaky.py:7:5: LL205 [*] task from create_task() is not kept: the event loop holds tasks only weakly,
  so it can be garbage-collected before it finishes and its exception is lost — keep a reference
  (e.g. in a set, with add_done_callback(set.discard))
  |
7 |     asyncio.create_task(work())
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^ LL205
  |
  = help (unsafe fix): Keep the task in the module-level set `_background_tasks` until it is done
    + 3 |
    + 4 | _background_tasks = set()
    - 7 |     asyncio.create_task(work())
    + 9 |     task = asyncio.create_task(work())
    +10 |     _background_tasks.add(task)
    +11 |     task.add_done_callback(_background_tasks.discard)

Found 2 findings.
[*] 2 fixable with the `--fix --unsafe-fixes` options.
"""


def test_text_is_the_full_format_by_default(project):
    """The fixes `--fix` would apply with the flags given are shown as diffs; the others
    by their description only."""
    proc = run_cli("check", "--no-cache", "--unsafe-fixes", "leaky.py", cwd=project, env_extra={"COLUMNS": "100"})
    assert proc.returncode == 1 and proc.stderr == b""
    assert proc.stdout.decode() == FULL_LEAKY
    for name in ("full", "text"):  # `text` is the full format's older name
        again = run_cli("check", "--no-cache", "--unsafe-fixes", "--output-format", name, "leaky.py", cwd=project,
                        env_extra={"COLUMNS": "100"})
        assert again.stdout.decode() == FULL_LEAKY
    safe_only = run_cli("check", "--no-cache", "leaky.py", cwd=project, env_extra={"COLUMNS": "100"}).stdout.decode()
    assert "= help (unsafe fix): Replace the limit with 32" in safe_only
    assert "-4 |" not in safe_only and "[*]" not in safe_only.splitlines()[0]


def test_concise_is_one_line_per_finding_and_format_is_its_alias(project):
    for flag in ("--output-format", "--format"):
        proc = run_cli("check", "--no-cache", flag, "concise", "leaky.py", "clean.py", cwd=project)
        lines = proc.stdout.decode().splitlines()
        assert [line.split(" ", 2)[:2] for line in lines[:2]] == [["leaky.py:4:25:", "LL101"], ["leaky.py:7:5:", "LL205"]]
        assert lines[2:] == ["Found 2 findings.",
                             "No fixes available (2 hidden fixes can be enabled with the `--unsafe-fixes` option)."]


def _text_diagnostic(**changes):
    fields = dict(code="LL204", name="inline-resource-discarded", message="open() is used once", path="a.py",
                  line=3, column=7, end_line=3, end_column=14, source_line="\tx = (open(p).read())\n")
    fields.update(changes)
    return Diagnostic(**fields)


def _full(diagnostics, options=None, columns=100, monkeypatch=None):
    import io

    from leaklint.report import text

    out = io.StringIO()
    text.write(diagnostics, out, options or ReportOptions(quiet=True))
    return out.getvalue()


def test_full_format_carets_line_up_under_tabs_and_stop_at_the_end_of_a_multiline_span(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert _full([_text_diagnostic()]) == (
        "a.py:3:7: LL204 open() is used once\n"
        "  |\n"
        "3 | \tx = (open(p).read())\n"
        "  | \t     ^^^^^^^ LL204\n"
        "  |\n"
        "\n"
    )
    spans_lines = _full([_text_diagnostic(end_line=5, end_column=2)])
    assert "  | \t     ^^^^^^^^^^^^^^^ LL204\n" in spans_lines  # to the end of the first line


def test_full_format_wraps_long_messages_and_shows_help_without_a_diff(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    message = "word " * 30
    fix = Fix(Applicability.SUGGESTED, "Bind it to a name")
    out = _full([_text_diagnostic(message=message.strip(), fix=fix, source_line="")])
    lines = out.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert lines[0].startswith("a.py:3:7: LL204 word word")
    assert all(line.startswith("  word") for line in lines[1:-2])
    assert lines[-2] == "  = help (suggestion): Bind it to a name"
    assert " ".join(" ".join(lines[:-2]).split()[2:]) == message.strip()  # nothing lost in the wrapping


def test_full_format_cuts_a_long_fix_diff(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    options = ReportOptions(quiet=True)
    options.fix_diff = lambda d: [f"+{n} | line" for n in range(30)]
    out = _full([_text_diagnostic(fix=Fix(Applicability.SAFE, "Rewrite"))], options)
    assert out.count("| line") == 12 and "... 18 more lines (see --diff)" in out
