//! The files exports are written to, per scope, and the syntax of each: which
//! exist on a host, and what a block of exports looks like in each.

use crate::check::resource::HostInfo;
use crate::host::shell::dialect::{EnvValue, EnvironmentD, Fish, Pam, Posix};

/// An export with its values rendered for one host and read into text and
/// variable references.
#[derive(Debug)]
pub(super) enum Rendered {
  Set(EnvValue),
  Prepend(Vec<EnvValue>),
  Append(Vec<EnvValue>),
}

/// The syntax of a file converge writes exports into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Syntax {
  /// sh, bash, dash and zsh.
  Posix,
  Fish,
  /// systemd environment.d: `KEY=VALUE` with `${VAR}` expansion.
  EnvironmentD,
  /// A hook read by zsh only.
  Zsh,
  /// PAM's `/etc/environment`: `KEY=VALUE`, no expansion. It is the one file
  /// `ssh host cmd` reads when the login shell is dash (or any shell that
  /// reads nothing for commands), so plain values of system exports go there.
  Pam,
}

impl Syntax {
  pub(super) fn present(self, host: &HostInfo) -> bool {
    let has = |s: &str| host.has.iter().any(|h| h == s);
    match self {
      Syntax::Posix => true,
      Syntax::Fish => has("fish"),
      Syntax::EnvironmentD => has("systemd"),
      Syntax::Zsh => has("zsh"),
      Syntax::Pam => true,
    }
  }

  /// The lines of this file for the export; values PAM cannot hold were
  /// refused before (see [`Export::read_values`]), and those it leaves out
  /// (references) give no line.
  pub(super) fn render(self, name: &str, action: &Rendered) -> String {
    match (self, action) {
      (Syntax::Posix | Syntax::Zsh, Rendered::Set(value)) => {
        format!("export {name}={}\n", Posix::word(value))
      }
      (Syntax::Posix | Syntax::Zsh, Rendered::Prepend(dirs)) => {
        dirs.iter().rev().map(|d| format!("__converge_path_prepend {name} {}\n", Posix::word(d))).collect()
      }
      (Syntax::Posix | Syntax::Zsh, Rendered::Append(dirs)) => {
        dirs.iter().map(|d| format!("__converge_path_append {name} {}\n", Posix::word(d))).collect()
      }
      (Syntax::Fish, Rendered::Set(value)) => format!("set -gx -- {name} {}\n", Fish::word(value)),
      // `contains` compares exactly (`string match` would read `*` and `?` as
      // wildcards).
      (Syntax::Fish, Rendered::Prepend(dirs)) => dirs
        .iter()
        .rev()
        .map(|d| format!("{}set -gx -- {name} $__converge_dir ${name}\n", fish_remove(name, d)))
        .collect(),
      (Syntax::Fish, Rendered::Append(dirs)) => dirs
        .iter()
        .map(|d| format!("{}set -gx -- {name} ${name} $__converge_dir\n", fish_remove(name, d)))
        .collect(),
      (Syntax::EnvironmentD, Rendered::Set(value)) => format!("{name}={}\n", EnvironmentD::quoted(value)),
      (Syntax::Pam, Rendered::Set(value)) if name != "PATH" => match Pam::value(value) {
        Ok(Some(text)) => format!("{name}={text}\n"),
        Ok(None) | Err(_) => String::new(),
      },
      (Syntax::Pam, _) => String::new(),
      (Syntax::EnvironmentD, Rendered::Prepend(dirs)) => {
        let dirs: Vec<String> = dirs.iter().map(EnvironmentD::inner).collect();
        format!("{name}=\"{}${{{name}:+:${name}}}\"\n", dirs.join(":"))
      }
      (Syntax::EnvironmentD, Rendered::Append(dirs)) => {
        let dirs: Vec<String> = dirs.iter().map(EnvironmentD::inner).collect();
        format!("{name}=\"${{{name}:+${name}:}}{}\"\n", dirs.join(":"))
      }
    }
  }
}

