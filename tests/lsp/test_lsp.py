"""`converge lsp` end to end, through pytest-lsp's client: the same checks
as `converge check`, and the editor features built on them."""

import subprocess

from lsprotocol import types

from conftest import CONVERGE, WAIT, Workspace, at

INVENTORY = """[web]
dev01 ansible_port=99999
dev02

[web:vars]
go_version=1.23.4
"""

SITE = """inventory "inventory.ini"

vars {
  go_version = "1.22.5"
}

go toolchian "1.22.5"

hosts "web" {
  file "/etc/motd" {
    content = "go {{ go_verison }}\\n"
    notify = ["reload"]
  }
}

handler "reload" {
  command "true"
}
"""


def converge_check(root) -> list[dict]:
    """What `converge check` says about the same directory."""
    import json

    out = subprocess.run(
        [CONVERGE, "check", "--format", "json", str(root)], capture_output=True, text=True, timeout=WAIT
    )
    return json.loads(out.stdout)["diagnostics"]


def by_code(diagnostics) -> dict[str, types.Diagnostic]:
    return {d.code: d for d in diagnostics}


def span(d: types.Diagnostic):
    return (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character)


async def test_diagnostics_on_open_match_converge_check_codes_ranges_and_help(workspace: Workspace):
    workspace.write("inventory.ini", INVENTORY)
    found = by_code(await workspace.open("site.goenv", SITE))
    assert set(found) == {"E200", "E300"}, found
    assert span(found["E200"]) == (6, 0, 6, 12)
    assert "`go toolchian` is not a resource kind" in found["E200"].message
    assert "help: did you mean `go toolchain`?" in found["E200"].message
    assert found["E200"].severity == types.DiagnosticSeverity.Error
    assert found["E200"].source == "converge"
    assert span(found["E300"]) == (10, 21, 10, 31)
    # Inventory errors are published on the inventory file.
    ini = by_code(await workspace.published(workspace.uri("inventory.ini")))
    assert set(ini) == {"E415"}
    assert span(ini["E415"]) == (1, 19, 1, 24)
    # The same codes and positions as `converge check`, which is 1-based.
    for d in converge_check(workspace.root):
        mine = found if d["file"].endswith("site.goenv") else ini
        lsp = mine[d["code"]]
        assert (lsp.range.start.line + 1, lsp.range.start.character + 1) == (d["line"], d["column"])
        assert d["message"] in lsp.message and d["help"] in lsp.message


async def test_diagnostics_follow_unsaved_changes_and_clear_when_fixed(workspace: Workspace):
    first = await workspace.open("site.goenv", 'proxy ["https://proxy.golang.org", direct]\n')
    assert first == []
    broken = await workspace.change("site.goenv", 'proxy ["https://proxy.golang.org", direct]\n' "sysctl \"inotify\" = 1\n")
    assert [d.code for d in broken] == ["E409"]
    assert span(broken[0]) == (1, 7, 1, 16)
    # The file on disk was never changed: the buffer is what is checked.
    assert (workspace.root / "site.goenv").read_text() == 'proxy ["https://proxy.golang.org", direct]\n'
    fixed = await workspace.change("site.goenv", 'proxy ["https://proxy.golang.org", direct]\n' "sysctl \"fs.file-max\" = 1\n")
    assert fixed == []


async def test_a_syntax_error_and_a_template_error_in_an_unsaved_buffer(workspace: Workspace):
    text = 'file "/etc/motd" {\n  content = "{{ x "\n}\nproxy [direct\n'
    found = await workspace.open("new.goenv", text, on_disk=False)
    codes = sorted(d.code for d in found)
    assert "E100" in codes or "E305" in codes, codes


