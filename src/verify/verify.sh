# converge verify: run every consumer of the environment and report what each
# one sees. POSIX sh; arguments: NONCE MODE [KIND NAME]...
#   MODE   ssh: this script runs as `ssh host cmd` runs commands (its own
#          environment is that consumer); local: emulate that consumer.
#   KIND   env (an exported variable), goenv (a `go env` setting), tool (a
#          binary on PATH, its module version and the Go that built it); of
#          the host: sysctl (a live kernel parameter), file (a file's bytes,
#          base64, at most 1 MiB), selinux (a path's context), ptrace (Yama's
#          ptrace_scope).
# Besides the shells, the user's running VS Code server processes (under
# ~/.vscode-server and ~/.vscode-server-insiders, and the gopls they started)
# are consumers: the probe runs with the environment each one really has
# (/proc/PID/environ), and their start times are compared with the last change
# of the files the environment comes from.
# Each consumer runs a probe script with a timeout, stdin closed and stderr
# dropped; only the probe's nonce-framed lines count, so rc files that print,
# hang or exit cannot fake or corrupt a result.
nonce=$1
mode=$2
shift 2
tmp=$(mktemp -d 2>/dev/null || echo "/tmp/converge-verify.$$")
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/spec"
while [ $# -ge 2 ]; do
  printf '%s %s\n' "$1" "$2" >> "$tmp/spec"
  shift 2
done

cat > "$tmp/probe" <<PROBE
spec=$tmp/spec
nonce=$nonce
PROBE
cat >> "$tmp/probe" <<'PROBE'
echo "__VP_BEGIN_${nonce}__"
one() { printf '%s' "$1" | tr '\n' ' '; }
goenv_names=
while read -r kind name; do
  case $kind in
    env)
      if eval "[ \"\${$name+x}\" = x ]"; then
        eval "v=\$$name"
        printf 'env.%s=%s\n' "$name" "$(one "$v")"
      else
        printf 'unset.%s=\n' "$name"
      fi
      ;;
    goenv) goenv_names="$goenv_names $name" ;;
  esac
done < "$spec"
printf 'path=%s\n' "$PATH"
go=$(command -v go 2>/dev/null)
printf 'which.go=%s\n' "$go"
if [ -n "$go" ]; then
  printf 'go.version=%s\n' "$(cd / && "$go" version 2>&1 | head -n 1)"
  if [ -n "$goenv_names" ]; then
    # One value per line, in the order asked.
    (cd / && "$go" env $goenv_names 2>/dev/null) > "${spec}.goenv.$$"
    for name in $goenv_names; do
      IFS= read -r value || value=
      printf 'goenv.%s=%s\n' "$name" "$value"
    done < "${spec}.goenv.$$"
    rm -f "${spec}.goenv.$$"
  fi
fi
while read -r kind name; do
  [ "$kind" = tool ] || continue
  p=$(command -v "$name" 2>/dev/null)
  v=
  if [ -n "$p" ] && [ -n "$go" ]; then
    v=$("$go" version -m "$p" 2>/dev/null | awk '$1 == "mod" { print $3; exit }')
  fi
  printf 'tool.%s=%s %s\n' "$name" "$p" "$v"
  if [ -n "$p" ] && [ -n "$go" ]; then
    printf 'toolgo.%s=%s\n' "$name" "$("$go" version "$p" 2>/dev/null | awk '{ print $2; exit }')"
  fi
done < "$spec"
echo "__VP_END_${nonce}__"
PROBE

# The probe's framed lines, or nothing.
framed() {
  sed -n "/^__VP_BEGIN_${nonce}__\$/,/^__VP_END_${nonce}__\$/p"
}

have() { command -v "$1" >/dev/null 2>&1; }
# A consumer gets 20 s; one that ignores SIGTERM is killed 5 s later.
if have timeout; then limit="timeout -k 5 20"; else limit=; fi

