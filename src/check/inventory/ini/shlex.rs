//! Host lines split into words the way Python's `shlex.split(line,
//! comments=True)` splits them, which is how Ansible's INI plugin reads them,
//! with the position of every character kept for diagnostics.

/// One word of a host line, with its quotes and escapes removed.
pub(super) struct Word {
  pub(super) text: String,
  /// For each byte of `text`, the byte range in the line of the character it
  /// came from.
  pub(super) origin: Vec<(usize, usize)>,
  /// The byte range of the word in the line, quotes included.
  pub(super) start: usize,
  pub(super) end: usize,
}

impl Word {
  fn new(start: usize) -> Self {
    Word { text: String::new(), origin: Vec::new(), start, end: start }
  }

  fn push(&mut self, c: char, at: usize) {
    let end = at + c.len_utf8();
    self.origin.extend(std::iter::repeat_n((at, end), c.len_utf8()));
    self.text.push(c);
    self.end = end;
  }

  /// The byte range in the line of the bytes `from..to` of `text`.
  pub(super) fn raw(&self, from: usize, to: usize) -> (usize, usize) {
    let start = self.origin.get(from).map_or(self.end, |o| o.0);
    let end = if to > from { self.origin.get(to - 1).map_or(self.end, |o| o.1) } else { start };
    (start, end)
  }
}

pub(super) enum LexError {
  Unclosed { quote: char, at: usize },
  TrailingBackslash { at: usize },
}

/// Splits a host line into words as Python's `shlex.split(line, comments=True)`
/// does, which is how Ansible splits them: spaces separate words, `'...'` and
/// `"..."` quote (in double quotes `\"` and `\\` are escapes), `\` escapes any
/// character outside quotes, and `#` outside quotes starts a comment.
pub(super) fn split_words(line: &str) -> Result<Vec<Word>, LexError> {
  let mut words = Vec::new();
  let mut word: Option<Word> = None;
  let mut chars = line.char_indices().peekable();
  while let Some((i, c)) = chars.next() {
    match c {
      ' ' | '\t' | '\r' | '\n' => words.extend(word.take()),
      '#' => break,
      '\\' => match chars.next() {
        Some((j, d)) => word.get_or_insert_with(|| Word::new(i)).push(d, j),
        None => return Err(LexError::TrailingBackslash { at: i }),
      },
      '\'' | '"' => {
        let w = word.get_or_insert_with(|| Word::new(i));
        let mut closed = false;
        while let Some((j, d)) = chars.next() {
          if d == c {
            w.end = j + 1;
            closed = true;
            break;
          }
          if c == '"'
            && d == '\\'
            && let Some(&(k, e)) = chars.peek().filter(|(_, e)| *e == '"' || *e == '\\')
          {
            chars.next();
            w.push(e, k);
            continue;
          }
          w.push(d, j);
        }
        if !closed {
          return Err(LexError::Unclosed { quote: c, at: i });
        }
      }
      _ => word.get_or_insert_with(|| Word::new(i)).push(c, i),
    }
  }
  words.extend(word);
  Ok(words)
}
