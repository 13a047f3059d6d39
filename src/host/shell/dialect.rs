//! The file formats one exported value is written in, one type per consumer.
//!
//! `export`, `path`, `goenv` and `proxy` put the same value into files read by
//! different programs: POSIX shells source `env.sh`, fish sources a `conf.d`
//! file, the systemd user manager reads `environment.d`, PAM reads
//! `/etc/environment`, the go command reads its go env file, and VS Code reads
//! JSON. Each reads quotes, backslashes and `$` its own way, so each dialect
//! here either writes the value so that its consumer reads exactly the declared
//! value, or refuses it with the reason ([`Refusal`]); nothing is ever written
//! that a consumer would read differently, or run.
//!
//! A declared environment value ([`EnvValue`]) is literal text and references
//! to other variables, `$NAME` or `${NAME}`, which every consumer expands. Any
//! other shell syntax (`$(...)`, backticks, `${NAME:-default}`, `$1`, a leading
//! `~`) is refused: POSIX shells would run or expand it, the other consumers
//! would not, so no file could give every consumer the same value.

use std::fmt::Write as _;

/// A part of a declared value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
  /// Text read as is.
  Text(String),
  /// A variable reference, expanded by the consumer.
  Var(String),
}

/// A declared environment value: text and `$NAME` references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvValue {
  pub pieces: Vec<Piece>,
}

/// What kind of thing a refused value holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
  /// A newline or carriage return: the value spans several lines.
  Lines,
  /// Shell syntax other than `$NAME`/`${NAME}`: `$(...)`, backticks, `${X:-y}`,
  /// a bare `$`, a leading `~`.
  Syntax,
  /// A character a consumer's file cannot hold or reads differently.
  Character,
  /// A list entry that cannot be one directory (empty, too long, with `:`).
  Entry,
}

/// Why a value cannot be written exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
  pub kind: Refused,
  /// What is wrong, for the diagnostic's message.
  pub reason: String,
  /// The offending part of the value, to point at.
  pub fragment: String,
  /// What to write instead.
  pub help: String,
}

impl Refusal {
  pub fn new(
    kind: Refused,
    reason: impl Into<String>,
    fragment: impl Into<String>,
    help: impl Into<String>,
  ) -> Refusal {
    Refusal { kind, reason: reason.into(), fragment: fragment.into(), help: help.into() }
  }
}

fn is_name_start(c: char) -> bool {
  c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
  c.is_ascii_alphanumeric() || c == '_'
}

/// A control character (newline, tab, escape, DEL, C1 controls), which the
/// consumers' files do not hold the same way: the environment.d generator
/// passes a tab on to the user manager as `\t`, for one.
fn control(value: &str) -> Option<Refusal> {
  let c = value.chars().find(|c| c.is_control())?;
  Some(if c == '\n' || c == '\r' {
    Refusal::new(
      Refused::Lines,
      "the value spans several lines",
      c.to_string(),
      "environment.d, PAM and go env files hold one line per variable: join the lines",
    )
  } else {
    Refusal::new(
      Refused::Character,
      format!("the value contains the control character U+{:04X}", u32::from(c)),
      c.to_string(),
      "remove it: control characters are read differently by shells, environment.d and PAM",
    )
  })
}

/// A Unicode noncharacter (U+FDD0 to U+FDEF, U+FFFE and U+FFFF in every
/// plane): systemd reads a value holding one as invalid UTF-8 and drops it.
fn noncharacter(value: &str) -> Option<Refusal> {
  let c = value.chars().find(|c| {
    let n = u32::from(*c);
    (0xFDD0..=0xFDEF).contains(&n) || n & 0xFFFE == 0xFFFE
  })?;
  Some(Refusal::new(
    Refused::Character,
    format!("the value contains the Unicode noncharacter U+{:04X}", u32::from(c)),
    c.to_string(),
    "remove it: the systemd user manager drops a value holding a noncharacter",
  ))
}

