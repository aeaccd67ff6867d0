"""leaklint as a language server (LSP over stdio, with pygls): findings as diagnostics
while typing, fixes as code actions, a rule's summary on hover.

Documents are linted by `leaklint.api.lint_source` with the settings of the nearest
pyproject.toml, as the CLI lints files; fixes come from `leaklint.fixes`. Linting runs
on one worker thread, so the event loop keeps answering the editor; a change waits
DEBOUNCE seconds for the next one, and a result for text that has changed since is
dropped (the latest text wins). Notebooks are not handled (see docs/integrations.md).
Needs the `lsp` extra: `pip install 'leaklint[lsp]'`.
"""
from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import tokenize
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import unquote

import libcst as cst
from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path, uri_scheme

from leaklint import __version__
from leaklint.api import lint_source
from leaklint.config import ConfigError, Settings, load_settings
from leaklint.diagnostics import Applicability, Diagnostic
from leaklint.discovery import excluded
from leaklint.docs import rule_url
from leaklint.engine import PARSE_ERROR
from leaklint.fixes import applicable, fix_text, text_edits
from leaklint.notebook import SUFFIX as NOTEBOOK_SUFFIX
from leaklint.rules import rules_by_code

logger = logging.getLogger(__name__)

DEBOUNCE = 0.3  # seconds a change waits for the next before the document is linted
SOURCE = "leaklint"
FIX_ALL = "source.fixAll.leaklint"

# LSP's line breaks (str.splitlines also breaks at form feeds and other separators,
# which would shift every later line against the editor's)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_NOQA_CODES = re.compile(r"#\s*noqa:\s?[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*", re.IGNORECASE)


def split_lines(text: str) -> List[str]:
    """The document's lines as the editor counts them, each with its line break."""
    return _LINE.findall(text)


@dataclass
class Linted:
    """One lint of one version of a document."""

    version: Optional[int]
    text: str
    lines: List[str]
    path: str
    settings: Optional[Settings]
    diagnostics: List[Diagnostic]
    module: Optional[cst.Module] = None  # with `whole`: what fixes are made against


def _settings_for(path: str) -> Settings:
    """The CLI's rule: the nearest pyproject.toml with [tool.leaklint] above the file."""
    return load_settings(start=Path(path).parent)


def lint_document(path: str, text: str, version: Optional[int], *, whole: bool = False) -> Linted:
    """Lint an editor's text of `path` (runs on the worker thread). Raises ConfigError."""
    settings = _settings_for(path)
    diagnostics: List[Diagnostic] = []
    module = None
    if not excluded(path, settings):
        result = lint_source(text, path, settings, whole=whole)
        diagnostics, module = result.diagnostics, result.module
    return Linted(version, text, split_lines(text), path, settings, diagnostics, module)


