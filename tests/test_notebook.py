"""Notebooks: the CLI's cell-aware output (a public contract), the reader's handling of
IPython syntax and broken files, and discovery."""
import json

import pytest

from helpers import run_cli
from leaklint.api import lint_source
from leaklint.config import Settings
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
    proc = run_cli("check", "nb.ipynb", cwd=nb_project)
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
    cells = code_cells(notebook("x = 1\n", "%%time\ny = 2\n", "z = 3").encode())
    assert [c.number for c in cells] == [2, 3, 4]
    nb = build(cells)
    assert nb.text.count("[leaklint cell") == 2  # the %%time cell is not in the module
    assert nb.line_map(2) == (2, 1) and nb.line_map(4) == (4, 1)


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


def test_fix_never_rewrites_a_notebook(tmp_path):
    """The fix engine writes Python; a notebook is JSON. --fix leaves it byte for byte
    and its fixes are suggestions, so none is marked [*] fixable."""
    script = "# %%\nimport asyncio\n\nasync def main():\n    asyncio.create_task(asyncio.sleep(1))\n"
    nb = tmp_path / "nb.ipynb"
    nb.write_text(from_script(script), encoding="utf-8")
    before = nb.read_bytes()
    plain = lint_source(script, "same.py", Settings()).diagnostics
    assert [d.code for d in plain] == ["LL205"] and plain[0].fix.edits  # fixable in a .py file
    proc = run_cli("check", "--fix", "--unsafe-fixes", "nb.ipynb", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert nb.read_bytes() == before
    out = proc.stdout.decode() if isinstance(proc.stdout, bytes) else proc.stdout
    assert "LL205" in out and "[*]" not in out, out
    found = lint_source(before, "nb.ipynb", Settings()).diagnostics
    assert [d.fix.applicability.value for d in found] == ["suggested"]
