//! `export NAME = "value"`, `export NAME prepend [...]` / `append [...]`, and the
//! shorthand `path prepend [...]` for `PATH`: environment variables that every
//! consumer must see (login and non-login shells, zsh, fish, the systemd user
//! manager, the VS Code server).

use crate::check::reader::{Cx, Reader, text_of};
use crate::check::resource::{HostInfo, Kind, KindDoc, QueryScope, Spec, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::host::facts::Request;
use crate::host::shell::dialect::{EnvValue, EnvironmentD, Fish, Pam, Posix, Refusal, Refused};
use crate::plan::block_merge::{self, Place};
use crate::plan::change::{Change, HostState, write_if_changed};
use crate::plan::expect::Expect;
use crate::source::Span;
use crate::syntax::ast::{Term, Value, ValueKind};

pub struct ExportKind;
pub struct PathKind;

/// Whose environment an export goes into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
  /// The connecting user's files (`~/.profile`, `~/.zshenv`, ...).
  User,
  /// System-wide files (`/etc/profile.d`, `/etc/zsh/zshenv`, ...).
  System,
}

/// What an export does to its variable.
#[derive(Debug)]
pub enum Action {
  Set(Text),
  Prepend(Vec<Text>),
  Append(Vec<Text>),
}

#[derive(Debug)]
pub struct Export {
  pub name: Text,
  pub action: Action,
  pub scope: Scope,
  /// Its number among the `prepend`/`append` resources of the same variable.
  pub ordinal: usize,
}

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["scope"];

impl Kind for ExportKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["export"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc {
      summary: "an environment variable, or entries added to a PATH-like list",
      attributes: ATTRIBUTES,
    }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let name = match r.next_term() {
      Some(Term::Value(Value { kind: ValueKind::Word(w), span })) => Text::new(w.clone(), *span),
      Some(Term::Value(v @ Value { kind: ValueKind::Str(_), .. })) => text_of(v, cx, "a variable name")?,
      Some(other) => {
        cx.error(
          Diagnostic::new(Code::ExportName, "`export` needs a variable name")
            .label(other.span(), "expected a name such as `GOPATH`"),
        );
        return None;
      }
      None => {
        cx.error(
          Diagnostic::new(Code::ExportName, "`export` needs a variable name")
            .label(r.stmt().head_span(), "name expected after this")
            .help("for example `export GOPATH = \"$HOME/go\"`"),
        );
        return None;
      }
    };
    check_name(&name, cx)?;
    let action = match r.peek_word() {
      Some("prepend") | Some("append") => {
        let prepend = r.peek_word() == Some("prepend");
        r.next_term();
        let entries = read_entries(r, cx)?;
        r.no_value(cx)?;
        if prepend { Action::Prepend(entries) } else { Action::Append(entries) }
      }
      _ => {
        r.finish(cx)?;
        let Some(value) = &r.stmt().value else {
          cx.error(
            Diagnostic::new(Code::ExportWithoutValue, format!("`export {}` has no value", name.value))
              .label(name.span, "exported without a value")
              .help(format!(
                "did you mean `export {} = \"...\"`? converge writes the value; it cannot export a variable that has none",
                name.value
              )),
          );
          return None;
        };
        if name.value == "PATH" {
          cx.error(
            Diagnostic::new(Code::Shape, "setting `PATH` outright would drop the entries every host needs")
              .label(value.span, "replaces the whole PATH")
              .help("did you mean `path prepend [...]`?"),
          );
          return None;
        }
        let text = match &value.kind {
          ValueKind::Int(i) => Text::new(i.value.to_string(), value.span),
          _ => text_of(value, cx, &format!("the value of `{}`", name.value))?,
        };
        if crate::go::env::is_go_variable(&name.value) {
          cx.error(
            Diagnostic::new(Code::GoExportOverrides, format!("exporting `{}` in shell files overrides `go env -w`", name.value))
              .label(name.span, "a shell export wins over the go env file")
              .help(format!(
                "did you mean `goenv {{ {} = ... }}`? every go process reads the go env file, whatever started it",
                name.value
              )),
          );
        }
        Action::Set(text)
      }
    };
    let options = r.options(cx, ATTRIBUTES);
    let scope = read_scope(&options, cx);
    Some(Box::new(Export { name, action, scope, ordinal: 1 }))
  }
}