async def test_completion_of_kinds_attributes_variables_handlers_and_groups(workspace: Workspace):
    workspace.write("inventory.ini", INVENTORY)
    text = SITE.replace('go toolchian "1.22.5"', 'go toolchain "1.22.5"')
    uri = workspace.uri("site.goenv")
    await workspace.open("site.goenv", text)
    client = workspace.client

    async def labels(line: int, character: int) -> list[str]:
        result = await client.text_document_completion_async(types.CompletionParams(**at(uri, line, character)))
        items = result.items if isinstance(result, types.CompletionList) else result
        return [i.label for i in items]

    # Attributes of `file`, at the start of a line in its block.
    lines = text.splitlines()
    notify_line = lines.index('    notify = ["reload"]')
    assert "mode" in await labels(notify_line, 4)
    assert "notify" in await labels(notify_line, 4)
    # Handler names in `notify = ["..."]`.
    assert await labels(notify_line, 15) == ["reload"]
    # Variables in `{{ }}`: those of the playbook and of the inventory.
    content_line = next(i for i, l in enumerate(lines) if "content" in l)
    names = await labels(content_line, lines[content_line].index("go_verison") + 2)
    assert "go_version" in names and "facts" in names
    # Groups and hosts of the INI inventory in `hosts "..."`.
    hosts_line = lines.index('hosts "web" {')
    assert set(await labels(hosts_line, 7)) >= {"web", "all", "dev01", "dev02"}
    # Statements at the top level.
    assert {"go toolchain", "sysctl", "hosts", "handler"} <= set(await labels(len(lines), 0))


async def test_hover_shows_the_reference_and_variable_values(workspace: Workspace):
    workspace.write("inventory.ini", INVENTORY)
    text = 'inventory "inventory.ini"\nsysctl "fs.file-max" = 1 {\n  file = "/etc/sysctl.d/99-x.conf"\n}\n'
    text += 'file "/etc/motd" {\n  content = "{{ go_version }}"\n}\n'
    uri = workspace.uri("site.goenv")
    await workspace.open("site.goenv", text)
    client = workspace.client
    kind = await client.text_document_hover_async(types.HoverParams(**at(uri, 1, 2)))
    book = open("book/src/reference/resources/sysctl.md").read()
    assert kind.contents.value.splitlines()[0] == "# sysctl"
    assert kind.contents.value in book
    attribute = await client.text_document_hover_async(types.HoverParams(**at(uri, 2, 3)))
    assert "/etc/sysctl.d/90-converge.conf" in attribute.contents.value
    variable = await client.text_document_hover_async(types.HoverParams(**at(uri, 5, 18)))
    assert "| `dev01` | `\"1.23.4\"` |" in variable.contents.value, variable.contents.value


async def test_hover_shows_the_value_on_the_host_the_settings_choose(workspace: Workspace):
    inventory = INVENTORY.replace("dev02\n", "dev02 go_version=1.24.1\n")
    workspace.write("inventory.ini", inventory)
    text = 'inventory "inventory.ini"\nfile "/etc/motd" {\n  content = "{{ go_version }}"\n}\n'
    uri = workspace.uri("site.goenv")
    await workspace.open("site.goenv", text)
    client = workspace.client

    async def hover() -> str:
        return (await client.text_document_hover_async(types.HoverParams(**at(uri, 2, 18)))).contents.value

    def choose(host: str):
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"converge": {"host": host}})
        )

    every = await hover()
    assert "| `dev01` | `\"1.23.4\"` |" in every and "| `dev02` | `\"1.24.1\"` |" in every, every
    choose("dev02")
    one = await hover()
    assert "on host `dev02`" in one and "1.24.1" in one and "1.23.4" not in one, one
    choose("nosuch")
    unknown = await hover()
    assert "`nosuch`, which no play here reaches" in unknown and "| `dev01` |" in unknown, unknown
    choose("")
    assert await hover() == every


async def test_definition_of_variables_handlers_groups_and_hosts(workspace: Workspace):
    workspace.write("inventory.ini", INVENTORY)
    text = SITE.replace('go toolchian "1.22.5"', 'go toolchain "1.22.5"').replace("go_verison", "go_version")
    uri = workspace.uri("site.goenv")
    await workspace.open("site.goenv", text)
    client = workspace.client
    lines = text.splitlines()

    async def targets(line: int, character: int):
        result = await client.text_document_definition_async(types.DefinitionParams(**at(uri, line, character)))
        return sorted((l.uri.rsplit("/", 1)[-1], l.range.start.line, l.range.start.character) for l in result)

    content_line = next(i for i, l in enumerate(lines) if "content" in l)
    variable = await targets(content_line, lines[content_line].index("go_version") + 1)
    assert variable == [("inventory.ini", 5, 0), ("site.goenv", 3, 2)]
    notify_line = lines.index('    notify = ["reload"]')
    assert await targets(notify_line, 16) == [("site.goenv", 15, 8)]
    hosts_line = lines.index('hosts "web" {')
    assert await targets(hosts_line, 8) == [("inventory.ini", 0, 1)]


