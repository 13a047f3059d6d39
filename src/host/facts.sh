# Gathers every fact a plan needs in one run. POSIX sh: it must work whatever
# the login shell is (bash, zsh, dash, fish run `sh -s`).
#
# Usage: sh -s, with `set -- NONCE ROOT CACHE HASHES REQUEST...` first on its input
#   ROOT     prefix for every path read ("" for /)
#   CACHE    `w:ID`: the fact cache may be written; `r:ID`: only read. ID
#            names this script's text: a cache kept by another script (an
#            older converge, whose scan or answers may differ) is not used
#   HASHES   `N=SHA256 ...`: the sha256 the controller expects for the file of
#            request N (from 1); such a file is answered `same=1` instead of
#            its bytes when it hashes to it (one sha256sum for all of them)
#   REQUEST  file:PATH | sysctl:KEY | tool:PATH | guard:CMD | link:PATH | goenv:
#            (goenv: the go env file, wherever GOENV puts it)
# Output: `key=value` lines between __GOFACTS_BEGIN_NONCE__ and
# __GOFACTS_END_NONCE__; values on one line; file bytes as base64 (hex from od
# when base64 is missing). Anything outside the markers (MOTD, rc-file chatter)
# is ignored by the reader.
#
# Cost: every fact is read with shell builtins where a file holds it (/proc,
# /sys); what needs a program (the login shell's environment, `go version`,
# `go env GOENV`, `go version -m`, `getconf LONG_BIT`) is kept in a fact cache
# beside the host's ledger, each answer with the stat (device, inode, size,
# mtime, ctime) of every file it depends on, and reused only while all of them
# are unchanged. The login shell's answer is cached only when its startup files
# take nothing from elsewhere that the stat cannot see (a program's output, a
# file named by a variable): otherwise the shell runs on every gather.
#
# Cost in the shell itself: dash matches a pattern that begins with `*`
# (`case $x in *"$k"*`, `${x#*"$k"}`) in time that grows with the square of
# the text's length, and its `read` reads a byte a call. Long texts (the cache,
# the expected hashes, the lists of files) are split into lines by `split`, or
# into variables, never searched whole.
nonce=${1:-x}; root=${2:-}; cache_mode=${3:-r}; hashes=${4:-}
script_id=${cache_mode#*:}; cache_mode=${cache_mode%%:*}
[ $# -gt 0 ] && shift; [ $# -gt 0 ] && shift; [ $# -gt 0 ] && shift; [ $# -gt 0 ] && shift
LC_ALL=C; export LC_ALL
cd / 2>/dev/null
one() { tr '\n\r\t' '   ' | sed 's/ *$//'; }
nl='
'
cr=$(printf '\r')
tab='	'
ifs0=$IFS
# split FUNC TEXT: calls FUNC with the lines of TEXT as its arguments (empty
# lines dropped, no pattern expanded) and returns its status.
split() { sp_f=$1; set -f; IFS=$nl; set -- $2; IFS=$ifs0; set +f; "$sp_f" "$@"; }
# hx_N: the sha256 the controller expects for the file of request N.
set -f
for hx_p in $hashes; do
  hx_n=${hx_p%%=*}; hx_v=${hx_p#*=}
  case $hx_n in '' | *[!0-9]*) continue ;; esac
  case $hx_v in '' | *[!0-9a-f]*) continue ;; esac
  eval "hx_$hx_n=\$hx_v"
done
set +f
# key=value on one line; values that need no folding are printed without a fork.
kv() {
  case $2 in
    *"$nl"* | *"$cr"* | *"$tab"* | *' ') printf '%s=%s\n' "$1" "$(printf '%s' "$2" | one)" ;;
    *) printf '%s=%s\n' "$1" "$2" ;;
  esac
}
have() { command -v "$1" >/dev/null 2>&1; }
if have base64; then encoding=base64; else encoding=hex; fi
b64() {
  if [ $encoding = base64 ]; then base64 -w0 < "$1" 2>/dev/null || base64 < "$1" | tr -d '\n'
  else od -An -v -tx1 < "$1" | tr -d ' \n'; fi
}
printf '__GOFACTS_BEGIN_%s__\n' "$nonce"
kv encoding "$encoding"

