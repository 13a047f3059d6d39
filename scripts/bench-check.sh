#!/usr/bin/env bash
# Measures `converge check` on a generated fleet: an Ansible INI inventory of
# HOSTS hosts in 20 groups and a playbook of RESOURCES resources across them.
# Prints wall time (median of 5 runs) and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-2000}
resources=${2:-500}
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
{
  for g in $(seq 1 20); do
    echo "[g$g]"
    for h in $(seq $(( (g - 1) * hosts / 20 + 1 )) $(( g * hosts / 20 ))); do echo "h$h.example.com ansible_port=22"; done
    echo "[g$g:vars]"; echo "go_version=1.22.5"
  done
} > "$dir/inventory.ini"
{
  echo 'inventory "inventory.ini"'
  echo 'vars {'; echo '  owner = "root"'; echo '}'
  for g in $(seq 1 20); do
    echo "hosts \"g$g\" {"
    for r in $(seq 1 $(( resources / 20 ))); do
      echo "  file \"/etc/converge/g$g-$r.conf\" {"
      echo "    content = \"go {{ go_version }} on {{ host }}\""
      echo "    owner = \"{{ owner }}\""
      echo "  }"
    done
    echo "}"
  done
} > "$dir/site.goenv"
times=()
for _ in 1 2 3 4 5; do
  start=$(date +%s%N)
  ./target/release/converge check "$dir/site.goenv" 2>/dev/null
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
rss=$( { /usr/bin/time -f %M ./target/release/converge check "$dir/site.goenv" 2>&1 >/dev/null || true; } | tail -1)
echo "converge check: $hosts hosts, $resources resources ($(( hosts * resources / 20 )) host-resource pairs validated)"
echo "median wall time: ${median} ms (runs: ${times[*]} ms); peak RSS: ${rss} KiB"
