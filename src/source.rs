//! Source files and byte spans into them.
//!
//! Every AST node and every diagnostic points into a [`Sources`] table by a
//! [`Span`] (file id plus byte range), so that errors found late, in the
//! resolver or the planner, can still be shown with the file name, line, column
//! and the exact text they are about.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Index of a file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
  pub file: FileId,
  pub start: usize,
  pub end: usize,
}

impl Span {
  pub fn new(file: FileId, start: usize, end: usize) -> Self {
    Self { file, start, end: end.max(start) }
  }

  /// The smallest span covering both.
  pub fn to(self, other: Span) -> Span {
    Span::new(self.file, self.start.min(other.start), self.end.max(other.end))
  }

  pub fn len(self) -> usize {
    self.end - self.start
  }

  pub fn is_empty(self) -> bool {
    self.start == self.end
  }

  /// A sub-span, from `from` to `to` bytes after this span's start, clamped to it.
  pub fn slice(self, from: usize, to: usize) -> Span {
    let start = (self.start + from).min(self.end);
    let end = (self.start + to).min(self.end).max(start);
    Span::new(self.file, start, end)
  }
}

/// One loaded file: its name as shown to the user and its text.
#[derive(Clone, Debug)]
pub struct Source {
  pub name: String,
  pub path: PathBuf,
  pub text: Arc<str>,
}

/// Every file read during one run.
#[derive(Clone, Debug, Default)]
pub struct Sources {
  files: Vec<Source>,
}

impl Sources {
  pub fn new() -> Self {
    Self::default()
  }

  pub fn add(&mut self, path: &Path, text: impl Into<Arc<str>>) -> FileId {
    let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
    self.files.push(Source { name: display_name(path), path: path.to_path_buf(), text: text.into() });
    id
  }

  /// Every file read, in the order read.
  pub fn iter(&self) -> impl Iterator<Item = &Source> {
    self.files.iter()
  }

  pub fn get(&self, id: FileId) -> Option<&Source> {
    self.files.get(id.0 as usize)
  }

  pub fn text(&self, id: FileId) -> &str {
    self.get(id).map_or("", |s| &s.text)
  }

  pub fn name(&self, id: FileId) -> &str {
    self.get(id).map_or("<unknown>", |s| &s.name)
  }

  /// The text a span covers ("" if it is out of range).
  pub fn snippet(&self, span: Span) -> &str {
    self.text(span.file).get(span.start..span.end).unwrap_or("")
  }

  /// 1-based line and column (in characters) of a byte offset.
  pub fn line_col(&self, file: FileId, offset: usize) -> (usize, usize) {
    line_col(self.text(file), offset)
  }
}

/// 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
  let offset = offset.min(text.len());
  let mut offset = offset;
  while !text.is_char_boundary(offset) {
    offset -= 1;
  }
  let before = &text[..offset];
  let line = before.matches('\n').count() + 1;
  let line_start = before.rfind('\n').map_or(0, |i| i + 1);
  let col = before[line_start..].chars().count() + 1;
  (line, col)
}

fn display_name(path: &Path) -> String {
  let cwd = std::env::current_dir().ok();
  let shown = cwd.as_deref().and_then(|cwd| path.strip_prefix(cwd).ok()).unwrap_or(path);
  let shown = shown.strip_prefix(".").unwrap_or(shown);
  shown.display().to_string()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn line_col_counts_characters_not_bytes() {
    let text = "ab\né x\n";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, 3), (2, 1));
    assert_eq!(line_col(text, 6), (2, 3));
    assert_eq!(line_col(text, 999), (3, 1));
  }
}
