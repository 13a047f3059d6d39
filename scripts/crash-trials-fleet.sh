#!/usr/bin/env bash
# Crash trials on real sshd hosts: kill -9 at random moments of a converge of
# testbed hosts (tests/testbed/testbed.sh), then check every host. Two kinds
# of trial, in turn:
#   controller  kill -9 of converge on this machine,
#   remote      kill -9 of the `sh -s` shell running a script on one host
#               (found under that host's sshd process tree).
# Before each trial every host is reset to the same "old" state: the users'
# homes as the testbed made them, with the user's own text in ~/.bashrc above
# and below an older version of the managed block, and no converge state. The
# playbook writes exports, PATH, go env, a file, the managed block and VS Code
# settings. After each kill, on every host:
#   - every file in the home is whole: content, mode and owner as in the old
#     state, as converged, or as a complete step of an uninterrupted run leaves
#     it (never torn),
#   - the user's lines outside converge's blocks in ~/.bashrc are byte-identical,
#   - the next run exits 0 with every host ok or changed, reaches the converged
#     files, and leaves no `.converge.*` or `.ledger.*` temporary file.
# Kills fall uniformly within the measured time of an uninterrupted run.
#
# Usage: scripts/crash-trials-fleet.sh [TRIALS_PER_KIND [HOSTS [NET]]]
#        (defaults 30, 10, 230; NET is the testbed's third octet)
# Env:   CONVERGE_BIN (default target/debug/converge)
#        CRASH_TIME_LIMIT seconds for the whole script (default 600): no trial
#        starts after it, and a watchdog ends the script shortly after.
# Needs root (the testbed makes mount namespaces), sshd, sudo, zsh, fish, jq.
# Every command is bounded by `timeout`; the hosts are stopped by PID on exit.
set -euo pipefail

trials=${1:-30}
count=${2:-10}
net=${3:-230}
limit=${CRASH_TIME_LIMIT:-600}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${CONVERGE_BIN:-$here/target/debug/converge}
testbed=$here/tests/testbed/testbed.sh
[ -x "$bin" ] || { echo "crash-trials-fleet: no converge binary at $bin (cargo build first)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "crash-trials-fleet: needs root (the testbed makes mount namespaces)" >&2; exit 2; }
command -v jq >/dev/null || { echo "crash-trials-fleet: needs jq" >&2; exit 2; }
case $count in [1-9] | [1-9][0-9]) ;; *) echo "crash-trials-fleet: HOSTS must be 1..99" >&2; exit 2 ;; esac
case $net in [0-9] | [1-9][0-9] | 1[0-9][0-9] | 2[0-4][0-9] | 25[0-5]) ;; *) echo "crash-trials-fleet: bad NET $net" >&2; exit 2 ;; esac

