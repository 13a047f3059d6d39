#!/usr/bin/env bash
# Builds the release artefacts into dist/:
#   converge-VERSION-x86_64-unknown-linux-musl.tar.gz   static binary, man page, completions
#   converge-VERSION-aarch64-unknown-linux-musl.tar.gz  the same for 64-bit ARM, when it can be built
#   converge_VERSION-1_amd64.deb                        with --deb: the static x86_64
#                                                       binary, man page, completions
# A static musl binary runs on any Linux of its architecture, whatever its C
# library (pull mode on old hosts). It says what it could not build and why,
# and exits 1 when the x86_64 binary could not be built.
#
# Needs: the Rust targets (rustup target add x86_64-unknown-linux-musl
# aarch64-unknown-linux-musl), and C compilers for the vendored OpenSSL and
# libssh2: musl-gcc (Debian: musl-tools) for x86_64, aarch64-linux-gnu-gcc
# (Debian: gcc-aarch64-linux-gnu) for aarch64. With --deb, cargo-deb: from
# PATH, else installed from crates.io into target/cargo-deb (not ~/.cargo).
set -euo pipefail
cd "$(dirname "$0")/.."
deb=false
for arg in "$@"; do
  case $arg in
    --deb) deb=true ;;
    *) echo "usage: scripts/build-release.sh [--deb]" >&2; exit 2 ;;
  esac
done
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
dist=dist
assets=target/release-assets
mkdir -p "$dist" "$assets"
missing=()

have_target() { rustup target list --installed 2>/dev/null | grep -qx "$1"; }

# musl-gcc sees only musl's headers; OpenSSL also needs the kernel's (linux/,
# asm/, asm-generic/, from Debian's linux-libc-dev), searched after musl's.
kernel_headers=target/musl-kernel-headers
mkdir -p "$kernel_headers"
ln -sfn /usr/include/linux "$kernel_headers/linux"
ln -sfn "/usr/include/$(uname -m)-linux-gnu/asm" "$kernel_headers/asm"
ln -sfn /usr/include/asm-generic "$kernel_headers/asm-generic"
export CFLAGS_x86_64_unknown_linux_musl="-idirafter $PWD/$kernel_headers"
# aarch64's C parts see the cross compiler's glibc headers, which turn OpenSSL's
# fopen (it asks for _FILE_OFFSET_BITS=64) into fopen64, which musl does not
# export. On a 64-bit target offsets are 64 bits either way.
export CFLAGS_aarch64_unknown_linux_musl="-D_FILE_OFFSET_BITS=32"

# Man page and completions, from the binary built for this machine.
cargo build --locked --release --bin converge
host_bin=target/release/converge
"$host_bin" man | gzip -9n > "$assets/converge.1.gz"
"$host_bin" completions bash > "$assets/converge.bash"
"$host_bin" completions zsh > "$assets/_converge"
"$host_bin" completions fish > "$assets/converge.fish"
echo "== target/release/converge: $(stat -c %s "$host_bin") bytes"

# build TARGET CC [LINKER]: a static binary for TARGET, packed with the assets.
# The C parts (OpenSSL, libssh2, zlib) are compiled with CC; rustc links with
# LINKER when given (a cross compiler), else with its own static musl setup
# (linking with musl-gcc would make the binary depend on ld-musl).
build() {
  local target=$1 cc=$2 linker=${3:-} env_target
  if ! have_target "$target"; then
    missing+=("$target: the Rust target is not installed (rustup target add $target)")
    return 1
  fi
  if ! command -v "$cc" >/dev/null 2>&1; then
    missing+=("$target: no C compiler $cc for the vendored OpenSSL and libssh2")
    return 1
  fi
  env_target=$(echo "$target" | tr 'a-z-' 'A-Z_')
  echo "== building $target with $cc"
  local link=()
  [ -n "$linker" ] && link=("CARGO_TARGET_${env_target}_LINKER=$linker")
  if ! env "CC_${target//-/_}=$cc" "${link[@]}" \
    cargo build --locked --release --target "$target" --bin converge; then
    missing+=("$target: the build failed (see above)")
    return 1
  fi
  local bin="target/$target/release/converge" stage
  if ! file "$bin" | grep -Eq 'statically linked|static-pie linked'; then
    missing+=("$target: the binary is not static")
    return 1
  fi
  stage=$(mktemp -d)
  mkdir -p "$stage/converge-$version-$target"
  cp "$bin" README.md LICENSE-MIT LICENSE-APACHE "$assets"/* "$stage/converge-$version-$target/"
  tar -C "$stage" -czf "$dist/converge-$version-$target.tar.gz" "converge-$version-$target"
  rm -rf "$stage"
  echo "== $dist/converge-$version-$target.tar.gz ($(stat -c %s "$bin") bytes binary)"
}

x86_ok=true
build x86_64-unknown-linux-musl musl-gcc || x86_ok=false
# aarch64: Debian's cross gcc compiles the C parts; Rust links with its own musl.
build aarch64-unknown-linux-musl aarch64-linux-gnu-gcc aarch64-linux-gnu-gcc || true

# The .deb carries the static x86_64 binary, so it installs on any Debian or
# Ubuntu release, old ones included ([package.metadata.deb] in Cargo.toml lists
# what it ships; cargo-deb reads the binary from target/x86_64-unknown-linux-musl/release).
if $deb; then
  export PATH="$PWD/target/cargo-deb/bin:$PATH"
  if ! command -v cargo-deb >/dev/null 2>&1; then
    echo "== installing cargo-deb from crates.io into target/cargo-deb"
    cargo install --locked --root target/cargo-deb cargo-deb || true
  fi
  if ! command -v cargo-deb >/dev/null 2>&1; then
    missing+=(".deb: cargo-deb could not be installed (cargo install --locked cargo-deb)")
  elif ! $x86_ok; then
    missing+=(".deb: it packs the static x86_64 binary, which was not built")
  elif ! cargo deb --no-build --target x86_64-unknown-linux-musl --output "$dist/"; then
    missing+=(".deb: cargo deb failed (see above)")
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "== not built:" >&2
  printf '   %s\n' "${missing[@]}" >&2
fi
$x86_ok
