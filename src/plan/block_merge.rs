//! Lines that converge owns inside a file it does not own.
//!
//! A block sits between `# BEGIN converge: NAME` and `# END converge: NAME`
//! (with the file's comment leader). [`try_merge`] replaces the block's lines,
//! or adds the block at the top or bottom when it is missing, and keeps every
//! other byte of the file exactly as it was. Empty content removes the block.
//!
//! The markers are what make the block safe to rewrite, so nothing may forge
//! them: content with a line that reads as a marker is refused
//! ([`BlockError::MarkerInContent`]), and a file whose markers for the block do
//! not pair up (an END line deleted or copied, two BEGIN lines) is refused
//! ([`BlockError::Damaged`]) rather than guessed at: a guess would either add
//! a second block or delete the user's lines between two markers.

/// Where a new block goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
  Top,
  Bottom,
}

/// Why a block cannot be merged. Lines are counted from 1.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
  #[error("line {line} of the content reads as a converge marker (`{text}`)")]
  MarkerInContent { line: usize, text: String },
  #[error("the block `{name}` is damaged: {why}")]
  Damaged { name: String, why: String },
}

impl BlockError {
  /// What the user can do about it.
  pub fn help(&self) -> &'static str {
    match self {
      BlockError::MarkerInContent { .. } => {
        "converge finds its block by these marker lines; reword or indent that line of the content"
      }
      BlockError::Damaged { .. } => {
        "converge changes nothing in this file until the markers pair up: restore the missing marker line or delete the stray one, then run again"
      }
    }
  }
}

pub fn begin_marker(comment: &str, name: &str) -> String {
  format!("{comment} BEGIN converge: {name}")
}

pub fn end_marker(comment: &str, name: &str) -> String {
  format!("{comment} END converge: {name}")
}

/// Whether a line (without its newline) reads as a BEGIN or END marker of any
/// block, with this comment leader or the default `#`.
fn is_marker_line(line: &str, comment: &str) -> bool {
  let line = line.strip_suffix('\r').unwrap_or(line);
  [comment, "#"].iter().any(|leader| {
    line
      .strip_prefix(leader)
      .is_some_and(|rest| rest.starts_with(" BEGIN converge: ") || rest.starts_with(" END converge: "))
  })
}

/// Checks that content cannot be taken for a marker.
pub fn check_content(comment: &str, content: &str) -> Result<(), BlockError> {
  match content.lines().enumerate().find(|(_, l)| is_marker_line(l, comment)) {
    Some((i, text)) => Err(BlockError::MarkerInContent { line: i + 1, text: text.trim_end().to_owned() }),
    None => Ok(()),
  }
}

/// The file with the block `name` holding `content`, or why it cannot be
/// written safely.
pub fn try_merge(
  existing: &[u8],
  comment: &str,
  name: &str,
  content: &str,
  place: Place,
) -> Result<Vec<u8>, BlockError> {
  check_content(comment, content)?;
  let begin = begin_marker(comment, name);
  let end = end_marker(comment, name);
  let found = find(existing, name, begin.as_bytes(), end.as_bytes())?;
  let mut block = Vec::new();
  if !content.is_empty() {
    block.extend_from_slice(begin.as_bytes());
    block.push(b'\n');
    block.extend_from_slice(content.as_bytes());
    if !content.ends_with('\n') {
      block.push(b'\n');
    }
    block.extend_from_slice(end.as_bytes());
    block.push(b'\n');
  }
  if let Some((start, stop)) = found {
    let mut out = existing[..start].to_vec();
    out.extend_from_slice(&block);
    out.extend_from_slice(&existing[stop..]);
    return Ok(out);
  }
  if block.is_empty() {
    return Ok(existing.to_vec());
  }
  Ok(match place {
    Place::Top => {
      let mut out = block;
      out.extend_from_slice(existing);
      out
    }
    Place::Bottom => {
      let mut out = existing.to_vec();
      if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
      }
      out.extend_from_slice(&block);
      out
    }
  })
}

/// The names of the blocks in a file, in order, from their BEGIN lines.
pub fn names(text: &[u8], comment: &str) -> Vec<String> {
  let prefix = format!("{comment} BEGIN converge: ");
  text
    .split(|b| *b == b'\n')
    .filter_map(|line| std::str::from_utf8(trim_newline(line)).ok())
    .filter_map(|line| line.strip_prefix(prefix.as_str()))
    .map(str::to_owned)
    .collect()
}