impl EnvValue {
  /// Reads a declared value, refusing what not every consumer would read the
  /// same way.
  pub fn parse(value: &str) -> Result<EnvValue, Refusal> {
    if let Some(refusal) = control(value).or_else(|| noncharacter(value)) {
      return Err(refusal);
    }
    if value.starts_with('~') {
      return Err(Refusal::new(
        Refused::Syntax,
        "a leading `~` is expanded by some consumers and kept by others",
        "~",
        "write `$HOME` instead of `~`",
      ));
    }
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = value;
    while let Some(c) = rest.chars().next() {
      match c {
        '`' => {
          return Err(Refusal::new(
            Refused::Syntax,
            "backticks run a command in POSIX shells",
            "`",
            "write the value itself: converge does not run commands in start-up files",
          ));
        }
        '$' => {
          let after = &rest[1..];
          let (name, used) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').unwrap_or(braced.len());
            let name = &braced[..end];
            let valid =
              name.starts_with(is_name_start) && name.chars().all(is_name_char) && end < braced.len();
            if !valid {
              let shown = &rest[..(3 + end).min(rest.len())];
              return Err(Refusal::new(
                Refused::Syntax,
                format!("`{shown}` is shell parameter expansion, which only POSIX shells understand"),
                shown,
                "refer to a variable as `$NAME` or `${NAME}`, nothing more",
              ));
            }
            (name, 2 + end + 1)
          } else {
            let end = after.find(|c: char| !is_name_char(c)).unwrap_or(after.len());
            let name = &after[..end];
            if !name.starts_with(is_name_start) {
              let shown: String = rest.chars().take(2).collect();
              let reason = if after.starts_with('(') {
                "`$(...)` is command substitution: every POSIX shell would run it at start-up".to_owned()
              } else {
                format!("`{shown}` is not a variable reference")
              };
              return Err(Refusal::new(
                Refused::Syntax,
                reason,
                shown,
                "write the value itself, or refer to a variable as `$NAME` or `${NAME}`; a literal `$` cannot be exported",
              ));
            }
            (name, 1 + end)
          };
          if name == "_" {
            return Err(Refusal::new(
              Refused::Syntax,
              "`$_` means something different in every shell",
              &rest[..used],
              "refer to a variable with a longer name",
            ));
          }
          if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
          }
          pieces.push(Piece::Var(name.to_owned()));
          rest = &rest[used..];
        }
        c => {
          text.push(c);
          rest = &rest[c.len_utf8()..];
        }
      }
    }
    if !text.is_empty() {
      pieces.push(Piece::Text(text));
    }
    Ok(EnvValue { pieces })
  }

  /// Whether the value refers to other variables.
  pub fn has_vars(&self) -> bool {
    self.pieces.iter().any(|p| matches!(p, Piece::Var(_)))
  }

  /// The value as a consumer sees it, with `lookup` giving each variable
  /// (unset variables are empty, as in every consumer).
  pub fn expand(&self, lookup: impl Fn(&str) -> Option<String>) -> String {
    self
      .pieces
      .iter()
      .map(|p| match p {
        Piece::Text(t) => t.clone(),
        Piece::Var(name) => lookup(name).unwrap_or_default(),
      })
      .collect()
  }
}

/// sh, bash, dash and zsh: a double-quoted word. `\`, `"`, `` ` `` and `$` are
/// escaped; references are written `${NAME}` (zsh would read `$NAME[1]` as a
/// subscript).
pub struct Posix;

impl Posix {
  /// The value as one double-quoted shell word.
  pub fn word(value: &EnvValue) -> String {
    let mut out = String::from("\"");
    for piece in &value.pieces {
      match piece {
        Piece::Text(t) => {
          for c in t.chars() {
            if matches!(c, '\\' | '"' | '`' | '$') {
              out.push('\\');
            }
            out.push(c);
          }
        }
        Piece::Var(name) => {
          let _ = write!(out, "${{{name}}}");
        }
      }
    }
    out.push('"');
    out
  }
}

/// fish: text in single quotes (where only `\\` and `\'` are escapes),
/// references in double quotes (`"$NAME"`; fish has no `${NAME}`), the parts
/// joined into one word.
pub struct Fish;

impl Fish {
  /// The value as one fish word.
  pub fn word(value: &EnvValue) -> String {
    if value.pieces.is_empty() {
      return "''".to_owned();
    }
    let mut out = String::new();
    for piece in &value.pieces {
      match piece {
        Piece::Text(t) => {
          out.push('\'');
          for c in t.chars() {
            if matches!(c, '\\' | '\'') {
              out.push('\\');
            }
            out.push(c);
          }
          out.push('\'');
        }
        Piece::Var(name) => {
          let _ = write!(out, "\"${name}\"");
        }
      }
    }
    out
  }
}

/// systemd environment.d (`KEY=VALUE`, read by the user manager): the value in
/// double quotes, where `\` and `"` are escaped, references as `${NAME}`. An
/// unquoted value would lose its backslashes and its outer spaces.
pub struct EnvironmentD;

impl EnvironmentD {
  /// The text after `=`: a double-quoted value.
  pub fn quoted(value: &EnvValue) -> String {
    let mut out = String::from("\"");
    out.push_str(&Self::inner(value));
    out.push('"');
    out
  }

  /// The value's text inside double quotes.
  pub fn inner(value: &EnvValue) -> String {
    let mut out = String::new();
    for piece in &value.pieces {
      match piece {
        Piece::Text(t) => {
          for c in t.chars() {
            match c {
              '\\' | '"' | '`' => {
                out.push('\\');
                out.push(c);
              }
              // systemd expands `$` even after a backslash: `$$` is its literal `$`.
              '$' => out.push_str("$$"),
              c => out.push(c),
            }
          }
        }
        Piece::Var(name) => {
          let _ = write!(out, "${{{name}}}");
        }
      }
    }
    out
  }
}

/// PAM's `/etc/environment` (`pam_env`): `KEY=VALUE`, no expansion, no
/// escapes; a `#` anywhere ends the line, quotes are stripped, a trailing `\`
/// joins the next line, and a line is at most 1024 bytes on older Linux-PAM.
pub struct Pam;

impl Pam {
  /// Longest value written, so that `NAME=VALUE` fits in Linux-PAM's 1024-byte line buffer.
  pub const MAX: usize = 900;

