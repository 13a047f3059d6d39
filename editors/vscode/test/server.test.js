// Starts `converge lsp` as the extension does, through vscode-languageclient's own launcher (the code that
// builds the command line and spawns the server in VS Code), and checks that the server answers
// `initialize`. Only the editor API is a stand-in; the client library and the server are the real ones.
// Usage: node test/server.test.js CONVERGE_BINARY
"use strict";

const Module = require("module");
const path = require("path");

const converge = path.resolve(process.argv[2] || "");

// A stand-in for the `vscode` module, which exists only inside the editor: every property is another
// stand-in, except the settings, which name the converge binary under test.
function standIn() {
  return new Proxy(function () {}, {
    get(_target, key) {
      if (key === "then" || typeof key === "symbol") return undefined;
      if (key === "getConfiguration") {
        return () => ({ get: (name) => ({ path: converge, host: "" })[name] });
      }
      if (key === "workspaceFolders") return undefined;
      if (key === "version") return "1.100.0";
      return standIn();
    },
    apply: () => standIn(),
    construct: () => standIn(),
  });
}
const vscode = standIn();
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === "vscode" ? "vscode" : resolve.call(this, request, ...rest);
};
require.cache.vscode = { id: "vscode", filename: "vscode", loaded: true, exports: vscode };

// extension.js hands its server options to LanguageClient; keep the client it makes.
const languageclient = require("vscode-languageclient/node");
let made;
class Recorder extends languageclient.LanguageClient {
  constructor(...args) {
    super(...args);
    made = this;
  }
  start() {
    return Promise.resolve();
  }
}
languageclient.LanguageClient = Recorder;

let server;
function fail(message) {
  if (server) server.kill();
  console.error(`server.test.js: ${message}`);
  process.exit(1);
}

(async () => {
  const timer = setTimeout(() => fail("no answer to initialize within 30 s"), 30000);
  await require("../extension.js").activate({ subscriptions: [] });
  if (!made) fail("extension.js made no LanguageClient");
  const { reader, writer } = await made.createMessageTransports("utf8");
  server = made._serverProcess;
  let stderr = "";
  server.stderr.on("data", (data) => (stderr += data));
  server.on("exit", (code) => fail(`converge lsp exited with ${code} before answering: ${stderr.trim()}`));
  reader.listen((message) => {
    if (message.id !== 1) return;
    if (!message.result || !message.result.capabilities) fail(`initialize failed: ${JSON.stringify(message)}`);
    clearTimeout(timer);
    server.removeAllListeners("exit");
    server.kill();
    console.log(`converge lsp started by the extension (${server.spawnargs.join(" ")}) answered initialize`);
    process.exit(0);
  });
  writer.write({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: { host: "" } },
  });
})().catch((error) => fail(error.stack || String(error)));
