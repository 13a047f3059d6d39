//! `export NAME = "value"`, `export NAME prepend [...]` / `append [...]`, and the
//! shorthand `path prepend [...]` for `PATH`: environment variables that every
//! consumer must see (login and non-login shells, zsh, fish, the systemd user
//! manager, the VS Code server).
//!
//! Reading the statements is here; `files` holds the files exports are
//! written to and their syntaxes, `plan` renders and plans them.

use crate::check::reader::{Cx, Reader, text_of};
use crate::check::resource::{Kind, KindDoc, Spec};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
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
  /// `state = "absent"`: the variable or the entries are taken out of the
  /// consumers' files ([`absent`]).
  pub absent: bool,
}

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["scope", "state"];

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
      _ if r.stmt().value.is_none() && absent::asked(r.stmt()) => {
        // `export NAME { state = "absent" }`: no value to write.
        r.finish(cx)?;
        Action::Set(Text::new(String::new(), name.span))
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
        // Only what `go env -w` can write has a better place than an export:
        // GODEBUG and GOENV are read from the process environment only, and
        // computed or read-only names (GOROOT, GOVERSION) refuse `go env -w`.
        // GOOS and GOARCH belong in neither (W505, when the value is known).
        if crate::go::env::is_go_variable(&name.value)
          && name.value != "GOOS"
          && name.value != "GOARCH"
          && matches!(
            crate::go::env::check_write(&name.value, ""),
            Ok(()) | Err(crate::go::env::GoEnvError::InvalidValue { .. })
          )
        {
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
    let absent = absent::read(&options, cx);
    Some(Box::new(Export { name, action, scope, ordinal: 1, absent }))
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
    let absent = absent::read(&options, cx);
    Some(Box::new(Export { name, action, scope, ordinal: 1, absent }))
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

mod absent;
mod files;
mod plan;
