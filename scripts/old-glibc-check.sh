#!/usr/bin/env bash
# Runs converge in an older Debian userland, the way pull mode runs it on an
# old host: the static musl binary must print its version and plan a `--root`
# tree there, and the glibc (x86_64-unknown-linux-gnu) release binary, built
# against this machine's newer C library, must be refused by the old dynamic
# loader with a `GLIBC_2.xx' not found` error. A static binary needs no C
# library at all, so this shows why releases ship the musl build.
#
# Usage: scripts/old-glibc-check.sh [MUSL_BINARY [GNU_BINARY]]
#   defaults: target/x86_64-unknown-linux-musl/release/converge and
#   target/release/converge (scripts/build-release.sh builds both).
#
# Needs root (debootstrap and chroot) and the network: the userland is
# downloaded once by debootstrap into target/old-glibc/SUITE. The first suite
# whose mirror answers is used, oldest first (OLD_GLIBC_SUITES overrides the
# list of SUITE=MIRROR pairs). Not part of scripts/test.sh: tests download nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
musl=${1:-target/x86_64-unknown-linux-musl/release/converge}
gnu=${2:-target/release/converge}
suites=${OLD_GLIBC_SUITES:-"stretch=http://archive.debian.org/debian buster=http://archive.debian.org/debian bullseye=http://deb.debian.org/debian"}

fail() {
  echo "old-glibc-check: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap and chroot)"
command -v debootstrap >/dev/null 2>&1 || fail "needs debootstrap (apt-get install debootstrap)"
for bin in "$musl" "$gnu"; do
  [ -x "$bin" ] || fail "$bin is missing: build it first (scripts/build-release.sh)"
done
file "$musl" | grep -Eq 'statically linked|static-pie linked' || fail "$musl is not a static binary"

suite='' mirror=''
for pair in $suites; do
  if curl -fs -o /dev/null -m 20 "${pair#*=}/dists/${pair%%=*}/Release"; then
    suite=${pair%%=*} mirror=${pair#*=}
    break
  fi
  echo "== ${pair%%=*}: ${pair#*=} does not answer"
done
[ -n "$suite" ] || fail "no Debian mirror answered for: $suites"

root=target/old-glibc/$suite
if [ ! -f "$root/.complete" ]; then
  echo "== debootstrap --variant=minbase $suite from $mirror"
  rm -rf "$root"
  mkdir -p "$root"
  keyring=()
  case $mirror in
    *archive.debian.org*) [ -f /usr/share/keyrings/debian-archive-removed-keys.gpg ] &&
      keyring=(--keyring=/usr/share/keyrings/debian-archive-removed-keys.gpg) ;;
  esac
  debootstrap --variant=minbase "${keyring[@]}" "$suite" "$root" "$mirror" >target/old-glibc/debootstrap.log 2>&1 ||
    fail "debootstrap failed, see target/old-glibc/debootstrap.log"
  touch "$root/.complete"
fi

glibc=$(chroot "$root" /usr/bin/ldd --version | sed -n 1p)
echo "== $suite userland: $glibc"
install -m 755 "$musl" "$root/usr/local/bin/converge-musl"
install -m 755 "$gnu" "$root/usr/local/bin/converge-gnu"
rm -rf "$root/check"
mkdir -p "$root/check/root/home/dev"
cp playbooks/local.goenv "$root/check/"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/dev XDG_STATE_HOME=/check/state "$@"; }

version=$(in_root converge-musl --version) || fail "the musl binary failed: $version"
echo "== musl: converge-musl --version: $version"
status=0
in_root sh -c 'cd /check && exec converge-musl --plan --no-guards --root root --format json local.goenv' \
  >"$root/check/plan.json" 2>"$root/check/plan.err" || status=$?
# Exit status 2: the plan has changes (the tree under root/ is empty).
[ "$status" = 2 ] || fail "the musl --root plan exited $status: $(cat "$root/check/plan.err")"
grep -q '"host": *"localhost"' "$root/check/plan.json" || fail "the plan names no localhost: $root/check/plan.json"
echo "== musl: converge-musl --plan --root root local.goenv: exit 2, $(grep -o '"create": *[0-9]*' "$root/check/plan.json" | head -n 1)"

status=0
out=$(in_root converge-gnu --version 2>&1) || status=$?
echo "== gnu: converge-gnu --version: exit $status: $out"
[ "$status" != 0 ] || fail "the glibc binary ran on $glibc: this userland is not older than its C library"
grep -q "GLIBC_2\.[0-9.]*' not found" <<<"$out" || fail "the glibc binary failed, but not for its C library version"
echo "== ok: the static musl binary runs on $suite ($glibc), the glibc binary does not"