/// The lines of the block `name` (its markers included), when the file holds
/// it once with markers that pair up.
pub fn block<'a>(text: &'a [u8], comment: &str, name: &str) -> Option<&'a [u8]> {
  let begin = begin_marker(comment, name);
  let end = end_marker(comment, name);
  match find(text, name, begin.as_bytes(), end.as_bytes()) {
    Ok(Some((start, stop))) => Some(&text[start..stop]),
    _ => None,
  }
}

#[cfg(test)]
/// [`try_merge`] for callers that write only content of their own making:
/// when the block cannot be merged safely the file is left exactly as it is.
pub fn merge(existing: &[u8], comment: &str, name: &str, content: &str, place: Place) -> Vec<u8> {
  try_merge(existing, comment, name, content, place).unwrap_or_else(|_| existing.to_vec())
}

/// The byte range of an existing block, from the start of its BEGIN line to
/// just after its END line (and that line's newline); `None` when the file has
/// neither marker. Markers that do not pair up are an error.
fn find(text: &[u8], name: &str, begin: &[u8], end: &[u8]) -> Result<Option<(usize, usize)>, BlockError> {
  let mut begins = Vec::new();
  let mut ends = Vec::new();
  let mut offset = 0;
  for (i, line) in text.split_inclusive(|b| *b == b'\n').enumerate() {
    let trimmed = trim_newline(line);
    if trimmed == begin {
      begins.push((i + 1, offset));
    } else if trimmed == end {
      ends.push((i + 1, offset + line.len()));
    }
    offset += line.len();
  }
  let damaged = |why: String| Err(BlockError::Damaged { name: name.to_owned(), why });
  let lines =
    |found: &[(usize, usize)]| found.iter().map(|(l, _)| l.to_string()).collect::<Vec<_>>().join(", ");
  match (begins.as_slice(), ends.as_slice()) {
    ([], []) => Ok(None),
    ([(_, start)], [(_, stop)]) if start < stop => Ok(Some((*start, *stop))),
    ([(b, _)], [(e, _)]) => damaged(format!("its END line ({e}) comes before its BEGIN line ({b})")),
    ([(b, _)], []) => damaged(format!("its BEGIN line ({b}) has no END line")),
    ([], [(e, _)]) => damaged(format!("its END line ({e}) has no BEGIN line")),
    _ => damaged(format!(
      "it has BEGIN lines at {} and END lines at {}",
      or_none(&lines(&begins)),
      or_none(&lines(&ends))
    )),
  }
}

fn or_none(lines: &str) -> &str {
  if lines.is_empty() { "none" } else { lines }
}

