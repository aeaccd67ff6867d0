"""Notebooks: the CLI's cell-aware output (a public contract), the reader's handling of
IPython syntax and broken files, and discovery."""
import json

import pytest

from helpers import run_cli
from leaklint.api import lint_source
from leaklint.config import Settings
from leaklint import fixes
from leaklint import notebook as notebook_module
from leaklint.notebook import build, code_cells, from_script, opaque_ipython


def notebook(*cells, markdown_first=True):
    """nbformat 4 JSON: a markdown cell first (so code cells are numbered from 2), then
    the given code cells."""
    items = [{"cell_type": "markdown", "metadata": {}, "source": ["# Title\n"]}] if markdown_first else []
    for source in cells:
        items.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                      "source": source.splitlines(keepends=True)})
    return json.dumps({"cells": items, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


BROKER_CELLS = (
    "!pip install faststream\nfrom faststream.redis import RedisBroker\n\nbroker = RedisBroker()\n",
    "%load_ext autoreload\n@broker.subscriber(\"orders\")\nasync def on_order(msg):\n    print(msg)\n",
)


@pytest.fixture
def nb_project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "nb.ipynb").write_text(notebook(*BROKER_CELLS))
    return tmp_path


def test_text_output_names_the_cell(nb_project):
    proc = run_cli("check", "--output-format", "concise", "nb.ipynb", cwd=nb_project)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert lines[0].startswith("nb.ipynb:cell 2:4:10: LL304 `RedisBroker(...)` at the top level of this cell")
    assert lines[1].startswith("nb.ipynb:cell 3:2:2: LL304 `broker.subscriber(\"orders\")` runs at the top level")
    assert lines[2] == "Found 2 findings."
    assert proc.stderr == b""


def test_json_adds_cell_and_counts_lines_within_it(nb_project):
    proc = run_cli("check", "--format", "json", "nb.ipynb", cwd=nb_project)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert [set(d) for d in data] == [
        {"code", "name", "message", "path", "line", "column", "end_line", "end_column", "fix", "cell"}
    ] * 2
    first, second = data
    assert (first["code"], first["path"], first["cell"]) == ("LL304", "nb.ipynb", 2)
    assert (first["line"], first["column"], first["end_line"], first["end_column"]) == (4, 10, 4, 23)
    assert first["name"] == "notebook-cell-subscription"
    assert first["fix"]["applicability"] == "suggested"
    assert (second["cell"], second["line"], second["column"]) == (3, 2, 2)


def test_py_files_have_no_cell_key(tmp_path):
    (tmp_path / "a.py").write_text("import atexit\n\ndef f(): ...\n\natexit.register(f)\natexit.register(f)\n")
    data = json.loads(run_cli("check", "--format", "json", "a.py", cwd=tmp_path).stdout)
    assert [d["code"] for d in data] == ["LL301"] and "cell" not in data[0]


def test_notebook_rule_does_not_run_on_python_files(tmp_path):
    (tmp_path / "a.py").write_text("from faststream.redis import RedisBroker\n\nbroker = RedisBroker()\n")
    proc = run_cli("check", "a.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout


def test_directories_include_notebooks_but_not_checkpoints(nb_project):
    checkpoints = nb_project / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "nb-checkpoint.ipynb").write_text(notebook(*BROKER_CELLS))
    data = json.loads(run_cli("check", "--format", "json", ".", cwd=nb_project).stdout)
    assert {d["path"] for d in data} == {"nb.ipynb"}


def test_stdin_with_a_notebook_name(nb_project):
    proc = run_cli("check", "--stdin-filename", "in.ipynb", "-", cwd=nb_project,
                   stdin=notebook(*BROKER_CELLS).encode())
    assert proc.returncode == 1
    assert proc.stdout.decode().startswith("in.ipynb:cell 2:4:10: LL304")


@pytest.mark.parametrize(
    "content, where, reason",
    [
        (b'{"cells": [\n  {"cell_type": "code",\n', "3:1", "notebook is not valid JSON"),
        (b"[1, 2]", "1:1", "not a Jupyter notebook"),
        (b'{"cells": {"a": 1}}', "1:1", "not a Jupyter notebook"),
        (b'{"cells": []}\xff', "1:1", "notebook is not UTF-8"),
    ],
)
def test_broken_notebook_is_ll001_not_a_crash(tmp_path, content, where, reason):
    (tmp_path / "bad.ipynb").write_bytes(content)
    (tmp_path / "good.py").write_text("import atexit\n\ndef f(): ...\n\natexit.register(f)\natexit.register(f)\n")
    proc = run_cli("check", "bad.ipynb", "good.py", cwd=tmp_path)
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert out.startswith(f"bad.ipynb:{where}: LL001 {reason}"), out
    assert "good.py:6:1: LL301" in out  # the run goes on
    assert b"Traceback" not in proc.stderr


@pytest.mark.parametrize("content", [b"{}", b'{"cells": []}', b'{"nbformat": 4, "cells": [{"cell_type": "markdown"}]}'])
def test_notebook_without_code_is_clean(tmp_path, content):
    (tmp_path / "empty.ipynb").write_bytes(content)
    proc = run_cli("check", "empty.ipynb", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout == b"All checks passed!\n"


def _codes(source_json, select=("LL",)):
    result = lint_source(source_json, "nb.ipynb", Settings(select=select))
    return [(d.code, d.cell, d.line) for d in result.diagnostics]


def test_a_cell_that_does_not_parse_is_reported_and_the_others_still_linted():
    nb = notebook(
        "import atexit\n\ndef flush(): ...\n",
        "x = (1,\n",
        "print 'py2'\n",
        "atexit.register(flush)\n",
        "atexit.register(flush)\n",
    )
    found = _codes(nb)
    assert found == [("LL001", 3, 1), ("LL304", 5, 1), ("LL301", 6, 1), ("LL304", 6, 1)]
    message = lint_source(nb, "nb.ipynb", Settings(select=("LL",))).diagnostics[0].message
    assert "'(' was never closed" in message and "1 more cell" in message


def test_ipython_syntax_is_never_an_ll001():
    nb = notebook(
        "%matplotlib inline\n!ls -la\nfiles = !ls\nt = %timeit -o sum(range(10))\n",
        "%%bash\necho 'not python (at all'\n",
        "import math\nmath.sqrt?\n??math\npip install requests\n",
        "for i in range(2):\n    !echo {i}\n    %time math.sqrt(i)\n",
        "%timeit sorted([3, 2, 1],\n               reverse=True)\nx = 1\n",
        "total = (10\n         % 3)\nls = [1]\nls\n",
    )
    assert _codes(nb) == []


def test_opaque_lines_keep_their_place():
    source = "!pip install x\nfiles = !ls\nvalue = (7\n   % 2)\n  %time f()\ny = 1\n"
    assert opaque_ipython(source) == "pass\nfiles = ...\nvalue = (7\n   % 2)\n  pass\ny = 1\n"


def test_cell_magic_cells_are_left_out_and_numbering_counts_every_cell():
    cells = code_cells(notebook("x = 1\n", "%%bash\necho hi\n", "z = 3").encode())
    assert [c.number for c in cells] == [2, 3, 4]
    nb = build(cells)
    assert nb.text.count("[leaklint cell") == 2  # the %%bash cell is not in the module
    assert nb.line_map(2) == (2, 1) and nb.line_map(4) == (4, 1)


@pytest.mark.parametrize("magic", ["%%time", "%%timeit -n 3", "%%capture out", "%%prun", "%%debug"])
def test_cell_magics_that_run_python_have_their_body_linted(magic):
    nb = notebook("import atexit\ndef f(): ...\n", f"{magic}\natexit.register(f)\natexit.register(f)\n")
    assert _codes(nb, select=("LL301",)) == [("LL301", 3, 3)]


@pytest.mark.parametrize("magic", ["%%bash", "%%html", "%%writefile x.py", "%%sql", "%%javascript"])
def test_other_cell_magics_are_skipped(magic):
    nb = notebook("import atexit\ndef f(): ...\n", f"{magic}\natexit.register(f)\natexit.register(f)\n")
    assert _codes(nb, select=("LL301",)) == []


@pytest.mark.parametrize("metadata", [
    {"kernelspec": {"language": "R", "name": "ir"}, "language_info": {"name": "R"}},
    {"language_info": {"name": "julia"}},
    {"kernelspec": {"language": "scala", "name": "x"}},
])
def test_a_notebook_whose_kernel_is_not_python_is_skipped(metadata):
    doc = json.loads(notebook("import atexit\ndef f(): ...\natexit.register(f)\natexit.register(f)\n"))
    assert _codes(json.dumps(doc), select=("LL301",)) == [("LL301", 2, 4)]
    doc["metadata"] = metadata
    assert _codes(json.dumps(doc), select=("LL301",)) == []


@pytest.mark.parametrize("metadata", [
    {"kernelspec": {"language": "python", "name": "python3"}, "language_info": {"name": "python"}},
    {"language_info": {"name": "Python 3"}}, {"kernelspec": {"display_name": "x"}}, {},
])
def test_a_python_kernel_or_none_named_is_linted(metadata):
    doc = json.loads(notebook("import atexit\ndef f(): ...\natexit.register(f)\natexit.register(f)\n"))
    doc["metadata"] = metadata
    assert _codes(json.dumps(doc), select=("LL301",)) == [("LL301", 2, 4)]


def test_a_cell_source_given_as_one_string_is_linted():
    doc = json.loads(notebook("x = 1\n"))
    doc["cells"][1]["source"] = "import atexit\ndef f(): ...\natexit.register(f)\natexit.register(f)"
    assert _codes(json.dumps(doc), select=("LL301",)) == [("LL301", 2, 4)]


@pytest.mark.parametrize("cell, says", [
    ({"cell_type": "code", "metadata": {}, "outputs": [], "source": 5}, "a JSON number"),
    ({"cell_type": "code", "metadata": {}, "outputs": [], "source": ["x = 1\n", 2]}, "a JSON list of number, string"),
    ({"cell_type": "code", "metadata": {}, "outputs": [], "source": None}, "a JSON null"),
    ("import atexit\natexit.register(f)\n", "cell 3 is a JSON string, not an object"),
])
def test_a_cell_of_the_wrong_shape_is_ll001_and_the_others_are_linted(cell, says):
    doc = json.loads(notebook("import atexit\ndef f(): ...\natexit.register(f)\natexit.register(f)\n"))
    doc["cells"].append(cell)
    found = lint_source(json.dumps(doc), "nb.ipynb", Settings(select=("LL001", "LL301"))).diagnostics
    assert [(d.code, d.cell) for d in found] == [("LL301", 2), ("LL001", 3)]
    assert says in found[1].message and "not linted" in found[1].message


def test_nbformat_3_worksheets():
    old = {
        "nbformat": 3,
        "worksheets": [{"cells": [
            {"cell_type": "heading", "source": "Title"},
            {"cell_type": "code", "input": ["import atexit\n", "def f(): ...\n", "atexit.register(f)\n",
                                            "atexit.register(f)\n"]},
        ]}],
    }
    assert _codes(json.dumps(old), select=("LL301",)) == [("LL301", 2, 4)]


def test_noqa_inside_a_cell():
    nb = notebook("import atexit\ndef f(): ...\natexit.register(f)  # noqa: LL304\n")
    assert _codes(nb) == []


def test_from_script_splits_percent_cells():
    doc = json.loads(from_script("a = 1\n# %%\nb = 2\nc = 3\n"))
    assert ["".join(c["source"]) for c in doc["cells"]] == ["a = 1", "b = 2\nc = 3"]


# --- --fix rewrites the cells' sources, nothing else ---------------------------------------

def _cell(source, outputs=(), count=None):
    return {"cell_type": "code", "execution_count": count, "metadata": {"tags": ["keep"]},
            "outputs": list(outputs), "source": source}


OUTPUT = {"name": "stdout", "output_type": "stream", "text": ["héllo\n"]}


def _doc(*cells):
    # keys not in sorted order, as some editors write them: the order must survive
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
            "cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Title"]}, *cells]}


