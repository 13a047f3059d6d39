#!/usr/bin/env bash
# Crash trials: kill -9 converge (and, every other trial, the whole process
# group with the shell running the apply) at random moments during the first
# converge of a `--root` tree, then check that
#   - every managed file is either as it was before or complete as converged,
#   - the user's text around the managed block is byte-identical,
#   - the next run converges cleanly and leaves no temporary file,
#   - a plan after that is empty.
#
# Usage: scripts/crash-trials.sh [TRIALS]   (default 30)
# Env:   CONVERGE_BIN (default target/debug/converge)
# Everything started is bounded by `timeout` and killed by process group.
set -euo pipefail

trials=${1:-30}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${CONVERGE_BIN:-$here/target/debug/converge}
[ -x "$bin" ] || { echo "crash-trials: no converge binary at $bin (cargo build first)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/converge-crash.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

playbook=$work/site.goenv
cat >"$playbook" <<'EOF'
export GOPROXY = "https://goproxy.example.com,direct"
path prepend ["/usr/local/go/bin", "$HOME/go/bin"]
goenv {
  GOPRIVATE = "git.example.com"
}
file "/etc/converge-crash/config" {
  content = "line one\nline two\n"
}
managed block "~/.bashrc" {
  content = "alias gt='go test ./...'\n"
}
vscode settings {
  "go.toolsManagement.autoUpdate" = false
}
EOF

# The tree before converging: the user's own text in ~/.bashrc.
seed() {
  mkdir -p "$1/home/dev/.config"
  printf '# my own settings\nalias ll="ls -l"\n' >"$1/home/dev/.bashrc"
}

run() { # run ROOT [ARGS...]: one bounded converge of ROOT
  local root=$1
  shift
  HOME=/home/dev NO_COLOR=1 timeout -k 5 120 "$bin" "$playbook" --root "$root" \
    --state-dir "$work/state-$(basename "$root")" "$@" >/dev/null 2>&1
}

# Every file of a tree but converge's own state, with its sha256.
manifest() {
  (cd "$1" && find . -path ./home/dev/.local/state/converge -prune -o -type f -print0 |
    sort -z | xargs -0r sha256sum)
}

# The reference: the tree before, and after one uninterrupted converge.
seed "$work/before"
cp -a "$work/before" "$work/after"
start=$(date +%s%N)
run "$work/after" || { echo "crash-trials: the reference converge failed" >&2; exit 1; }
took=$((($(date +%s%N) - start) / 1000000))
manifest "$work/before" >"$work/before.sums"
manifest "$work/after" >"$work/after.sums"
bashrc_before=$(cat "$work/before/home/dev/.bashrc")

killed=0 finished=0 bad=0 as_old=0 as_new=0 leftover=0 unclean=0
for i in $(seq 1 "$trials"); do
  t=$work/t$i
  seed "$t"
  delay=$((RANDOM % (took + 1)))
  # A process group of its own, so the apply shell can be killed with it.
  setsid bash -c 'exec "$@"' _ env HOME=/home/dev NO_COLOR=1 timeout -k 5 120 "$bin" "$playbook" \
    --root "$t" --state-dir "$work/state-t$i" >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '0.%03d' "$delay")"
  if kill -0 "$pid" 2>/dev/null; then
    if ((i % 2)); then kill -KILL "$pid" 2>/dev/null || true; else kill -KILL -- "-$pid" 2>/dev/null || true; fi
    killed=$((killed + 1))
  else
    finished=$((finished + 1))
  fi
  wait "$pid" 2>/dev/null || true
  # Whatever of the group is left ends now.
  kill -KILL -- "-$pid" 2>/dev/null || true
  # Every file is as before or as after, whole.
  while read -r sum path; do
    now=$(cd "$t" && sha256sum "$path" 2>/dev/null | cut -c1-64 || true)
    old=$(awk -v p="$path" '$2 == p { print $1 }' "$work/before.sums")
    if [ "$now" = "$sum" ]; then
      as_new=$((as_new + 1))
    elif [ "$now" = "$old" ] || { [ -z "$now" ] && [ -z "$old" ]; }; then
      as_old=$((as_old + 1))
    else
      echo "trial $i: $path is neither as before nor as converged" >&2
      bad=$((bad + 1))
    fi
  done <"$work/after.sums"
  case $(cat "$t/home/dev/.bashrc") in
    "$bashrc_before"*) ;;
    *) echo "trial $i: the user's text in .bashrc changed" >&2; bad=$((bad + 1)) ;;
  esac
  # The next run converges and cleans up.
  if ! run "$t"; then echo "trial $i: the next run failed" >&2; unclean=$((unclean + 1)); fi
  if [ -n "$(find "$t" -name '.converge.*' -print -quit)" ]; then
    echo "trial $i: temporary files left after the next run" >&2
    leftover=$((leftover + 1))
  fi
  if ! diff -q <(manifest "$t") "$work/after.sums" >/dev/null; then
    echo "trial $i: the next run did not reach the converged tree" >&2
    unclean=$((unclean + 1))
  fi
  rm -rf -- "$t" "$work/state-t$i"
done

printf 'trials %d: killed %d, finished first %d (reference run %d ms)\n' "$trials" "$killed" "$finished" "$took"
printf 'files as before %d, as converged %d, torn or foreign %d\n' "$as_old" "$as_new" "$bad"
printf 'next runs unclean %d, trials with temporary files left %d\n' "$unclean" "$leftover"
[ "$bad" -eq 0 ] && [ "$unclean" -eq 0 ] && [ "$leftover" -eq 0 ]
