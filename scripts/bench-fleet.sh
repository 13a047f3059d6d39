#!/usr/bin/env bash
# Compares converge with Ansible on a fleet of real sshd hosts on this machine
# (tests/testbed/testbed.sh) and prints a table of wall times.
#
# Both tools converge the same desired state: bench/fleet.goenv for converge,
# bench/fleet.yml for Ansible, which manages the same files with the same
# bytes. For each fleet size it measures, as the median of RUNS runs:
#   first converge  every run on freshly started hosts (the testbed is
#                   restarted between runs, outside the timing)
#   no-op re-run    on converged hosts
#   one-file drift  one managed file edited on every host, then repaired
#   dry run         `converge --plan` and `ansible-playbook --check --diff`,
#                   on fresh hosts, so every change is pending and diffed
#   ssh floor       N parallel `ssh HOST true` with OpenSSH
# Beside the wall times, for converge and the floor, it prints CPU per host:
#   controller      converge's user+system CPU (getrusage, from /usr/bin/time)
#                   divided by the hosts, and per phase (connect + auth, facts,
#                   plan, apply) from the thread CPU `converge -v` reports
#   host side       the CPU every process of the hosts used in the run: the
#                   testbed's sshds and all their sessions start are in a
#                   cgroup of their own, whose CPU usage is read before and
#                   after
#   peak RSS        converge's maximum resident set
# converge runs with --forks N and --connect-timeout 60: on a loaded 2-core
# machine, 200 hosts' handshakes at once can outrun the default 10 s.
# Before timing, it checks that the two playbooks agree: after converge,
# Ansible's check mode finds nothing to change, and after Ansible, converge's
# first no-op run finds nothing to change.
#
# Ansible runs as its users run it: ansible-core from PyPI (installed into
# target/bench-tools/ when missing), its default fact gathering, pipelining on,
# forks = number of hosts, host key checking on, the default SSH multiplexing
# (ControlPersist) within a run and none carried from one run to the next.
#
#   scripts/bench-fleet.sh [--runs N] [--hosts "10 50"] [--no-facts] [--net NET] [--ansible-max N]
#
#   --runs N      runs per measurement (default 5)
#   --hosts LIST  fleet sizes (default "10 50")
#   --no-facts    also time Ansible with fact gathering off
#   --net NET     testbed addresses 127.0.NET.i (default 93; up to 254 hosts)
#   --ansible-max N  time Ansible only on fleets of at most N hosts (default
#                 all); larger fleets print `-` for it
#
# CONVERGE_BIN=PATH times that converge binary instead of building one (to
# compare two builds on the same machine).
#
# Needs root (the testbed makes mount namespaces), sshd, sudo, zsh, fish, dash,
# python3 with venv, and /usr/bin/python3 (the hosts share it, for Ansible).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

runs=5
sizes="10 50"
no_facts=0
net=93
ansible_max=100000
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --hosts) sizes=$2; shift 2 ;;
    --no-facts) no_facts=1; shift ;;
    --net) net=$2; shift 2 ;;
    --ansible-max) ansible_max=$2; shift 2 ;;
    *) echo "usage: scripts/bench-fleet.sh [--runs N] [--hosts \"10 50\"] [--no-facts] [--net NET] [--ansible-max N]" >&2; exit 1 ;;
  esac
done

