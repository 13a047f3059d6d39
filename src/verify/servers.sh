# The user's running VS Code server processes, and when the files their
# environment comes from last changed. POSIX sh, Linux /proc; sourced by the
# verify script and by `vscode restart`.

# env_changed: sets newest (mtime, 0 if none) and newest_file: the newest of
# the files the shells and go read the environment from.
env_changed() {
  newest=0
  newest_file=
  for f in "$HOME/.profile" "$HOME/.bash_profile" "$HOME/.bash_login" "$HOME/.bashrc" "$HOME/.zshenv" \
    "$HOME/.zprofile" "$HOME/.zshrc" "$HOME/.zlogin" "$HOME/.config/fish/config.fish" \
    "$HOME/.config/go/env" "$HOME"/.config/environment.d/*.conf "$HOME"/.config/fish/conf.d/*.fish \
    /etc/profile /etc/profile.d/*.sh /etc/environment /etc/bash.bashrc /etc/zsh/zshenv /etc/zsh/zprofile \
    /etc/zsh/zshrc /etc/zshenv /etc/zprofile /etc/zshrc /etc/fish/config.fish /etc/fish/conf.d/*.fish \
    /etc/environment.d/*.conf; do
    [ -f "$f" ] || continue
    m=$(stat -c %Y -- "$f" 2>/dev/null) || continue
    if [ "${m:-0}" -gt "$newest" ]; then
      newest=$m
      newest_file=$f
    fi
  done
}

# started PID: the process's start, in seconds since the epoch.
started() {
  t=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }')
  b=$(awk '$1 == "btime" { print $2 }' /proc/stat 2>/dev/null)
  hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
  [ -n "$t" ] && [ -n "$b" ] && echo $((b + t / hz))
}

under_server() {
  case $1 in "$HOME"/.vscode-server/* | "$HOME"/.vscode-server-insiders/*) return 0 ;; esac
  return 1
}

# vscode_servers: sets servers to the PIDs of this user's processes (in this
# mount namespace) run from ~/.vscode-server or ~/.vscode-server-insiders
# (the program, or the script a shell runs), then the gopls they started.
vscode_servers() {
  servers=
  myns=$(readlink /proc/self/ns/mnt 2>/dev/null)
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [ "$pid" = $$ ] && continue
    # Owned by this user (a test builtin: no process per other user's process).
    [ -O "$d" ] || continue
    [ "$(readlink "$d/ns/mnt" 2>/dev/null)" = "$myns" ] || continue
    exe=$(readlink "$d/exe" 2>/dev/null)
    args=$(head -c 65536 "$d/cmdline" 2>/dev/null | tr '\0\n' '\n ' | head -n 2)
    arg0=$(printf '%s\n' "$args" | sed -n 1p)
    arg1=$(printf '%s\n' "$args" | sed -n 2p)
    if under_server "$exe" || under_server "$arg0" || under_server "$arg1"; then
      servers="$servers $pid"
    fi
  done
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [ -O "$d" ] || continue
    comm=
    read -r comm 2>/dev/null < "$d/comm"
    [ "$comm" = gopls ] || continue
    ppid=$(awk '$1 == "PPid:" { print $2 }' "$d/status" 2>/dev/null)
    case " $servers " in *" $ppid "*) servers="$servers $pid" ;; esac
  done
}
