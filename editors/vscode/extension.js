// The VS Code side of converge's editor support: starts `converge lsp` for
// .goenv files; highlighting comes from syntaxes/goenv.tmLanguage.json.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

async function start() {
  const config = vscode.workspace.getConfiguration("converge");
  const command = config.get("path") || "converge";
  // No `transport`: the client then speaks over the process's stdin and
  // stdout as it is; `TransportKind.stdio` would add a `--stdio` argument,
  // which `converge lsp` refuses.
  const serverOptions = {
    run: { command, args: ["lsp"] },
    debug: { command, args: ["lsp"] },
  };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "goenv" },
      { scheme: "untitled", language: "goenv" },
    ],
    // Hover shows a variable's value on this host (every host's without one).
    initializationOptions: { host: config.get("host") || "" },
    synchronize: {
      // `converge.*` settings reach the server as they change.
      configurationSection: "converge",
      // Inventories and playbooks changed outside the editor are read again.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{goenv,ini}"),
    },
  };
  client = new LanguageClient("converge", "converge", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    vscode.window.showErrorMessage(
      `converge lsp did not start (${error.message}); set "converge.path" to the converge binary.`,
    );
  }
}

async function activate(context) {
  await start();
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("converge.path") && client) {
        await client.stop();
        await start();
      }
    }),
  );
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