impl Kind for PathKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["path"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc {
      summary: "directories added to PATH, first (`prepend`) or last (`append`)",
      attributes: ATTRIBUTES,
    }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let prepend = match r.peek_word() {
      Some("prepend") => true,
      Some("append") => false,
      _ => {
        let span = r.peek().map_or(r.stmt().head_span(), Term::span);
        cx.error(
          Diagnostic::new(Code::Shape, "`path` is followed by `prepend` or `append`")
            .label(span, "expected `prepend` or `append`")
            .help("for example `path prepend [\"/usr/local/go/bin\", \"$HOME/go/bin\"]`"),
        );
        return None;
      }
    };
    r.next_term();
    let entries = read_entries(r, cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, ATTRIBUTES);
    let scope = read_scope(&options, cx);
    let name = Text::new("PATH", r.stmt().head_span().slice(0, 4));
    let action = if prepend { Action::Prepend(entries) } else { Action::Append(entries) };
    Some(Box::new(Export { name, action, scope, ordinal: 1 }))
  }
}

fn read_scope(options: &crate::check::reader::Options, cx: &mut Cx) -> Scope {
  match options.choice(cx, "scope", &["user", "system"]) {
    Some(s) if s.value == "system" => Scope::System,
    _ => Scope::User,
  }
}

fn read_entries(r: &mut Reader, cx: &mut Cx) -> Option<Vec<Text>> {
  let entries = match r.next_term() {
    Some(Term::Value(Value { kind: ValueKind::List(items), .. })) => {
      let mut out = Vec::new();
      for item in items {
        out.push(text_of(item, cx, "a PATH entry")?);
      }
      out
    }
    Some(Term::Value(v @ Value { kind: ValueKind::Str(_), .. })) => vec![text_of(v, cx, "a PATH entry")?],
    other => {
      let span = other.map_or(r.stmt().head_span(), Term::span);
      cx.error(
        Diagnostic::new(Code::WrongType, "expected a list of directories")
          .label(span, "expected `[\"/dir\", ...]`")
          .help("for example `path prepend [\"/usr/local/go/bin\"]`"),
      );
      return None;
    }
  };
  r.finish(cx)?;
  for entry in &entries {
    if entry.value.contains(':') && !entry.is_template() {
      cx.error(
        Diagnostic::new(Code::WrongType, "a PATH entry cannot contain `:`")
          .label(entry.span, "several entries in one string")
          .help("give each directory as its own list item"),
      );
      return None;
    }
  }
  Some(entries)
}

fn check_name(name: &Text, cx: &mut Cx) -> Option<()> {
  let n = &name.value;
  let valid = n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
    && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
  if valid {
    return Some(());
  }
  let fixed: String =
    n.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
  cx.error(
    Diagnostic::new(Code::ExportName, format!("`{n}` cannot be an environment variable name"))
      .label(name.span, "letters, digits and `_` only, not starting with a digit")
      .help(format!("did you mean `{fixed}`?")),
  );
  None
}

/// An export with its values rendered for one host and read into text and
/// variable references.
enum Rendered {
  Set(EnvValue),
  Prepend(Vec<EnvValue>),
  Append(Vec<EnvValue>),
}

/// The syntax of a file converge writes exports into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Syntax {
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
  fn present(self, host: &HostInfo) -> bool {
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
  fn render(self, name: &str, action: &Rendered) -> String {
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
fn fish_remove(name: &str, dir: &EnvValue) -> String {
  format!(
    "set -l __converge_dir {}\nwhile set -l __converge_at (contains -i -- $__converge_dir ${name})\n  set -e {name}[$__converge_at]\nend\n",
    Fish::word(dir)
  )
}

/// Files with the syntax of each.
type Files = &'static [(&'static str, Syntax)];

/// Files holding the exports themselves; the first is the POSIX file the hooks
/// source.
const USER_FILES: &[(&str, Syntax)] = &[
  ("~/.config/converge/env.sh", Syntax::Posix),
  ("~/.config/fish/conf.d/converge.fish", Syntax::Fish),
  ("~/.config/environment.d/60-converge.conf", Syntax::EnvironmentD),
];

/// Start-up files that source the POSIX file: login shells (`~/.profile`),
/// `ssh host cmd` and interactive bash (the top of `~/.bashrc`, above any
/// guard), and zsh in every mode (`~/.zshenv`).
const USER_HOOKS: &[(&str, Syntax)] =
  &[("~/.profile", Syntax::Posix), ("~/.bashrc", Syntax::Posix), ("~/.zshenv", Syntax::Zsh)];