async def test_formatting_is_what_converge_fmt_writes(workspace: Workspace):
    text = 'proxy   [ direct ]\ngoenv {  GOPRIVATE = "git.example.com"   # ours\n}\n'
    uri = workspace.uri("site.goenv")
    await workspace.open("site.goenv", text)
    edits = await workspace.client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            options=types.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )
    assert len(edits) == 1
    subprocess.run([CONVERGE, "fmt", str(workspace.root / "site.goenv")], check=True, timeout=WAIT)
    assert edits[0].new_text == (workspace.root / "site.goenv").read_text()
    assert edits[0].new_text != text


async def test_code_actions_apply_every_did_you_mean(workspace: Workspace):
    text = 'vars {\n  go_version = "1.22.5"\n}\ngo tol "golang.org/x/tools/gopls" "v0.16.2"\n'
    text += 'file "/etc/motd" {\n  contnet = "{{ go_verison }} {{ facts.goarh }}"\n}\n'
    uri = workspace.uri("site.goenv")
    found = await workspace.open("site.goenv", text)
    titles = []
    # A fix can uncover the next problem (an attribute's value is read once
    # its name is known): apply the fixes until none is left.
    for _ in range(4):
        if not found:
            break
        actions = await workspace.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=9, character=0)),
                context=types.CodeActionContext(diagnostics=found),
            )
        )
        assert actions, found
        titles += [a.title for a in actions]
        lines = text.splitlines(keepends=True)
        edits = [e for a in actions for e in a.edit.changes[uri]]
        for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
            line = lines[e.range.start.line]
            lines[e.range.start.line] = line[: e.range.start.character] + e.new_text + line[e.range.end.character :]
        text = "".join(lines)
        found = await workspace.change("site.goenv", text)
    assert found == [], (text, found)
    assert {"Replace with `go tool`", "Replace with `content`", "Replace with `go_version`", "Replace with `goarch`"} <= set(titles), titles
    assert "{{ go_version }} {{ facts.goarch }}" in text


async def test_document_symbols_outline_the_resources(workspace: Workspace):
    uri = workspace.uri("site.goenv")
    await workspace.open("site.goenv", SITE)
    symbols = await workspace.client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    names = [s.name for s in symbols]
    assert names == ['inventory "inventory.ini"', "vars", 'go toolchian "1.22.5"', 'hosts "web"', 'handler "reload"']
    hosts = symbols[3]
    assert [c.name for c in hosts.children] == ['file "/etc/motd"']


async def test_diagnostics_after_each_edit_of_a_long_playbook_match_converge_check(workspace: Workspace, tmp_path):
    # The server parses again only what an edit changed; after each edit its
    # diagnostics are those of `converge check` on the same text.
    resources = "".join(f'file "/etc/f{i}" {{\n  content = "{{{{ v }}}} {i}"\n}}\n' for i in range(40))
    base = 'vars {\n  v = "1"\n}\n' + resources
    edits = [
        base,
        base.replace('file "/etc/f10" {', 'file "/etc/f10"  {\n  mode = 0644'),
        base.replace('file "/etc/f10" {', 'file "/etc/f10" {{'),
        base.replace("}\nfile \"/etc/f20\"", "\nfile \"/etc/f20\"", 1),
        "# a comment\n" + base.replace('{{ v }} 30', '{{ w }} 30'),
        base.replace('"/etc/f5"', '"/etc/f5\n'),
        base.replace('{{ v }} 7"', '<<EOT\n{{ v }}\nEOT'),
        base.replace('{{ v }} 7"', '<<EOT\n{{ v }}\n'),
        base,
    ]
    await workspace.open("site.goenv", edits[0])
    other = tmp_path / "other"
    other.mkdir()
    for text in edits[1:]:
        found = await workspace.change("site.goenv", text)
        (other / "site.goenv").write_text(text)
        expected = sorted((d["code"], d["line"], d["column"], d["message"]) for d in converge_check(other))
        mine = sorted(
            (d.code, d.range.start.line + 1, d.range.start.character + 1, d.message.split("\n")[0]) for d in found
        )
        assert mine == expected, text