BEFORE_CELLS = (
    _cell(["!pip install aiohttp\n", "import asyncio\n"]),
    _cell(["%%time\n", "async def main():\n", "    %time x = 1\n", "    asyncio.create_task(asyncio.sleep(1))\n"],
          outputs=[OUTPUT], count=3),
    _cell("def load(p):\n    return open(p).read()"),  # a string source stays a string
    _cell(["%%bash\n", "echo open(p).read()\n"]),
)
AFTER_CELLS = (
    _cell(["!pip install aiohttp\n", "import asyncio\n", "\n", "_background_tasks = set()\n", "\n"]),
    _cell(["%%time\n", "async def main():\n", "    %time x = 1\n", "    task = asyncio.create_task(asyncio.sleep(1))\n",
           "    _background_tasks.add(task)\n", "    task.add_done_callback(_background_tasks.discard)\n"],
          outputs=[OUTPUT], count=3),
    _cell("def load(p):\n    with open(p) as f:\n        return f.read()"),
    _cell(["%%bash\n", "echo open(p).read()\n"]),
)


@pytest.mark.parametrize("indent, end, ascii_only", [(1, "\n", False), (2, "", True), (4, "\n", True)])
def test_fix_rewrites_the_cells_sources_and_keeps_the_json_layout(tmp_path, indent, end, ascii_only):
    before = json.dumps(_doc(*BEFORE_CELLS), indent=indent, ensure_ascii=ascii_only) + end
    expected = json.dumps(_doc(*AFTER_CELLS), indent=indent, ensure_ascii=ascii_only) + end
    nb = tmp_path / "nb.ipynb"
    nb.write_text(before, encoding="utf-8")
    proc = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "nb.ipynb", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert nb.read_text(encoding="utf-8") == expected
    # a second run has nothing left to do
    again = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "nb.ipynb", cwd=tmp_path)
    assert again.returncode == 0 and nb.read_text(encoding="utf-8") == expected