/// Hooked only when they exist: bash reads the first of these instead of
/// `~/.profile`.
const USER_OPTIONAL_HOOKS: &[(&str, Syntax)] =
  &[("~/.bash_profile", Syntax::Posix), ("~/.bash_login", Syntax::Posix)];

///
/// Their names differ from the user files': fish and environment.d let a
/// user file mask a system file of the same name, and both sort the system
/// file first so that a user's own export still wins.
const SYSTEM_FILES: &[(&str, Syntax)] = &[
  ("/etc/profile.d/converge.sh", Syntax::Posix),
  ("/etc/fish/conf.d/converge-system.fish", Syntax::Fish),
  ("/etc/environment.d/59-converge-system.conf", Syntax::EnvironmentD),
  ("/etc/environment", Syntax::Pam),
];

/// `/etc/profile` reads `/etc/profile.d` for login shells; these reach the rest.
const SYSTEM_HOOKS: &[(&str, Syntax)] = &[
  ("/etc/bash.bashrc", Syntax::Posix),
  ("/etc/bashrc", Syntax::Posix),
  ("/etc/zsh/zshenv", Syntax::Zsh),
  ("/etc/zshenv", Syntax::Zsh),
];

/// Whether a hook file is the one this host's distribution reads.
fn hook_applies(path: &str, host: &HostInfo) -> bool {
  let debian_like = host.os_family == "debian" || host.os_family == "arch";
  match path {
    "/etc/bash.bashrc" | "/etc/zsh/zshenv" => debian_like,
    "/etc/bashrc" | "/etc/zshenv" => !debian_like,
    _ => true,
  }
}

/// Functions the POSIX file uses to add a directory to a list exactly once.
const POSIX_FUNCTIONS: &str = r#"__converge_path_remove() {
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

fn is_go_bin(dir: &str) -> bool {
  let dir = dir.trim_end_matches('/');
  dir.ends_with("/go/bin") || dir.ends_with("/gopath/bin")
}

impl Export {
  fn entries(&self) -> &[Text] {
    match &self.action {
      Action::Set(_) => &[],
      Action::Prepend(e) | Action::Append(e) => e,
    }
  }

  pub fn span(&self) -> Span {
    self.name.span
  }

  /// Renders the values for the host and reads them into text and references,
  /// refusing (with a diagnostic pointing into the value) what some consumer
  /// would run, expand or read differently. Returns each rendered text (`None`
  /// when not known yet), and the values ready to write (`None` when one is
  /// refused or not known yet).
  fn read_values(&self, v: &mut Validator) -> (Vec<Option<String>>, Option<Rendered>) {
    let texts: Vec<&Text> = match &self.action {
      Action::Set(t) => vec![t],
      Action::Prepend(e) | Action::Append(e) => e.iter().collect(),
    };
    let mut values = Vec::new();
    let mut texts_out = Vec::new();
    let mut refused = false;
    for t in texts {
      let rendered = v.text(t);
      texts_out.push(rendered.clone());
      let Some(rendered) = rendered else {
        refused = true;
        continue;
      };
      let list = !matches!(self.action, Action::Set(_));
      let parsed = EnvValue::parse(&rendered).and_then(|value| {
        if list && rendered.is_empty() {
          return Err(Refusal::new(
            Refused::Entry,
            "an empty entry means the working directory to the shells",
            "",
            "remove the empty entry",
          ));
        }
        if list && rendered.len() > 4096 {
          return Err(Refusal::new(
            Refused::Entry,
            format!("the entry is {} bytes, longer than any directory path (4096)", rendered.len()),
            "",
            "give the directory's path",
          ));
        }
        if list && rendered.contains(':') {
          return Err(Refusal::new(
            Refused::Entry,
            format!("the entry `{rendered}` contains `:`, which separates entries"),
            ":",
            "give each directory as its own list item",
          ));
        }
        if !list
          && self.scope == Scope::System
          && let Err(r) = Pam::value(&value)
        {
          return Err(r);
        }
        Ok(value)
      });
      match parsed {
        Ok(value) => values.push(value),
        Err(r) => {
          refused = true;
          v.error(refusal(v, &self.name.value, t, &r));
        }
      }
    }
    if refused {
      return (texts_out, None);
    }
    let rendered = match &self.action {
      Action::Set(_) => match values.pop() {
        Some(value) => Rendered::Set(value),
        None => return (texts_out, None),
      },
      Action::Prepend(_) => Rendered::Prepend(values),
      Action::Append(_) => Rendered::Append(values),
    };
    (texts_out, Some(rendered))
  }
}

