//! Source files and byte spans into them.
//!
//! Every AST node and every diagnostic points into a [`Sources`] table by a
//! [`Span`] (file id plus byte range), so that errors found late, in the
//! resolver or the planner, can still be shown with the file name, line, column
//! and the exact text they are about.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The most bytes converge reads from a playbook, an inventory, an ssh client
/// configuration, a known_hosts file or a saved plan: 16 MiB. Such files are
/// written by people and are a few kilobytes; more is a mistake (`/dev/zero`,
/// a log file), which would otherwise be read until memory runs out.
pub const MAX_INPUT_BYTES: u64 = 16 << 20;

/// The most bytes converge reads from a file on the controller that it sends to
/// hosts (`source =` of `file` and `template`, a prebuilt `binary`): 128 MiB.
pub const MAX_CONTROLLER_FILE_BYTES: u64 = 128 << 20;

/// Why a file named by the user could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
  #[error("{}", io_words(.0))]
  Io(#[from] std::io::Error),
  /// A FIFO, device, socket or directory: converge reads regular files only,
  /// since reading the others may block forever or never end.
  #[error("it is {kind}, not a regular file")]
  NotRegular { kind: &'static str },
  #[error("it is larger than {} MiB (the limit for such files)", limit >> 20)]
  TooLarge { limit: u64 },
  #[error("it is not UTF-8 text")]
  NotUtf8,
}

impl From<ReadError> for std::io::Error {
  fn from(e: ReadError) -> std::io::Error {
    match e {
      ReadError::Io(e) => e,
      other => std::io::Error::other(other.to_string()),
    }
  }
}

/// An I/O error in words, "does not exist" for a missing file.
fn io_words(e: &std::io::Error) -> String {
  match e.kind() {
    std::io::ErrorKind::NotFound => "it does not exist".to_owned(),
    std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
    _ => e.to_string(),
  }
}

/// What kind of non-regular file `file_type` is, in words.
fn kind_of(file_type: std::fs::FileType) -> Option<&'static str> {
  use std::os::unix::fs::FileTypeExt;
  if file_type.is_file() {
    None
  } else if file_type.is_dir() {
    Some("a directory")
  } else if file_type.is_fifo() {
    Some("a named pipe (FIFO)")
  } else if file_type.is_char_device() {
    Some("a character device")
  } else if file_type.is_block_device() {
    Some("a block device")
  } else if file_type.is_socket() {
    Some("a socket")
  } else {
    Some("not a regular file")
  }
}

/// Reads the regular file at `path` (following links), refusing at once a FIFO,
/// a device, a socket or a directory, and any file of more than `limit` bytes.
/// The file is opened without blocking (`O_NONBLOCK`), so a FIFO without a
/// writer cannot hold converge up, and its type is checked on the opened file
/// (`fstat`), so it cannot be swapped between the check and the read. At most
/// `limit + 1` bytes are read, whatever size the file claims.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
  use std::os::unix::fs::OpenOptionsExt;
  let file =
    match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path) {
      Ok(file) => file,
      Err(e) => {
        // A socket cannot be opened at all (ENXIO): say what it is.
        if let Some(kind) = std::fs::metadata(path).ok().and_then(|m| kind_of(m.file_type())) {
          return Err(ReadError::NotRegular { kind });
        }
        return Err(ReadError::Io(e));
      }
    };
  let metadata = file.metadata()?;
  if let Some(kind) = kind_of(metadata.file_type()) {
    return Err(ReadError::NotRegular { kind });
  }
  if metadata.len() > limit {
    return Err(ReadError::TooLarge { limit });
  }
  let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
  file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
  if bytes.len() as u64 > limit {
    return Err(ReadError::TooLarge { limit });
  }
  Ok(bytes)
}

/// The metadata of the regular file at `path` (following links), for a file
/// that is read later or by another process (a tarball sent in place): an
/// error says why it cannot be one, a FIFO or a device included, instead of
/// "does not exist".
pub fn regular_file(path: &Path) -> Result<std::fs::Metadata, ReadError> {
  let metadata = std::fs::metadata(path)?;
  match kind_of(metadata.file_type()) {
    Some(kind) => Err(ReadError::NotRegular { kind }),
    None => Ok(metadata),
  }
}

/// [`read_bounded`] for a UTF-8 text file.
pub fn read_text_bounded(path: &Path, limit: u64) -> Result<String, ReadError> {
  String::from_utf8(read_bounded(path, limit)?).map_err(|_| ReadError::NotUtf8)
}

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
  fn read_bounded_reads_a_regular_file_up_to_the_limit() -> Result<(), ReadError> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("f");
    std::fs::write(&path, "12345")?;
    assert_eq!(read_bounded(&path, 5)?, b"12345");
    assert!(matches!(read_bounded(&path, 4), Err(ReadError::TooLarge { limit: 4 })));
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&path, &link)?;
    assert_eq!(read_text_bounded(&link, 5)?, "12345");
    std::fs::write(&path, [0xff, 0xfe])?;
    assert!(matches!(read_text_bounded(&path, 5), Err(ReadError::NotUtf8)));
    Ok(())
  }

  #[test]
  fn read_bounded_refuses_devices_directories_and_fifos_at_once() -> Result<(), ReadError> {
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
    assert!(made.success());
    // Without a writer, a blocking open of the FIFO would wait forever.
    let cases = [("/dev/zero", "a character device"), ("/dev/urandom", "a character device")];
    for (path, kind) in cases {
      match read_bounded(Path::new(path), MAX_INPUT_BYTES) {
        Err(ReadError::NotRegular { kind: k }) => assert_eq!(k, kind, "{path}"),
        other => panic!("{path}: {other:?}"),
      }
    }
    assert!(matches!(read_bounded(&fifo, 10), Err(ReadError::NotRegular { kind: "a named pipe (FIFO)" })));
    assert!(matches!(read_bounded(dir.path(), 10), Err(ReadError::NotRegular { kind: "a directory" })));
    assert!(matches!(regular_file(&fifo), Err(ReadError::NotRegular { kind: "a named pipe (FIFO)" })));
    assert!(matches!(regular_file(&dir.path().join("none")), Err(ReadError::Io(_))));
    Ok(())
  }

  #[test]
  fn line_col_counts_characters_not_bytes() {
    let text = "ab\né x\n";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, 3), (2, 1));
    assert_eq!(line_col(text, 6), (2, 3));
    assert_eq!(line_col(text, 999), (3, 1));
  }
}
