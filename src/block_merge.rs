//! Lines that converge owns inside a file it does not own.
//!
//! A block sits between `# BEGIN converge: NAME` and `# END converge: NAME`
//! (with the file's comment leader). [`merge`] replaces the block's lines, or
//! adds the block at the top or bottom when it is missing, and keeps every other
//! byte of the file exactly as it was. Empty content removes the block.

/// Where a new block goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
  Top,
  Bottom,
}

pub fn begin_marker(comment: &str, name: &str) -> String {
  format!("{comment} BEGIN converge: {name}")
}

pub fn end_marker(comment: &str, name: &str) -> String {
  format!("{comment} END converge: {name}")
}

/// The file with the block `name` holding `content`.
pub fn merge(existing: &[u8], comment: &str, name: &str, content: &str, place: Place) -> Vec<u8> {
  let begin = begin_marker(comment, name);
  let end = end_marker(comment, name);
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
  if let Some((start, stop)) = find(existing, begin.as_bytes(), end.as_bytes()) {
    let mut out = existing[..start].to_vec();
    out.extend_from_slice(&block);
    out.extend_from_slice(&existing[stop..]);
    return out;
  }
  if block.is_empty() {
    return existing.to_vec();
  }
  match place {
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
  }
}

/// The byte range of an existing block, from the start of its BEGIN line to just
/// after its END line (and that line's newline).
fn find(text: &[u8], begin: &[u8], end: &[u8]) -> Option<(usize, usize)> {
  let mut start = None;
  let mut offset = 0;
  for line in text.split_inclusive(|b| *b == b'\n') {
    let trimmed = trim_newline(line);
    if start.is_none() && trimmed == begin {
      start = Some(offset);
    } else if start.is_some() && trimmed == end {
      return start.map(|s| (s, offset + line.len()));
    }
    offset += line.len();
  }
  None
}

fn trim_newline(line: &[u8]) -> &[u8] {
  let line = line.strip_suffix(b"\n").unwrap_or(line);
  line.strip_suffix(b"\r").unwrap_or(line)
}

/// The content of the block `name`, if the file has it.
pub fn extract(existing: &[u8], comment: &str, name: &str) -> Option<Vec<u8>> {
  let begin = begin_marker(comment, name);
  let end = end_marker(comment, name);
  let (start, stop) = find(existing, begin.as_bytes(), end.as_bytes())?;
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
}