/// The diagnostic for a value refused by a dialect, pointing at the offending
/// part when it can be found in the literal.
fn refusal(v: &Validator, name: &str, t: &Text, r: &Refusal) -> Diagnostic {
  let literal = v.sources.snippet(t.span);
  let at = match literal.find(r.fragment.as_str()) {
    Some(i) if !r.fragment.is_empty() && !t.is_template() => t.span.slice(i, i + r.fragment.len()),
    _ => t.span,
  };
  // Several lines were always `E203` (as a `:` in a literal entry is).
  let code = if r.kind == Refused::Lines { Code::WrongType } else { Code::ExportValue };
  let shown: String = t.value.chars().take(60).collect();
  let label = if t.is_template() {
    format!("renders to a refused value for host `{}`", v.host)
  } else {
    r.reason.clone()
  };
  let message = if t.is_template() {
    format!("`{name}` on host `{}`: {} (rendered from `{shown}`)", v.host, r.reason)
  } else {
    format!("`{name}` cannot be exported as written: {}", r.reason)
  };
  Diagnostic::new(code, message).label(at, label).help(r.help.clone())
}

impl Export {
  /// The name of its blocks: `export NAME`, or for entries the stem and its
  /// number (`PATH prepend`, `PATH prepend #2`), which stay when the entries
  /// are edited.
  fn block_name(&self) -> String {
    match (self.key_stem(), self.ordinal) {
      (None, _) => self.id(),
      (Some(stem), 0 | 1) => stem,
      (Some(stem), n) => format!("{stem} #{n}"),
    }
  }

  /// Whether a block in a file is one that an older converge wrote for this
  /// kind of entries, named after the entries themselves (`PATH prepend
  /// /usr/local/go/bin $HOME/go/bin`): the current block replaces it.
  fn is_legacy_block(&self, name: &str) -> bool {
    let Some(stem) = self.key_stem() else { return false };
    name
      .strip_prefix(&stem)
      .and_then(|rest| rest.strip_prefix(' '))
      .is_some_and(|rest| !rest.starts_with('#'))
  }
}

impl Spec for Export {
  fn id(&self) -> String {
    let entries: Vec<&str> = self.entries().iter().map(|t| t.value.as_str()).collect();
    match &self.action {
      Action::Set(_) => format!("export {}", self.name.value),
      Action::Prepend(_) => format!("{} prepend {}", self.name.value, entries.join(" ")),
      Action::Append(_) => format!("{} append {}", self.name.value, entries.join(" ")),
    }
  }

  fn key_stem(&self) -> Option<String> {
    match &self.action {
      Action::Set(_) => None,
      Action::Prepend(_) => Some(format!("{} prepend", self.name.value)),
      Action::Append(_) => Some(format!("{} append", self.name.value)),
    }
  }

  fn set_ordinal(&mut self, ordinal: usize) {
    self.ordinal = ordinal;
  }

  fn claims(&self) -> Vec<Text> {
    match &self.action {
      Action::Set(_) => vec![Text::new(format!("export {}", self.name.value), self.name.span)],
      Action::Prepend(e) | Action::Append(e) => {
        e.iter().map(|t| Text::new(format!("{} entry {}", self.name.value, t.value), t.span)).collect()
      }
    }
  }

  fn requests(&self, _v: &mut QueryScope) -> Vec<Request> {
    let files = match self.scope {
      Scope::User => {
        USER_FILES.iter().chain(USER_HOOKS).chain(USER_OPTIONAL_HOOKS).map(|(p, _)| *p).collect::<Vec<_>>()
      }
      Scope::System => SYSTEM_FILES.iter().chain(SYSTEM_HOOKS).map(|(p, _)| *p).collect(),
    };
    files.into_iter().map(|p| Request::File(p.to_owned())).collect()
  }

  fn expects(&self, v: &mut Validator, host: &HostInfo) -> Vec<Expect> {
    let name = &self.name.value;
    match &self.action {
      Action::Set(t) => v
        .text(t)
        .map(|value| Expect::Env { name: name.clone(), value: host.expand_value(&value) })
        .into_iter()
        .collect(),
      Action::Prepend(entries) | Action::Append(entries) if name == "PATH" => entries
        .iter()
        .filter_map(|e| v.text(e))
        .map(|d| Expect::PathEntry {
          dir: host.expand_value(&d),
          before_system: matches!(self.action, Action::Prepend(_)),
        })
        .collect(),
      Action::Prepend(_) | Action::Append(_) => Vec::new(),
    }
  }

