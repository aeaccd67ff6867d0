"""`leaklint server` end to end: a real LSP client (pytest-lsp) drives the server over
stdio, as an editor would. Nothing sleeps: every wait is for a notification, with a
timeout."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import List, Sequence

import pytest

from leaklint import cli
from leaklint.docs import rule_url
from leaklint.rules import rules_by_code

try:
    import pytest_lsp
    from lsprotocol import types as lsp
    from pytest_lsp import ClientServerConfig, LanguageClient
    from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features
    from pygls.protocol import default_converter
    from pygls.uris import from_fs_path
except ImportError:  # Python 3.9, or the test extra without pytest-lsp
    pytest_lsp = None

TIMEOUT = 20  # seconds for any one answer; a loaded CI machine is slow to start a server

LEAKY = (
    "import asyncio\n"
    "\n"
    "\n"
    "def load(p):\n"
    "    data = open(p).read()\n"
    "    return data\n"
    "\n"
    "\n"
    "async def main():\n"
    "    asyncio.create_task(work())\n"
)
# the safe fix of LL204 applied; LL205's fix is unsafe, so "fix all safe" leaves it
LEAKY_SAFE_FIXED = LEAKY.replace(
    "    data = open(p).read()\n",
    "    with open(p) as f:\n        data = f.read()\n",
)
CLEAN = "import asyncio\n\n\nasync def main():\n    await asyncio.sleep(1)\n"


def _published(client: "LanguageClient", params: "lsp.PublishDiagnosticsParams") -> None:
    client.published.append(params)  # type: ignore[attr-defined]
    client.diagnostics[params.uri] = params.diagnostics
    client.published_event.set()  # type: ignore[attr-defined]


def _registered(client: "LanguageClient", params: "lsp.RegistrationParams") -> None:
    client.registrations.extend(params.registrations)  # type: ignore[attr-defined]


def _make_client() -> "LanguageClient":
    """pytest-lsp's client, keeping every publishDiagnostics (with its version) in order,
    and accepting dynamic registrations as editors do."""
    client = LanguageClient(converter_factory=default_converter)
    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _published,
                                   lsp.CLIENT_REGISTER_CAPABILITY: _registered})
    client.registrations = []  # type: ignore[attr-defined]
    client.published = []  # type: ignore[attr-defined]
    client.published_event = asyncio.Event()  # type: ignore[attr-defined]
    return client


if pytest_lsp is not None:
    @pytest_lsp.fixture(config=ClientServerConfig(
        server_command=[sys.executable, "-m", "leaklint", "server"], client_factory=_make_client))
    async def client(lsp_client: LanguageClient):
        yield
        await lsp_client.shutdown_session()
else:
    @pytest.fixture
    def client():
        pytest.skip("pytest-lsp is not installed (it needs Python 3.10+)")


async def start(client, tmp_path: Path, capabilities=None):
    return await client.initialize_session(lsp.InitializeParams(
        capabilities=capabilities or lsp.ClientCapabilities(),
        root_uri=from_fs_path(str(tmp_path)),
        workspace_folders=[lsp.WorkspaceFolder(uri=from_fs_path(str(tmp_path)), name="project")],
    ))


async def diagnostics_for(client, uri: str, version: int) -> Sequence["lsp.Diagnostic"]:
    """Wait for the diagnostics the server publishes for `version` of `uri`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while True:
        for params in client.published:
            if params.uri == uri and params.version == version:
                return params.diagnostics
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no diagnostics for version {version} of {uri}: got {client.published}")
        client.published_event.clear()
        try:
            await asyncio.wait_for(client.published_event.wait(), remaining)
        except asyncio.TimeoutError:
            pass


async def wait_until(client, condition) -> None:
    """Wait until `condition()` holds, checking at each publishDiagnostics."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not condition():
        client.published_event.clear()
        assert loop.time() < deadline, f"timed out: {client.published}"
        try:
            await asyncio.wait_for(client.published_event.wait(), deadline - loop.time())
        except asyncio.TimeoutError:
            pass


async def cleared(client, uri: str) -> None:
    """Wait for the server to clear `uri`'s diagnostics (an empty publish, no version)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not any(p.uri == uri and p.version is None and not p.diagnostics for p in client.published):
        client.published_event.clear()
        assert loop.time() < deadline, f"{uri} was never cleared: {client.published}"
        try:
            await asyncio.wait_for(client.published_event.wait(), deadline - loop.time())
        except asyncio.TimeoutError:
            pass