# Each os fact is printed, empty when os-release is missing or broken.
soh=$(printf '\001')
osr=
[ -r "$root/etc/os-release" ] &&
  osr=$( (. "$root/etc/os-release" >/dev/null 2>&1; printf '%s\001%s\001%s' "${ID:-}" "${VERSION_ID:-}" "${ID_LIKE:-}") 2>/dev/null)
case $osr in *"$soh"*"$soh"*) ;; *) osr=$soh$soh ;; esac
kv os.id "${osr%%"$soh"*}"; osr=${osr#*"$soh"}; kv os.version_id "${osr%%"$soh"*}"; kv os.id_like "${osr#*"$soh"}"
m=
[ -r /proc/sys/kernel/arch ] && read -r m < /proc/sys/kernel/arch 2>/dev/null
[ -n "$m" ] || m=$(uname -m)
kr=; hn=
read -r kr < /proc/sys/kernel/osrelease 2>/dev/null || kr=$(uname -r)
read -r hn < /proc/sys/kernel/hostname 2>/dev/null || hn=$(uname -n)
case $m in x86_64) ga=amd64;; aarch64|arm64) ga=arm64;; i?86) ga=386;; armv6l|armv7l|arm*) ga=arm;; loongarch64) ga=loong64;; *) ga=$m;; esac
kv uname.m "$m"; kv goarch "$ga"; kv kernel.release "$kr"; kv hostname "$hn"
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then kv cgroup 2; elif [ -d /sys/fs/cgroup ]; then kv cgroup 1; else kv cgroup 0; fi
# The effective uid from /proc, the user and login shell from its passwd
# entry; `id` only where /proc or getent cannot tell.
uid=; user=; pw=
if [ -r /proc/self/status ]; then
  while read -r st_k _ st_e _; do
    [ "$st_k" = Uid: ] && { uid=$st_e; break; }
  done < /proc/self/status