  fn plan(&self, v: &mut Validator, host: &HostInfo, state: &HostState) -> Vec<Change> {
    let Some(action) = self.read_values(v).1 else { return Vec::new() };
    let name = &self.name.value;
    let marker = self.block_name();
    // (file, block name, block content, where a new block goes), in order.
    let mut blocks: Vec<(String, String, String, Place)> = Vec::new();
    let (env_files, hooks, optional): (Files, Files, Files) = match self.scope {
      Scope::User => (USER_FILES, USER_HOOKS, USER_OPTIONAL_HOOKS),
      Scope::System => (SYSTEM_FILES, SYSTEM_HOOKS, &[]),
    };
    for (path, syntax) in env_files {
      if !syntax.present(host) {
        continue;
      }
      let path = host.expand(path);
      let content = syntax.render(name, &action);
      if content.is_empty() {
        continue;
      }
      if *syntax == Syntax::Posix {
        blocks.push((path.clone(), "functions".to_owned(), POSIX_FUNCTIONS.to_owned(), Place::Top));
      }
      blocks.push((path, marker.clone(), content, Place::Bottom));
    }
    let env_sh = host.expand(env_files[0].0);
    for (path, syntax) in hooks.iter().chain(optional) {
      let expanded = host.expand(path);
      let optional_hook = optional.iter().any(|(p, _)| p == path);
      if (optional_hook && state.file(&expanded).is_none())
        || !syntax.present(host)
        || !hook_applies(path, host)
      {
        continue;
      }
      let place = if path.ends_with("bashrc") { Place::Top } else { Place::Bottom };
      let source =
        if self.scope == Scope::User { "$HOME/.config/converge/env.sh".to_owned() } else { env_sh.clone() };
      let hook = format!("if [ -r \"{source}\" ]; then . \"{source}\"; fi\n");
      blocks.push((expanded, "env".to_owned(), hook, place));
    }
    // Merge every block of a file into its bytes, then one write per file.
    let mut files: indexmap::IndexMap<String, Vec<u8>> = indexmap::IndexMap::new();
    for (path, block, content, place) in blocks {
      let data = files
        .entry(path.clone())
        .or_insert_with(|| state.file(&path).map(|f| f.data.clone()).unwrap_or_default());
      // Blocks an older converge named after the entries go when this one is written.
      let legacy: Vec<String> = if block == marker {
        block_merge::names(data, "#").into_iter().filter(|n| self.is_legacy_block(n)).collect()
      } else {
        Vec::new()
      };
      let merged = legacy
        .iter()
        .try_fold(std::mem::take(data), |bytes, old| block_merge::try_merge(&bytes, "#", old, "", place))
        .and_then(|bytes| block_merge::try_merge(&bytes, "#", &block, &content, place));
      match merged {
        Ok(merged) => *data = merged,
        Err(e) => {
          // A block whose markers a person damaged: nothing is written to any
          // file of this resource, and no user line is lost.
          v.error(
            Diagnostic::new(Code::BlockDamaged, format!("cannot write the block into `{path}`: {e}"))
              .label(self.name.span, "written by this resource")
              .help(e.help()),
          );
          return Vec::new();
        }
      }
    }
    files
      .into_iter()
      .filter_map(|(path, data)| {
        let system = host.is_system(&path);
        write_if_changed(state, &path, data, None, None, system)
      })
      .collect()
  }

  fn validate(&self, v: &mut Validator) {
    // Values known at check time are refused here; those that need facts are
    // refused when planned.
    let (rendered, _) = self.read_values(v);
    match &self.action {
      Action::Set(_) => {}
      Action::Prepend(entries) | Action::Append(entries) => {
        let append = matches!(self.action, Action::Append(_));
        for (entry, dir) in entries.iter().zip(rendered) {
          let Some(dir) = dir else { continue };
          if append && self.name.value == "PATH" && is_go_bin(&dir) {
            v.error(
              Diagnostic::new(
                Code::PathAppendGo,
                format!("appending `{dir}` lets an earlier `go` on PATH win"),
              )
              .label(entry.span, "appended")
              .help("a distro `/usr/bin/go` would shadow it; use `path prepend` for Go's bin directories"),
            );
          }
        }
      }
    }
  }
}