  /// The text after `=`; `None` when the value refers to variables (PAM's file
  /// does not expand them, so it is left out there).
  pub fn value(value: &EnvValue) -> Result<Option<String>, Refusal> {
    if value.has_vars() {
      return Ok(None);
    }
    let text = value.expand(|_| None);
    let help = "remove it, or use `scope = \"user\"`: PAM's /etc/environment has no way to write it";
    if let Some(c) = text.chars().find(|c| matches!(c, '#' | '"' | '\'')) {
      return Err(Refusal::new(
        Refused::Character,
        format!("PAM's /etc/environment cannot hold `{c}` (comments and quotes are stripped)"),
        c.to_string(),
        help,
      ));
    }
    if text.trim_end_matches([' ', '\t']).ends_with('\\') {
      return Err(Refusal::new(
        Refused::Character,
        "PAM's /etc/environment reads a trailing `\\` as a line continuation",
        "\\",
        help,
      ));
    }
    if text.len() > Self::MAX {
      return Err(Refusal::new(
        Refused::Character,
        format!(
          "the value is {} bytes; PAM's /etc/environment reads at most {} per line",
          text.len(),
          Self::MAX
        ),
        "",
        help,
      ));
    }
    Ok(Some(text))
  }
}

/// The go env file (`go env -w`): `KEY=VALUE`, raw bytes up to the end of the
/// line, no quotes, no expansion.
pub struct GoEnvFile;

impl GoEnvFile {
  /// Checks that the value fits on its line.
  pub fn check(value: &str) -> Result<(), Refusal> {
    if value.contains('\0') {
      return Err(Refusal::new(
        Refused::Character,
        "the value contains a NUL byte",
        "\0",
        "remove the NUL byte",
      ));
    }
    if let Some(c) = value.chars().find(|c| matches!(c, '\n' | '\r' | '\x0b' | '\x0c')) {
      return Err(Refusal::new(
        Refused::Lines,
        "the value contains a newline",
        c.to_string(),
        "the go env file holds one `KEY=VALUE` per line: join the lines",
      ));
    }
    Ok(())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn parse(s: &str) -> Result<EnvValue, String> {
    EnvValue::parse(s).map_err(|r| r.reason)
  }

  #[test]
  fn references_and_text() {
    let v = parse("${HOME}/go:$GOPATH/bin-$X_1").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
      v.pieces,
      vec![
        Piece::Var("HOME".into()),
        Piece::Text("/go:".into()),
        Piece::Var("GOPATH".into()),
        Piece::Text("/bin-".into()),
        Piece::Var("X_1".into()),
      ]
    );
    assert_eq!(v.expand(|n| Some(format!("<{n}>"))), "<HOME>/go:<GOPATH>/bin-<X_1>");
    assert_eq!(parse(""), Ok(EnvValue { pieces: vec![] }));
  }

  #[test]
  fn refuses_shell_syntax() {
    for bad in [
      "$(touch /tmp/x)",
      "a`id`",
      "${X:-y}",
      "${#X}",
      "${X",
      "${}",
      "$1",
      "$$",
      "$",
      "a$ b",
      "$_",
      "~/go",
      "a\nb",
      "a\rb",
      "a\0b",
      "a\u{1b}b",
      "a\tb",
      "a\u{7f}",
      "a\u{85}",
      "\u{fdd0}",
      "\u{1fffe}",
    ] {
      assert!(EnvValue::parse(bad).is_err(), "{bad:?} accepted");
    }
  }

  #[test]
  fn each_dialect_quotes_text_and_references() {
    let v = EnvValue::parse("a\\b\"c'd ${HOME}x%{{ }};|&").unwrap_or_else(|r| panic!("{}", r.reason));
    assert_eq!(Posix::word(&v), r#""a\\b\"c'd ${HOME}x%{{ }};|&""#);
    assert_eq!(Fish::word(&v), r#"'a\\b"c\'d '"$HOME"'x%{{ }};|&'"#);
    assert_eq!(EnvironmentD::quoted(&v), r#""a\\b\"c'd ${HOME}x%{{ }};|&""#);
    assert_eq!(Fish::word(&EnvValue { pieces: vec![] }), "''");
  }

  #[test]
  fn pam_writes_plain_values_only() {
    let plain = |s: &str| Pam::value(&EnvValue { pieces: vec![Piece::Text(s.into())] });
    assert_eq!(plain("less -R"), Ok(Some("less -R".into())));
    assert_eq!(Pam::value(&EnvValue { pieces: vec![Piece::Var("HOME".into())] }), Ok(None));
    for bad in ["a#b", "\"q\"", "it's", "a\\", "a\\  ", &"x".repeat(Pam::MAX + 1)] {
      assert!(plain(bad).is_err(), "{bad:?}");
    }
  }

  #[test]
  fn go_env_file_lines() {
    assert!(GoEnvFile::check("https://a,direct").is_ok());
    assert!(GoEnvFile::check("$(x) `y` \"z\"").is_ok());
    for bad in ["a\nb", "a\rb", "a\0b"] {
      assert!(GoEnvFile::check(bad).is_err(), "{bad:?}");
    }
  }
}