def open_doc(client, path: Path, text: str, version: int = 1) -> str:
    uri = from_fs_path(str(path))
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)))
    return uri


def change_doc(client, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def offset(text: str, position: "lsp.Position") -> int:
    """A client's position (UTF-16 units) -> an index into `text`."""
    lines = text.splitlines(keepends=True)
    if position.line >= len(lines):
        return len(text)
    start = sum(len(line) for line in lines[:position.line])
    units = 0
    for index, char in enumerate(lines[position.line]):
        if units >= position.character:
            return start + index
        units += utf16(char)
    return start + len(lines[position.line])


def apply_edits(text: str, edits: Sequence["lsp.TextEdit"]) -> str:
    """Apply edits as an editor does: all against the original text."""
    spans = sorted(((offset(text, e.range.start), offset(text, e.range.end), e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def edits_of(edit: "lsp.WorkspaceEdit", uri: str) -> List["lsp.TextEdit"]:
    if edit.document_changes:
        (change,) = edit.document_changes
        assert change.text_document.uri == uri
        return list(change.edits)
    assert edit.changes is not None
    return list(edit.changes[uri])


async def code_actions(client, uri: str, diagnostic: "lsp.Diagnostic", only=None) -> List["lsp.CodeAction"]:
    result = await asyncio.wait_for(client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=diagnostic.range,
        context=lsp.CodeActionContext(diagnostics=[diagnostic], only=only))), TIMEOUT)
    return list(result or [])


@pytest.mark.asyncio
@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
async def test_diagnostics_on_open_with_columns_in_the_clients_units(client, tmp_path, encoding):
    # a line with non-ASCII (one letter outside the BMP: two UTF-16 units, four UTF-8
    # bytes) before the finding: columns must be counted as the client counts them
    line = '    data = "é😀" + open(p).read()\n'
    # a form feed is whitespace to Python and to the editor, a line break to str.splitlines
    text = "\x0c# page two\ndef load(p):\n" + line + "    return data\n"
    capabilities = lsp.ClientCapabilities(general=lsp.GeneralClientCapabilities(position_encodings=[encoding]))
    result = await start(client, tmp_path, capabilities)
    assert result.capabilities.position_encoding == encoding
    uri = open_doc(client, tmp_path / "mod.py", text)
    (d,) = await diagnostics_for(client, uri, 1)
    width = utf16 if encoding == "utf-16" else (lambda s: len(s.encode("utf-8")))
    start_col = width(line[:line.index("open(")])
    end_col = width(line[:line.index("open(p)") + len("open(p)")])
    assert d.range == lsp.Range(start=lsp.Position(line=2, character=start_col), end=lsp.Position(line=2, character=end_col))
    assert (d.code, d.source, d.severity) == ("LL204", "leaklint", lsp.DiagnosticSeverity.Warning)
    assert d.code_description.href == rule_url("LL204")
    assert "open()" in d.message


@pytest.mark.asyncio
async def test_diagnostics_follow_changes_and_close(client, tmp_path):
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "mod.py", LEAKY)
    assert sorted(d.code for d in await diagnostics_for(client, uri, 1)) == ["LL204", "LL205"]

    # a leak removed: only the other is left
    change_doc(client, uri, LEAKY.replace("    asyncio.create_task(work())\n", "    await work()\n"), 2)
    assert [d.code for d in await diagnostics_for(client, uri, 2)] == ["LL204"]

    # a change waits for the next: a file opened after it (linted at once, on the same
    # one worker) is published first, and the change is not linted meanwhile
    before = len(client.published)
    change_doc(client, uri, LEAKY, 3)
    other = open_doc(client, tmp_path / "other.py", CLEAN)
    await diagnostics_for(client, other, 1)
    assert not [p.version for p in client.published[before:] if p.uri == uri]
    # quick edits in a row are linted once, on the last text
    change_doc(client, uri, LEAKY + "\n\nasync def more():\n    asyncio.create_task(work())\n", 4)
    change_doc(client, uri, CLEAN, 5)
    assert list(await diagnostics_for(client, uri, 5)) == []
    assert [p.version for p in client.published[before:] if p.uri == uri] == [5]

    # a leak again, then the document closed: its diagnostics are cleared
    change_doc(client, uri, LEAKY, 6)
    assert await diagnostics_for(client, uri, 6)
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    await cleared(client, uri)


@pytest.mark.asyncio
async def test_settings_come_from_the_nearest_pyproject(client, tmp_path):
    project = tmp_path / "my proj"  # a URI with %20: published under the editor's spelling
    (project / "pkg").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.leaklint]\nignore = ["LL205"]\n')
    await start(client, tmp_path)
    uri = open_doc(client, project / "pkg" / "mod.py", LEAKY)
    assert [d.code for d in await diagnostics_for(client, uri, 1)] == ["LL204"]
    elsewhere = open_doc(client, tmp_path / "mod.py", LEAKY)
    assert sorted(d.code for d in await diagnostics_for(client, elsewhere, 1)) == ["LL204", "LL205"]


