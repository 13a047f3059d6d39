#!/usr/bin/env bash
# A fleet of real sshd hosts on this machine, for converge's fleet tests and
# benchmarks. Each host is one sshd in its own mount namespace: /etc, /home,
# /root, /usr/local, /opt and /var/tmp are overlays on the real ones, so a
# host's files are its own and vanish with it. Host i listens on
# 127.0.NET.i:2222 and has the users dev-bash, dev-zsh, dev-dash and dev-fish
# (login shells as named; passwordless sudo), dev-sudo (bash, passwordless sudo) and dev-pw (bash,
# sudo that asks for a password), plus root and dev (uid 0 with the home
# /home/dev, bash: the user a `--root` tree's runs have); all accept one client key.
#
#   testbed.sh up DIR N [NET] [FIRST]  start hosts hFIRST.. (N of them; FIRST default 1,
#                                      NET: third octet, default 77); a FIRST above 1
#                                      adds hosts to those DIR has
#   testbed.sh down DIR [NAME]         stop every process of every host (or of host
#                                      NAME only), by PID
#
# `up` writes into DIR: id_ed25519 (the client key), known_hosts, ssh_config
# (Host hNN with HostName, Port, User dev-<shell> in turn, IdentityFile),
# pids (one "name pid" line per host), and hNN/ with the host key and log.
# A host's files are readable from outside under /proc/PID/root/.
# TESTBED_BINDS="SRC=DST ..." bind-mounts directories of this machine into
# every host (a Go tree at /usr/local/go, say).
# Needs root (mount namespaces), sshd, sudo, bash, zsh, dash and fish.
set -euo pipefail

port=2222
users=(dev-bash:/bin/bash dev-zsh:/usr/bin/zsh dev-dash:/bin/dash dev-fish:/usr/bin/fish
  dev-sudo:/bin/bash dev-pw:/bin/bash)

die() { echo "testbed.sh: $*" >&2; exit 1; }

