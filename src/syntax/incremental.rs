//! Parsing a new version of a file from the parse of the version before.
//!
//! An editor changes a few lines of a long playbook at a time. The parse of a
//! top-level item depends only on the text from its start on (the parser reads
//! a file one item at a time, [`parser::parse_item`]), so between two versions:
//!
//! - the items before the change are kept when their own text is unchanged and
//!   nothing in them could read past their end (an item that is an error reads
//!   the rest of the file; so does `<<` that did not start a multi-line string);
//! - the items from there are parsed again, until the parse reaches the start
//!   of an old item inside the unchanged end of the file: from that point the
//!   text is the same, so the old items follow, moved by the change in length.
//!
//! When the new parse never lands on an old item's start (an unclosed brace
//! swallows the rest), it simply goes on to the end. The result is the same
//! tree and diagnostics as [`parser::parse`] of the whole text.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{FileId, Span};
use crate::syntax::ast::{Ast, Block, Stmt, Term, Value, ValueKind};
use crate::syntax::parser::{self, Item};

/// One version of a file and its items, for parsing the next version.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parsed {
  file: FileId,
  text: String,
  items: Vec<Item>,
  /// Whether each item depends on its own text only.
  own_text: Vec<bool>,
  /// How many items were parsed for this version (the others were kept).
  #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests of what is kept"))]
  reparsed: usize,
}

impl Parsed {
  /// Parses `text` in full.
  pub(crate) fn new(file: FileId, text: &str) -> Parsed {
    Parsed::default().next(file, text)
  }

  /// Parses `text`, a new version of this file, reusing what did not change.
  pub(crate) fn next(self, file: FileId, text: &str) -> Parsed {
    let (old, new) = (self.text.as_bytes(), text.as_bytes());
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let room = old.len().min(new.len()) - prefix;
    let suffix = old.iter().rev().zip(new.iter().rev()).take(room).take_while(|(a, b)| a == b).count();
    // Kept before the change: items that end before it, with a byte to spare
    // for the one character of lookahead a line end (`\r` then `\n`) takes.
    let kept = (self.items.iter().zip(&self.own_text))
      .take_while(|(item, own)| **own && item.end < prefix && item.end != item.start)
      .count();
    let mut pos = kept.checked_sub(1).map_or(0, |last| self.items[last].end);
    let mut fresh = Vec::new();
    // The first old item kept after the change, where it was and where it goes.
    let mut tail = None;
    let same_from = new.len() - suffix;
    while pos < text.len() {
      if pos >= same_from {
        // `text[pos..]` equals the old text from `old_pos`.
        let old_pos = pos + old.len() - new.len();
        if let Ok(i) = self.items.binary_search_by_key(&old_pos, |item| item.start) {
          tail = Some((i, old_pos, pos));
          break;
        }
      }
      let Some(item) = parser::parse_item(file, text, pos) else { break };
      pos = item.end;
      let stop = item.end == item.start;
      fresh.push((depends_on_own_text(&item, text), item));
      if stop {
        break;
      }
    }
    let reparsed = fresh.len();
    let same_file = self.file == file;
    let mut items = Vec::with_capacity(kept + fresh.len() + tail.map_or(0, |(i, ..)| self.items.len() - i));
    let mut own_text = Vec::with_capacity(items.capacity());
    let mut old_items = self.items.into_iter().zip(self.own_text).enumerate();
    for (_, (item, own)) in old_items.by_ref().take(kept) {
      items.push(relocated(item, file, same_file, 0, 0));
      own_text.push(own);
    }
    for (own, item) in fresh {
      items.push(item);
      own_text.push(own);
    }
    if let Some((first, from, to)) = tail {
      for (_, (item, own)) in old_items.skip_while(|(i, _)| *i < first) {
        items.push(relocated(item, file, same_file, from, to));
        own_text.push(own);
      }
    }
    Parsed { file, text: text.to_owned(), items, own_text, reparsed }
  }

  /// The tree and diagnostics, as [`parser::parse`] returns them.
  pub(crate) fn result(&self, file: FileId) -> (Ast, Diagnostics) {
    parser::assemble(file, &self.items)
  }
}

/// Whether an item's parse reads nothing after its end: it is not an error,
/// and every `<<` in it is inside a string (a `<<` whose multi-line string
/// never closed was read up to the end of the file before it became two `<`).
fn depends_on_own_text(item: &Item, text: &str) -> bool {
  if item.error {
    return false;
  }
  let own = &text[item.start..item.end];
  if !own.contains("<<") {
    return true;
  }
  let mut strings = Vec::new();
  for stmt in &item.stmts {
    string_spans(stmt, &mut strings);
  }
  own.match_indices("<<").all(|(i, _)| {
    let at = item.start + i;
    strings.iter().any(|s| s.start <= at && at < s.end)
  })
}

fn string_spans(stmt: &Stmt, out: &mut Vec<Span>) {
  fn value(v: &Value, out: &mut Vec<Span>) {
    match &v.kind {
      ValueKind::Str(_) => out.push(v.span),
      ValueKind::List(items) => items.iter().for_each(|i| value(i, out)),
      ValueKind::Map(block) => block.stmts.iter().for_each(|s| string_spans(s, out)),
      ValueKind::Int(_) | ValueKind::Bool(_) | ValueKind::Word(_) => {}
    }
  }
  for term in &stmt.head {
    if let Term::Value(v) = term {
      value(v, out);
    }
  }
  if let Some(v) = &stmt.value {
    value(v, out);
  }
  if let Some(block) = &stmt.block {
    block.stmts.iter().for_each(|s| string_spans(s, out));
  }
}

/// An item of the old version at `from`, for the new version at `to`.
fn relocated(mut item: Item, file: FileId, same_file: bool, from: usize, to: usize) -> Item {
  if same_file && from == to {
    return item;
  }
  let span = |s: &mut Span| {
    *s = Span::new(file, (s.start + to).saturating_sub(from), (s.end + to).saturating_sub(from))
  };
  item.start = item.start - from + to;
  item.end = item.end - from + to;
  for stmt in &mut item.stmts {
    stmt_spans(stmt, &span);
  }
  for comment in &mut item.comments {
    span(&mut comment.span);
  }
  for d in &mut item.diagnostics {
    diagnostic_spans(d, &span);
  }
  item
}

fn diagnostic_spans(d: &mut Diagnostic, f: &impl Fn(&mut Span)) {
  for label in &mut d.labels {
    f(&mut label.span);
  }
}

fn stmt_spans(stmt: &mut Stmt, f: &impl Fn(&mut Span)) {
  fn value(v: &mut Value, f: &impl Fn(&mut Span)) {
    f(&mut v.span);
    match &mut v.kind {
      ValueKind::List(items) => items.iter_mut().for_each(|i| value(i, f)),
      ValueKind::Map(block) => block_spans(block, f),
      ValueKind::Str(_) | ValueKind::Int(_) | ValueKind::Bool(_) | ValueKind::Word(_) => {}
    }
  }
  fn block_spans(block: &mut Block, f: &impl Fn(&mut Span)) {
    f(&mut block.span);
    block.stmts.iter_mut().for_each(|s| stmt_spans(s, f));
  }
  f(&mut stmt.span);
  for term in &mut stmt.head {
    match term {
      Term::Op(_, s) => f(s),
      Term::Value(v) => value(v, f),
    }
  }
  if let Some(v) = &mut stmt.value {
    value(v, f);
  }
  if let Some(block) = &mut stmt.block {
    block_spans(block, f);
  }
}

#[cfg(test)]
mod tests;
