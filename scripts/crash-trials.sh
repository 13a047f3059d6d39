#!/usr/bin/env bash
# Crash trials: kill -9 converge (and, every other trial, the whole process
# group with the shell running the apply) at random moments during the first
# converge of a `--root` tree, then check that
#   - every managed file is either as it was before or complete as converged,
#   - the user's text around the managed block is byte-identical,
#   - the next run converges cleanly and leaves no temporary file,
#   - a plan after that is empty.
#
# Then the same for a removal: the file and the managed block leave the
# playbook of a converged tree, and the run that prunes them is killed; each
# of their files is as before or as after the removal, whole, and the next run
# finishes the removal.
#
# Usage: scripts/crash-trials.sh [TRIALS] [REMOVAL_TRIALS]   (default 30, 10)
# Env:   CONVERGE_BIN (default target/debug/converge)
# Everything started is bounded by `timeout` and killed by process group.
set -euo pipefail

trials=${1:-30}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${CONVERGE_BIN:-$here/target/debug/converge}
[ -x "$bin" ] || { echo "crash-trials: no converge binary at $bin (cargo build first)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/converge-crash.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# One resource of each kind a first converge writes; several write the same
# files (the exports, the shell rc files).
resources=(
  'export GOPROXY = "https://goproxy.example.com,direct"'
  'path prepend ["/usr/local/go/bin", "$HOME/go/bin"]'
  $'goenv {\n  GOPRIVATE = "git.example.com"\n}'
  $'file "/etc/converge-crash/config" {\n  content = "line one\\nline two\\n"\n}'
  $'managed block "~/.bashrc" {\n  content = "alias gt=\'go test ./...\'\\n"\n}'
  $'vscode settings {\n  "go.toolsManagement.autoUpdate" = false\n}'
)
# playbook FILE K: the first K resources.
playbook_of() {
  : >"$1"
  local k
  for ((k = 0; k < $2; k++)); do printf '%s\n' "${resources[$k]}" >>"$1"; done
}
playbook=$work/site.goenv
playbook_of "$playbook" "${#resources[@]}"

user_text=$'# my own settings\nalias ll="ls -l"\n'
# The tree before converging: the user's own text in ~/.bashrc.
seed() {
  mkdir -p "$1/home/dev/.config"
  printf '%s' "$user_text" >"$1/home/dev/.bashrc"
}

run() { # run ROOT PLAYBOOK: one bounded converge of ROOT
  HOME=/home/dev NO_COLOR=1 timeout -k 5 120 "$bin" "$2" --root "$1" \
    --state-dir "$work/state-$(basename "$1")" >/dev/null 2>&1
}

# Every file of a tree but converge's own state, with its sha256.
manifest() {
  (cd "$1" && find . -path ./home/dev/.local/state/converge -prune -o -type f -print0 |
    sort -z | xargs -0r sha256sum)
}

# The states a file may be in: as after the first K resources, for every K
# (a file no prefix writes stays absent: `-`).
for ((k = 0; k <= ${#resources[@]}; k++)); do
  seed "$work/ref$k"
  playbook_of "$work/ref$k.goenv" "$k"
  start=$(date +%s%N)
  run "$work/ref$k" "$work/ref$k.goenv" || { echo "crash-trials: the reference converge of $k resources failed" >&2; exit 1; }
  # Kills fall anywhere in the time a whole first converge takes.
  took=$((($(date +%s%N) - start) / 1000000))
  manifest "$work/ref$k" >"$work/ref$k.sums"
done
cat "$work"/ref*.sums | sort -u >"$work/valid.sums"
after_sums=$work/ref${#resources[@]}.sums
awk '{ print $2 }' "$work/valid.sums" | sort -u >"$work/paths"

killed=0 finished=0 bad=0 as_old=0 as_new=0 leftover=0 unclean=0
for i in $(seq 1 "$trials"); do
  t=$work/t$i
  seed "$t"
  delay=$((RANDOM % (took + 1)))
  # A process group of its own, so the apply shell can be killed with it.
  setsid bash -c 'exec "$@"' _ env HOME=/home/dev NO_COLOR=1 timeout -k 5 120 "$bin" "$playbook" \
    --root "$t" --state-dir "$work/state-t$i" >/dev/null 2>&1 &
  pid=$!
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  if kill -0 "$pid" 2>/dev/null; then
    if ((i % 2)); then kill -KILL "$pid" 2>/dev/null || true; else kill -KILL -- "-$pid" 2>/dev/null || true; fi
    killed=$((killed + 1))
  else
    finished=$((finished + 1))
  fi
  wait "$pid" 2>/dev/null || true
  # Whatever of the group is left ends now, and is gone before the checks (a
  # writer still alive keeps its temporary file, rightly).
  kill -KILL -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.1
  done
  # Every file is in a state some prefix of the run leaves, whole.
  while read -r path; do
    now=$(cd "$t" && sha256sum "$path" 2>/dev/null | cut -c1-64 || true)
    if [ -z "$now" ]; then
      as_old=$((as_old + 1))
    elif grep -qxF "$now  $path" "$work/valid.sums"; then
      if grep -qxF "$now  $path" "$after_sums"; then as_new=$((as_new + 1)); else as_old=$((as_old + 1)); fi
    else
      echo "trial $i: $path is in no state a complete write leaves" >&2
      bad=$((bad + 1))
    fi
  done <"$work/paths"
  # The user's text, once converge's blocks are taken out, is as it was.
  if [ "$(sed '/^# BEGIN converge: /,/^# END converge: /d' "$t/home/dev/.bashrc"; echo x)" != "${user_text}x" ]; then
    echo "trial $i: the user's text in .bashrc changed" >&2
    bad=$((bad + 1))
  fi
  # The next run converges and cleans up.
  if ! run "$t" "$playbook"; then echo "trial $i: the next run failed" >&2; unclean=$((unclean + 1)); fi
  if [ -n "$(find "$t" -name '.converge.*' -print -quit)" ]; then
    echo "trial $i: temporary files left after the next run:" $(cd "$t" && find . -name ".converge.*") >&2
    leftover=$((leftover + 1))
  fi
  if ! diff -q <(manifest "$t") "$after_sums" >/dev/null; then
    echo "trial $i: the next run did not reach the converged tree" >&2
    unclean=$((unclean + 1))
  fi
  rm -rf -- "$t" "$work/state-t$i"
done

# Removal: the file (index 3) and the managed block (index 4) leave the playbook.
removal_trials=${2:-10}
removed=$work/removed.goenv
: >"$removed"
for ((k = 0; k < ${#resources[@]}; k++)); do
  if ((k != 3 && k != 4)); then printf '%s\n' "${resources[$k]}" >>"$removed"; fi
done
seed "$work/refrm"
run "$work/refrm" "$playbook" || { echo "crash-trials: the reference converge failed" >&2; exit 1; }
start=$(date +%s%N)
run "$work/refrm" "$removed" || { echo "crash-trials: the reference removal failed" >&2; exit 1; }
took_rm=$((($(date +%s%N) - start) / 1000000))
manifest "$work/refrm" >"$work/refrm.sums"
rm_bad=0 rm_killed=0 rm_unclean=0
for i in $(seq 1 "$removal_trials"); do
  t=$work/r$i
  seed "$t"
  run "$t" "$playbook" || { echo "removal trial $i: the first converge failed" >&2; rm_unclean=$((rm_unclean + 1)); }
  before=$(cd "$t" && sha256sum home/dev/.bashrc etc/converge-crash/config)
  delay=$((RANDOM % (took_rm + 1)))
  setsid bash -c 'exec "$@"' _ env HOME=/home/dev NO_COLOR=1 timeout -k 5 120 "$bin" "$removed" \
    --root "$t" --state-dir "$work/state-r$i" >/dev/null 2>&1 &
  pid=$!
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  if kill -0 "$pid" 2>/dev/null; then
    if ((i % 2)); then kill -KILL "$pid" 2>/dev/null || true; else kill -KILL -- "-$pid" 2>/dev/null || true; fi
    rm_killed=$((rm_killed + 1))
  fi
  wait "$pid" 2>/dev/null || true
  kill -KILL -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.1
  done
  # The block is in ~/.bashrc or not, whole; the file is there as written or gone.
  # (`before` names it as sha256sum was given it, the manifest with `./`.)
  bashrc=$(cd "$t" && sha256sum home/dev/.bashrc)
  if ! grep -qxF "$bashrc" <<<"$before" && ! grep -qxF "${bashrc/  /  ./}" "$work/refrm.sums"; then
    echo "removal trial $i: ~/.bashrc is neither as before nor as after the removal" >&2
    rm_bad=$((rm_bad + 1))
  fi
  if [ -e "$t/etc/converge-crash/config" ]; then
    config=$(cd "$t" && sha256sum etc/converge-crash/config)
    grep -qxF "$config" <<<"$before" || { echo "removal trial $i: the removed file is torn" >&2; rm_bad=$((rm_bad + 1)); }
  fi
  if ! run "$t" "$removed"; then echo "removal trial $i: the next run failed" >&2; rm_unclean=$((rm_unclean + 1)); fi
  if ! diff -q <(manifest "$t") "$work/refrm.sums" >/dev/null; then
    echo "removal trial $i: the next run did not finish the removal" >&2
    rm_unclean=$((rm_unclean + 1))
  fi
  rm -rf -- "$t" "$work/state-r$i"
done

printf 'trials %d: killed %d, finished before the kill %d (kills within %d ms)\n' "$trials" "$killed" "$finished" "$took"
printf 'files absent or between steps %d, as converged %d, torn or foreign %d\n' "$as_old" "$as_new" "$bad"
printf 'next runs unclean %d, trials with temporary files left %d\n' "$unclean" "$leftover"
printf 'removal trials %d: killed %d; torn %d, unclean %d\n' "$removal_trials" "$rm_killed" "$rm_bad" "$rm_unclean"
[ "$bad" -eq 0 ] && [ "$unclean" -eq 0 ] && [ "$leftover" -eq 0 ] && [ "$rm_bad" -eq 0 ] && [ "$rm_unclean" -eq 0 ]