fn trim_newline(line: &[u8]) -> &[u8] {
  let line = line.strip_suffix(b"\n").unwrap_or(line);
  line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
/// The content of the block `name`, if the file has it intact.
pub fn extract(existing: &[u8], comment: &str, name: &str) -> Option<Vec<u8>> {
  let begin = begin_marker(comment, name);
  let end = end_marker(comment, name);
  let (start, stop) = find(existing, name, begin.as_bytes(), end.as_bytes()).ok()??;
  let inner = &existing[start..stop];
  let first = inner.iter().position(|b| *b == b'\n').map_or(inner.len(), |i| i + 1);
  let last =
    inner[..inner.len().saturating_sub(1)].iter().rposition(|b| *b == b'\n').map_or(first, |i| i + 1);
  Some(inner[first..last.max(first)].to_vec())
}

#[cfg(test)]
mod tests {
  use super::*;

  const USER: &[u8] = b"# my rc\r\ncase $- in *i*) ;; *) return;; esac\nalias ll='ls -l'\n\xff binary-ish\n";

  #[test]
  fn adds_a_block_at_the_top_and_keeps_every_other_byte() {
    let out = merge(USER, "#", "env", "PATH=/x:$PATH\n", Place::Top);
    let block = b"# BEGIN converge: env\nPATH=/x:$PATH\n# END converge: env\n";
    assert_eq!(&out[..block.len()], block);
    assert_eq!(&out[block.len()..], USER);
  }

  #[test]
  fn adds_a_newline_before_a_bottom_block_when_the_file_lacks_one() {
    let out = merge(b"no newline", "#", "b", "x", Place::Bottom);
    assert_eq!(out, b"no newline\n# BEGIN converge: b\nx\n# END converge: b\n");
  }

  #[test]
  fn replaces_only_the_block() {
    let once = merge(USER, "#", "env", "one\n", Place::Bottom);
    let twice = merge(&once, "#", "env", "two\nlines\n", Place::Top);
    let expected = [USER, b"# BEGIN converge: env\ntwo\nlines\n# END converge: env\n"].concat();
    assert_eq!(twice, expected);
    assert_eq!(extract(&twice, "#", "env"), Some(b"two\nlines\n".to_vec()));
  }

  #[test]
  fn merging_twice_changes_nothing() {
    let once = merge(USER, "#", "env", "x\n", Place::Top);
    assert_eq!(merge(&once, "#", "env", "x\n", Place::Top), once);
  }

  #[test]
  fn empty_content_removes_the_block() {
    let once = merge(USER, "#", "env", "x\n", Place::Bottom);
    assert_eq!(merge(&once, "#", "env", "", Place::Bottom), USER);
    assert_eq!(merge(USER, "#", "env", "", Place::Bottom), USER);
  }

  #[test]
  fn blocks_with_other_names_are_left_alone() {
    let a = merge(b"", "#", "a", "1\n", Place::Bottom);
    let ab = merge(&a, "#", "b", "2\n", Place::Bottom);
    let ab2 = merge(&ab, "#", "a", "3\n", Place::Bottom);
    assert_eq!(
      ab2,
      b"# BEGIN converge: a\n3\n# END converge: a\n# BEGIN converge: b\n2\n# END converge: b\n"
    );
  }

  /// A block whose content holds its own END line used to grow by two lines
  /// on every run: the forged END line ended the block early.
  #[test]
  fn content_that_forges_a_marker_is_refused_and_the_file_stays_as_it_was() {
    let content = "a\n# END converge: x\nb\n";
    assert_eq!(
      try_merge(USER, "#", "x", content, Place::Bottom),
      Err(BlockError::MarkerInContent { line: 2, text: "# END converge: x".to_owned() })
    );
    let once = merge(USER, "#", "x", content, Place::Bottom);
    assert_eq!(merge(&once, "#", "x", content, Place::Bottom), once);
    assert_eq!(once, USER);
    // Another block's markers, or this leader's, are refused too; a marker
    // inside a longer line is only text.
    assert!(try_merge(b"", "//", "x", "// BEGIN converge: y\n", Place::Top).is_err());
    assert!(try_merge(b"", "//", "x", "# END converge: x\r\n", Place::Top).is_err());
    assert!(try_merge(b"", "#", "x", "echo '# END converge: x'\n", Place::Top).is_ok());
  }

  /// With its END line deleted, a block used to be added a second time, and
  /// the next run deleted every user line between the two BEGIN lines.
  #[test]
  fn a_block_whose_end_line_was_deleted_is_refused_and_no_user_line_is_lost() {
    let damaged = b"before\n# BEGIN converge: x\nold\nuser line 1\nuser line 2\n";
    let error = try_merge(damaged, "#", "x", "new\n", Place::Bottom);
    assert_eq!(
      error,
      Err(BlockError::Damaged { name: "x".to_owned(), why: "its BEGIN line (2) has no END line".to_owned() })
    );
    assert_eq!(merge(damaged, "#", "x", "new\n", Place::Bottom), damaged);
    assert_eq!(merge(damaged, "#", "x", "", Place::Bottom), damaged);
    let orphan_end = b"user\n# END converge: x\n";
    assert!(matches!(try_merge(orphan_end, "#", "x", "new\n", Place::Top), Err(BlockError::Damaged { .. })));
    let swapped = b"# END converge: x\nuser\n# BEGIN converge: x\n";
    assert!(matches!(try_merge(swapped, "#", "x", "new\n", Place::Top), Err(BlockError::Damaged { .. })));
    let twice =
      b"# BEGIN converge: x\n1\n# END converge: x\nuser\n# BEGIN converge: x\n2\n# END converge: x\n";
    assert!(matches!(try_merge(twice, "#", "x", "new\n", Place::Top), Err(BlockError::Damaged { .. })));
    assert_eq!(extract(damaged, "#", "x"), None);
  }
}
