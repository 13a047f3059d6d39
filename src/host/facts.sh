# Gathers every fact a plan needs in one run. POSIX sh: it must work whatever
# the login shell is (bash, zsh, dash, fish run `sh -s`).
#
# Usage: sh -s, with `set -- NONCE ROOT REQUEST...` first on its input
#   ROOT     prefix for every path read ("" for /)
#   REQUEST  file:PATH | sysctl:KEY | tool:PATH | guard:CMD | link:PATH | goenv:
#            (goenv: the go env file, wherever GOENV puts it)
# Output: `key=value` lines between __GOFACTS_BEGIN_NONCE__ and
# __GOFACTS_END_NONCE__; values on one line; file bytes as base64 (hex from od
# when base64 is missing). Anything outside the markers (MOTD, rc-file chatter)
# is ignored by the reader.
nonce=${1:-x}; root=${2:-}
[ $# -gt 0 ] && shift; [ $# -gt 0 ] && shift
LC_ALL=C; export LC_ALL
cd / 2>/dev/null
one() { tr '\n\r\t' '   ' | sed 's/ *$//'; }
nl='
'
cr=$(printf '\r')
tab=$(printf '\t')
# key=value on one line; values that need no folding are printed without a fork.
kv() {
  case $2 in
    *"$nl"* | *"$cr"* | *"$tab"* | *' ') printf '%s=%s\n' "$1" "$(printf '%s' "$2" | one)" ;;
    *) printf '%s=%s\n' "$1" "$2" ;;
  esac
}
have() { command -v "$1" >/dev/null 2>&1; }
b64() { if have base64; then base64 < "$1" | tr -d '\n'; else od -An -v -tx1 < "$1" | tr -d ' \n'; fi; }
enc() { if have base64; then echo base64; else echo hex; fi; }
printf '__GOFACTS_BEGIN_%s__\n' "$nonce"
kv encoding "$(enc)"
# Each os fact is printed, empty when os-release is missing or broken.
osr() { [ -r "$root/etc/os-release" ] && ( . "$root/etc/os-release" >/dev/null 2>&1; eval "printf '%s' \"\${$1:-}\"" ) 2>/dev/null; }
kv os.id "$(osr ID)"; kv os.version_id "$(osr VERSION_ID)"; kv os.id_like "$(osr ID_LIKE)"
m=$(uname -m)
case $m in x86_64) ga=amd64;; aarch64|arm64) ga=arm64;; i?86) ga=386;; armv6l|armv7l|arm*) ga=arm;; loongarch64) ga=loong64;; *) ga=$m;; esac
kv uname.m "$m"; kv goarch "$ga"; kv kernel.release "$(uname -r)"; kv hostname "$(uname -n)"
kv userland.long_bit "$(getconf LONG_BIT 2>/dev/null)"
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then kv cgroup 2; elif [ -d /sys/fs/cgroup ]; then kv cgroup 1; else kv cgroup 0; fi
user=$(id -un); kv user "$user"; kv uid "$(id -u)"; kv home "$HOME"
pw=$(getent passwd "$user" 2>/dev/null || grep "^$user:" /etc/passwd)
kv user.login_shell "$(printf '%s' "$pw" | cut -d: -f7)"
# Go variables as the login shell exports them: they override the go env file.
lsh=$(printf '%s' "$pw" | cut -d: -f7)
shenv=
shvar() { printf '%s\n' "$shenv" | sed -n "s/^$1=//p" | sed -n 1p; }
if [ -n "$lsh" ] && [ -x "$lsh" ] && have timeout; then
  shenv=$(HOME=$root$HOME timeout 10 "$lsh" -lc env </dev/null 2>/dev/null)
  for v in GOPROXY GOPRIVATE GONOPROXY GONOSUMDB GOSUMDB GOFLAGS GOTOOLCHAIN GOPATH GOBIN GO111MODULE GOINSECURE GOAUTH; do
    val=$(shvar "$v")
    [ -n "$val" ] && kv "shellenv.$v" "$val"
  done
