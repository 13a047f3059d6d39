#!/usr/bin/env bash
# Fuzzes the `.goenv` front end (parse, resolve, render diagnostics, and the
# formatter's round trip) with cargo-fuzz / libFuzzer for a bounded time.
#
#   scripts/fuzz.sh [SECONDS]        # default 600
#
# Environment:
#   FUZZ_SANITIZER   cargo-fuzz sanitizer: none (default; converge forbids
#                    unsafe code, and none runs about twice as many inputs) or
#                    address
#   CARGO_BUILD_JOBS build parallelism (default 1: the machine is shared)
#
# The corpus (fuzz/corpus/parse_resolve) is seeded at each run from
# playbooks/*.goenv, tests/bad/*.goenv and tests/warnings/*.goenv; it and
# fuzz/artifacts are ignored by git. The run's log is fuzz/artifacts/last-run.log.
#
# Exit status: 0 when the time ran out without a failure; 1 when libFuzzer found
# a crash, timeout or out-of-memory input (its path is printed); 2 when the
# fuzzer could not be installed, built or run.
set -uo pipefail

duration="${1:-600}"
if ! [[ "$duration" =~ ^[0-9]+$ ]] || [ "$duration" -eq 0 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS]  (a positive whole number, default 600)" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 2

target=parse_resolve
fuzz_dir="$root/fuzz"
corpus="$fuzz_dir/corpus/$target"
artifacts="$fuzz_dir/artifacts/$target"
log="$fuzz_dir/artifacts/last-run.log"
sanitizer="${FUZZ_SANITIZER:-none}"

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
# cargo-fuzz passes nightly-only flags (-Z...) to rustc; only the stable
# toolchain exists here, and RUSTC_BOOTSTRAP=1 lets it accept them.
export RUSTC_BOOTSTRAP=1
# Print where a panic happened (the panic hook of libfuzzer-sys then aborts).
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  if ! nice -n 10 cargo install cargo-fuzz --locked; then
    echo "fuzz.sh: cannot install cargo-fuzz" >&2
    exit 2
  fi
fi

echo "== seeding $corpus"
mkdir -p "$corpus" "$artifacts"
seeds=0
for dir in playbooks tests/bad tests/warnings; do
  for f in "$dir"/*.goenv; do
    [ -e "$f" ] || continue
    cp "$f" "$corpus/seed-${dir//\//-}-$(basename "$f")"
    seeds=$((seeds + 1))
  done
done
echo "   $seeds seed files, $(find "$corpus" -type f | wc -l) files in the corpus"

echo "== building the fuzz target (sanitizer: $sanitizer)"
if ! nice -n 10 cargo fuzz build --fuzz-dir "$fuzz_dir" -s "$sanitizer" "$target"; then
  echo "fuzz.sh: the fuzz target does not build" >&2
  exit 2
fi

echo "== fuzzing $target for ${duration}s (log: $log)"
nice -n 10 cargo fuzz run --fuzz-dir "$fuzz_dir" -s "$sanitizer" --jobs 1 "$target" "$corpus" -- \
  -max_total_time="$duration" \
  -dict="$fuzz_dir/goenv.dict" \
  -rss_limit_mb=2048 \
  -timeout=10 \
  -print_final_stats=1 \
  </dev/null 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

runs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)"
if [ -z "$runs" ]; then
  runs="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)"
fi
if [ -z "$runs" ]; then
  runs="$(sed -n 's/^#\([0-9]*\)[[:space:]].*/\1/p' "$log" | tail -n 1)"
fi
crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"

echo
echo "== summary"
echo "runs executed: ${runs:-unknown}"
if [ -n "$crash" ]; then
  echo "crash found: yes"
  echo "crashing input: $crash"
  echo "reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz -s $sanitizer $target $crash"
  echo "minimise:  RUSTC_BOOTSTRAP=1 cargo fuzz tmin --fuzz-dir fuzz -s $sanitizer $target $crash"
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "crash found: no, but the fuzzer exited with status $status (see $log)"
  exit 2
fi
echo "crash found: no"
