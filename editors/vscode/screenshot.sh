#!/usr/bin/env bash
# Takes editors/vscode/screenshot.png: the extension running in VS Code (code-server in headless Chromium),
# a playbook highlighted by the TextMate grammar, and an error from `converge lsp` shown as a squiggle, in
# its hover and in the Problems panel. Not run by the tests or CI; run it by hand to refresh the picture.
#
# Needs:
#   - converge built (target/debug/converge, or the binary named by $CONVERGE);
#   - npm, for build.sh, which packages target/vscode/converge-goenv.vsix;
#   - Chromium (/usr/bin/chromium, or $CHROMIUM);
#   - code-server and playwright-core installed with npm under TOOLS (first argument, default
#     target/screenshot-tools), outside the repository's sources:
#       npm_config_unsafe_perm=true npm install --prefix TOOLS code-server@4.100.3 playwright-core
#     code-server 4.100 runs on Node 20 (later ones want Node 22 or 24); its install builds native modules
#     (g++, make, and the krb5, x11, xkbfile and secret headers) and downloads ripgrep from GitHub. Without
#     GitHub: install with --ignore-scripts, then in TOOLS/node_modules/code-server/lib/vscode run
#     `npm install --omit=dev --ignore-scripts`, copy a system `rg` to node_modules/@vscode/ripgrep/bin/rg,
#     `npm rebuild kerberos @vscode/deviceid @vscode/spdlog native-watchdog node-pty`, make the links that
#     code-server's postinstall.sh makes, and `npx node-pre-gyp install --fallback-to-build` in
#     TOOLS/node_modules/argon2.
#
# code-server listens on 127.0.0.1 only, without authentication, for as long as the script runs; it and
# everything it started are stopped at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tools="$(realpath -m "${1:-$repo/target/screenshot-tools}")"
converge="$(realpath -m "${CONVERGE:-$repo/target/debug/converge}")"
chromium="${CHROMIUM:-/usr/bin/chromium}"
code_server="$tools/node_modules/.bin/code-server"
for need in "$converge" "$chromium" "$code_server" "$tools/node_modules/playwright-core/package.json"; do
  if [ ! -e "$need" ]; then
    echo "editors/vscode/screenshot.sh: $need is missing (see the top of this script for what it needs)" >&2
    exit 1
  fi
done

CONVERGE_BIN="$converge" "$here/build.sh"
vsix="$repo/target/vscode/converge-goenv.vsix"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    # code-server was started in its own process group: stop it with its extension hosts and `converge lsp`.
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/user/User" "$work/extensions" "$work/devbox"
cat >"$work/user/User/settings.json" <<EOF
{
  "converge.path": "$converge",
  "workbench.colorTheme": "Default Dark Modern",
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "editor.minimap.enabled": false,
  "chat.commandCenter.enabled": false
}
EOF
# The playbook in the picture: valid but for one misspelt Go setting.
cat >"$work/devbox/devbox.goenv" <<'EOF'
# Go workstations: one pinned toolchain, the company proxy, and gopls
# built by that toolchain.

vars {
  go_version = "1.22.5"
}

goenv {
  GOPRIVTE = "git.internal.example.com"
  GOTOOLCHAIN = "local"
  notify = "restart vscode"
}

proxy ["https://goproxy.internal.example.com", direct] {
  notify = "restart vscode"
}

go toolchain "{{ go_version }}" {
  source = "https://go.dev/dl/go{{ go_version }}.linux-{{ facts.goarch }}.tar.gz"
  sha256 = {
    amd64 = "904b924d435eaea086515bc63235b192ea441bd8c9b198c507e85009e6e4c7f0"
    arm64 = "8d21325bfcf431be3660527c1a39d3d9ad71535fabdf5041c826e44e31642b5a"
  }
  prefix = "/usr/local/go"
}

go tool "golang.org/x/tools/gopls@v0.16.2" {
  after = ["go toolchain"]
  link = true
}

handler "restart vscode" {
  vscode restart
}
EOF

port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
  console.log(s.address().port); s.close(); });')"
printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$port" >"$work/config.yaml"
common=(--config "$work/config.yaml" --user-data-dir "$work/user" --extensions-dir "$work/extensions")
"$code_server" "${common[@]}" --install-extension "$vsix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; exit 1; }
setsid "$code_server" "${common[@]}" --disable-telemetry --disable-update-check --disable-workspace-trust \
  --disable-getting-started-override "$work/devbox" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 60); do
  if node -e 'require("http").get(process.argv[1], () => process.exit(0)).on("error", () => process.exit(1))' \
    "http://127.0.0.1:$port/healthz"; then
    break
  fi
  sleep 1
done

cat >"$work/shot.js" <<'EOF'
const { chromium } = require(process.env.PLAYWRIGHT);
const [url, out] = process.argv.slice(2);
(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url);
    await page.waitForSelector(".monaco-workbench", { timeout: 60000 });
    await page.getByText("devbox.goenv", { exact: true }).first().click({ timeout: 60000 });
    // The error squiggle is drawn once `converge lsp` has published its diagnostics.
    await page.waitForSelector(".monaco-editor .squiggly-error", { timeout: 60000 });
    await page.keyboard.press("Control+Shift+M");
    await page.waitForTimeout(1500);
    // The panel only needs the height of one problem: give the rest to the editor.
    const panel = await page.locator(".part.panel").boundingBox();
    await page.mouse.move(panel.x + panel.width / 2, panel.y - 1);
    await page.mouse.down();
    await page.mouse.move(panel.x + panel.width / 2, panel.y + 110, { steps: 10 });
    await page.mouse.up();
    await page.waitForTimeout(500);
    // Completion after the first three letters of the misspelt `GOPRIVTE`, without changing the text.
    const squiggle = await page.locator(".monaco-editor .squiggly-error").first().boundingBox();
    await page.mouse.click(squiggle.x + (squiggle.width * 3) / 8, squiggle.y + squiggle.height / 2);
    await page.mouse.move(1200, 790);
    await page.keyboard.press("Control+Space");
    await page.waitForSelector(".suggest-widget.visible", { timeout: 20000 });
    await page.waitForTimeout(1500);
    await page.screenshot({ path: out });
  } finally {
    await browser.close();
  }
})().catch((error) => { console.error(error); process.exit(1); });
EOF
PLAYWRIGHT="$tools/node_modules/playwright-core" CHROMIUM="$chromium" timeout 300 \
  node "$work/shot.js" "http://127.0.0.1:$port/?folder=$work/devbox" "$here/screenshot.png" \
  || { tail -n 50 "$work/server.log" >&2; exit 1; }
echo "wrote $here/screenshot.png"