fi
case $uid in *[!0-9]*) uid= ;; esac
[ -n "$uid" ] && pw=$(getent passwd "$uid" 2>/dev/null) && pw=${pw%%"$nl"*} && user=${pw%%:*}
if [ -z "$user" ]; then
  idu=$(id); idu=${idu#uid=}; uid=${idu%%[!0-9]*}
  case ${idu%% *} in *'('*')') user=${idu#*\(}; user=${user%%\)*} ;; esac
  [ -n "$user" ] || user=$(id -un 2>/dev/null)
  pw=$(getent passwd "$user" 2>/dev/null || grep "^$user:" /etc/passwd)
  pw=${pw%%"$nl"*}
fi
kv user "$user"; kv uid "$uid"; kv home "$HOME"
case $pw in *:*:*:*:*:*:*) lsh=${pw##*:} ;; *) lsh= ;; esac
kv user.login_shell "$lsh"

# What the cached answers depend on, as the login shell and go see it: its
# startup files (system ones as they are, the user's under ROOT), the files
# they source by name, the shell and the tools.
h=$root$HOME
go=$root/usr/local/go/bin/go; [ -x "$go" ] || go=$(command -v go 2>/dev/null)
getconf_path=$(command -v getconf 2>/dev/null)
sh_sys="/etc/environment /etc/profile /etc/bash.bashrc /etc/bashrc /etc/zsh/zshenv /etc/zsh/zprofile /etc/zsh/zlogin /etc/zshenv /etc/zprofile /etc/zlogin /etc/fish/config.fish"
# sh_cacheable: whether the login shell's answer may be cached; srcs: the
# files the startup files source by name, one a line.
sh_cacheable=1
srcs=
# rc_scan FILE...: what in the startup files may make the login shell's answer
# depend on something the stat cannot see (a program's output, a file named by
# a variable), and the files they source by name (in srcs). Comments, text in
# single quotes and what follows the usual "not interactive: return" guard
# are not read: a login shell that runs no command skips them too. Nor is
# converge's own functions block (its `eval`s only build PATH-like values
# from the literal arguments its path blocks give them).
rc_scan() {
  [ $# -gt 0 ] || return 0
  rc_out=$(awk '
    FNR == 1 { skip = 0; incase = 0; infn = 0; where = (FILENAME ~ /^\/etc\//) ? "sys" : "home" }
    skip { next }
    /^# BEGIN converge: functions$/ { infn = 1 }
    infn { if ($0 ~ /^# END converge: functions$/) infn = 0; next }
    {
      line = $0
      sub(/^[ \t]+/, "", line)
      if (line ~ /^#/) next
      gsub(/'"'"'[^'"'"']*'"'"'/, "", line)
      if (line ~ /^case "?\$-"? in/) incase = 1
      if ((incase && line ~ /\*\)[ \t]*return[ \t]*;;/) || line ~ /^\[ -z "\$PS1" \] && return$/) { skip = 1; next }
      if (line ~ /esac/) incase = 0
      re = "(^|[;&|(){} \t])(\\.|source)[ \t]+[^;&| \t]+|\\$\\([^)]*\\)|`|(^|[;&| \t])(eval|exec)[ \t][^;&|]*|ZDOTDIR|BASH_ENV|(^|[;&| \t])ENV="
      while (match(line, re)) {
        print where ":" substr(line, RSTART, RLENGTH)
        line = substr(line, RSTART + RLENGTH)
      }
    }' "$@" 2>/dev/null) || { sh_cacheable=; rc_failed=1; return 0; }
  split rc_matches "$rc_out"
}
# rc_matches MATCH...: the awk's findings, `sys:TEXT` or `home:TEXT`.
rc_matches() {
  rc_sep=';&|(){} 	'
  for rc_m; do
    rc_where=${rc_m%%:*}; rc_m=${rc_m#*:}
    # Trim the separator before the match and trailing blanks.
    rc_m=${rc_m#[$rc_sep]}; rc_m=${rc_m%"${rc_m##*[! 	]}"}
    case $rc_m in
      '$(id -u)' | '$(cat /etc/debian_chroot)' | '$(SHELL=/bin/sh lesspipe)' | '$(lesspipe)' | '$(dircolors -b)' \
        | '$(dircolors -b ~/.dircolors)' | 'eval "$(SHELL=/bin/sh lesspipe)"' | 'eval "$(dircolors -b)"' \
        | 'eval "$(dircolors -b ~/.dircolors)"') ;;
      '. '* | 'source '* | ".$tab"* | "source$tab"*)
        rc_a=${rc_m#*[ 	]}; rc_a=${rc_a#"${rc_a%%[! 	]*}"}
        rc_a=${rc_a#\"}; rc_a=${rc_a%\"}
        case $rc_a in
          '~/'*) rc_a=$h/${rc_a#'~/'} ;;
          '$HOME/'*) rc_a=$h/${rc_a#'$HOME/'} ;;
          '${HOME}/'*) rc_a=$h/${rc_a#'${HOME}/'} ;;
        esac
        case $rc_where:$rc_a in
          # The loops over /etc/profile.d and the like: their files are inputs.
          'sys:$i' | 'sys:$f' | 'sys:$file' | 'sys:$script') ;;
          *'$'* | *'`'* | *'*'* | *'?'* | *'['* | *'~'* | *"$tab"*) sh_cacheable= ;;
          *:/*) srcs=$srcs$rc_a$nl ;;
          *) sh_cacheable= ;;
        esac ;;
      *) sh_cacheable= ;;
    esac
  done
}
rc_existing() {
  rc_n=$#
  for rc_f in "$@"; do [ -f "$rc_f" ] && set -- "$@" "$rc_f"; done
  shift "$rc_n"
  rc_scan "$@"
}
# rc_scan_all: the startup files, then the files they source, and those
# files' own, four deep: a program's output anywhere on the way reaches the
# login shell's answer too. Deeper than that, the answer is not cached.
rc_scan_all() {
  sh_cacheable=1; srcs=; rc_failed=; rc_seen=$nl
  # shellcheck disable=SC2086
  rc_existing $sh_sys /etc/profile.d/*.sh /etc/fish/conf.d/*.fish "$h/.profile" "$h/.bash_profile" \
    "$h/.bash_login" "$h/.bashrc" "$h/.zshenv" "$h/.zprofile" "$h/.zlogin" "$h/.config/fish/config.fish" \
    "$h"/.config/fish/conf.d/*.fish "$h/.pam_environment" "$h/.ssh/environment"
  rc_depth=0
  while [ -n "$sh_cacheable" ]; do
    split rc_unseen "$srcs"
    [ -n "$rc_new" ] || break
    if [ "$rc_depth" -ge 4 ]; then sh_cacheable=; break; fi
    rc_depth=$((rc_depth + 1))
    set -f; IFS=$nl
    # shellcheck disable=SC2086
    set -- $rc_new
    IFS=$ifs0; set +f
    rc_existing "$@"
  done
}
# rc_unseen FILE...: the sourced files not read yet, in rc_new (one a line).
rc_unseen() {
  rc_new=
  for rc_u; do
    case $rc_seen in *"$nl$rc_u$nl"*) continue ;; esac
    rc_seen=$rc_seen$rc_u$nl; rc_new=$rc_new$rc_u$nl
  done
}
# The signature the cached answers are kept with: the stat of every input
# (the files above, the shell, go, getconf, the tools asked about) and the
# session's own variables the answers read. $@: the requests.
all_sig() {
  s_n=$#
  for s_r in "$@"; do
    case $s_r in
      tool:*) s_a=${s_r#tool:}; case $s_a in "~/"*) s_a=$HOME/${s_a#"~/"} ;; esac; set -- "$@" "$root$s_a" ;;
    esac
  done
  shift "$s_n"
  # shellcheck disable=SC2086
  set -- "$@" $sh_sys /etc/profile.d /etc/profile.d/* /etc/fish/conf.d /etc/fish/conf.d/* "$h/.profile" \
    "$h/.bash_profile" "$h/.bash_login" "$h/.bashrc" "$h/.zshenv" "$h/.zprofile" "$h/.zlogin" \
    "$h/.config/fish/config.fish" "$h/.config/fish/conf.d" "$h"/.config/fish/conf.d/* "$h/.pam_environment" \
    "$h/.ssh/environment" /bin/bash
  [ -n "$lsh" ] && set -- "$@" "$lsh"
  [ -n "$go" ] && set -- "$@" "$go"
  [ -n "$getconf_path" ] && set -- "$@" "$getconf_path"
  set -f; IFS=$nl
  # shellcheck disable=SC2086
  set -- "$@" $srcs
  IFS=$ifs0; set +f
  s_out=$(stat -L --printf '%n|%d:%i:%s:%.9Y:%.9Z;' -- "$@" 2>/dev/null)
  [ -n "$s_out" ] || return 0
  printf '%s;%s;%s;%s;%s;%s;%s;%s;%s' "$script_id" "$root" "$HOME" "$PATH" "${GOENV:-}" "${XDG_CONFIG_HOME:-}" "$uid" \
    "$lsh" "$s_out"
}
# The fact cache, beside the ledger: the signature on the first line, then
# `KEY<TAB>VALUE` lines, then `end`. A file cut short (no `end`) or kept with
# another signature is not used.
cvd=$root$HOME/.local/state/converge
cache_file=$cvd/facts.cache
cache=$nl; cache_new=; cache_dirty=
c_sig=; c_all=
if [ -d "$cvd" ] && [ ! -L "$cvd" ] && [ -f "$cache_file" ] && [ ! -L "$cache_file" ]; then
  { IFS= read -r c_sig && while IFS= read -r c_line; do c_all=$c_all$nl$c_line; done; } < "$cache_file" 2>/dev/null
  case $c_all in *"${nl}end") ;; *) c_sig=; c_all= ;; esac
fi
# cget KEY: the cached value in hit (status 1 when there is none).
cget() { cg_k=$1; split cget_lines "$cache"; }
cget_lines() {
  for cg_l; do
    case $cg_l in "$cg_k$tab"*) hit=${cg_l#"$cg_k$tab"}; cput "$cg_k" "$hit"; return 0 ;; esac
  done
  return 1
}
# cput KEY VALUE: keeps the answer for the next run.
cput() {
  case $1$2 in *"$nl"* | *"$cr"*) return 0 ;; esac
  cache_new=$cache_new$1$tab$2$nl
}
# cmiss KEY VALUE: a fresh answer, kept for the next run.
cmiss() { cput "$@"; cache_dirty=1; }
# join_tab WORD...: the words joined by tabs, in tj.
join_tab() { tj=; for tj_w; do tj=$tj$tj_w$tab; done; }
# What the startup files source and whether the login shell's answer may be
# cached depend on their bytes alone: the cache keeps it, and it holds while
# the signature made with the files it named is the cache's own (the startup
# files are all in it). Otherwise awk reads them again.
S=
cache=$c_all$nl
if [ -n "$c_sig" ] && cget rc.srcs; then
  set -f; IFS=$tab
  for s_f in $hit; do srcs=$srcs$s_f$nl; done
  IFS=$ifs0; set +f
  cget rc.cacheable && sh_cacheable=$hit
  S=$(all_sig "$@")
fi
if [ -z "$S" ] || [ "$S" != "$c_sig" ]; then
  cache=$nl; cache_new=
  o_srcs=$srcs
  rc_scan_all
  [ -n "$S" ] && [ "$srcs" = "$o_srcs" ] || S=$(all_sig "$@")
  [ -n "$S" ] && [ "$S" = "$c_sig" ] && cache=$c_all$nl
  if [ -z "$rc_failed" ]; then
    split join_tab "$srcs"
    cmiss rc.srcs "$tj"
    cmiss rc.cacheable "$sh_cacheable"
  fi
fi
case $S in *"$nl"*) S= ;; esac

# sh_vars LINE...: the Go variables in `env` output, each in sv_NAME (the
# first of a name: a value may span lines).
sh_vars() {
  seen=' '
  for line; do
    name=${line%%=*}
    case $name in '' | *[!A-Za-z0-9_]*) continue ;; esac
    case " $shvars GOENV XDG_CONFIG_HOME " in *" $name "*) ;; *) continue ;; esac
    case $seen in *" $name "*) continue ;; esac
    seen="$seen$name "
    eval "sv_$name=\${line#*=}"
  done
}
# Go variables as the login shell exports them: they override the go env file.
shvars="GOPROXY GOPRIVATE GONOPROXY GONOSUMDB GOSUMDB GOFLAGS GOTOOLCHAIN GOPATH GOBIN GO111MODULE GOINSECURE GOAUTH GOCACHE GOMODCACHE CGO_ENABLED"
shenv=; shran=
# sv_NAME: the login shell's value of NAME (empty when unset).
for v in $shvars GOENV XDG_CONFIG_HOME; do eval "sv_$v="; done
if [ -n "$lsh" ] && [ -x "$lsh" ] && have timeout; then
  shhit=
  if [ -n "$sh_cacheable" ] && cget sh.ran; then
    shhit=1
    for v in $shvars GOENV XDG_CONFIG_HOME; do
      if cget "sh.$v"; then eval "sv_$v=\$hit"; else shhit=; fi
    done
  fi
  if [ -z "$shhit" ]; then
    for v in $shvars GOENV XDG_CONFIG_HOME; do eval "sv_$v="; done
    shenv=$(HOME=$root$HOME timeout 10 "$lsh" -lc env </dev/null 2>/dev/null)
    split sh_vars "$shenv"
    if [ -n "$sh_cacheable" ]; then
      cmiss sh.ran 1
      for v in $shvars GOENV XDG_CONFIG_HOME; do eval "cmiss sh.$v \"\$sv_$v\""; done
    fi
  fi
  shran=1
  for v in $shvars; do
    eval "val=\$sv_$v"
    [ -n "$val" ] && kv "shellenv.$v" "$val"
  done
fi
# A path as the host sees it: the login shell ran with HOME under ROOT.
unroot() { case $1 in "$root"/*) printf '%s' "${1#"$root"}";; *) printf '%s' "$1";; esac; }
if cget bashrc; then bashrc=$hit; else bashrc=$(grep -ac SSH2_CLIENT /bin/bash 2>/dev/null || echo 0); cmiss bashrc "$bashrc"; fi
kv bash.ssh_sources_bashrc "$bashrc"
for s in bash zsh fish dash; do if have "$s"; then kv "has.$s" 1; else kv "has.$s" 0; fi; done
if have systemctl || [ -d /run/systemd/system ]; then kv has.systemd 1; else kv has.systemd 0; fi
# A C compiler for cgo, on the session's PATH.
cc=$(command -v cc 2>/dev/null) || cc=$(command -v gcc 2>/dev/null) || cc=
kv cc "$cc"
# Online CPUs, as getconf counts them: the ranges in /sys.
cpus=
if read -r on < /sys/devices/system/cpu/online 2>/dev/null; then
  cpus=0; o_ifs=$IFS; IFS=,
  for r in $on; do
    case $r in
      *[!0-9-]* | '') cpus= ; break ;;
      *-*) cpus=$((cpus + ${r#*-} - ${r%-*} + 1)) ;;
      *) cpus=$((cpus + 1)) ;;
    esac
  done
  IFS=$o_ifs
fi
[ -n "$cpus" ] || cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null)
kv cpus "$cpus"
if cget longbit; then lb=$hit; else lb=$(getconf LONG_BIT 2>/dev/null); cmiss longbit "$lb"; fi
kv userland.long_bit "$lb"
mem=
if read -r mk mv _ < /proc/meminfo 2>/dev/null && [ "$mk" = MemTotal: ]; then mem=$mv; fi
kv memory_kb "$mem"
if [ -r /sys/fs/selinux/enforce ]; then
  se=; read -r se < /sys/fs/selinux/enforce 2>/dev/null
  kv selinux "$([ "$se" = 1 ] && echo enforcing || echo permissive)"
else
  kv selinux disabled
fi
# go for what depends on the binary only (`go version`, `go version -m`): it
# reads no go env file, and its config directory can never be made, so go's
# telemetry writes nothing (a fact run changes nothing on the host; go has no
# switch for that but its own `go telemetry off`, a file).
go_quiet() { GOENV=off XDG_CONFIG_HOME=/dev/null/converge GOTOOLCHAIN=local "$go" "$@"; }
kv go.path_lookup "$(command -v go 2>/dev/null)"
if [ -n "$go" ] && [ -x "$go" ]; then
  kv go.binary "$go"
  if cget "gover"; then gv=$hit
  else gv=$(go_quiet version 2>&1); gv=${gv%%"$nl"*}; cmiss gover "$gv"; fi
  kv go.version "$gv"
  # Where `go env -w` writes, with GOENV and XDG_CONFIG_HOME as the login shell
  # has them (`off`: go reads no go env file). From go 1.13 on, go computes it
  # as done here (GOENV, else $XDG_CONFIG_HOME/go/env when that is absolute,
  # else $HOME/.config/go/env), so go is asked only when it is older.
  if [ -n "$shran" ]; then genv=$(unroot "$sv_GOENV"); gxdg=$(unroot "$sv_XDG_CONFIG_HOME")
  else genv=${GOENV:-}; gxdg=${XDG_CONFIG_HOME:-}; fi
  gminor=${gv#go version go1.}; gminor=${gminor%%[!0-9]*}
  case $gv in "go version go1.$gminor"*) ;; *) gminor= ;; esac
  if [ "$genv" = off ]; then goenvfile=off
  elif [ -n "$gminor" ] && [ "$gminor" -ge 13 ]; then
    if [ -n "$genv" ]; then goenvfile=$genv
    else
      case $gxdg in
        /*) goenvfile=$gxdg/go/env ;;
        '') if [ -n "$HOME" ]; then goenvfile=$HOME/.config/go/env; else goenvfile=; fi ;;
        *) goenvfile= ;;
      esac
    fi
  elif cget "goenv.$genv.$gxdg"; then goenvfile=$hit
  else
    goenvfile=$(GOENV=$genv XDG_CONFIG_HOME=$gxdg GOTOOLCHAIN=local "$go" env GOENV 2>/dev/null)
    cmiss "goenv.$genv.$gxdg" "$goenvfile"
  fi
  kv go.env.goenv "$goenvfile"
else
  goenvfile=$HOME/.config/go/env
fi
if [ -r "$root/usr/local/go/VERSION" ]; then
  read -r vf < "$root/usr/local/go/VERSION" 2>/dev/null || vf=
  kv go.usrlocal_version_file "$vf"
fi
# Answers a file request ($2: the path on the host, without ROOT): its bytes,
# mode and owner, or what is there instead. A file behind a link is read only
# when the link is safe to follow (cv_safe); a refusal names both paths.
cv_uid=$uid
if [ -n "$root" ]; then cv_trust="0 $cv_uid"; else cv_trust=0; fi
# Whether a step may need root: a request for a path outside the home
# directory, or a sysctl key. `sudo -n true` runs only then.
need_root=
file_answer() {
  case $2 in "$HOME"/*) sc=user; top=$root$HOME;; *) sc=system; top=$root; need_root=1;; esac
  if [ -L "$root$2" ]; then kv "req.$1.link" "$(readlink "$root$2")"; fi
  if ! cv_safe "$sc" "$top" "$root$2"; then kv "req.$1.state" refused; kv "req.$1.why" "$cv_why"; return 0; fi
  f=$cv_real
  if [ -f "$f" ]; then
    kv "req.$1.state" file
    # Mode and owner wait for the one stat after the requests; a path stat
    # would print ambiguously is asked on its own.
    case $f in
      *"$nl"* | *"$tab"* | *\\*)
        mo=$(stat -c '%a %U:%G' -- "$f" 2>/dev/null) || mo=
        kv "req.$1.mode" "${mo%% *}"; kv "req.$1.owner" "${mo#* }" ;;
      *) statted=$statted$1$tab$f$nl; statted_paths=$statted_paths$f$nl ;;
    esac
    # A system file only root may read is read through sudo when that needs
    # no password, as the apply writes it (its path was found safe above).
    if [ "$sc" = system ] && [ "$uid" != 0 ] && [ ! -r "$f" ] && have sudo && sudo -n true 2>/dev/null; then
      kv "req.$1.data" "$(sudo -n cat -- "$f" 2>/dev/null | b64 /dev/stdin)"
      return 0
    fi
    # A file the controller knows the bytes of waits for the one sha256sum
    # after the requests (a path sha256sum would print escaped is not hashed).
    eval "fa_x=\${hx_$1-}"
    if [ -n "$fa_x" ]; then
      case $f in
        *"$nl"* | *"$tab"* | *\\*) ;;
        *) [ -n "$sumtool" ] && { hashed=$hashed$1$tab$f$nl; hashed_paths=$hashed_paths$f$nl; return 0; } ;;
      esac
    fi
    kv "req.$1.data" "$(b64 "$f")"
  elif [ -d "$f" ]; then kv "req.$1.state" directory
  elif [ -e "$f" ]; then kv "req.$1.state" other
  else kv "req.$1.state" absent; fi
}
# Files waiting for their hash, and for their mode and owner: `N<TAB>PATH` lines.
hashed=; hashed_paths=
statted=; statted_paths=
sumtool=
have sha256sum && sumtool=sha256sum
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
      need_root=1
      p=/proc/sys; a=$arg
      while :; do case $a in *.*) p=$p/${a%%.*}; a=${a#*.} ;; *) p=$p/$a; break ;; esac; done
      if [ -r "$p" ]; then
        sv=; sl=
        while IFS= read -r sl || [ -n "$sl" ]; do sv=$sv$sl$nl; sl=; done 2>/dev/null < "$p"
        while :; do case $sv in *"$nl") sv=${sv%"$nl"} ;; *) break ;; esac; done
        kv "req.$i.state" present; kv "req.$i.value" "$sv"
      else kv "req.$i.state" absent; fi;;
    tool)
      case $arg in "~/"*) arg=$HOME/${arg#"~/"};; esac
      case $arg in "$HOME"/*) ;; *) need_root=1;; esac
      f=$root$arg
      if [ -x "$f" ] && [ -n "$go" ]; then
        kv "req.$i.state" present
        if cget "tool.$f"; then tm=$hit
        else
          tm=$(go_quiet version -m "$f" 2>/dev/null | awk '$1=="mod"{print $2" "$3}')
          cmiss "tool.$f" "$tm"
        fi
        kv "req.$i.mod" "$tm"
      else kv "req.$i.state" absent; fi;;
    link)
      case $arg in "~/"*) arg=$HOME/${arg#"~/"};; esac
      case $arg in "$HOME"/*) ;; *) need_root=1;; esac
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
# The files waiting for their hash, hashed by one sha256sum, which prints
# `SHA256  PATH` for each in order (nothing for a file it cannot read): the
# expected line means `same`, anything else sends the bytes.
hashed_sums() {
  for h_e; do
    h_i=${h_e%%"$tab"*}; h_f=${h_e#*"$tab"}
    eval "h_x=\${hx_$h_i-}"
    h_l=${sums%%"$nl"*}
    case $h_l in *"  $h_f") sums=${sums#"$h_l$nl"} ;; esac
    if [ "$h_l" = "$h_x  $h_f" ]; then kv "req.$h_i.same" 1; else kv "req.$h_i.data" "$(b64 "$h_f")"; fi
  done
}
if [ -n "$hashed" ]; then
  set -f; IFS=$nl
  # shellcheck disable=SC2086
  set -- $hashed_paths
  IFS=$ifs0; set +f
  sums=$("$sumtool" -- "$@" 2>/dev/null)$nl
  split hashed_sums "$hashed"
fi
# The files waiting for their mode and owner, by one stat, which prints
# `MODE USER:GROUP PATH` for each in order (nothing for a file gone meanwhile,
# whose mode and owner then stay empty).
statted_modes() {
  for h_e; do
    h_i=${h_e%%"$tab"*}; h_f=${h_e#*"$tab"}
    h_l=${modes%%"$nl"*}
    case $h_l in
      *" $h_f")
        modes=${modes#"$h_l$nl"}
        mo=${h_l%" $h_f"}
        kv "req.$h_i.mode" "${mo%% *}"; kv "req.$h_i.owner" "${mo#* }" ;;
      *) kv "req.$h_i.mode" ""; kv "req.$h_i.owner" "" ;;
    esac
  done
}
if [ -n "$statted" ]; then
  set -f; IFS=$nl
  # shellcheck disable=SC2086
  set -- $statted_paths
  IFS=$ifs0; set +f
  modes=$(stat -c '%a %U:%G %n' -- "$@" 2>/dev/null)$nl
  split statted_modes "$statted"
fi
# sudo: asked only when a request touches what the user may not own.
if [ "$uid" = 0 ]; then kv sudo root
elif ! have sudo; then kv sudo absent
elif [ -z "$need_root" ]; then kv sudo unasked
elif sudo -n true 2>/dev/null; then kv sudo passwordless
else kv sudo password; fi
# Temporary ledger files of an apply killed while it wrote the host's ledger
# (converge's own state, ledger::HOST_DIR): removed here, since a host with
# nothing to change runs no apply, but only while no converge run holds the
# host's lock.
for t in "$cvd"/.ledger.?????? "$cvd"/.new.??????; do
  [ -f "$t" ] && [ ! -L "$cvd" ] && have flock || continue
  ( flock -n 9 && rm -f -- "$cvd"/.ledger.?????? "$cvd"/.new.?????? ) 9>>"$cvd/host.lock" 2>/dev/null
  break
done
# The fact cache is written when an answer was fresh, and only where converge
# keeps its state already (an apply made the directory).
if [ "$cache_mode" = w ] && [ -n "$cache_dirty" ] && [ -n "$S" ] && [ -d "$cvd" ] && [ ! -L "$cvd" ]; then
  c_tmp=$cvd/.facts.$$
  if (umask 077; set -C; printf '%s\n%send\n' "$S" "$cache_new" > "$c_tmp") 2>/dev/null; then
    mv -f -- "$c_tmp" "$cache_file" 2>/dev/null || rm -f -- "$c_tmp"
  fi
fi
printf '__GOFACTS_END_%s__\n' "$nonce"
