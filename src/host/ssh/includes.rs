//! A walk over the `Include` directives of an ssh client configuration,
//! before `ssh -G` reads it.
//!
//! OpenSSH stops an `Include` loop only at its depth limit, and a loop
//! through a glob multiplies the files it reads at every level. This walk
//! finds the files `ssh` would open (same line splitting, same path rules:
//! absolute, else under `~/.ssh`, then a glob) and refuses cycles, nesting
//! deeper than OpenSSH's limit of 16, and more file reads than a real
//! configuration needs, naming the files.

use std::path::{Path, PathBuf};

/// OpenSSH's `READCONF_MAX_DEPTH`.
pub const MAX_DEPTH: usize = 16;
/// How many files (counting repeats) one configuration may read in all.
pub const MAX_READS: usize = 512;

/// Why the `Include` directives cannot be followed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IncludeError {
  #[error("the ssh config includes itself: {}; remove the `Include` that closes the loop", chain_text(.chain))]
  Cycle { chain: Vec<PathBuf> },
  #[error(
    "the ssh config nests `Include` more than {MAX_DEPTH} deep: {}; OpenSSH stops there too",
    chain_text(.chain)
  )]
  TooDeep { chain: Vec<PathBuf> },
  #[error("the ssh config reads more than {MAX_READS} files through `Include`, starting at {}", .start.display())]
  TooMany { start: PathBuf },
}

fn chain_text(chain: &[PathBuf]) -> String {
  chain.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" -> ")
}

/// Checks the `Include` tree under `config`. `home` is where relative
/// `Include` paths start (`home/.ssh/`), as for the parser. Files that cannot
/// be read are left to the parser to report.
pub fn check(config: &Path, home: &Path) -> Result<(), IncludeError> {
  let mut stack = Vec::new();
  let mut reads = 0;
  walk(config, home, &mut stack, &mut reads, config)
}

fn walk(
  file: &Path,
  home: &Path,
  stack: &mut Vec<PathBuf>,
  reads: &mut usize,
  start: &Path,
) -> Result<(), IncludeError> {
  let id = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
  if let Some(at) = stack.iter().position(|p| *p == id) {
    let mut chain = stack[at..].to_vec();
    chain.push(id);
    return Err(IncludeError::Cycle { chain });
  }
  if stack.len() > MAX_DEPTH {
    let mut chain = stack.clone();
    chain.push(id);
    return Err(IncludeError::TooDeep { chain });
  }
  *reads += 1;
  if *reads > MAX_READS {
    return Err(IncludeError::TooMany { start: start.to_owned() });
  }
  let Ok(bytes) = crate::source::read_bounded(file, crate::source::MAX_INPUT_BYTES) else { return Ok(()) };
  stack.push(id);
  for line in String::from_utf8_lossy(&bytes).lines() {
    let Some(target) = include_argument(line) else { continue };
    let pattern =
      if target.starts_with('/') { target } else { format!("{}/{target}", home.join(".ssh").display()) };
    let Ok(paths) = glob::glob(&pattern) else { continue };
    for path in paths.flatten() {
      walk(&path, home, stack, reads, start)?;
    }
  }
  stack.pop();
  Ok(())
}

/// The path of an `Include` line, split as the parser splits lines: comments
/// cut at the first `#`, the keyword ends at whitespace or `=`, a value in
/// double quotes is one argument, else the first word is.
fn include_argument(line: &str) -> Option<String> {
  let line = line.trim();
  let line = line.split('#').next().unwrap_or_default();
  let line = line.trim();
  let eq = line.find('=').unwrap_or(usize::MAX);
  let space = line.find(char::is_whitespace).unwrap_or(usize::MAX);
  let (keyword, rest) =
    if eq < space { line.split_once('=')? } else { line.split_once(char::is_whitespace)? };
  if !keyword.eq_ignore_ascii_case("include") {
    return None;
  }
  let rest = rest.trim().trim_start_matches('=').trim();
  if rest.len() >= 2 && rest.starts_with('"') && rest.ends_with('"') {
    return Some(rest[1..rest.len() - 1].to_owned());
  }
  rest.split_whitespace().next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn include_lines_split_as_the_parser_splits_them() {
    assert_eq!(include_argument("Include other"), Some("other".to_owned()));
    assert_eq!(include_argument("  include=other # note"), Some("other".to_owned()));
    assert_eq!(include_argument("INCLUDE \"a b\""), Some("a b".to_owned()));
    assert_eq!(include_argument("Include = /x/y z"), Some("/x/y".to_owned()));
    assert_eq!(include_argument("# Include other"), None);
    assert_eq!(include_argument("IncludeX other"), None);
    assert_eq!(include_argument("HostName include"), None);
  }
}
