#!/usr/bin/env bash
# Tests the TextMate grammar on the fixtures in test/ with vscode-tmgrammar-test,
# checks that the extension starts `converge lsp` through vscode-languageclient
# (test/server.test.js; the binary is $CONVERGE_BIN, an absolute path, or
# target/debug/converge) and packages the extension into
# target/vscode/converge-goenv.vsix with @vscode/vsce. All come from npm
# (package-lock.json); without npm it says so and skips.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  echo "editors/vscode/build.sh: SKIPPED: npm is not installed; the grammar tests and the .vsix need it"
  exit 0
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing the extension's npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "== TextMate grammar tests (vscode-tmgrammar-test)"
npx --no-install vscode-tmgrammar-test -g syntaxes/goenv.tmLanguage.json 'test/*.goenv'
converge="${CONVERGE_BIN:-../../target/debug/converge}"
if [ -x "$converge" ]; then
  echo "== the extension starts converge lsp (test/server.test.js)"
  timeout 60 node test/server.test.js "$converge"
else
  echo "editors/vscode/build.sh: SKIPPED test/server.test.js: $converge is not built (cargo build --bin converge)"
fi
echo "== packaging the extension (@vscode/vsce)"
mkdir -p ../../target/vscode
npx --no-install vsce package --allow-missing-repository --skip-license \
  --no-rewrite-relative-links --out ../../target/vscode/converge-goenv.vsix </dev/null