# consumer ID PROGRAM ARG...: runs one consumer in the environment a fresh
# login gets (nothing inherited from this script), or reports it absent.
consumer() {
  id=$1
  shift
  if ! have "$1"; then
    echo "__VC_ABSENT_${nonce}__ $id"
    return
  fi
  out=$($limit env -i HOME="$HOME" USER="$me" LOGNAME="$me" SHELL="$user_shell" TERM=dumb \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/games "$@" </dev/null 2>/dev/null)
  rc=$?
  echo "__VC_BEGIN_${nonce}__ $id $rc"
  printf '%s\n' "$out" | framed
  echo "__VC_END_${nonce}__ $id"
}

probe="sh $tmp/probe"
me=$(id -un)
user_shell=${SHELL:-}
[ -n "$user_shell" ] || user_shell=$(getent passwd "$(id -un)" 2>/dev/null | cut -d: -f7)
[ -n "$user_shell" ] || user_shell=/bin/sh

echo "__VERIFY_BEGIN_${nonce}__"
echo "shell=$user_shell"
echo "user=$me"
# Facts of the host, checked once.
while read -r kind name; do
  case $kind in
    sysctl)
      case $name in *[!A-Za-z0-9._-]* | .* | *..*) continue ;; esac
      f=/proc/sys/$(printf '%s' "$name" | tr . /)
      if [ -r "$f" ]; then
        printf 'host.sysctl.%s=%s\n' "$name" "$(head -c 4096 "$f" | tr -s ' \t\n' '   ' | sed 's/ *$//')"
      else
        printf 'host.sysctl.%s=\n' "$name"
      fi
      ;;
    file)
      if [ -f "$name" ] && [ -r "$name" ]; then
        printf 'host.file.%s=%s\n' "$name" "$(head -c 1048576 "$name" | base64 | tr -d '\n')"
      else
        printf 'host.nofile.%s=\n' "$name"
      fi
      ;;
    selinux)
      if have selinuxenabled && selinuxenabled 2>/dev/null; then
        printf 'host.selinux.%s=%s\n' "$name" "$(stat -c %C -- "$name" 2>/dev/null)"
      else
        printf 'host.selinux.%s=off\n' "$name"
      fi
      ;;
    probe)
      # A module proxy or checksum database, with this session's proxy variables.
      case $name in http://* | https://*) ;; *) continue ;; esac
      if have curl; then
        r=$(curl -sS -o /dev/null --proto '=http,https' --connect-timeout 5 --max-time 10 \
          -w '%{http_code} %{time_total}' -- "$name" </dev/null 2>/dev/null)
        rc=$?
        printf 'probe=%s %s %s\n' "$rc" "$(printf '%s' "${r:-000 0}" | tr -d '\n')" "$name"
      else
        printf 'probe=absent %s\n' "$name"
      fi
      ;;
    workspaces)
      # Workspace settings under the home, which override the server's
      # Machine settings in that folder: at most 20, 4 levels deep, 256 KiB
      # each, 20 s.
      $limit find "$HOME" -maxdepth 4 \( -name node_modules -o -name .cache -o -name .vscode-server \
        -o -name .vscode-server-insiders -o -path "$HOME/go/pkg" \) -prune -o \
        -path '*/.vscode/settings.json' -type f -print 2>/dev/null </dev/null | head -n 20 |
        while IFS= read -r w; do
          [ -r "$w" ] || continue
          printf 'host.workspace.%s=%s\n' "$w" "$(head -c 262144 "$w" | base64 | tr -d '\n')"
        done
      ;;
    ptrace)
      f=/proc/sys/kernel/yama/ptrace_scope
      if [ -r $f ]; then v=$(cat $f); else v=absent; fi
      printf 'host.ptrace=%s\n' "$v"
      ;;
  esac
done < "$tmp/spec"
# `ssh host cmd`: the login shell, non-interactive, as sshd starts it.
if [ "$mode" = ssh ]; then
  echo "__VC_BEGIN_${nonce}__ ssh 0"
  sh "$tmp/probe" </dev/null 2>/dev/null | framed
  echo "__VC_END_${nonce}__ ssh"