fi
# A path as the host sees it: the login shell ran with HOME under ROOT.
unroot() { case $1 in "$root"/*) printf '%s' "${1#"$root"}";; *) printf '%s' "$1";; esac; }
kv bash.ssh_sources_bashrc "$(grep -ac SSH2_CLIENT /bin/bash 2>/dev/null || echo 0)"
for s in bash zsh fish dash; do if have "$s"; then kv "has.$s" 1; else kv "has.$s" 0; fi; done
if have systemctl || [ -d /run/systemd/system ]; then kv has.systemd 1; else kv has.systemd 0; fi
kv cpus "$(getconf _NPROCESSORS_ONLN 2>/dev/null)"
kv memory_kb "$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo 2>/dev/null)"
if [ -r /sys/fs/selinux/enforce ]; then
  kv selinux "$([ "$(cat /sys/fs/selinux/enforce)" = 1 ] && echo enforcing || echo permissive)"
else
  kv selinux disabled
fi
kv sudo "$(if [ "$(id -u)" = 0 ]; then echo root; elif have sudo && sudo -n true 2>/dev/null; then echo passwordless; elif have sudo; then echo password; else echo absent; fi)"
go=$root/usr/local/go/bin/go; [ -x "$go" ] || go=$(command -v go 2>/dev/null)
kv go.path_lookup "$(command -v go 2>/dev/null)"
if [ -n "$go" ] && [ -x "$go" ]; then
  kv go.binary "$go"
  kv go.version "$(GOTOOLCHAIN=local "$go" version 2>&1 | sed -n 1p)"
  # Where `go env -w` writes: go asked with GOENV and XDG_CONFIG_HOME as the
  # login shell has them (`off`: go reads no go env file).
  if [ -n "$shenv" ]; then genv=$(unroot "$(shvar GOENV)"); gxdg=$(unroot "$(shvar XDG_CONFIG_HOME)")
  else genv=${GOENV:-}; gxdg=${XDG_CONFIG_HOME:-}; fi
  if [ "$genv" = off ]; then goenvfile=off
  else goenvfile=$(GOENV=$genv XDG_CONFIG_HOME=$gxdg GOTOOLCHAIN=local "$go" env GOENV 2>/dev/null); fi
  kv go.env.goenv "$goenvfile"
else
  goenvfile=$HOME/.config/go/env
fi
[ -r "$root/usr/local/go/VERSION" ] && kv go.usrlocal_version_file "$(sed -n 1p "$root/usr/local/go/VERSION")"
# Answers a file request ($2: the path on the host, without ROOT): its bytes,
# mode and owner, or what is there instead. A file behind a link is read only
# when the link is safe to follow (cv_safe); a refusal names both paths.
cv_uid=$(id -u)
if [ -n "$root" ]; then cv_trust="0 $cv_uid"; else cv_trust=0; fi
file_answer() {
  case $2 in "$HOME"/*) sc=user; top=$root$HOME;; *) sc=system; top=$root;; esac
  if [ -L "$root$2" ]; then kv "req.$1.link" "$(readlink "$root$2")"; fi
  if ! cv_safe "$sc" "$top" "$root$2"; then kv "req.$1.state" refused; kv "req.$1.why" "$cv_why"; return 0; fi
  f=$cv_real
  if [ -f "$f" ]; then
    kv "req.$1.state" file
    kv "req.$1.mode" "$(stat -c %a -- "$f" 2>/dev/null)"; kv "req.$1.owner" "$(stat -c %U:%G -- "$f" 2>/dev/null)"
    kv "req.$1.data" "$(b64 "$f")"
  elif [ -d "$f" ]; then kv "req.$1.state" directory
  elif [ -e "$f" ]; then kv "req.$1.state" other
  else kv "req.$1.state" absent; fi
}
i=0
for req in "$@"; do
  i=$((i+1)); kind=${req%%:*}; arg=${req#*:}
  kv "req.$i.kind" "$kind"; kv "req.$i.arg" "$arg"
  case $kind in
    file)
      case $arg in "~/"*) arg=$HOME/${arg#"~/"};; esac
      file_answer "$i" "$arg";;
    goenv)
      case $goenvfile in /*) file_answer "$i" "$goenvfile";; *) kv "req.$i.state" absent;; esac;;
    sysctl)
      p=/proc/sys/$(printf '%s' "$arg" | tr . /)
      if [ -r "$p" ]; then kv "req.$i.state" present; kv "req.$i.value" "$(cat "$p")"; else kv "req.$i.state" absent; fi;;
    tool)
      case $arg in "~/"*) arg=$HOME/${arg#"~/"};; esac
      f=$root$arg
      if [ -x "$f" ] && [ -n "$go" ]; then
        kv "req.$i.state" present
        kv "req.$i.mod" "$(GOTOOLCHAIN=local "$go" version -m "$f" 2>/dev/null | awk '$1=="mod"{print $2" "$3}')"
      else kv "req.$i.state" absent; fi;;
    link)
      case $arg in "~/"*) arg=$HOME/${arg#"~/"};; esac
      f=$root$arg
      if [ -L "$f" ]; then kv "req.$i.state" present; kv "req.$i.value" "$(readlink "$f")"; elif [ -e "$f" ]; then kv "req.$i.state" other; else kv "req.$i.state" absent; fi;;
    guard)
      # The guard's text reaches its shell through the environment: a command
      # line is visible to every user of the host.
      ( HOME=$root$HOME; export HOME; cd "${HOME:-/}" 2>/dev/null
        CONVERGE_GUARD=$arg; export CONVERGE_GUARD
        exec sh -c 'cv_g=$CONVERGE_GUARD; unset CONVERGE_GUARD; eval "$cv_g"' </dev/null >/dev/null 2>&1 ); rc=$?
      kv "req.$i.state" present; kv "req.$i.value" "$rc";;
    *) kv "req.$i.state" unknown;;
  esac
done
# Temporary ledger files of an apply killed while it wrote the host's ledger
# (converge's own state, ledger::HOST_DIR): removed here, since a host with
# nothing to change runs no apply, but only while no converge run holds the
# host's lock.
cvd=$root$HOME/.local/state/converge
for t in "$cvd"/.ledger.?????? "$cvd"/.new.??????; do
  [ -f "$t" ] && [ ! -L "$cvd" ] && have flock || continue
  ( flock -n 9 && rm -f -- "$cvd"/.ledger.?????? "$cvd"/.new.?????? ) 9>>"$cvd/host.lock" 2>/dev/null
  break
done
printf '__GOFACTS_END_%s__\n' "$nonce"
