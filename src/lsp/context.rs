//! Where the cursor is, read from the text alone: which blocks enclose it, the
//! statement typed so far, and whether it is in a string or a template.
//!
//! Completion runs while the statement is being typed, when it does not parse
//! yet; a light scan of strings, comments, heredocs and brackets finds the
//! enclosing blocks anyway. Everything with a meaning comes from the parsed
//! and checked playbooks.

/// The cursor's surroundings.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Context {
  /// The heads of the enclosing blocks, outermost first: `hosts "web"`,
  /// `sysctl "fs.file-max" = 1`.
  pub blocks: Vec<String>,
  /// The current statement up to the cursor, from its first character.
  pub statement: String,
  /// The byte offset where [`Context::statement`] starts.
  pub statement_start: usize,
  /// In a string or a heredoc.
  pub in_string: bool,
  /// In `{{ ... }}` or `{% ... %}` of a string.
  pub in_template: bool,
  /// In a list `[ ... ]`.
  pub in_list: bool,
  /// The byte offset where the word being typed starts.
  pub word_start: usize,
}

enum Frame {
  Brace,
  Bracket,
}

/// Reads the text up to `offset`.
pub(crate) fn at(text: &str, offset: usize) -> Context {
  let mut offset = offset.min(text.len());
  while !text.is_char_boundary(offset) {
    offset -= 1;
  }
  let before = &text[..offset];
  let bytes = before.as_bytes();
  let mut frames: Vec<Frame> = Vec::new();
  let mut heads: Vec<String> = Vec::new();
  let mut start = 0;
  let mut string_start: Option<usize> = None;
  let mut heredoc: Option<(String, usize)> = None;
  let mut i = 0;
  while i < bytes.len() {
    let b = bytes[i];
    if let Some((tag, body)) = &heredoc {
      // At a line start: the closing tag ends it.
      let line_end = before[i..].find('\n').map_or(before.len(), |n| i + n);
      if i >= *body && before[i..line_end].trim() == tag.as_str() {
        heredoc = None;
        i = line_end;
      } else {
        i = line_end + 1;
      }
      continue;
    }
    if string_start.is_some() {
      match b {
        b'\\' => i += 1,
        b'"' | b'\n' => string_start = None,
        _ => {}
      }
      i += 1;
      continue;
    }
    match b {
      b'#' => i = before[i..].find('\n').map_or(before.len(), |n| i + n) - 1,
      b'/' if bytes.get(i + 1) == Some(&b'/') => {
        i = before[i..].find('\n').map_or(before.len(), |n| i + n) - 1;
      }
      b'"' => string_start = Some(i + 1),
      b'<' if bytes.get(i + 1) == Some(&b'<') => {
        let rest = before[i + 2..].trim_start_matches('-');
        let tag: String =
          rest.chars().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_').collect();
        if !tag.is_empty() {
          let body = before[i..].find('\n').map_or(before.len(), |n| i + n + 1);
          heredoc = Some((tag, body));
          i = body;
          continue;
        }
      }
      b'{' => {
        heads.push(before[start..i].trim().to_owned());
        frames.push(Frame::Brace);
        start = i + 1;
      }
      b'}' => {
        if matches!(frames.last(), Some(Frame::Brace)) {
          frames.pop();
          heads.pop();
        }
        start = i + 1;
      }
      b'[' => frames.push(Frame::Bracket),
      b']' => {
        if matches!(frames.last(), Some(Frame::Bracket)) {
          frames.pop();
        }
      }
      b'\\' if bytes.get(i + 1) == Some(&b'\n') => i += 1,
      b'\n' | b',' | b';' if !matches!(frames.last(), Some(Frame::Bracket)) => start = i + 1,
      _ => {}
    }
    i += 1;
  }
  let string_from = string_start.or(heredoc.as_ref().map(|(_, body)| *body));
  let in_template = string_from.is_some_and(|from| {
    let inside = before.get(from..).unwrap_or("");
    let open = inside.rfind("{{").max(inside.rfind("{%"));
    let close = inside.rfind("}}").max(inside.rfind("%}"));
    match (open, close) {
      (Some(o), Some(c)) => o > c,
      (Some(_), None) => true,
      _ => false,
    }
  });
  let word_start = before
    .char_indices()
    .rev()
    .take_while(|(_, c)| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
    .last()
    .map_or(offset, |(i, _)| i);
  let lead = before[start..].len() - before[start..].trim_start().len();
  Context {
    blocks: heads,
    statement: before[start + lead..].to_owned(),
    statement_start: start + lead,
    in_string: string_from.is_some(),
    in_template,
    in_list: matches!(frames.last(), Some(Frame::Bracket)),
    word_start,
  }
}

/// The leading bare words of a statement's head: `["go", "toolchain"]` of
/// `go toolchain "1.22.5" {`.
pub(crate) fn keywords(head: &str) -> Vec<&str> {
  head
    .split_whitespace()
    .take_while(|w| w.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_'))
    .collect()
}

/// The identifier around `offset` (letters, digits, `_`, and `.` for fact
/// paths) and where it starts.
pub(crate) fn identifier(text: &str, offset: usize) -> Option<(usize, &str)> {
  let is_part = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
  let offset = offset.min(text.len());
  if !text.is_char_boundary(offset) {
    return None;
  }
  let start =
    text[..offset].char_indices().rev().take_while(|(_, c)| is_part(*c)).last().map_or(offset, |(i, _)| i);
  let end = text[offset..].char_indices().find(|(_, c)| !is_part(*c)).map_or(text.len(), |(i, _)| offset + i);
  (start < end).then(|| (start, &text[start..end]))
}

#[cfg(test)]
mod tests {
  use super::*;

  fn here(marked: &str) -> Context {
    let offset = marked.find('|').unwrap_or(marked.len());
    at(&marked.replace('|', ""), offset)
  }

  #[test]
  fn finds_the_enclosing_blocks_and_the_statement_being_typed() {
    let c = here("hosts \"web\" {\n  sysctl \"a.b\" = 1 {\n    no|\n  }\n}\n");
    assert_eq!(c.blocks, ["hosts \"web\"", "sysctl \"a.b\" = 1"]);
    assert_eq!(c.statement, "no");
    assert!(!c.in_string && !c.in_template);
    let c = here("# { not a block\nvars { a = \"}\" }\ngo to|");
    assert!(c.blocks.is_empty(), "{c:?}");
    assert_eq!(c.statement, "go to");
  }

  #[test]
  fn knows_strings_templates_lists_and_heredocs() {
    let c = here("file \"/x\" { content = \"v{{ go_v| }}\" }");
    assert!(c.in_string && c.in_template);
    assert_eq!(c.blocks, ["file \"/x\""]);
    let c = here("x { notify = [\"a\", \"b|");
    assert!(c.in_string && c.in_list && !c.in_template);
    assert_eq!(c.statement, "notify = [\"a\", \"b");
    let c = here("file \"/x\" {\n  content = <<EOT\n  {\n  {{ na|");
    assert!(c.in_template && c.blocks == ["file \"/x\""], "{c:?}");
    let c = here("file \"/x\" {\n  content = <<EOT\n  {\nEOT\n  mo|");
    assert!(!c.in_string && c.statement == "mo", "{c:?}");
  }

  #[test]
  fn identifiers_span_fact_paths() {
    let text = "x = \"{{ facts.goarch }}\"";
    assert_eq!(identifier(text, 10), Some((8, "facts.goarch")));
    assert_eq!(identifier(text, 2), None);
  }
}
