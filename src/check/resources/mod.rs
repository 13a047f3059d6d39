//! The resource kinds, one file each. See [`crate::check::resource`] for the traits
//! and the registry.

pub mod agree;
pub mod assert;
pub mod command;
pub mod export;
pub mod file;
pub mod go_tool;
pub mod go_toolchain;
pub mod goenv;
pub mod managed_block;
pub mod proxy;
pub mod selinux;
pub mod sysctl;
pub mod template;
pub mod vscode;
pub mod vscode_restart;

use crate::check::resource::Validator;
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};

/// Whether a statement's block says `state = "absent"`: read before the kind
/// asks for a value that an absent resource does not need.
pub fn state_absent(stmt: &crate::syntax::ast::Stmt) -> bool {
  stmt.block.as_ref().is_some_and(|b| {
    b.stmts.iter().any(|s| {
      matches!(s.head.as_slice(), [t] if t.word() == Some("state"))
        && s.value.as_ref().and_then(|v| v.as_str()) == Some("absent")
    })
  })
}

/// Checks that a path on the host is absolute or starts at the home directory
/// (`~/`, `$HOME/`), and returns the rendered path.
pub fn host_path(v: &mut Validator, path: &Text, what: &str) -> Option<String> {
  let value = v.text(path)?;
  if value.contains('\0') {
    v.error(
      Diagnostic::new(Code::RelativePath, format!("{what} holds a NUL byte, which no path can hold"))
        .label(path.span, "NUL byte in this path")
        .help("remove the `\\u{0}` from the path"),
    );
    return None;
  }
  if value.split('/').any(|part| part == "..") {
    v.error(
      Diagnostic::new(Code::RelativePath, format!("{what} climbs with `..`: `{value}`"))
        .label(path.span, "`..` in this path")
        .help("write the path without `..`: converge writes exactly the path it is given, and a path that climbs could leave the home or the tree it is meant for"),
    );
    return None;
  }
  if value.starts_with('/')
    || value == "~"
    || value.starts_with("~/")
    || value.starts_with("$HOME/")
    || value == "$HOME"
  {
    return Some(value);
  }
  v.error(
    Diagnostic::new(Code::RelativePath, format!("{what} must be an absolute path, not `{value}`"))
      .label(path.span, "relative path")
      .help(format!("did you mean `/{value}` or `~/{value}`? paths on hosts start at `/`, `~/` or `$HOME/`")),
  );
  None
}

/// Where a path written in a playbook (`binary`, a local `source`) is on the
/// controller: relative paths are read from the playbook's directory.
pub fn controller_path(v: &Validator, text: &Text, value: &str) -> std::path::PathBuf {
  let base = v.sources.get(text.span.file).and_then(|f| f.path.parent()).unwrap_or(std::path::Path::new(""));
  base.join(value)
}

#[cfg(test)]
mod book_tests;
