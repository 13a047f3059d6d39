//! Byte offsets (what spans hold) to and from LSP positions (line and UTF-16
//! column, what editors count).

use lsp_types::{Position, Range};

/// The line starts of one text, for conversions in `O(log lines)`.
pub(crate) struct LineIndex<'a> {
  text: &'a str,
  starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
  pub(crate) fn new(text: &'a str) -> Self {
    let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    LineIndex { text, starts }
  }

  /// The position of a byte offset (clamped to the text, and back to a
  /// character boundary).
  pub(crate) fn position(&self, offset: usize) -> Position {
    let mut offset = offset.min(self.text.len());
    while !self.text.is_char_boundary(offset) {
      offset -= 1;
    }
    let line = self.starts.partition_point(|&s| s <= offset).saturating_sub(1);
    let start = self.starts.get(line).copied().unwrap_or(0);
    let column: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
    Position::new(u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(column).unwrap_or(u32::MAX))
  }

  pub(crate) fn range(&self, start: usize, end: usize) -> Range {
    Range::new(self.position(start), self.position(end))
  }

  /// The byte offset of a position; past the end of a line is its end, past
  /// the last line is the end of the text.
  pub(crate) fn offset(&self, position: Position) -> usize {
    let Some(&start) = self.starts.get(position.line as usize) else { return self.text.len() };
    let line = &self.text[start..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let mut units = 0;
    for (i, c) in line.char_indices() {
      if units >= position.character as usize {
        return start + i;
      }
      units += c.len_utf16();
    }
    start + line.len()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn positions_count_utf16_units_and_round_trip() {
    let text = "a\n\u{e9}\u{1F600}x\n";
    let index = LineIndex::new(text);
    assert_eq!(index.position(0), Position::new(0, 0));
    assert_eq!(index.position(2), Position::new(1, 0));
    // é is 2 bytes and 1 unit; the emoji 4 bytes and 2 units.
    assert_eq!(index.position(8), Position::new(1, 3));
    assert_eq!(index.offset(Position::new(1, 3)), 8);
    assert_eq!(index.offset(Position::new(1, 99)), 9);
    assert_eq!(index.offset(Position::new(9, 0)), text.len());
    assert_eq!(index.position(999), Position::new(2, 0));
  }
}