start_s=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/converge-crash-fleet.XXXXXX")
tb=$work/tb
home=$work/home
running=''
watchdog=''
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$running" ]; then
    # `timeout`, then its child converge.
    kill -KILL $(cat /proc/"$running"/task/*/children 2>/dev/null) "$running" 2>/dev/null || true
  fi
  [ -n "$watchdog" ] && kill -TERM "$watchdog" 2>/dev/null || true
  timeout -k 5 60 "$testbed" down "$tb" || true
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'echo "crash-trials-fleet: interrupted" >&2; exit 130' INT TERM
# The whole script ends within the limit, plus time for the trial under way.
(
  trap 'kill -KILL "$nap" 2>/dev/null; exit 0' TERM
  sleep "$((limit + 120))" &
  nap=$!
  wait "$nap"
  echo "crash-trials-fleet: time limit reached" >&2
  kill -TERM $$ 2>/dev/null
) </dev/null &
watchdog=$!

timeout -k 5 90 "$testbed" up "$tb" "$count" "$net" >"$work/up.log" 2>&1 ||
  { cat "$work/up.log" >&2; echo "crash-trials-fleet: the testbed did not start" >&2; exit 1; }
mkdir -p "$home/.ssh"
cp "$tb/ssh_config" "$home/.ssh/config"
cp "$tb/known_hosts" "$home/.ssh/known_hosts"

# Hosts: name, sshd pid, login user (the testbed's ssh config logs in as
# dev-bash, dev-zsh, dev-dash, dev-fish in turn).
names=() pids=() users=() shells=(bash zsh dash fish)
while read -r name pid; do
  names+=("$name")
  pids+=("$pid")
  users+=("dev-${shells[$((${#users[@]} % 4))]}")
done <"$tb/pids"
home_of() { echo "/proc/${pids[$1]}/root/home/${users[$1]}"; }
uid_of() { stat -c %u "$(home_of "$1")"; }

inventory=''
for name in "${names[@]}"; do inventory+="host \"$name\" {}"$'\n'; done
resources=(
  'export GOPROXY = "https://goproxy.example.com,direct"'
  'path prepend ["/usr/local/go/bin", "$HOME/go/bin"]'
  $'goenv {\n  GOPRIVATE = "git.example.com"\n  GOFLAGS = "-mod=mod"\n}'
  $'file "~/.config/converge-crash/config" {\n  content = "line one\\nline two\\n"\n}'
  $'managed block "~/.bashrc" {\n  name = "aliases"\n  content = "alias gt=\'go test ./...\'\\n"\n}'
  $'vscode settings {\n  "go.toolsManagement.autoUpdate" = false\n}'
)
nres=${#resources[@]}
playbook_of() { # playbook_of FILE K: the inventory and the first K resources
  printf '%s' "$inventory" >"$1"
  local k
  for ((k = 0; k < $2; k++)); do printf '%s\n' "${resources[$k]}" >>"$1"; done
}
playbook=$work/site.goenv
playbook_of "$playbook" "$nres"

# run PLAYBOOK JSON: one bounded converge of every host; its exit code.
run() {
  local rc=0
  (cd "$work" && HOME=$home NO_COLOR=1 timeout -k 5 120 env -u XDG_STATE_HOME -u SSH_AUTH_SOCK \
    "$bin" "$1" --format json >"$2" 2>"$2.err") || rc=$?
  return "$rc"
}
# Every process under a host's sshd (its sessions and what they run).
descendants() {
  local p c
  for p in "$@"; do
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
      echo "$c"
      descendants "$c"
    done
  done
}
# Waits (bounded) until no session is left on any host; kills what lingers.
lingering=0
settle() {
  local i p left
  for _ in $(seq 1 150); do
    left=''
    for i in "${!pids[@]}"; do left+=$(descendants "${pids[$i]}"); done
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  lingering=$((lingering + 1))
  for i in "${!pids[@]}"; do
    for p in $(descendants "${pids[$i]}"); do kill -KILL "$p" 2>/dev/null || true; done
  done
}

# Snapshots of every user's home on every host, to reset to.
save() { # save NAME
  local i
  mkdir -p "$work/snap/$1"
  for i in "${!pids[@]}"; do
    timeout 30 tar -C "$(home_of "$i")" -cf "$work/snap/$1/$i.tar" .
  done
}
restore() { # restore NAME
  local i h
  for i in "${!pids[@]}"; do
    h=$(home_of "$i")
    timeout 30 find "$h" -mindepth 1 -delete
    timeout 30 tar -C "$h" -xpf "$work/snap/$1/$i.tar"
  done
  rm -rf -- "$home/.local"
}
# "path<TAB>sha256:mode:uid:gid" of every file in a host's home but
# converge's state.
manifest() {
  local list=$work/files.z
  (cd "$(home_of "$1")" && find . -path ./.local/state/converge -prune -o -type f ! -name '.converge.*' -print0 |
    sort -z >"$list" &&
    paste <(xargs -0r stat -c %n <"$list") <(xargs -0r sha256sum <"$list" | cut -c1-64) \
      <(xargs -0r stat -c %a:%u:%g <"$list") | awk -F'\t' '{ print $1 "\t" $2 ":" $3 }')
}
strip_blocks() { sed '/^# BEGIN converge: /,/^# END converge: /d' "$1"; }

# The old state: the user's text above and below an older managed block.
old_block=$work/old-block.goenv
printf '%s' "$inventory" >"$old_block"
printf '%s\n' $'managed block "~/.bashrc" {\n  name = "aliases"\n  content = "alias gt=\'go test\'\\n"\n}' >>"$old_block"
for i in "${!pids[@]}"; do
  h=$(home_of "$i")
  printf '# my own settings, above the block\nalias ll="ls -l"\n' >>"$h/.bashrc"
  chown "$(uid_of "$i"):$(uid_of "$i")" "$h/.bashrc"
done
run "$old_block" "$work/old.json" || { cat "$work/old.json.err" >&2; echo "crash-trials-fleet: the old state could not be made" >&2; exit 1; }
for i in "${!pids[@]}"; do
  h=$(home_of "$i")
  printf '# my own settings, below the block\nexport EDITOR=vi  # no newline at the end' >>"$h/.bashrc"
  rm -rf -- "$h/.local/state/converge"
done
save old
for i in "${!pids[@]}"; do
  manifest "$i" >"$work/snap/old/$i.sums"
  strip_blocks "$(home_of "$i")/.bashrc" >"$work/snap/old/$i.user"
done

# The states a file may be in: as after the first K resources, for every K.
took=0
for ((k = 1; k <= nres; k++)); do
  restore old
  playbook_of "$work/ref$k.goenv" "$k"
  t0=$(date +%s%N)
  run "$work/ref$k.goenv" "$work/ref$k.json" ||
    { cat "$work/ref$k.json" "$work/ref$k.json.err" >&2; echo "crash-trials-fleet: the reference run of $k resources failed" >&2; exit 1; }
  took=$((($(date +%s%N) - t0) / 1000000))
  settle
  mkdir -p "$work/snap/ref$k"
  for i in "${!pids[@]}"; do manifest "$i" >"$work/snap/ref$k/$i.sums"; done
done
new=ref$nres
# Per host: every state of every path ("-" when absent).
for i in "${!pids[@]}"; do
  cat "$work"/snap/*/"$i.sums" | cut -f1 | sort -u >"$work/paths.$i"
  for s in "$work"/snap/*/; do
    awk -F'\t' 'NR == FNR { have[$1] = $2; next } { print $1 "\t" ($1 in have ? have[$1] : "-") }' \
      "$s/$i.sums" "$work/paths.$i" >"$s/$i.full"
  done
  cat "$work"/snap/*/"$i.full" | sort -u >"$work/valid.$i"
done
files_per_run=0
for i in "${!pids[@]}"; do files_per_run=$((files_per_run + $(wc -l <"$work/paths.$i"))); done
echo "crash-trials-fleet: ${#pids[@]} hosts, $files_per_run files per check, an uninterrupted run takes $took ms" >&2

# check I TRIAL: whole files on host I; prints "old new between torn".
check_host() {
  manifest "$1" >"$work/now.sums"
  awk -F'\t' -v host="${names[$1]}" -v trial="$2" '
    FILENAME == ARGV[1] { valid[$1 "\t" $2] = 1; known[$1] = 1; next }
    FILENAME == ARGV[2] { old[$1] = $2; next }
    FILENAME == ARGV[3] { new[$1] = $2; next }
    FILENAME == ARGV[4] { now[$1] = $2; next }
    END {
      for (p in now) if (!(p in known)) {
        printf "trial %s: %s:%s is a file no run writes\n", trial, host, p > "/dev/stderr"; torn++
      }
      for (p in known) {
        h = (p in now) ? now[p] : "-"
        if (h == new[p]) n++
        else if (h == old[p]) o++
        else if ((p "\t" h) in valid) b++
        else { printf "trial %s: %s:%s is torn (its content, mode or owner is in no state a whole write leaves)\n", trial, host, p > "/dev/stderr"; torn++ }
      }
      print o + 0, n + 0, b + 0, torn + 0
    }' "$work/valid.$1" "$work/snap/old/$1.full" "$work/snap/$new/$1.full" "$work/now.sums"
}
# The `sh -s` shells running under a host's sshd.
shells_of() {
  local p
  for p in $(descendants "${pids[$1]}"); do
    [ "$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)" = 'sh -s ' ] && echo "$p"
  done
  return 0
}

declare -A killed=() missed=()
at_before=0 at_mid=0 at_after=0
trials_done=0 checked=0 as_old=0 as_new=0 between=0 torn=0 lost=0 leftover=0 unclean=0 not_reached=0
for ((t = 1; t <= 2 * trials; t++)); do
  if ((SECONDS - start_s > limit)); then
    echo "crash-trials-fleet: time limit of ${limit}s reached after $trials_done trials" >&2
    break
  fi
  if ((t % 2)); then kind=controller; else kind=remote; fi
  restore old
  delay=$(((RANDOM * 32768 + RANDOM) % (took + 1)))
  (cd "$work" && exec env HOME="$home" NO_COLOR=1 timeout -k 5 120 env -u XDG_STATE_HOME -u SSH_AUTH_SOCK \
    "$bin" "$playbook" --format json) >"$work/trial.json" 2>"$work/trial.err" &
  running=$!
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  hit=''
  if [ "$kind" = controller ]; then
    # `timeout`'s child is converge.
    cpid=$(cat /proc/"$running"/task/*/children 2>/dev/null || true)
    [ -n "$cpid" ] && kill -KILL $cpid 2>/dev/null && hit=1
  else
    # A random host with a shell running; the one picked first if it has one.
    first=$((RANDOM % ${#pids[@]}))
    for ((j = 0; j < ${#pids[@]}; j++)); do
      i=$(((first + j) % ${#pids[@]}))
      victims=$(shells_of "$i")
      if [ -n "$victims" ]; then
        kill -KILL $victims 2>/dev/null && hit=$i
        break
      fi
    done
  fi
  if [ -n "$hit" ]; then killed[$kind]=$((${killed[$kind]:-0} + 1)); else missed[$kind]=$((${missed[$kind]:-0} + 1)); fi
  wait "$running" 2>/dev/null || true
  running=''
  # A writer still alive keeps its temporary file, rightly: checks start when
  # every session on every host is gone.
  settle
  for i in "${!pids[@]}"; do
    read -r o n b x < <(check_host "$i" "$t")
    # Where the killed shell was: before any write, mid-apply, or after it.
    if [ "$kind" = remote ] && [ "$hit" = "$i" ]; then
      if ((n + b == 0)); then at_before=$((at_before + 1)); elif ((o + b == 0)); then at_after=$((at_after + 1)); else at_mid=$((at_mid + 1)); fi
    fi
    as_old=$((as_old + o)) as_new=$((as_new + n)) between=$((between + b)) torn=$((torn + x))
    checked=$((checked + o + n + b + x))
    if ! cmp -s <(strip_blocks "$(home_of "$i")/.bashrc") "$work/snap/old/$i.user"; then
      echo "trial $t ($kind): ${names[$i]}: the user's text in .bashrc changed" >&2
      lost=$((lost + 1))
    fi
  done
  # The next run converges every host and cleans up.
  rc=0
  run "$playbook" "$work/next.json" || rc=$?
  settle
  bad_hosts=$(jq -r '[.hosts[] | select(.status != "ok" and .status != "changed") | .host] | join(",")' \
    "$work/next.json" 2>/dev/null || echo '?')
  if [ "$rc" != 0 ] || [ -n "$bad_hosts" ] || [ "$(jq '.hosts | length' "$work/next.json" 2>/dev/null)" != "${#pids[@]}" ]; then
    echo "trial $t ($kind): the next run exited $rc; hosts not ok: ${bad_hosts:-none}" >&2
    sed 's/^/  /' "$work/next.json.err" | head -20 >&2
    unclean=$((unclean + 1))
  fi
  for i in "${!pids[@]}"; do
    left=$(cd "$(home_of "$i")" && find . \( -name '.converge.*' -o -name '.ledger.*' \) -print)
    if [ -n "$left" ]; then
      echo "trial $t ($kind): ${names[$i]}: temporary files left after the next run:" $left >&2
      leftover=$((leftover + $(printf '%s\n' "$left" | wc -l)))
    fi
    if ! cmp -s <(manifest "$i") "$work/snap/$new/$i.sums"; then
      echo "trial $t ($kind): ${names[$i]}: the next run did not reach the converged files" >&2
      not_reached=$((not_reached + 1))
    fi
  done
  trials_done=$t
done

printf 'crash trials on %d sshd hosts, kills within an uninterrupted run of %d ms, %ds in all\n' \
  "${#pids[@]}" "$took" "$((SECONDS - start_s))"
for kind in controller remote; do
  printf '  %-10s kill -9: %d trials (%d killed, %d finished or no shell running at the kill)\n' "$kind" \
    "$((${killed[$kind]:-0} + ${missed[$kind]:-0}))" "${killed[$kind]:-0}" "${missed[$kind]:-0}"
done
printf '  the killed remote shell'"'"'s host was left: as before %d, part converged %d, converged %d\n' \
  "$at_before" "$at_mid" "$at_after"
printf '  files checked %d: as before %d, as converged %d, whole between steps %d, torn %d\n' \
  "$checked" "$as_old" "$as_new" "$between" "$torn"
printf '  lost user text %d, temporary files left %d, unclean next runs %d, next runs short of converged %d\n' \
  "$lost" "$leftover" "$unclean" "$not_reached"
printf '  sessions still alive 15 s after a trial or run (killed) %d\n' "$lingering"
[ "$torn" -eq 0 ] && [ "$lost" -eq 0 ] && [ "$leftover" -eq 0 ] && [ "$unclean" -eq 0 ] && [ "$not_reached" -eq 0 ]