class LeaklintServer(LanguageServer):
    def __init__(self, debounce: float = DEBOUNCE) -> None:
        # whole text on each change: pygls applies incremental changes with
        # str.splitlines, which miscounts lines holding a form feed
        super().__init__("leaklint", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Full)
        self.debounce = debounce
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leaklint-lint")
        self._pending: Dict[str, asyncio.Task] = {}  # uri -> the lint waiting or running
        self._published: Dict[str, Linted] = {}  # uri -> what the editor was last sent
        self._whole: Dict[str, Linted] = {}  # uri -> the last lint with fixes' nodes
        self._config_errors: set = set()  # shown once each

    def stop_linting(self) -> None:
        for task in list(self._pending.values()):
            task.cancel()
        self._pending.clear()

    def shutdown(self) -> None:
        try:
            self.stop_linting()
        except RuntimeError:  # the loop is already closed: nothing is pending
            pass
        self._pool.shutdown(wait=False, cancel_futures=True)
        super().shutdown()

    # --- which documents ---------------------------------------------------------

    def document_path(self, uri: str, language_id: Optional[str] = None) -> Optional[str]:
        """The path a document is linted as, or None when it is not leaklint's: a Python
        file on disk, or an unsaved buffer (linted with the workspace's settings)."""
        scheme = uri_scheme(uri)
        if scheme == "file":
            path = to_fs_path(uri)
        elif scheme == "untitled":
            root = self.workspace.root_path or os.getcwd()
            path = os.path.join(root, "untitled.py")
        else:  # notebook cells and virtual documents
            return None
        if path is None or path.endswith(NOTEBOOK_SUFFIX):
            return None
        if path.endswith((".py", ".pyi")) or language_id == "python" or scheme == "untitled":
            return path
        return None

    def open_document(self, uri: str):
        # pygls keys documents by the unquoted URI; the editor's spelling is what
        # diagnostics must be published under
        document = self.workspace.text_documents.get(unquote(uri))
        if document is None:
            return None
        path = self.document_path(uri, document.language_id)
        return (document, path) if path is not None else None

    # --- linting off the loop ----------------------------------------------------

    async def run_lint(self, uri: str, *, whole: bool = False) -> Optional[Linted]:
        """Lint the document as it is now, on the worker thread. None when it is not
        open, not Python, or the configuration is broken (the user is told once)."""
        found = self.open_document(uri)
        if found is None:
            return None
        document, path = found
        text, version = document.source, document.version
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, lambda: lint_document(path, text, version, whole=whole))
        except ConfigError as exc:
            self._config_error(str(exc))
        except Exception as exc:  # a leaklint bug: tell the editor's log, keep serving
            logger.exception("linting %s failed", path)
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Error, f"leaklint: internal error on {path}: {type(exc).__name__}: {exc}"))
        return None

    def _config_error(self, message: str) -> None:
        if message not in self._config_errors:
            self._config_errors.add(message)
            self.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, f"leaklint: {message}"))

    def schedule(self, uri: str, delay: float) -> None:
        """Lint `uri` after `delay`, replacing a lint already waiting or running for it."""
        previous = self._pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self._pending[uri] = asyncio.get_running_loop().create_task(self._lint_and_publish(uri, delay))

    async def _lint_and_publish(self, uri: str, delay: float) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            linted = await self.run_lint(uri)
            found = self.open_document(uri)
            if found is None:
                return
            if linted is None:
                linted = Linted(found[0].version, found[0].source, [], found[1], None, [])
            if found[0].version != linted.version or found[0].source != linted.text:
                return  # edited meanwhile: the lint scheduled by that edit publishes
            self._published[uri] = linted
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
                uri=uri, version=linted.version, diagnostics=[self.to_lsp(d, linted.lines) for d in linted.diagnostics]))
        except asyncio.CancelledError:
            pass
        finally:
            if self._pending.get(uri) is asyncio.current_task():
                del self._pending[uri]

    def relint_all(self) -> None:
        """A configuration changed: lint every open document again with it."""
        self._config_errors.clear()
        self._whole.clear()
        for uri in list(self._published):
            self.schedule(uri, 0)

    async def watch_configs(self) -> None:
        """Ask the editor to say when a pyproject.toml changes, where it can."""
        caps = self.client_capabilities.workspace
        watched = caps and caps.did_change_watched_files
        if not (watched and watched.dynamic_registration):
            return
        try:
            await self.client_register_capability_async(lsp.RegistrationParams(registrations=[lsp.Registration(
                id="leaklint-pyproject", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=lsp.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[lsp.FileSystemWatcher(glob_pattern="**/pyproject.toml")]))]))
        except Exception as exc:  # the editor refused: settings are still read at each lint
            logger.info("cannot watch pyproject.toml files: %s", exc)

    def forget(self, uri: str) -> None:
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self._published.pop(uri, None)
        self._whole.pop(uri, None)
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    async def whole_lint(self, uri: str) -> Optional[Linted]:
        """The current text linted with its whole syntax tree (what fixes need), kept
        until the document changes: editors ask for code actions at every cursor move."""
        found = self.open_document(uri)
        if found is None:
            return None
        kept = self._whole.get(uri)
        if kept is not None and kept.version == found[0].version and kept.text == found[0].source:
            return kept
        linted = await self.run_lint(uri, whole=True)
        if linted is not None:
            self._whole[uri] = linted
        return linted

    # --- positions -----------------------------------------------------------------

    def position(self, lines: Sequence[str], line: int, column: int) -> lsp.Position:
        """0-based line and code-point column -> the client's position (UTF-16 units
        unless the client and server agreed on another encoding)."""
        if line >= len(lines):
            return end_of_document(lines, self.workspace.position_codec)
        text = lines[max(line, 0)].rstrip("\r\n")
        units = self.workspace.position_codec.client_num_units(text[:max(column, 0)])
        return lsp.Position(line=max(line, 0), character=units)

    def to_lsp(self, d: Diagnostic, lines: Sequence[str]) -> lsp.Diagnostic:
        start = self.position(lines, d.line - 1, d.column - 1)
        end = self.position(lines, d.end_line - 1, d.end_column - 1)
        if (end.line, end.character) <= (start.line, start.character):
            # a point (a syntax error): underline the rest of the line, or one character
            end = self.position(lines, d.line - 1, 1 << 30) if d.line - 1 < len(lines) else start
            if (end.line, end.character) <= (start.line, start.character):
                end = start
        return lsp.Diagnostic(
            range=lsp.Range(start=start, end=end),
            message=d.message,
            severity=lsp.DiagnosticSeverity.Warning,
            code=d.code,
            code_description=lsp.CodeDescription(href=rule_url(d.code)),
            source=SOURCE,
        )

    # --- code actions ----------------------------------------------------------------

    def workspace_edit(self, uri: str, version: Optional[int], edits: List[lsp.TextEdit]) -> lsp.WorkspaceEdit:
        """Edits of one document; versioned where the client takes versioned edits, so
        it refuses them if the text moved on."""
        caps = self.client_capabilities.workspace
        if caps and caps.workspace_edit and caps.workspace_edit.document_changes:
            return lsp.WorkspaceEdit(document_changes=[lsp.TextDocumentEdit(
                text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version), edits=edits)])
        return lsp.WorkspaceEdit(changes={uri: edits})

    def line_edits(self, lines: Sequence[str], edits: Iterable[Tuple[int, int, int, int, str]]) -> List[lsp.TextEdit]:
        """leaklint's 1-based (line, column, end line, end column, text) -> LSP edits."""
        return [
            lsp.TextEdit(range=lsp.Range(start=self.position(lines, line - 1, column - 1),
                                         end=self.position(lines, end_line - 1, end_column - 1)), new_text=text)
            for line, column, end_line, end_column, text in edits
        ]

    def resolves_edits(self) -> bool:
        """Whether the client asks for a code action's edit only when it is chosen."""
        caps = self.client_capabilities.text_document
        resolve = caps and caps.code_action and caps.code_action.resolve_support
        return bool(resolve and "edit" in resolve.properties)

    def fix_all_edit(self, uri: str, linted: Linted) -> Optional[lsp.WorkspaceEdit]:
        """The whole document with every safe fix applied, as leaklint --fix does."""
        assert linted.settings is not None
        outcome = fix_text(linted.text, linted.path, linted.settings, unsafe=False)
        # a refused fix no longer blocks the others: apply what was fixed, as --fix does
        if not outcome.changed:
            return None
        return self.workspace_edit(uri, linted.version, self.line_edits(linted.lines, diff_lines(linted.lines, split_lines(outcome.fixed))))

    async def code_actions(self, params: lsp.CodeActionParams) -> List[lsp.CodeAction]:
        uri = params.text_document.uri
        linted = await self.whole_lint(uri)
        if linted is None or not linted.diagnostics:
            return []
        only = params.context.only
        actions: List[lsp.CodeAction] = []
        if wanted(lsp.CodeActionKind.QuickFix, only):
            # writing a fix's code walks the whole module: off the loop, like linting
            actions = await self._in_pool(lambda: self.quick_fixes(uri, linted, params.range)) or []
        if wanted(FIX_ALL, only) and any(applicable(d.fix, unsafe=False) for d in linted.diagnostics):
            action = lsp.CodeAction(title="leaklint: fix all safe", kind=FIX_ALL)
            if self.resolves_edits():
                action.data = {"uri": uri, "version": linted.version}
                actions.append(action)
            else:
                action.edit = await self._in_pool(lambda: self.fix_all_edit(uri, linted))
                if action.edit is not None:
                    actions.append(action)
        return actions

    def quick_fixes(self, uri: str, linted: Linted, where: lsp.Range) -> List[lsp.CodeAction]:
        """The fixes and noqa comments of the findings that touch `where`."""
        actions: List[lsp.CodeAction] = []
        lo, hi = (where.start.line, where.start.character), (where.end.line, where.end.character)
        for d in linted.diagnostics:
            diagnostic = self.to_lsp(d, linted.lines)
            r = diagnostic.range
            if (r.end.line, r.end.character) < lo or hi < (r.start.line, r.start.character):
                continue
            fix = d.fix
            if fix is not None and applicable(fix, unsafe=True) and linted.module is not None:
                edits = text_edits(linted.module, d)
                if edits:
                    safe = fix.applicability is Applicability.SAFE
                    actions.append(lsp.CodeAction(
                        title=f"leaklint ({d.code}): {fix.description}" + ("" if safe else " (unsafe)"),
                        kind=lsp.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        is_preferred=safe,
                        edit=self.workspace_edit(uri, linted.version, self.line_edits(linted.lines, edits)),
                    ))
            noqa = noqa_edit(linted.text, linted.lines, d)
            if noqa is not None:
                actions.append(lsp.CodeAction(
                    title=f"leaklint ({d.code}): disable for this line (# noqa: {d.code})",
                    kind=lsp.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    edit=self.workspace_edit(uri, linted.version, self.line_edits(linted.lines, [noqa])),
                ))
        return actions

    async def resolve(self, action: lsp.CodeAction) -> lsp.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        uri = data.get("uri")
        if action.kind == FIX_ALL and isinstance(uri, str):
            linted = await self.whole_lint(uri)
            if linted is not None and linted.settings is not None:
                action.edit = await self._in_pool(lambda: self.fix_all_edit(uri, linted))
        return action

    async def _in_pool(self, work):
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work)
        except Exception as exc:  # a fix that fails is a leaklint bug: no action, a log line
            logger.exception("fixing failed")
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Error, f"leaklint: internal error while fixing: {type(exc).__name__}: {exc}"))
            return None

    # --- hover -------------------------------------------------------------------------

    def hover(self, params: lsp.HoverParams) -> Optional[lsp.Hover]:
        linted = self._published.get(params.text_document.uri)
        if linted is None:
            return None
        at = (params.position.line, params.position.character)
        parts = []
        where = None
        rules = rules_by_code()
        for d in linted.diagnostics:
            r = self.to_lsp(d, linted.lines).range
            if not (r.start.line, r.start.character) <= at <= (r.end.line, r.end.character):
                continue
            rule = rules.get(d.code)
            # the finding's message is the diagnostic's, which editors show beside this
            text = f"**{d.code}** `{rule.name}`: {rule.summary}" if rule is not None else f"**{d.code}**"
            if d.fix is not None:
                text += f"\n\nFix ({d.fix.applicability.value}): {d.fix.description}"
            parts.append(f"{text}\n\n[{d.code} documentation]({rule_url(d.code)})")
            where = where or r
        if not parts:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)), range=where)


