#!/usr/bin/env bash
# Runs the whole test suite: unit tests, the integration binary (real converge
# runs, diagnostic snapshots, property tests, book examples).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  echo "scripts/test.sh: cargo is required (install the Rust toolchain)" >&2
  exit 1
fi
cargo test --locked --all-targets "$@"