@pytest.mark.asyncio
async def test_quick_fixes(client, tmp_path):
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "mod.py", LEAKY)
    found = {d.code: d for d in await diagnostics_for(client, uri, 1)}

    actions = await code_actions(client, uri, found["LL204"])
    (fix,) = [a for a in actions if a.kind == lsp.CodeActionKind.QuickFix and "noqa" not in a.title]
    # unasked-for kinds included: "fix all safe" is offered too
    assert [a.kind for a in actions if a.kind != lsp.CodeActionKind.QuickFix] == ["source.fixAll.leaklint"]
    assert fix.kind == lsp.CodeActionKind.QuickFix and fix.is_preferred
    assert "(unsafe)" not in fix.title and fix.diagnostics[0].code == "LL204"
    assert apply_edits(LEAKY, edits_of(fix.edit, uri)) == LEAKY_SAFE_FIXED

    # an unsafe fix is offered, labelled, and not preferred
    actions = await code_actions(client, uri, found["LL205"])
    (unsafe,) = [a for a in actions if a.kind == lsp.CodeActionKind.QuickFix and "noqa" not in a.title]
    assert unsafe.title.endswith("(unsafe)") and not unsafe.is_preferred
    fixed = apply_edits(LEAKY, edits_of(unsafe.edit, uri))
    assert "_background_tasks.add(task)" in fixed and "data = open(p).read()" in fixed

    # noqa: the comment goes on the finding's line, and the finding goes away
    (noqa,) = [a for a in actions if "noqa" in a.title]
    silenced = apply_edits(LEAKY, edits_of(noqa.edit, uri))
    assert silenced == LEAKY.replace("create_task(work())\n", "create_task(work())  # noqa: LL205\n")
    change_doc(client, uri, silenced, 2)
    assert [d.code for d in await diagnostics_for(client, uri, 2)] == ["LL204"]

    # a line with a noqa for another code gets this code added
    text = LEAKY.replace("    data = open(p).read()\n", "    data = open(p).read()  # noqa: LL101\n")
    change_doc(client, uri, text, 3)
    (d,) = [d for d in await diagnostics_for(client, uri, 3) if d.code == "LL204"]
    (noqa,) = [a for a in await code_actions(client, uri, d) if "noqa" in a.title]
    assert "open(p).read()  # noqa: LL101, LL204\n" in apply_edits(text, edits_of(noqa.edit, uri))

    # nothing to offer away from the findings
    nowhere = lsp.Diagnostic(range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=3)), message="")
    assert await code_actions(client, uri, nowhere, only=[lsp.CodeActionKind.QuickFix]) == []


@pytest.mark.asyncio
async def test_a_suggested_fix_is_no_edit(client, tmp_path):
    await start(client, tmp_path)
    text = "class Client:\n    def __init__(self, p):\n        self.f = open(p)\n"
    uri = open_doc(client, tmp_path / "mod.py", text)
    (d,) = await diagnostics_for(client, uri, 1)
    assert d.code == "LL203"  # its fix is a suggestion: the message says what to do
    actions = await code_actions(client, uri, d)
    assert [a.title for a in actions] == ["leaklint (LL203): disable for this line (# noqa: LL203)"]