# Runs inside the host's mount namespace, then becomes its sshd.
host_main() {
  local dir=$1 name=$2 addr=$3 stage=$1/$2/stage
  mount -t tmpfs -o mode=0755 testbed "$stage"
  for d in etc home root usr/local opt var/tmp; do
    local n=${d//\//_}
    mkdir -p "$stage/upper/$n" "$stage/work/$n"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$stage/upper/$n,workdir=$stage/work/$n" "/$d"
  done
  for bind in ${TESTBED_BINDS:-}; do
    mkdir -p "${bind#*=}"
    mount --bind "${bind%%=*}" "${bind#*=}"
  done
  echo "$name" > /etc/hostname
  hostname "$name"
  echo "127.0.1.1 $name" >> /etc/hosts
  # The real homes stay hidden: a host starts with only its own users.
  mount -t tmpfs -o mode=0755 home /home
  local uid=2001 pubkey
  pubkey=$(cat "$dir/id_ed25519.pub")
  for spec in "${users[@]}"; do
    local user=${spec%%:*} shell=${spec#*:}
    useradd --create-home --uid "$uid" --user-group --shell "$shell" "$user"
    usermod --password '*' "$user"
    install -d -m 0700 -o "$user" -g "$user" "/home/$user/.ssh"
    install -m 0600 -o "$user" -g "$user" /dev/null "/home/$user/.ssh/authorized_keys"
    echo "$pubkey" > "/home/$user/.ssh/authorized_keys"
    uid=$((uid + 1))
  done
  install -d -m 0700 /root/.ssh
  echo "$pubkey" > /root/.ssh/authorized_keys
  # dev is root with the home a `--root` tree gives its runs: only .ssh in it.
  useradd --non-unique --uid 0 --gid 0 --no-create-home --home-dir /home/dev --shell /bin/bash dev
  usermod --password '*' dev
  install -d -m 0755 /home/dev
  install -d -m 0700 /home/dev/.ssh
  echo "$pubkey" > /home/dev/.ssh/authorized_keys
  printf '%s ALL=(ALL) NOPASSWD: ALL\n' dev-bash dev-zsh dev-dash dev-fish dev-sudo > /etc/sudoers.d/testbed
  printf 'dev-pw ALL=(ALL) ALL\n' >> /etc/sudoers.d/testbed
  chmod 0440 /etc/sudoers.d/testbed
  install -m 0600 "$dir/$name/host_ed25519" /etc/ssh/testbed_host_ed25519
  cat > /etc/ssh/sshd_testbed <<CONF
ListenAddress $addr:$port
HostKey /etc/ssh/testbed_host_ed25519
PidFile none
UsePAM yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
MaxStartups 200
MaxSessions 20
LogLevel ERROR
CONF
  mkdir -p /run/sshd
  exec /usr/sbin/sshd -D -e -f /etc/ssh/sshd_testbed
}

up() {
  local dir=$1 count=$2 net=${3:-77} first=${4:-1}
  [ "$(id -u)" = 0 ] || die "needs root (it makes mount namespaces)"
  for tool in /usr/sbin/sshd unshare sudo bash zsh dash fish ssh-keygen; do
    command -v "$tool" >/dev/null || die "needs $tool (apt-get install openssh-server sudo zsh fish)"
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C testbed -f "$dir/id_ed25519"
  if ((first == 1)); then
    : > "$dir/known_hosts"
    : > "$dir/ssh_config"
    : > "$dir/pids"
  fi
  local i last=$((first + count - 1)) shells=(bash zsh dash fish)
  ((first >= 1 && last <= 254)) || die "hosts are numbered 1 to 254"
  for ((i = first; i <= last; i++)); do
    local name addr
    name=$(printf 'h%02d' "$i")
    addr="127.0.$net.$i"
    mkdir -p "$dir/$name/stage"
    [ -f "$dir/$name/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$dir/$name/host_ed25519"
    setsid unshare --mount --uts --propagation private "$0" host-main "$dir" "$name" "$addr" \
      </dev/null >"$dir/$name/log" 2>&1 &
    echo "$name $!" >> "$dir/pids"
    echo "[$addr]:$port $(cut -d' ' -f1,2 "$dir/$name/host_ed25519.pub")" >> "$dir/known_hosts"
    cat >> "$dir/ssh_config" <<CONF
Host $name
  HostName $addr
  Port $port
  User dev-${shells[$(((i - 1) % 4))]}
  IdentityFile $dir/id_ed25519

CONF
  done
  # Ready when every host answers with its SSH banner.
  local deadline=$((SECONDS + 30))
  for ((i = first; i <= last; i++)); do
    local addr="127.0.$net.$i"
    until timeout 1 bash -c "exec 3<>/dev/tcp/$addr/$port && head -c 4 <&3 | grep -q SSH-" 2>/dev/null; do
      if ((SECONDS > deadline)); then
        cat "$dir"/h*/log >&2
        die "host $addr did not start"
      fi
      sleep 0.05
    done
  done
}

down() {
  local dir=$1 only=${2:-} name pid
  [ -f "$dir/pids" ] || return 0
  while read -r name pid; do
    [ -z "$only" ] || [ "$name" = "$only" ] || continue
    [ -r "/proc/$pid/ns/mnt" ] || continue
    local ns
    ns=$(readlink "/proc/$pid/ns/mnt")
    # The host's sshd and everything its sessions started share its namespace.
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && kill -KILL "${p#/proc/}" 2>/dev/null || true
    done
  done < "$dir/pids"
  if [ -n "$only" ]; then
    local rest
    rest=$(grep -v "^$only " "$dir/pids" || true)
    printf '%s\n' "$rest" | grep . > "$dir/pids.new" || true
    mv "$dir/pids.new" "$dir/pids"
  else
    rm -f "$dir/pids"
  fi
}

case ${1:-} in
  up) shift; up "$@" ;;
  down) shift; down "$@" ;;
  host-main) shift; host_main "$@" ;;
  *) die "usage: testbed.sh up DIR N [NET] [FIRST] | down DIR [NAME]" ;;
esac
