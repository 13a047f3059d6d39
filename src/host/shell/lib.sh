# Functions shared by the facts script and the apply steps: how converge reads
# and writes a file on a host without being led elsewhere by a link. POSIX sh
# and coreutils (readlink -f, stat -c, mktemp, base64).
#
# Settings (variables):
#   cv_uid    the login user's uid: the owner a user file's link must lead to
#   cv_trust  uids trusted to place links among system paths (root; for a
#             `--root` tree also the user converging it), space-separated

cv_nl='
'

# cv_trusted UID: whether UID may place links among system paths.
cv_trusted() {
  case " $cv_trust " in *" $1 "*) return 0 ;; esac
  return 1
}

# cv_owner PATH: the user name owning PATH itself (a link, not what it points to).
cv_owner() {
  stat -c %U -- "$1" 2>/dev/null || echo unknown
}

# cv_top_real TOP: TOP with its links resolved, in cv_tv; TOP itself when it
# cannot be resolved. Remembered for the last two TOPs (the home directory and
# the tree), so a script resolves each once: TOP is the login user's home or
# the tree converge was given, which that user cannot swap for a link.
cv_top_real() {
  if [ "$1" = "${cv_tk1-}" ]; then cv_tv=$cv_tv1; return; fi
  if [ "$1" = "${cv_tk2-}" ]; then cv_tv=$cv_tv2; return; fi
  # A directory reached from / with no link, `.`, `..` or `//` on the way is
  # its own real path: no `readlink` needed.
  cv_tv=$1
  case $1 in
    /*/ | */./* | */../* | */. | */.. | *//*) cv_tv= ;;
    /*) [ -d "$1" ] || cv_tv= ;;
    *) cv_tv= ;;
  esac
  cv_x=$cv_tv
  while [ -n "$cv_x" ]; do
    if [ -L "$cv_x" ]; then cv_tv=; break; fi
    cv_x=${cv_x%/*}
  done
  if [ -z "$cv_tv" ]; then
    cv_tv=$(readlink -f -- "$1" 2>/dev/null) || cv_tv=
  fi
  [ -n "$cv_tv" ] || cv_tv=$1
  cv_tk2=${cv_tk1-}; cv_tv2=${cv_tv1-}; cv_tk1=$1; cv_tv1=$cv_tv
}

# cv_safe SCOPE TOP PATH: the real path to read or write for PATH, in cv_real.
# Status 1, with the reason in cv_why, when a link on the way is unsafe:
#   user    PATH is the login user's file under the home directory TOP: every
#           link on the way must lead to a place inside TOP, and what it leads to
#           must be owned by the login user.
#   system  every link on the way must be owned by a trusted uid and sit in a
#           directory a trusted uid owns, lead to a place inside TOP (the tree of
#           `--root`, or "" for /) and to a file a trusted uid owns.
# A link is never left behind silently: the caller reads and writes cv_real.
cv_safe() {
  cv_why=; cv_real=; cv_scope=$1; cv_top=$2
  cv_treal=
  if [ -n "$cv_top" ]; then
    cv_top_real "$cv_top"
    cv_treal=$cv_tv
    [ "$cv_treal" = / ] && cv_treal=
  fi
  case $3 in
    "$cv_top") cv_rest=; cv_cur=$cv_treal ;;
    "$cv_top"/*) cv_rest=${3#"$cv_top"/}; cv_cur=$cv_treal ;;
    *)
      if [ -n "$cv_top" ]; then cv_why="$3 is outside $cv_top"; return 1; fi
      cv_rest=${3#/}; cv_cur=
      ;;
  esac
  cv_hops=0
  while [ -n "$cv_rest" ]; do
    case $cv_rest in
      */*) cv_c=${cv_rest%%/*}; cv_rest=${cv_rest#*/} ;;
      *) cv_c=$cv_rest; cv_rest= ;;
    esac
    case $cv_c in
      '' | .) continue ;;
      ..)
        cv_cur=${cv_cur%/*}
        case $cv_cur in
          "$cv_treal" | "$cv_treal"/*) ;;
          *) cv_why="$3 leads out of ${cv_top:-/} through .."; return 1 ;;
        esac
        continue
        ;;
    esac
    cv_n=$cv_cur/$cv_c
    if [ -L "$cv_n" ]; then
      cv_hops=$((cv_hops + 1))
      cv_r=$(readlink -f -- "$cv_n" 2>/dev/null) || cv_r=
      if [ -z "$cv_r" ]; then cv_why="$3: the link $cv_n leads nowhere converge can resolve"; return 1; fi
      if [ "$cv_scope" = system ]; then
        cv_lo=$(stat -c %u -- "$cv_n" 2>/dev/null) || cv_lo=
        cv_do=$(stat -c %u -- "${cv_cur:-/}" 2>/dev/null) || cv_do=
        if ! cv_trusted "$cv_lo"; then
          cv_why="$cv_n is a link owned by $(cv_owner "$cv_n"), not by root: converge does not follow it to $cv_r"
          return 1
        fi
        if ! cv_trusted "$cv_do"; then
          cv_why="$cv_n is a link in ${cv_cur:-/}, a directory owned by $(cv_owner "${cv_cur:-/}"), not by root: converge does not follow it to $cv_r"
          return 1
        fi
      fi
      case $cv_r in
        "$cv_treal"/* | "$cv_treal") ;;
        *)
          if [ "$cv_scope" = user ]; then
            cv_why="$cv_n is a link to $cv_r, outside the home directory $cv_top: converge does not read or write through it"
          else
            cv_why="$cv_n is a link to $cv_r, outside $cv_top: converge does not read or write through it"
          fi
          return 1
          ;;
      esac
      [ "$cv_r" = / ] && cv_r=
      cv_cur=$cv_r
    else
      cv_cur=$cv_n
    fi
  done
  cv_real=${cv_cur:-/}
  [ "$cv_hops" -gt 0 ] || return 0
  # A link was followed: what it leads to must belong to whom the scope trusts.
  if [ -e "$cv_real" ]; then cv_o=$cv_real; else cv_o=${cv_real%/*}; cv_o=${cv_o:-/}; fi
  [ -e "$cv_o" ] || return 0
  cv_ou=$(stat -c %u -- "$cv_o" 2>/dev/null) || cv_ou=
  if [ "$cv_scope" = user ]; then
    [ "$cv_ou" = "$cv_uid" ] && return 0
    cv_why="$3 is a link to $cv_o, which is owned by $(cv_owner "$cv_o"), another user: converge does not read or write through it"
  else
    cv_trusted "$cv_ou" && return 0
    cv_why="$3 is a link to $cv_o, which is owned by $(cv_owner "$cv_o"), not by root: converge does not read or write through it"
  fi
  return 1
}

# cv_hash PATH: the sha256 of a regular file, `absent`, `other` (not a regular
# file) or `unreadable`.
cv_hash() {
  if [ -f "$1" ]; then
    cv_h=$(sha256sum <"$1" 2>/dev/null) || cv_h=
    cv_h=${cv_h%% *}
    echo "${cv_h:-unreadable}"
  elif [ -e "$1" ] || [ -L "$1" ]; then echo other
  else echo absent; fi
}

# cv_identity PATH: device, inode, size and change time: a file replaced or
# edited in place gets another one.
cv_identity() {
  if [ -e "$1" ] || [ -L "$1" ]; then
    stat -c '%d:%i:%s:%Z:%z' -- "$1" 2>/dev/null || echo absent
  else
    echo absent
  fi
}

# cv_clean DIR: removes temporary files of converge runs that were killed:
# not newer than this run (cv_t0, in seconds) and whose writer is gone. Files
# that do not name their writer must be strictly older than the run.
cv_clean() {
  for cv_f in "$1"/.converge.*; do
    [ -f "$cv_f" ] && [ ! -L "$cv_f" ] || continue
    case ${cv_f##*/} in
      .converge.[0-9]*.??????)
        cv_pid=${cv_f##*/.converge.}; cv_pid=${cv_pid%%.*}
        [ -d "/proc/$cv_pid" ] && continue
        cv_m=$(stat -c %Y -- "$cv_f" 2>/dev/null) || continue
        [ "$cv_m" -le "${cv_t0:-0}" ] || continue
        ;;
      .converge.??????)
        cv_m=$(stat -c %Y -- "$cv_f" 2>/dev/null) || continue
        [ "$cv_m" -lt "${cv_t0:-0}" ] || continue
        ;;
      *) continue ;;
    esac
    rm -f -- "$cv_f"
  done
}