@pytest.mark.asyncio
@pytest.mark.parametrize("text, fixed", [
    (LEAKY, LEAKY_SAFE_FIXED),
    # Windows line breaks, and no line break at the end
    ("def load(p):\r\n    data = open(p).read()\r\n    return data",
     "def load(p):\r\n    with open(p) as f:\r\n        data = f.read()\r\n    return data"),
    # the fixed line is the last one, with no line break after it
    ("def load(p):\n    data = open(p).read()", "def load(p):\n    with open(p) as f:\n        data = f.read()"),
])
async def test_fix_all_safe(client, tmp_path, text, fixed):
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "mod.py", text)
    found = await diagnostics_for(client, uri, 1)
    (action,) = await code_actions(client, uri, found[0], only=[lsp.CodeActionKind.SourceFixAll])
    assert action.kind == "source.fixAll.leaklint"
    assert apply_edits(text, edits_of(action.edit, uri)) == fixed
    # quick fixes are not what was asked for
    assert all(a.kind.startswith("source") for a in await code_actions(client, uri, found[0], only=["source"]))
    if len(found) == 1:  # the finding's own quick fix makes the same change
        quick = [a for a in await code_actions(client, uri, found[0], only=[lsp.CodeActionKind.QuickFix])
                 if "noqa" not in a.title]
        assert [apply_edits(text, edits_of(a.edit, uri)) for a in quick] == [fixed]


@pytest.mark.asyncio
async def test_fix_all_resolved_on_demand_for_clients_that_can(client, tmp_path):
    # VS Code's capabilities: edits resolved when chosen, versioned document changes
    await start(client, tmp_path, pytest_lsp.client_capabilities("visual-studio-code"))
    uri = open_doc(client, tmp_path / "mod.py", LEAKY, version=7)
    (d, *_rest) = await diagnostics_for(client, uri, 7)
    (action,) = await code_actions(client, uri, d, only=["source.fixAll"])
    assert action.edit is None
    resolved = await asyncio.wait_for(client.code_action_resolve_async(action), TIMEOUT)
    (change,) = resolved.edit.document_changes
    assert change.text_document.version == 7
    assert apply_edits(LEAKY, change.edits) == LEAKY_SAFE_FIXED
    # and it was asked to say when a pyproject.toml changes
    (watch,) = client.registrations
    assert watch.method == lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES
    assert [w["globPattern"] for w in watch.register_options["watchers"]] == ["**/pyproject.toml"]


@pytest.mark.asyncio
async def test_hover_shows_the_rules_summary_and_page(client, tmp_path):
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "mod.py", LEAKY)
    found = {d.code: d for d in await diagnostics_for(client, uri, 1)}
    inside = found["LL205"].range.start
    hover = await asyncio.wait_for(client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        position=lsp.Position(line=inside.line, character=inside.character + 3))), TIMEOUT)
    assert hover.contents.kind == lsp.MarkupKind.Markdown
    assert rules_by_code()["LL205"].summary in hover.contents.value
    assert rule_url("LL205") in hover.contents.value
    assert "Fix (unsafe): " in hover.contents.value
    assert hover.range == found["LL205"].range
    blank = await asyncio.wait_for(client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=1, character=0))), TIMEOUT)
    assert blank is None


@pytest.mark.asyncio
async def test_which_documents_are_linted(client, tmp_path):
    await start(client, tmp_path)
    notes = from_fs_path(str(tmp_path / "notes.md"))  # not Python: left alone
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=notes, language_id="markdown", version=1, text=LEAKY)))
    untitled = "untitled:Untitled-1"  # an unsaved buffer is linted
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=untitled, language_id="python", version=1, text=LEAKY)))
    assert sorted(d.code for d in await diagnostics_for(client, untitled, 1)) == ["LL204", "LL205"]
    assert not [p for p in client.published if p.uri == notes]  # it came first: it would be here


