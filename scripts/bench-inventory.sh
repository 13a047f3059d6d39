#!/usr/bin/env bash
# Measures reading large Ansible INI inventories with `converge check`: 10,000
# host lines in one group, and one host range of 65,536 hosts. Both must take
# time in proportion to the number of hosts. Prints the wall time of each.
#
# CONVERGE=path/to/converge uses that binary instead of building a release one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CONVERGE:-}" ]; then
  cargo build --release --quiet
  CONVERGE=./target/release/converge
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
{
  echo "[fleet]"
  for h in $(seq 1 10000); do echo "h$h.example.com ansible_port=22 rack=r$(( h % 40 ))"; done
  echo "[fleet:vars]"; echo "go_version=1.22.5"
} > "$dir/lines.ini"
printf '[fleet]\nn[00001:65536].example.com\n' > "$dir/range.ini"
for case in lines range; do
  printf 'inventory "%s.ini"\nsysctl "fs.inotify.max_user_watches" = 524288\n' "$case" > "$dir/$case.goenv"
done
measure() {
  local start end
  start=$(date +%s%N)
  "$CONVERGE" check "$dir/$1.goenv" >/dev/null 2>&1
  end=$(date +%s%N)
  echo "$2: $(( (end - start) / 1000000 )) ms"
}
measure lines "10,000 host lines in one group"
measure range "one range of 65,536 hosts"