/// fish lines that set `$__converge_dir` to a directory and take every copy of
/// it out of the list `name`.
pub(super) fn fish_remove(name: &str, dir: &EnvValue) -> String {
  format!(
    "set -l __converge_dir {}\nwhile set -l __converge_at (contains -i -- $__converge_dir ${name})\n  set -e {name}[$__converge_at]\nend\n",
    Fish::word(dir)
  )
}

/// Files with the syntax of each.
pub(super) type Files = &'static [(&'static str, Syntax)];

/// Files holding the exports themselves; the first is the POSIX file the hooks
/// source.
pub(super) const USER_FILES: &[(&str, Syntax)] = &[
  ("~/.config/converge/env.sh", Syntax::Posix),
  ("~/.config/fish/conf.d/converge.fish", Syntax::Fish),
  ("~/.config/environment.d/60-converge.conf", Syntax::EnvironmentD),
];

/// Start-up files that source the POSIX file: login shells (`~/.profile`),
/// `ssh host cmd` and interactive bash (the top of `~/.bashrc`, above any
/// guard), and zsh in every mode (`~/.zshenv`).
pub(super) const USER_HOOKS: &[(&str, Syntax)] =
  &[("~/.profile", Syntax::Posix), ("~/.bashrc", Syntax::Posix), ("~/.zshenv", Syntax::Zsh)];

/// Hooked only when they exist: bash reads the first of these instead of
/// `~/.profile`.
pub(super) const USER_OPTIONAL_HOOKS: &[(&str, Syntax)] =
  &[("~/.bash_profile", Syntax::Posix), ("~/.bash_login", Syntax::Posix)];

///
/// Their names differ from the user files': fish and environment.d let a
/// user file mask a system file of the same name, and both sort the system
/// file first so that a user's own export still wins.
pub(super) const SYSTEM_FILES: &[(&str, Syntax)] = &[
  ("/etc/profile.d/converge.sh", Syntax::Posix),
  ("/etc/fish/conf.d/converge-system.fish", Syntax::Fish),
  ("/etc/environment.d/59-converge-system.conf", Syntax::EnvironmentD),
  ("/etc/environment", Syntax::Pam),
];

/// `/etc/profile` reads `/etc/profile.d` for login shells; these reach the rest.
pub(super) const SYSTEM_HOOKS: &[(&str, Syntax)] = &[
  ("/etc/bash.bashrc", Syntax::Posix),
  ("/etc/bashrc", Syntax::Posix),
  ("/etc/zsh/zshenv", Syntax::Zsh),
  ("/etc/zshenv", Syntax::Zsh),
];

/// Whether a hook file is the one this host's distribution reads.
pub(super) fn hook_applies(path: &str, host: &HostInfo) -> bool {
  let debian_like = host.os_family == "debian" || host.os_family == "arch";
  match path {
    "/etc/bash.bashrc" | "/etc/zsh/zshenv" => debian_like,
    "/etc/bashrc" | "/etc/zshenv" => !debian_like,
    _ => true,
  }
}

/// Functions the POSIX file uses to add a directory to a list exactly once.
pub(super) const POSIX_FUNCTIONS: &str = r#"__converge_path_remove() {
  eval "__cv=\":\${$1:-}:\""
  while :; do
    case $__cv in
      *":$2:"*) __cv="${__cv%%":$2:"*}:${__cv#*":$2:"}" ;;
      *) break ;;
    esac
  done
  __cv=${__cv#:}; __cv=${__cv%:}
  eval "$1=\$__cv"
}
__converge_path_prepend() { __converge_path_remove "$1" "$2"; eval "$1=\"\$2\${$1:+:\$$1}\""; export "$1"; }
__converge_path_append() { __converge_path_remove "$1" "$2"; eval "$1=\"\${$1:+\$$1:}\$2\""; export "$1"; }
"#;

pub(super) fn is_go_bin(dir: &str) -> bool {
  let dir = dir.trim_end_matches('/');
  dir.ends_with("/go/bin") || dir.ends_with("/gopath/bin")
}
