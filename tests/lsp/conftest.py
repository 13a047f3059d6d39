"""A real LSP client (pytest-lsp) driving `converge lsp` over stdio.

CONVERGE_BIN names the converge binary under test; scripts/test.sh sets it.
"""

import asyncio
import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

CONVERGE = os.environ.get("CONVERGE_BIN", "")
if not CONVERGE or not os.access(CONVERGE, os.X_OK):
    raise pytest.UsageError(f"CONVERGE_BIN must name the converge binary under test (got {CONVERGE!r})")

# How long any single answer may take before the test fails.
WAIT = 20


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[CONVERGE, "lsp"]),
)
async def client(lsp_client: LanguageClient):
    params = types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
    )
    await asyncio.wait_for(lsp_client.initialize_session(params), WAIT)
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), WAIT)


class Workspace:
    """A directory of playbooks, opened in the client."""

    def __init__(self, client: LanguageClient, root: pathlib.Path):
        self.client = client
        self.root = root
        self.versions: dict[str, int] = {}

    def uri(self, name: str) -> str:
        return (self.root / name).as_uri()

    def write(self, name: str, text: str) -> str:
        (self.root / name).write_text(text)
        return self.uri(name)

    async def diagnostics_after(self, action, uri: str) -> list[types.Diagnostic]:
        """Runs `action` and waits for the diagnostics of `uri` it causes."""
        self.client.diagnostics.pop(uri, None)
        action()
        return await self.published(uri)

    async def published(self, uri: str) -> list[types.Diagnostic]:
        """Waits until diagnostics for `uri` are published."""

        async def poll():
            while uri not in self.client.diagnostics:
                await asyncio.sleep(0.02)
            return list(self.client.diagnostics[uri])

        return await asyncio.wait_for(poll(), WAIT)

    async def open(self, name: str, text: str, on_disk: bool = True) -> list[types.Diagnostic]:
        uri = self.write(name, text) if on_disk else self.uri(name)
        self.versions[uri] = 1
        item = types.TextDocumentItem(uri=uri, language_id="goenv", version=1, text=text)
        return await self.diagnostics_after(
            lambda: self.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item)),
            uri,
        )

    async def change(self, name: str, text: str) -> list[types.Diagnostic]:
        uri = self.uri(name)
        self.versions[uri] += 1
        params = types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
        return await self.diagnostics_after(lambda: self.client.text_document_did_change(params), uri)


@pytest.fixture
def workspace(client: LanguageClient, tmp_path: pathlib.Path) -> Workspace:
    return Workspace(client, tmp_path)


def at(uri: str, line: int, character: int) -> dict:
    return {
        "text_document": types.TextDocumentIdentifier(uri=uri),
        "position": types.Position(line=line, character=character),
    }