@pytest.mark.asyncio
async def test_a_changed_config_relints_open_files(client, tmp_path):
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "mod.py", LEAKY)
    assert sorted(d.code for d in await diagnostics_for(client, uri, 1)) == ["LL204", "LL205"]
    before = len(client.published)
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.leaklint]\nignore = ["LL205"]\n')
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(changes=[
        lsp.FileEvent(uri=from_fs_path(str(config)), type=lsp.FileChangeType.Created)]))
    await wait_until(client, lambda: any(p.uri == uri for p in client.published[before:]))
    (again,) = [p for p in client.published[before:] if p.uri == uri]
    assert again.version == 1 and [d.code for d in again.diagnostics] == ["LL204"]


@pytest.mark.asyncio
async def test_a_broken_config_is_shown_not_crashed_on(client, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.leaklint]\nselect = 5\n')
    await start(client, tmp_path)
    uri = open_doc(client, tmp_path / "mod.py", LEAKY)
    assert list(await diagnostics_for(client, uri, 1)) == []
    assert any("select" in m.message and m.type == lsp.MessageType.Error for m in client.messages)


def test_server_without_pygls_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pygls", None)  # `import pygls` fails
    monkeypatch.setitem(sys.modules, "pygls.lsp", None)
    monkeypatch.setitem(sys.modules, "pygls.lsp.server", None)
    monkeypatch.delitem(sys.modules, "leaklint.server", raising=False)
    assert cli.main(["server"]) == 2
    assert "pip install 'leaklint[lsp]'" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_the_server_answers_while_it_lints(client, tmp_path):
    await start(client, tmp_path)
    small = open_doc(client, tmp_path / "small.py", LEAKY)
    position = (await diagnostics_for(client, small, 1))[0].range.start
    # about a second of linting: were it done on the event loop, the hover would wait
    big_text = "".join(f"def load{i}(p):\n    return open(p).read()\n\n\n" for i in range(2000))
    big = open_doc(client, tmp_path / "big.py", big_text)
    hover = await asyncio.wait_for(client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=small), position=position)), TIMEOUT)
    assert hover is not None
    assert not any(p.uri == big for p in client.published), "the hover waited for the lint"
    assert len(await diagnostics_for(client, big, 1)) == 2000


@pytest.mark.asyncio
async def test_a_syntax_error_is_a_diagnostic_with_no_actions(client, tmp_path):
    await start(client, tmp_path)
    text = "import asyncio\n\ndef f(:\n    asyncio.create_task(g())\n"
    uri = open_doc(client, tmp_path / "broken.py", text)
    (d,) = await diagnostics_for(client, uri, 1)
    assert d.code == "LL001" and d.range.start.line == 2
    assert d.range.end.line == 2 and d.range.end.character > d.range.start.character
    assert await code_actions(client, uri, d) == []


@pytest.fixture
def noqa_edit():
    pytest.importorskip("pygls")
    from leaklint.server import noqa_edit, split_lines

    def edit(text: str, line: int, code: str = "LL204"):
        from leaklint.diagnostics import Diagnostic

        d = Diagnostic(code, "name", "message", "mod.py", line, 1, line, 2)
        return noqa_edit(text, split_lines(text), d)
    return edit


@pytest.mark.parametrize("text, expected", [
    ("x = open(p).read()\n", (1, 19, 1, 19, "  # noqa: LL204")),
    ("x = open(p).read()   \r\n", (1, 19, 1, 22, "  # noqa: LL204")),  # trailing blanks replaced
    ("x = open(p).read()", (1, 19, 1, 19, "  # noqa: LL204")),  # no final newline
    ("x = open(p).read()  # why\n", (1, 26, 1, 26, "  # noqa: LL204")),
    ("x = open(p).read()  # noqa:LL101 why\n", (1, 33, 1, 33, ", LL204")),
    ("x = f(open(p).read(),\n      1)\n", (1, 22, 1, 22, "  # noqa: LL204")),  # inside brackets: a comment may follow
    ("x = open(p).read() + \\\n    1\n", None),  # after a backslash it may not
    ('x = open("""a\nb""").read()\n', None),  # the line ends inside a string
])
def test_noqa_goes_where_a_comment_can(noqa_edit, text, expected):
    assert noqa_edit(text, 1) == expected