def test_notebook_fixes_are_marked_fixable_and_applied_safe_first(tmp_path):
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps(_doc(*BEFORE_CELLS), indent=1) + "\n", encoding="utf-8")
    proc = run_cli("check", "--output-format", "concise", "--no-cache", "nb.ipynb", cwd=tmp_path)
    out = proc.stdout.decode()
    assert "nb.ipynb:cell 4:2:12: LL204 [*]" in out, out
    safe = run_cli("check", "--fix", "--no-cache", "nb.ipynb", cwd=tmp_path)  # LL204's fix is safe, LL205's unsafe
    assert safe.returncode == 1
    doc = json.loads(nb.read_text(encoding="utf-8"))
    assert doc["cells"][3]["source"] == AFTER_CELLS[2]["source"]
    assert doc["cells"][2]["source"] == BEFORE_CELLS[1]["source"]


def test_a_notebook_whose_json_cannot_be_written_back_exactly_is_reported_not_rewritten(tmp_path):
    text = json.dumps(_doc(*BEFORE_CELLS), indent=1).replace('": ', '" : ')  # a layout json never writes
    outcome = fixes.fix_text(text, "nb.ipynb", Settings(), unsafe=True)
    assert outcome.fixed == text and "cannot write back" in outcome.error
    assert {d.code for d in outcome.diagnostics} == {"LL204", "LL205"}


def test_cells_are_restored_with_their_ipython_lines_and_a_rewritten_one_is_refused():
    original = "%time x = 1\ny = open(p).read()\n!ls"
    built = "pass\ny = open(p).read()\npass\n"
    fixed = "pass\nwith open(p) as f:\n    y = f.read()\npass\n"
    assert notebook_module._restore(original, built, fixed) == "%time x = 1\nwith open(p) as f:\n    y = f.read()\n!ls"
    with pytest.raises(notebook_module.NotebookError):  # the line that was `%time x = 1` rewritten
        notebook_module._restore(original, built, "x = 2\ny = open(p).read()\npass\n")