die() { echo "bench-fleet.sh: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }
[ "$(id -u)" = 0 ] || die "needs root (the testbed makes mount namespaces)"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (GNU time) for converge's CPU and peak memory"
[ -x /usr/bin/python3 ] || die "needs /usr/bin/python3: Ansible runs it on the hosts"
command -v python3 >/dev/null || die "needs python3 to install ansible-core"

if [ -n "${CONVERGE_BIN:-}" ]; then
  converge=$CONVERGE_BIN
else
  say "building converge (release)"
  cargo build --release --quiet
  converge=${CARGO_TARGET_DIR:-$repo/target}/release/converge
fi

tools=$repo/target/bench-tools
if [ ! -x "$tools/ansible/bin/ansible-playbook" ]; then
  say "installing ansible-core from PyPI into $tools/ansible"
  python3 -m venv "$tools/ansible"
  "$tools/ansible/bin/pip" install --quiet --disable-pip-version-check ansible-core
fi
ansible=$tools/ansible/bin/ansible-playbook

work=$(mktemp -d /tmp/bench-fleet.XXXXXX)
testbed=$work/testbed
cleanup() {
  close_masters
  "$repo/tests/testbed/testbed.sh" down "$testbed" || true
  [ -z "${cgroup:-}" ] || rmdir "$cgroup" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Ansible's SSH control masters live in one directory per run; closing them
# after the run keeps a later run from reusing warm connections.
close_masters() {
  local s
  for s in "$work"/cp/*; do
    [ -S "$s" ] && ssh -o ControlPath="$s" -O exit bench >/dev/null 2>&1 || true
  done
  rm -rf "$work/cp"
}

restart() {
  close_masters
  "$repo/tests/testbed/testbed.sh" down "$testbed"
  "$repo/tests/testbed/testbed.sh" up "$testbed" "$1" "$net"
  adopt_hosts
}

now_us() { echo "${EPOCHREALTIME/./}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'; }
# keep_medians N RUN: each variant's median time of this size's RUN runs, from
# times_by, kept in result and shown.
keep_medians() {
  local v
  for v in $variants; do
    # shellcheck disable=SC2086
    result[$1,$2,$v]=$(median ${times_by[$v]})
    echo "   $v: ${times_by[$v]# } s" >&2
  done
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

# Writes the inventory (both tools read it) and the ssh configs for n hosts.
fleet_files() {
  local n=$1 i users=(dev-bash dev-zsh dev-dash dev-fish)
  cp "$repo/bench/fleet.goenv" "$repo/bench/fleet.yml" "$work/"
  {
    echo "[fleet]"
    for ((i = 1; i <= n; i++)); do
      printf 'h%02d ansible_host=127.0.%s.%d ansible_port=2222 ansible_user=%s\n' \
        "$i" "$net" "$i" "${users[$(((i - 1) % 4))]}"
    done
    echo
    echo "[fleet:vars]"
    echo "ansible_ssh_private_key_file=$testbed/id_ed25519"
    echo "ansible_ssh_common_args='-o UserKnownHostsFile=$testbed/known_hosts'"
  } > "$work/inventory.ini"
  # converge takes host, port, user and key from the inventory, known_hosts
  # from its ssh config.
  printf 'Host *\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n' \
    "$testbed/known_hosts" > "$work/ssh_config"
  # OpenSSH, for the floor: the testbed's own config, strict on host keys.
  { cat "$work/ssh_config"; cat "$testbed/ssh_config"; } > "$work/openssh_config"
}

# CPU every testbed host used so far, in microseconds: the hosts' sshds and
# everything their sessions start share a cgroup of their own (cgroup v2
# cpu.stat usage_usec, or v1 cpuacct.usage). The sshd's own /proc times with
# the children it reaped would miss most of it: sshd does not gather the
# times of what its sessions run (measured: 300 `/bin/true` in one session
# added 50 ms there against 450 ms in the cgroup).
cgroup=
for base in /sys/fs/cgroup /sys/fs/cgroup/unified; do
  if [ -f "$base/cgroup.procs" ] && [ -f "$base/cgroup.controllers" ] && mkdir "$base/converge-bench.$$" 2>/dev/null; then
    cgroup=$base/converge-bench.$$
    break
  fi
done
if [ -z "$cgroup" ] && [ -d /sys/fs/cgroup/cpuacct ] && mkdir "/sys/fs/cgroup/cpuacct/converge-bench.$$" 2>/dev/null; then
  cgroup=/sys/fs/cgroup/cpuacct/converge-bench.$$
fi
[ -n "$cgroup" ] || die "needs a cgroup (v2, or v1 cpuacct) to measure the hosts' CPU"
# Puts every testbed host (its sshd; what it starts follows) into the cgroup.
adopt_hosts() {
  local name pid
  while read -r name pid; do echo "$pid" > "$cgroup/cgroup.procs"; done < "$testbed/pids"
}
host_cpu_us() {
  if [ -f "$cgroup/cpu.stat" ]; then
    awk '$1 == "usage_usec" { print $2 }' "$cgroup/cpu.stat"
  else
    echo $(($(cat "$cgroup/cpuacct.usage") / 1000))
  fi
}

# Runs converge; checks its exit code and that every host ended as expected.
# Prints the wall time in seconds; writes LOG.metrics: controller CPU ms per
# host, its phases (connect, facts, plan, apply), host-side CPU ms per host,
# and converge's peak RSS in MB.
run_converge() {
  local expect_exit=$1 expect_status=$2 log=$3 rc=0 start end h0 h1 u s m
  shift 3
  h0=$(host_cpu_us)
  start=$(now_us)
  /usr/bin/time -o "$log.time" -f '%U %S %M' \
    "$converge" -v -F "$work/ssh_config" --forks "$n" --connect-timeout 60 --format json --color never "$@" \
    "$work/fleet.goenv" \
    > "$log" 2> "$log.err" || rc=$?
  end=$(now_us)
  h1=$(host_cpu_us)
  # GNU time prints "Command exited with non-zero status N" first when it did.
  read -r u s m < <(tail -1 "$log.time")
  awk -v n="$n" -v h="$((h1 - h0))" -v u="$u" -v s="$s" -v m="$m" '
    /controller cpu: / {
      sub(/.*controller cpu: /, "")
      split($0, f, /[ ,]+/)
      c += f[2]; fa += f[5]; p += f[8]; a += f[11]
    }
    /^run cpu: / {
      split($0, r, /[ ,]+/)
      own = r[4]; kids = r[14]
    }
    END { printf "%.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f\n", (u + s) * 1000 / n, c / n, fa / n, p / n, a / n, h / 1000 / n, m / 1024, own, kids }' \
    "$log.err" > "$log.metrics"
  [ "$rc" = "$expect_exit" ] || { cat "$log.err" >&2; die "converge $* exited $rc, expected $expect_exit (log: $log)"; }
  python3 - "$log" "$expect_status" <<'PY' || die "converge: hosts did not end $expect_status (log: $log)"
import json, sys
text, expect = open(sys.argv[1]).read(), sys.argv[2]
docs, i, dec = [], 0, json.JSONDecoder()
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    doc, i = dec.raw_decode(text, i)
    docs.append(doc)
hosts = [h for d in docs for h in d.get("hosts", [])]
bad = [f'{h["host"]}: {h["status"]}' for h in hosts if h["status"] != expect]
if not hosts or bad:
    sys.exit("\n".join(bad) or "no hosts in the output")
PY
  elapsed "$start" "$end"
}

# Runs ansible-playbook; checks the recap: no failed or unreachable host, and
# changes on every host (`changed`) or on none (`ok`). Prints the wall time.
run_ansible() {
  local gathering=$1 expect=$2 log=$3 rc=0 start end
  shift 3
  mkdir -p "$work/cp"
  start=$(now_us)
  ANSIBLE_HOME=$work/ansible-home ANSIBLE_GATHERING=$gathering ANSIBLE_PIPELINING=True \
    ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_FORKS=$n ANSIBLE_SSH_CONTROL_PATH_DIR=$work/cp \
    ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_RETRY_FILES_ENABLED=False ANSIBLE_NOCOLOR=1 \
    "$ansible" -i "$work/inventory.ini" "$@" "$work/fleet.yml" > "$log" 2>&1 || rc=$?
  end=$(now_us)
  close_masters
  [ "$rc" = 0 ] || { tail -40 "$log" >&2; die "ansible-playbook $* exited $rc (log: $log)"; }
  awk -v n="$n" -v expect="$expect" '
    / : ok=[0-9]+ +changed=/ {
      hosts++
      for (f = 3; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
      if (v["failed"] + v["unreachable"] > 0) bad++
      if (expect == "ok" && v["changed"] > 0) bad++
      if (expect == "changed" && v["changed"] == 0) bad++
    }
    END { exit !(hosts == n && bad == 0) }' "$log" ||
    { tail -"$((n + 5))" "$log" >&2; die "ansible-playbook $*: hosts did not end $expect (log: $log)"; }
  elapsed "$start" "$end"
}

floor_run() {
  local i pid start end h0 pids=()
  h0=$(host_cpu_us)
  start=$(now_us)
  for ((i = 1; i <= n; i++)); do
    ssh -F "$work/openssh_config" -o BatchMode=yes -o ControlMaster=no -o ControlPath=none \
      "$(printf 'h%02d' "$i")" true &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || die "ssh true failed on a host"; done
  end=$(now_us)
  awk -v h="$(($(host_cpu_us) - h0))" -v n="$n" 'BEGIN { printf "%.1f\n", h / 1000 / n }' \
    >> "$work/floor-host-cpu-$n"
  elapsed "$start" "$end"
}

# Edits ~/.config/golangci.yml (a file both playbooks manage) on every host,
# through the host's own root (/proc/PID/root), keeping its owner and mode.
drift() {
  local name pid i users=(dev-bash dev-zsh dev-dash dev-fish)
  while read -r name pid; do
    i=$((10#${name#h}))
    printf 'run:\n  timeout: 1m\n' > "/proc/$pid/root/home/${users[$(((i - 1) % 4))]}/.config/golangci.yml"
  done < "$testbed/pids"
}

# The median of each column of the metrics files named.
metrics_median() {
  local col out=""
  for col in 1 2 3 4 5 6 7 8 9; do
    # shellcheck disable=SC2046
    out="$out $(median $(awk -v c="$col" '{ print $c }' "$@"))"
  done
  echo "${out# }"
}

declare -A result times_by
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for n in $sizes; do
  say "$n hosts"
  variants="converge"
  if [ "$n" -le "$ansible_max" ]; then
    variants="$variants ansible"
    [ "$no_facts" = 1 ] && variants="$variants ansible_nofacts"
  fi
  has() { [[ " $variants " == *" $1 "* ]]; }
  rm -rf "$testbed"
  mkdir -p "$testbed"
  "$repo/tests/testbed/testbed.sh" up "$testbed" "$n" "$net"
  adopt_hosts
  fleet_files "$n"

  say "$n hosts: checking that both playbooks converge to the same state"
  run_converge 0 changed "$work/verify-converge.json" > /dev/null
  has ansible && run_ansible implicit ok "$work/verify-ansible.log" --check --diff > /dev/null

  say "$n hosts: ssh floor"
  times=()
  rm -f "$work/floor-host-cpu-$n"
  for ((r = 1; r <= runs; r++)); do times+=("$(floor_run)"); done
  result[$n,floor]=$(median "${times[@]}")
  # shellcheck disable=SC2046
  result[$n,floor_host]=$(median $(cat "$work/floor-host-cpu-$n"))

  say "$n hosts: dry run"
  restart "$n"
  times_by=()
  for ((r = 1; r <= runs; r++)); do
    times_by[converge]+=" $(run_converge 2 changed "$work/dry-converge-$n-$r.json" --plan)"
    has ansible && times_by[ansible]+=" $(run_ansible implicit changed "$work/dry-ansible-$r.log" --check --diff)"
    if has ansible_nofacts; then
      times_by[ansible_nofacts]+=" $(run_ansible explicit changed "$work/dry-ansible-nofacts-$r.log" --check --diff)"
    fi
  done
  keep_medians "$n" dry
  result[$n,dry,metrics]=$(metrics_median "$work"/dry-converge-$n-*.json.metrics)

  say "$n hosts: first converge (fresh hosts every run)"
  times_by=()
  for ((r = 1; r <= runs; r++)); do
    restart "$n"
    times_by[converge]+=" $(run_converge 0 changed "$work/first-converge-$n-$r.json")"
    if has ansible; then
      restart "$n"
      times_by[ansible]+=" $(run_ansible implicit changed "$work/first-ansible-$r.log")"
    fi
    if has ansible_nofacts; then
      restart "$n"
      times_by[ansible_nofacts]+=" $(run_ansible explicit changed "$work/first-ansible-nofacts-$r.log")"
    fi
  done
  keep_medians "$n" first
  result[$n,first,metrics]=$(metrics_median "$work"/first-converge-$n-*.json.metrics)

  # The hosts were last converged by Ansible: converge's first no-op run also
  # checks that it finds Ansible's files byte for byte as its own.
  say "$n hosts: no-op re-run"
  times_by=()
  for ((r = 1; r <= runs; r++)); do
    times_by[converge]+=" $(run_converge 0 ok "$work/noop-converge-$n-$r.json")"
    has ansible && times_by[ansible]+=" $(run_ansible implicit ok "$work/noop-ansible-$r.log")"
    if has ansible_nofacts; then
      times_by[ansible_nofacts]+=" $(run_ansible explicit ok "$work/noop-ansible-nofacts-$r.log")"
    fi
  done
  keep_medians "$n" noop
  result[$n,noop,metrics]=$(metrics_median "$work"/noop-converge-$n-*.json.metrics)
  result[$n,channels]=$(python3 - "$work/noop-converge-$n-1.json" <<'PY'
import collections, json, sys
text, i, dec, hosts = open(sys.argv[1]).read(), 0, json.JSONDecoder(), []
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    doc, i = dec.raw_decode(text, i)
    hosts += doc.get("hosts", [])
conn = collections.Counter(h["connections"] for h in hosts)
chan = collections.Counter(h["channels"] for h in hosts)
fmt = lambda c: ", ".join(f"{k} on {v} hosts" for k, v in sorted(c.items()))
print(f"channels per host: {fmt(chan)}; connections per host: {fmt(conn)}")
PY
)
  # One managed file edited behind the tools' backs on every host, then each
  # tool repairs it (converge shows the drift and rewrites that one file).
  say "$n hosts: one-file drift"
  times_by=()
  for ((r = 1; r <= runs; r++)); do
    drift
    times_by[converge]+=" $(run_converge 0 changed "$work/drift-converge-$n-$r.json")"
    if has ansible; then
      drift
      times_by[ansible]+=" $(run_ansible implicit changed "$work/drift-ansible-$r.log")"
    fi
    if has ansible_nofacts; then
      drift
      times_by[ansible_nofacts]+=" $(run_ansible explicit changed "$work/drift-ansible-nofacts-$r.log")"
    fi
  done
  keep_medians "$n" drift
  result[$n,drift,metrics]=$(metrics_median "$work"/drift-converge-$n-*.json.metrics)
  # This size's figures at once, so a later size that fails loses nothing.
  for run in first noop drift dry; do
    say "$n hosts, $run: converge ${result[$n,$run,converge]} s (floor ${result[$n,floor]} s);" \
      "ctrl/conn/facts/plan/apply/host ms per host, RSS MB, self/children ms per host: ${result[$n,$run,metrics]}" \
      "(load $(cut -d' ' -f1-3 /proc/loadavg))"
  done
  say "$n hosts: ssh floor host CPU ${result[$n,floor_host]} ms per host"
  "$repo/tests/testbed/testbed.sh" down "$testbed"
done

# The table.
echo "converge fleet benchmark: $(nproc) cores, $(uname -sr)"
ansible_version=$("$tools/ansible/bin/python3" -c 'import ansible.release; print(ansible.release.__version__)')
echo "  $("$converge" --version) (release build); ansible-core $ansible_version on $("$tools/ansible/bin/python3" --version)" \
  "(hosts: $(/usr/bin/python3 --version)); $(ssh -V 2>&1 | cut -d, -f1)"
echo "  median of $runs runs, wall seconds; every host is an sshd on this machine, so the hosts' work shares its cores"
echo "  load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  Ansible: gather_facts true (its default), pipelining, forks = hosts, SSH multiplexing within a run"
echo "  dry run: converge --plan / ansible-playbook --check --diff, on fresh hosts"
echo
# A ratio, or `-` when a figure is missing (Ansible not timed at that size).
ratio_or() { if [ -n "$1" ] && [ -n "$2" ]; then ratio "$1" "$2"; else echo -; fi; }
header="HOSTS  RUN              CONVERGE   ANSIBLE  ANS/CONV"
[ "$no_facts" = 1 ] && header="$header  ANSIBLE-NOFACTS  ANS/CONV"
header="$header  SSH FLOOR  CONV/FLOOR"
echo "$header"
for n in $sizes; do
  for run in first noop drift dry; do
    case $run in first) label="first converge" ;; noop) label="no-op re-run" ;; drift) label="one-file drift" ;; dry) label="dry run" ;; esac
    c=${result[$n,$run,converge]} a=${result[$n,$run,ansible]:-}
    line=$(printf '%5s  %-15s  %8s  %8s  %7sx' "$n" "$label" "$c" "${a:--}" "$(ratio_or "$a" "$c")")
    if [ "$no_facts" = 1 ]; then
      f=${result[$n,$run,ansible_nofacts]:-}
      line="$line$(printf '  %15s  %7sx' "${f:--}" "$(ratio_or "$f" "$c")")"
    fi
    line="$line$(printf '  %9s  %9sx' "${result[$n,floor]}" "$(ratio "$c" "${result[$n,floor]}")")"
    echo "$line"
  done
done
echo
echo "CPU per host, milliseconds (medians): the controller (converge's getrusage / hosts, children"
echo "included; SELF is converge's own, KIDS its child processes, OpenSSH's ssh -G for each host's"
echo "configuration), its per-phase thread CPU, the host side (every process of the host), and"
echo "converge's peak RSS"
echo "HOSTS  RUN              CTRL   SELF   KIDS  CONNECT  FACTS   PLAN  APPLY    HOST  PEAK RSS MB"
for n in $sizes; do
  for run in first noop drift dry; do
    case $run in first) label="first converge" ;; noop) label="no-op re-run" ;; drift) label="one-file drift" ;; dry) label="dry run" ;; esac
    read -r ctrl conn facts plan apply host rss own kids <<< "${result[$n,$run,metrics]}"
    printf '%5s  %-15s  %5s  %5s  %5s  %7s  %5s  %5s  %5s  %6s  %11s\n' "$n" "$label" "$ctrl" "$own" "$kids" \
      "$conn" "$facts" "$plan" "$apply" "$host" "$rss"
  done
  printf '%5s  %-15s  %5s  %5s  %5s  %7s  %5s  %5s  %5s  %6s  %11s\n' "$n" "ssh floor" - - - - - - - \
    "${result[$n,floor_host]}" -
done
echo
for n in $sizes; do
  echo "converge no-op at $n hosts: ${result[$n,channels]}"
done