else
  consumer ssh env SSH_CLIENT="127.0.0.1 50000 22" SSH_CONNECTION="127.0.0.1 50000 127.0.0.1 22" \
    "$user_shell" -c "$probe"
fi
consumer "bash -l" bash -lc "$probe"
consumer "bash -i" bash -ic "$probe"
consumer "zsh -c" zsh -c "$probe"
consumer "zsh -l" zsh -lc "$probe"
consumer "zsh -i" zsh -ic "$probe"
if have dash; then consumer "sh -l" dash -lc "$probe"; else consumer "sh -l" sh -lc "$probe"; fi
consumer fish fish -c "$probe"
# The systemd user manager: its environment is what the environment.d
# generator makes of the manager's own (PATH as systemd sets it).
gen=
for g in /usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator \
  /lib/systemd/user-environment-generators/30-systemd-environment-d-generator; do
  [ -x "$g" ] && gen=$g && break
done
if [ -n "$gen" ]; then
  env -i HOME="$HOME" USER="$me" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \
    "$gen" > "$tmp/systemd.env" 2>/dev/null
  cat > "$tmp/systemd.sh" <<SYSTEMD
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin
export PATH
# The generator prints shell-quoted values (PAGER="less -R"), as the manager reads them.
while IFS= read -r line; do
  case \$line in [A-Za-z_]*=*) eval "export \$line" ;; esac
done < "$tmp/systemd.env"
exec sh "$tmp/probe"
SYSTEMD
  consumer systemd sh "$tmp/systemd.sh"
else
  echo "__VC_ABSENT_${nonce}__ systemd"
fi
# The VS Code server resolves its environment with `$SHELL -ilc`.
consumer vscode "$user_shell" -ilc "$probe"
# `ssh -t host dash -i`: interactive dash, started the way `ssh host cmd`
# starts commands; it reads only the file $ENV names.
if [ "$mode" = ssh ]; then
  if have dash; then
    out=$($limit dash -ic "$probe" </dev/null 2>/dev/null)
    rc=$?
    echo "__VC_BEGIN_${nonce}__ dash -i $rc"
    printf '%s\n' "$out" | framed
    echo "__VC_END_${nonce}__ dash -i"
  else
    echo "__VC_ABSENT_${nonce}__ dash -i"
  fi
elif have dash; then
  consumer "dash -i" env SSH_CLIENT="127.0.0.1 50000 22" SSH_CONNECTION="127.0.0.1 50000 127.0.0.1 22" \
    "$user_shell" -c "dash -ic '$probe'"
else
  echo "__VC_ABSENT_${nonce}__ dash -i"
fi

env_changed
printf 'envchanged=%s %s\n' "$newest" "$newest_file"
# The user's running VS Code server processes (in this mount namespace) and
# the gopls they started: each is a consumer with the environment it has.
vscode_servers
count=0
for pid in $servers; do
  count=$((count + 1))
  [ $count -le 8 ] || break
  d=/proc/$pid
  if [ "$(head -c 64 "$d/comm" 2>/dev/null)" = gopls ]; then
    what=gopls
  else
    case $(head -c 65536 "$d/cmdline" 2>/dev/null | tr '\0\n' '  ') in
      *--type=extensionHost*) what="extension host" ;;
      *--type=*) continue ;;
      *) what=server ;;
    esac
  fi
  printf 'server=%s %s %s\n' "$pid" "$(started "$pid")" "$what"
  # Only well-formed NAME=VALUE entries; nothing of this script's environment.
  out=$(head -c 262144 "$d/environ" 2>/dev/null | grep -z '^[A-Za-z_][A-Za-z0-9_]*=' |
    PROBE=$tmp/probe $limit xargs -0 -x sh -c 'exec env -i "$@" sh "$PROBE"' sh 2>/dev/null)
  rc=$?
  echo "__VC_BEGIN_${nonce}__ $what $pid $rc"
  printf '%s\n' "$out" | framed
  echo "__VC_END_${nonce}__ $what $pid"
done
echo "__VERIFY_END_${nonce}__"