# Writing files: `cv_prep N SCOPE TOP PATH SHOWN BEFORE AFTER MODE OWNER DATA
# NAMES UMASK [SEEN]` for each file (N numbers them), then one `cv_commit`,
# replace each file PATH (shown as SHOWN) with DATA, atomically, when it holds
# what the plan saw (BEFORE) or already what it wants (AFTER). MODE and OWNER
# are set when not empty; otherwise the file keeps its own (a new file gets
# 644, or what the directory's default ACL gives). A link is kept: its target
# is written. Exits 96 for an unsafe link, 98 when the file changed since the
# plan or while it was being written.
#   DATA   `t:TEXT` (printf %b escapes), `b:BASE64`, or `-`: base64 on stdin
#   NAMES  two random 6-character names for the temporary files, which other
#          users cannot guess; taken names fall back to mktemp
#   UMASK  the umask the temporary file is created with: so that it is never
#          readable by more than the file it replaces (or the MODE it gets),
#          yet writable by its owner
#   SEEN   the file's sha256, when the script already knows it
# The new contents are synced at once, then each file is checked and renamed
# in turn. Most of it is shell builtins: a file costs a few processes (a
# hash, a stat, a link, the rename).

# cv_drop: removes the temporary files of the files being written (on exit).
cv_drop() {
  set -- ${cv_t:+"$cv_t"} ${cv_was:+"$cv_was"}
  for cv_i in $cv_w; do
    eval "set -- \"\$@\" \${cv_T$cv_i:+\"\$cv_T$cv_i\"} \${cv_W$cv_i:+\"\$cv_W$cv_i\"}"
  done
  [ $# -eq 0 ] || rm -f -- "$@"
}

# cv_prep N ARGS: the new content of a file, in a temporary file beside it
# with its mode and owner; `cv_commit` puts it in place. SEEN is the file's
# sha256 as this script found it under the host lock, or as an earlier step
# of it left it (the checks around the rename still compare the file with it).
cv_prep() {
  cv_i=$1; shift
  cv_t=; cv_was=
  trap cv_drop EXIT
  if ! cv_safe "$1" "$2" "$3"; then echo "converge: $cv_why; nothing written" >&2; exit 96; fi
  cv_p=$cv_real
  cv_seen=${12-}
  case ${#cv_seen}:$cv_seen in
    64:* | 6:absent) ;;
    *) cv_seen=$(cv_hash "$cv_p") ;;
  esac
  case $cv_seen in
    "$5" | "$6") ;;
    *) echo "converge: $4 changed since the plan was made; nothing written" >&2; exit 98 ;;
  esac
  cv_d=${cv_p%/*}; cv_d=${cv_d:-/}
  [ -d "$cv_d" ] || mkdir -p -- "$cv_d"
  cv_clean "$cv_d"
  # A second name for the file as it is now (made before its identity is
  # taken: a link changes its ctime): an edit that reaches it after the
  # check before the rename is seen there and put back.
  if [ "$cv_seen" != absent ]; then
    cv_n=$cv_d/.converge.$$.${10%% *}
    if [ -e "$cv_n" ] || [ -L "$cv_n" ]; then cv_n=$(mktemp -u -- "$cv_d/.converge.$$.XXXXXX") || cv_n=; fi
    if [ -n "$cv_n" ] && ln -- "$cv_p" "$cv_n" 2>/dev/null; then cv_was=$cv_n; fi
  fi
  # The temporary file, created where nothing is (noclobber: O_EXCL for a
  # regular file; the name is checked first, as noclobber opens a device).
  cv_n=$cv_d/.converge.$$.${10#* }
  umask "${11:-077}"
  set -C
  if [ -e "$cv_n" ] || [ -L "$cv_n" ] || ! true 2>/dev/null >"$cv_n"; then
    set +C
    cv_n=$(mktemp -- "$cv_d/.converge.$$.XXXXXX")
  fi
  set +C
  umask 022
  cv_t=$cv_n
  case $9 in
    -) base64 -d >>"$cv_t" ;;
    b:*) printf '%s' "${9#b:}" | base64 -d >>"$cv_t" ;;
    # The builtin printf says "I/O error" for a full disk; cat names the cause.
    *) printf '%b' "${9#t:}" >>"$cv_t" 2>/dev/null || { printf '%b' "${9#t:}" | cat >"$cv_t"; } ;;
  esac
  # Mode and owner: the ones set, or the old file's, from one stat of both.
  cv_id0=absent
  if [ "$cv_seen" = absent ]; then
    if [ -n "$7" ]; then chmod -- "$7" "$cv_t"; fi
  else
    # "MODE UID GID IDENTITY" of the file, then of the temporary file.
    cv_st=$(stat -c '%a %u %g %d:%i:%s:%Z:%z' -- "$cv_p" "$cv_t" 2>/dev/null) || cv_st=
    case $cv_st in
      *"$cv_nl"*) ;;
      *) echo "converge: $4 changed while converge was writing it (drift); nothing written" >&2; exit 98 ;;
    esac
    cv_s1=${cv_st%%"$cv_nl"*}; cv_s2=${cv_st#*"$cv_nl"}
    cv_id0=${cv_s1#* * * }
    cv_o=${cv_s1%" $cv_id0"}; cv_to=${cv_s2#* * * }; cv_to=${cv_s2%" $cv_to"}
    # Both are octal without leading zeros (`%a`, and how converge writes MODE).
    cv_m=${7:-${cv_o%% *}}
    [ "$cv_m" = "${cv_to%% *}" ] || chmod -- "$cv_m" "$cv_t"
    cv_o=${cv_o#* }; cv_to=${cv_to#* }
    # "UID GID" of each: the old file's owner is kept where the user may set it.
    if [ "$cv_o" != "$cv_to" ]; then chown -- "${cv_o% *}:${cv_o#* }" "$cv_t" 2>/dev/null || true; fi
  fi
  if [ -n "$8" ]; then chown -- "$8" "$cv_t"; fi
  eval "cv_P$cv_i=\$cv_p cv_S$cv_i=\$cv_seen cv_T$cv_i=\$cv_t cv_W$cv_i=\$cv_was cv_I$cv_i=\$cv_id0"
  eval "cv_A$cv_i=\$1 cv_B$cv_i=\$2 cv_C$cv_i=\$3 cv_D$cv_i=\$4"
  cv_w="$cv_w $cv_i"; cv_t=; cv_was=
}

# cv_commit: syncs the files `cv_prep` made, then puts each in place: right
# before its rename, the file must still be the one checked (its identity:
# device, inode, size, change time), reached the same safe way; an edit in
# place since it was hashed is found on its second name after the rename and
# put back.
cv_commit() {
  set --
  for cv_i in $cv_w; do eval "set -- \"\$@\" \"\$cv_T$cv_i\""; done
  [ $# -eq 0 ] || sync -- "$@" 2>/dev/null || true
  for cv_i in $cv_w; do
    eval "cv_p=\$cv_P$cv_i cv_seen=\$cv_S$cv_i cv_tn=\$cv_T$cv_i cv_wn=\$cv_W$cv_i cv_id0=\$cv_I$cv_i cv_shown=\$cv_D$cv_i"
    if ! eval "cv_safe \"\$cv_A$cv_i\" \"\$cv_B$cv_i\" \"\$cv_C$cv_i\""; then
      echo "converge: $cv_why; nothing written" >&2; exit 96
    fi
    # (Without the second name, also the content: an edit in place within
    # the clock tick of the identity would go unseen.)
    if [ "$cv_real" != "$cv_p" ] || [ "$(cv_identity "$cv_p")" != "$cv_id0" ] || { [ "$cv_seen" != absent ] && [ -z "$cv_wn" ] && [ "$(cv_hash "$cv_p")" != "$cv_seen" ]; }; then
      echo "converge: $cv_shown changed while converge was writing it (drift); nothing written" >&2
      exit 98
    fi
    if [ "$cv_seen" = absent ]; then
      # Created only if still absent: a link fails where a file appeared meanwhile.
      if ! ln -- "$cv_tn" "$cv_p" 2>/dev/null; then
        if [ -e "$cv_p" ] || [ -L "$cv_p" ]; then
          echo "converge: $cv_shown changed while converge was writing it (drift); nothing written" >&2
          exit 98
        fi
        mv -f -- "$cv_tn" "$cv_p"
        eval "cv_T$cv_i="
      fi
    else
      mv -f -- "$cv_tn" "$cv_p"
      eval "cv_T$cv_i="
      if [ -n "$cv_wn" ] && [ "$(cv_hash "$cv_wn")" != "$cv_seen" ]; then
        mv -f -- "$cv_wn" "$cv_p"
        eval "cv_W$cv_i="
        echo "converge: $cv_shown changed while converge was writing it (drift); the edit was kept, nothing written" >&2
        exit 98
      fi
    fi
  done
  # What is left: the new files' temporary names, the old files' second ones.
  cv_drop
  trap - EXIT
  cv_w=
}

# cv_remove SCOPE TOP PATH SHOWN BEFORE: deletes PATH when it holds what the
# plan saw. A link is removed itself, never what it points to.
cv_remove() {
  if ! cv_safe "$1" "$2" "$3"; then echo "converge: $cv_why; nothing removed" >&2; exit 96; fi
  case $(cv_hash "$cv_real") in
    "$5" | absent) ;;
    *) echo "converge: $4 changed since the plan was made; nothing removed" >&2; exit 98 ;;
  esac
  rm -f -- "$3"
}