def is_config(uri: str) -> bool:
    return unquote(uri).endswith("/pyproject.toml")


def wanted(kind: str, only: Optional[Sequence[str]]) -> bool:
    """Whether a code action of `kind` answers a request limited to the kinds `only`
    (kinds are hierarchical: `source` asks for `source.fixAll.leaklint`)."""
    if not only:
        return True
    return any(kind == k or kind.startswith(f"{k}.") for k in only)


def end_of_document(lines: Sequence[str], codec) -> lsp.Position:
    if lines and not lines[-1].endswith(("\n", "\r")):
        return lsp.Position(line=len(lines) - 1, character=codec.client_num_units(lines[-1]))
    return lsp.Position(line=len(lines), character=0)


def diff_lines(before: Sequence[str], after: Sequence[str]) -> List[Tuple[int, int, int, int, str]]:
    """Line replacements turning `before` into `after`, in leaklint's 1-based form."""
    import difflib

    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return [(i1 + 1, 1, i2 + 1, 1, "".join(after[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def noqa_edit(text: str, lines: Sequence[str], d: Diagnostic) -> Optional[Tuple[int, int, int, int, str]]:
    """The edit adding `# noqa: CODE` to the finding's line (or the code to a noqa
    comment there), in leaklint's 1-based form; None where a comment cannot go at the
    end of that line (inside a multi-line string, after a backslash) or the file does
    not tokenize."""
    if d.code == PARSE_ERROR or not 0 < d.line <= len(lines):
        return None
    comment = None
    line_ends = False
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.start[0] > d.line:
                break
            if token.start[0] != d.line:
                continue
            if token.type == tokenize.COMMENT:
                comment = token
            elif token.type in (tokenize.NEWLINE, tokenize.NL):
                line_ends = True
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    if not line_ends:
        return None
    content = lines[d.line - 1].rstrip("\r\n")
    if comment is not None:
        match = _NOQA_CODES.search(comment.string)
        if match is not None:  # `# noqa: LL101` -> `# noqa: LL101, LL201`
            column = comment.start[1] + match.end()
            return (d.line, column + 1, d.line, column + 1, f", {d.code}")
    end = len(content.rstrip())
    return (d.line, end + 1, d.line, len(content) + 1, f"  # noqa: {d.code}")


def create_server(debounce: float = DEBOUNCE) -> LeaklintServer:
    server = LeaklintServer(debounce)

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LeaklintServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LeaklintServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.debounce)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: LeaklintServer, params: lsp.DidSaveTextDocumentParams) -> None:
        if is_config(params.text_document.uri):  # an editor that sends it to this server
            ls.relint_all()
        elif ls.open_document(params.text_document.uri) is not None:
            ls.schedule(params.text_document.uri, 0)

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: LeaklintServer, params: lsp.InitializedParams) -> None:
        await ls.watch_configs()

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files_changed(ls: LeaklintServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        if any(is_config(change.uri) for change in params.changes):
            ls.relint_all()

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LeaklintServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: LeaklintServer, params: None) -> None:
        ls.stop_linting()  # nothing more is published once the editor asked to stop

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, lsp.CodeActionOptions(
        code_action_kinds=[lsp.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=True))
    async def code_action(ls: LeaklintServer, params: lsp.CodeActionParams) -> List[lsp.CodeAction]:
        return await ls.code_actions(params)

    @server.feature(lsp.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: LeaklintServer, params: lsp.CodeAction) -> lsp.CodeAction:
        return await ls.resolve(params)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: LeaklintServer, params: lsp.HoverParams) -> Optional[lsp.Hover]:
        return ls.hover(params)

    return server


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Serve one editor over stdin/stdout until it says exit."""
    logging.basicConfig(level=logging.WARNING, format="leaklint server: %(levelname)s: %(message)s")
    create_server().start_io()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
