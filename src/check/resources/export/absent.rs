//! `state = "absent"`: an export or PATH entries taken out of the files the
//! consumers read, whoever wrote them.
//!
//! `export NAME { state = "absent" }` removes converge's block for `NAME` and
//! every line outside converge's blocks that is a plain assignment of `NAME`
//! (`export NAME=...`, `NAME=...`, fish `set -gx NAME ...`). `path append
//! ["DIR"] { state = "absent" }` removes every line outside converge's blocks
//! that only adds `DIR` to PATH (`export PATH="$PATH:DIR"`,
//! `PATH=DIR:$PATH`, fish `set -gx PATH $PATH DIR`, `fish_add_path DIR`).
//! Other lines are kept byte for byte; a line that does more than that (two
//! assignments, a condition) is left alone.

use crate::check::reader::{Cx, Options};
use crate::check::resource::Planning;
use crate::diagnostic::{Code, Diagnostic};
use crate::plan::block_merge::{self, Place};
use crate::plan::change::{Change, HostState, write_if_changed};
use crate::syntax::ast::Stmt;

use super::Scope;
use super::files::{SYSTEM_FILES, SYSTEM_HOOKS, USER_FILES, USER_HOOKS, USER_OPTIONAL_HOOKS};
use super::plan::{Desired, Operation};

/// Whether the statement's block says `state = "absent"` (read before the
/// statement's value is required).
pub(super) fn asked(stmt: &Stmt) -> bool {
  super::super::state_absent(stmt)
}

/// `state`: `true` for `"absent"`.
pub(super) fn read(options: &Options, cx: &mut Cx) -> bool {
  options.choice(cx, "state", &["present", "absent"]).is_some_and(|s| s.value == "absent")
}

impl Desired {
  /// The changes that take the variable or the entries out of every file a
  /// consumer reads.
  pub(super) fn plan_absent(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    let (name, host) = (&self.name, p.host);
    let dirs: Vec<String> = self.texts.iter().flat_map(|dir| [dir.clone(), host.expand_value(dir)]).collect();
    let files: Vec<&str> = match self.scope {
      Scope::User => {
        USER_FILES.iter().chain(USER_HOOKS).chain(USER_OPTIONAL_HOOKS).map(|(p, _)| *p).collect()
      }
      Scope::System => SYSTEM_FILES.iter().chain(SYSTEM_HOOKS).map(|(p, _)| *p).collect(),
    };
    let mut changes = Vec::new();
    for path in files {
      let path = host.expand(path);
      let Some(file) = state.file(&path) else { continue };
      let mut data = file.data.to_vec();
      if self.operation == Operation::Set {
        match block_merge::try_merge(&data, "#", &self.marker, "", Place::Bottom) {
          Ok(merged) => data = merged,
          Err(e) => {
            p.error(
              Diagnostic::new(Code::BlockDamaged, format!("cannot take the block out of `{path}`: {e}"))
                .label(self.name_span, "removed by this resource")
                .help(e.help()),
            );
            return Vec::new();
          }
        }
      }
      let data = strip_lines(&data, |line| match self.operation {
        Operation::Set => assigns(line, name),
        Operation::Prepend | Operation::Append => dirs.iter().any(|d| adds_entry(line, name, d)),
      });
      if data[..] != file.data[..] {
        changes.extend(write_if_changed(state, &path, data, None, None, host.is_system(&path)));
      }
    }
    changes
  }
}

/// The file without the lines outside converge's blocks that `matches`.
fn strip_lines(data: &[u8], matches: impl Fn(&str) -> bool) -> Vec<u8> {
  let mut out = Vec::with_capacity(data.len());
  let mut inside = false;
  for line in data.split_inclusive(|b| *b == b'\n') {
    let text = String::from_utf8_lossy(line);
    let trimmed = text.trim();
    if trimmed.starts_with("# BEGIN converge: ") {
      inside = true;
    } else if trimmed.starts_with("# END converge: ") {
      inside = false;
    } else if !inside && matches(trimmed) {
      continue;
    }
    out.extend_from_slice(line);
  }
  out
}

/// Whether a line is only an assignment of `name`: `export NAME=...`,
/// `NAME=...`, `set -gx NAME ...` (fish). A line with `;`, `&&` or `|` does
/// more and is kept.
fn assigns(line: &str, name: &str) -> bool {
  if line.contains(';') || line.contains("&&") || line.contains('|') {
    return false;
  }
  let posix = line.strip_prefix("export ").unwrap_or(line).trim_start();
  if posix.strip_prefix(name).is_some_and(|rest| rest.starts_with('=')) {
    return true;
  }
  let fish = ["set -gx ", "set -x ", "set -Ux ", "set -gx -- ", "set -x -- "];
  fish.iter().any(|p| line.strip_prefix(p).is_some_and(|rest| rest.split_whitespace().next() == Some(name)))
}

/// Whether a line only adds `dir` to the list `name`, first or last.
fn adds_entry(line: &str, name: &str, dir: &str) -> bool {
  let unquoted: String = line.chars().filter(|c| *c != '"' && *c != '\'').collect();
  let line = unquoted.trim();
  let line = line.strip_prefix("export ").unwrap_or(line).trim();
  let var = [format!("${name}"), format!("${{{name}}}")];
  for v in &var {
    for value in [format!("{v}:{dir}"), format!("{dir}:{v}")] {
      if line == format!("{name}={value}") {
        return true;
      }
    }
    for fish in ["set -gx", "set -x", "set -gx --", "set -x --"] {
      if line == format!("{fish} {name} {v} {dir}") || line == format!("{fish} {name} {dir} {v}") {
        return true;
      }
    }
  }
  name == "PATH"
    && ["fish_add_path", "fish_add_path -a", "fish_add_path --append", "fish_add_path -g"]
      .iter()
      .any(|f| line == format!("{f} {dir}"))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn only_lines_that_just_add_the_entry_go() {
    let data = b"# mine\nexport PATH=\"$PATH:/opt/old/bin\"\nPATH=/opt/old/bin:$PATH\nexport PATH=\"$PATH:/opt/keep\"\n[ -d /opt/old/bin ] && PATH=$PATH:/opt/old/bin\n";
    let out = strip_lines(data, |l| adds_entry(l, "PATH", "/opt/old/bin"));
    assert_eq!(
      String::from_utf8_lossy(&out),
      "# mine\nexport PATH=\"$PATH:/opt/keep\"\n[ -d /opt/old/bin ] && PATH=$PATH:/opt/old/bin\n"
    );
  }

  #[test]
  fn only_plain_assignments_of_the_variable_go() {
    let data = b"export EDITOR=vi\nEDITOR2=x\nset -gx EDITOR vim\nexport EDITOR=vi; export PAGER=less\n# BEGIN converge: other\nexport EDITOR=kept\n# END converge: other\n";
    let out = strip_lines(data, |l| assigns(l, "EDITOR"));
    assert_eq!(
      String::from_utf8_lossy(&out),
      "EDITOR2=x\nexport EDITOR=vi; export PAGER=less\n# BEGIN converge: other\nexport EDITOR=kept\n# END converge: other\n"
    );
  }
}
