//! From `.goenv` text to an [`Ast`].
//!
//! The pest grammar in `grammar/goenv.pest` does the tokenising; this module turns
//! its pairs into the typed tree, converts pest positions into [`Span`]s in one
//! place ([`Builder::span`]), and turns pest errors into diagnostics whose
//! "expected" lists use human names ([`rule_name`]).
//!
//! Files are parsed one top-level item at a time: after a syntax error the parser
//! skips to the next line that starts in column one and goes on, so one run
//! reports the errors of every statement, not only the first.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, Span};
use crate::syntax::ast::{Ast, Block, Comment, Int, Op, Stmt, Str, Term, Value, ValueKind};
use pest::Parser as _;
use pest::iterators::Pair;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/goenv.pest"]
pub struct GoenvParser;

/// A human name for every grammar rule, used in "expected ..." messages. The
/// match has no `_` arm, so a new rule cannot ship without a name.
pub fn rule_name(rule: Rule) -> &'static str {
  match rule {
    Rule::item | Rule::file | Rule::stmt => "a statement",
    Rule::head | Rule::term => "a word or a label",
    Rule::value_in_head | Rule::value => "a value",
    Rule::assign => "`=`",
    Rule::block | Rule::body => "a block `{ ... }`",
    Rule::map => "a map `{ ... }`",
    Rule::separator => "a newline, `,` or `;`",
    Rule::list => "a list `[ ... ]`",
    Rule::op => "a comparison operator",
    Rule::string | Rule::string_inner | Rule::string_char => "a string",
    Rule::escape => "an escape such as `\\n` or `\\\"`",
    Rule::heredoc | Rule::heredoc_body | Rule::heredoc_line => "a multi-line string",
    Rule::heredoc_strip => "`-`",
    Rule::heredoc_tag => "a heredoc tag in capitals, such as `EOT`",
    Rule::heredoc_close => "the closing heredoc tag",
    Rule::number => "a number",
    Rule::boolean => "`true` or `false`",
    Rule::word => "a word",
    Rule::yaml_pair | Rule::yaml_rest => "a YAML pair",
    Rule::single_quoted => "a string",
    Rule::decimal => "a number",
    Rule::bare_path => "a path",
    Rule::WHITESPACE => "whitespace",
    Rule::COMMENT => "a comment",
    Rule::EOI => "end of file",
  }
}

/// Parses one file. Always returns a tree (of the statements that parsed) and
/// the diagnostics found.
pub fn parse(file: FileId, text: &str) -> (Ast, Diagnostics) {
  let mut items = Vec::new();
  let mut pos = 0;
  while pos < text.len() {
    let Some(item) = parse_item(file, text, pos) else { break };
    pos = item.end;
    let stop = item.end == item.start;
    items.push(item);
    if stop {
      break;
    }
  }
  assemble(file, &items)
}

/// One top-level item as parsed: a statement, an empty or comment-only line, or
/// the text skipped after a syntax error, with what it yielded.
#[derive(Clone, Debug)]
pub(crate) struct Item {
  /// Byte offsets of the item's text in the file.
  pub start: usize,
  pub end: usize,
  pub stmts: Vec<Stmt>,
  pub comments: Vec<Comment>,
  pub diagnostics: Vec<Diagnostic>,
  /// Whether the item was read as an error, whose diagnostic and extent depend
  /// on the text after it.
  pub error: bool,
}

/// Parses the top-level item that starts at byte `pos` of `text`, or `None`
/// when there is none. The result depends on `text[pos..]` only.
pub(crate) fn parse_item(file: FileId, text: &str, pos: usize) -> Option<Item> {
  let mut builder = Builder { file, offset: pos, diagnostics: Vec::new(), comments: Vec::new() };
  let rest = &text[pos..];
  let mut stmts = Vec::new();
  let (end, error) = match GoenvParser::parse(Rule::item, rest) {
    Ok(mut pairs) => {
      let item = pairs.next()?;
      let consumed = item.as_span().end();
      builder.collect_comments(&item);
      for child in item.into_inner() {
        if child.as_rule() == Rule::stmt
          && let Some(stmt) = builder.stmt(child)
        {
          stmts.push(stmt);
        }
      }
      (pos + consumed, false)
    }
    Err(error) => {
      let at = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
      };
      builder.syntax_error(rest, at, &error.variant);
      (pos + recovery_point(rest, at), true)
    }
  };
  Some(Item { start: pos, end, stmts, comments: builder.comments, diagnostics: builder.diagnostics, error })
}

/// The tree and diagnostics of a file from its items, in order.
pub(crate) fn assemble(file: FileId, items: &[Item]) -> (Ast, Diagnostics) {
  let mut diagnostics = Diagnostics::new();
  let mut stmts = Vec::new();
  let mut comments = Vec::new();
  for item in items {
    stmts.extend(item.stmts.iter().cloned());
    comments.extend(item.comments.iter().cloned());
    for d in &item.diagnostics {
      diagnostics.push(d.clone());
    }
  }
  (Ast { file, stmts, comments }, diagnostics)
}

/// Where to resume after a syntax error at `at`: the start of the next line that
/// begins in column one with something other than a closing brace or a comment.
fn recovery_point(text: &str, at: usize) -> usize {
  let mut pos = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
  // Always move past the line of the error.
  loop {
    let Some(nl) = text[pos..].find('\n') else { return text.len() };
    pos += nl + 1;
    let line = &text[pos..];
    match line.chars().next() {
      None => return text.len(),
      Some(c) if c.is_alphabetic() || c == '"' || c == '_' => return pos,
      _ => {}
    }
  }
}

struct Builder {
  file: FileId,
  /// Byte offset of the text being parsed within the file.
  offset: usize,
  diagnostics: Vec<Diagnostic>,
  comments: Vec<Comment>,
}

/// The children of a pair, without the comments pest interleaves.
fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
  pair.into_inner().filter(|p| p.as_rule() != Rule::COMMENT)
}

impl Builder {
  /// The one place where pest positions become spans.
  fn span(&self, pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(self.file, self.offset + s.start(), self.offset + s.end())
  }

  fn collect_comments(&mut self, item: &Pair<'_, Rule>) {
    for pair in item.clone().into_inner().flatten() {
      if pair.as_rule() == Rule::COMMENT {
        let span = self.span(&pair);
        self.comments.push(Comment { span, text: pair.as_str().trim_end().to_owned() });
      }
    }
  }

  fn syntax_error(&mut self, text: &str, at: usize, variant: &pest::error::ErrorVariant<Rule>) {
    let mut expected: Vec<&str> = match variant {
      pest::error::ErrorVariant::ParsingError { positives, .. } => {
        positives.iter().map(|r| rule_name(*r)).collect()
      }
      pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.retain(|e| *e != "a comment" && *e != "whitespace");
    expected.sort_unstable();
    expected.dedup();
    if let Some(d) = self.unterminated(text, at) {
      self.diagnostics.push(d);
      return;
    }
    if at >= text.trim_end().len()
      && let Some(open) = unclosed(text)
    {
      let c = &text[open..=open];
      let close = if c == "{" { "}" } else { "]" };
      self.diagnostics.push(
        Diagnostic::new(Code::Syntax, format!("this `{c}` is never closed"))
          .label(
            Span::new(self.file, self.offset + open, self.offset + open + 1),
            format!("no `{close}` for this"),
          )
          .help(format!("add the missing `{close}`; everything after this point was read as part of it")),
      );
      return;
    }
    let found = describe_at(text, at);
    let width = text[at..].chars().next().map_or(0, |c| if c == '\n' { 0 } else { c.len_utf8() });
    let span = Span::new(self.file, self.offset + at, self.offset + at + width);
    let message = if expected.is_empty() {
      format!("unexpected {found}")
    } else {
      format!("expected {}, found {found}", join_or(&expected))
    };
    let mut d = Diagnostic::new(Code::Syntax, message).label(span, format!("unexpected {found}"));
    d = d.help(syntax_help(text, at, &expected));
    self.diagnostics.push(d);
  }

  /// A clearer error for a string or heredoc that is never closed.
  fn unterminated(&self, text: &str, at: usize) -> Option<Diagnostic> {
    let rest = &text[at.min(text.len())..];
    let line = rest.split('\n').next().unwrap_or("");
    if rest.starts_with('"') && !closes_string(&line[1..]) {
      let end = self.offset + at + line.trim_end_matches('\r').len();
      return Some(
        Diagnostic::new(Code::Syntax, "this string is not closed before the end of the line")
          .label(Span::new(self.file, self.offset + at, self.offset + at + 1), "string starts here")
          .label(Span::new(self.file, end, end), "expected `\"` here")
          .help("close it with `\"`, or use a multi-line string `<<EOT ... EOT` for text over several lines"),
      );
    }
    if let Some(tag) = rest.strip_prefix("<<") {
      let tag = tag.trim_start_matches('-');
      let tag: String =
        tag.chars().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_').collect();
      if !tag.is_empty() {
        let width = 2 + rest[2..].find(&tag).map_or(0, |i| i + tag.len());
        return Some(
          Diagnostic::new(
            Code::Syntax,
            format!("this multi-line string is never closed by a line holding only `{tag}`"),
          )
          .label(Span::new(self.file, self.offset + at, self.offset + at + width), "opened here")
          .help(format!("end the text with a line that holds only `{tag}`")),
        );
      }
    }
    None
  }

  fn stmt(&mut self, pair: Pair<'_, Rule>) -> Option<Stmt> {
    // The pair's own span can end with spaces or a comment that pest skipped
    // while looking for an optional part; the statement ends with its last part.
    let end =
      pair.clone().into_inner().filter(|p| p.as_rule() != Rule::COMMENT).map(|p| p.as_span().end()).max();
    let whole = self.span(&pair);
    let span = Span::new(self.file, whole.start, end.map_or(whole.end, |e| self.offset + e));
    let mut head = Vec::new();
    let mut value = None;
    let mut block = None;
    for child in children(pair) {
      match child.as_rule() {
        Rule::yaml_pair => {
          self.yaml_habit(child);
          return None;
        }
        Rule::head => {
          for term in children(child) {
            if term.as_rule() == Rule::op {
              let op = match term.as_str() {
                "==" => Op::Eq,
                "!=" => Op::Ne,
                ">=" => Op::Ge,
                "<=" => Op::Le,
                ">" => Op::Gt,
                _ => Op::Lt,
              };
              head.push(Term::Op(op, self.span(&term)));
            } else if let Some(v) = self.value(term) {
              head.push(Term::Value(v));
            }
          }
        }
        Rule::assign => {
          value = children(child).next().and_then(|v| self.value(v));
        }
        Rule::block => {
          let block_span = self.span(&child);
          let stmts = children(child).next().map(|body| self.body(body)).unwrap_or_default();
          block = Some(Block { stmts, span: block_span });
        }
        _ => {}
      }
    }
    Some(Stmt { head, value, block, span })
  }

  fn body(&mut self, pair: Pair<'_, Rule>) -> Vec<Stmt> {
    children(pair).filter(|p| p.as_rule() == Rule::stmt).filter_map(|p| self.stmt(p)).collect()
  }

  fn yaml_habit(&mut self, pair: Pair<'_, Rule>) {
    let span = self.span(&pair);
    let mut parts = children(pair);
    let key = parts.next().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let rest = parts.next().map(|p| p.as_str().trim().to_owned()).unwrap_or_default();
    let colon = Span::new(self.file, span.start + key.len(), span.start + key.len() + 1);
    let suggestion = if rest.is_empty() { format!("{key} {{ ... }}") } else { format!("{key} = {rest}") };
    self.diagnostics.push(
      Diagnostic::new(Code::YamlHabit, format!("`{key}:` is YAML syntax; goenv writes `key = value`"))
        .label(colon, "`:` here")
        .help(format!("did you mean `{suggestion}`?")),
    );
  }

  fn value(&mut self, pair: Pair<'_, Rule>) -> Option<Value> {
    let span = self.span(&pair);
    let text = pair.as_str();
    let kind = match pair.as_rule() {
      Rule::string => {
        let inner = children(pair).next().map_or("", |p| p.as_str());
        ValueKind::Str(Str {
          value: self.unescape(inner, span.start + 1),
          raw: text.to_owned(),
          heredoc: false,
        })
      }
      Rule::heredoc => {
        ValueKind::Str(Str { value: heredoc_value(pair), raw: text.to_owned(), heredoc: true })
      }
      Rule::number => match text.parse::<i64>() {
        Ok(value) => ValueKind::Int(Int { value, raw: text.to_owned() }),
        Err(_) => {
          self.diagnostics.push(
            Diagnostic::new(Code::WrongType, format!("the number `{text}` does not fit in 64 bits"))
              .label(span, "too large")
              .help("write a smaller number, or quote it if it is text"),
          );
          return None;
        }
      },
      Rule::boolean => ValueKind::Bool(text == "true"),
      Rule::word => ValueKind::Word(text.to_owned()),
      Rule::list => {
        let items = children(pair).filter_map(|p| self.value(p)).collect();
        ValueKind::List(items)
      }
      Rule::map => {
        let stmts = children(pair).next().map(|body| self.body(body)).unwrap_or_default();
        ValueKind::Map(Block { stmts, span })
      }
      Rule::single_quoted => {
        let inner = &text[1..text.len() - 1];
        self.diagnostics.push(
          Diagnostic::new(Code::SingleQuotes, "strings are written in double quotes")
            .label(span, "single quotes")
            .help(format!("did you mean `\"{}\"`?", inner.replace('\\', "\\\\").replace('"', "\\\""))),
        );
        ValueKind::Str(Str { value: inner.to_owned(), raw: text.to_owned(), heredoc: false })
      }
      Rule::decimal => {
        self.diagnostics.push(
          Diagnostic::new(Code::UnquotedDecimal, format!("`{text}` is not a whole number"))
            .label(span, "versions and decimals are strings")
            .help(format!("did you mean `\"{text}\"`?")),
        );
        ValueKind::Str(Str { value: text.to_owned(), raw: format!("\"{text}\""), heredoc: false })
      }
      Rule::bare_path => {
        self.diagnostics.push(
          Diagnostic::new(Code::UnquotedPath, format!("`{text}` must be quoted"))
            .label(span, "unquoted path")
            .help(format!("did you mean `\"{text}\"`? paths and `$VARIABLES` are strings")),
        );
        ValueKind::Str(Str { value: text.to_owned(), raw: format!("\"{text}\""), heredoc: false })
      }
      _ => return None,
    };
    Some(Value { kind, span })
  }

  /// Decodes the escapes of a string body that starts at byte `start`.
  fn unescape(&mut self, inner: &str, start: usize) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
      if c != '\\' {
        out.push(c);
        continue;
      }
      match chars.next() {
        Some((_, 'n')) => out.push('\n'),
        Some((_, 't')) => out.push('\t'),
        Some((_, 'r')) => out.push('\r'),
        Some((_, 'u')) => {
          let mut hex = String::new();
          let mut end = i + 2;
          for (j, h) in chars.by_ref() {
            end = j + 1;
            if h == '}' {
              break;
            }
            if h != '{' {
              hex.push(h);
            }
          }
          match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            Some(ch) => out.push(ch),
            None => self.diagnostics.push(
              Diagnostic::new(Code::InvalidEscape, format!("`\\u{{{hex}}}` is not a Unicode character"))
                .label(Span::new(self.file, start + i, start + end), "invalid code point")
                .help("use a code point between 0 and 10FFFF that is not a surrogate"),
            ),
          }
        }
        Some((_, c @ ('"' | '\\' | '$'))) => out.push(c),
        Some((j, other)) => {
          let end = j + other.len_utf8();
          self.diagnostics.push(
            Diagnostic::new(Code::InvalidEscape, format!("`\\{other}` is not an escape"))
              .label(Span::new(self.file, start + i, start + end), "unknown escape")
              .help("the escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\r`, `\\$` and `\\u{...}`; write `\\\\` for a backslash"),
          );
          out.push(other);
        }
        None => {}
      }
    }
    out
  }
}

/// The text of a heredoc: its lines, with common indentation removed for `<<-`.
fn heredoc_value(pair: Pair<'_, Rule>) -> String {
  let mut strip = false;
  let mut body = "";
  for child in pair.into_inner() {
    match child.as_rule() {
      Rule::heredoc_strip => strip = true,
      Rule::heredoc_body => body = child.as_str(),
      _ => {}
    }
  }
  let body = body.replace("\r\n", "\n");
  if !strip {
    return body;
  }
  let indent = body
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
    .min()
    .unwrap_or(0);
  let mut out = String::with_capacity(body.len());
  for line in body.split_inclusive('\n') {
    let cut = indent.min(line.len() - line.trim_start_matches([' ', '\t']).len());
    out.push_str(&line[cut..]);
  }
  out
}

/// The byte offset of the innermost `{` or `[` that is never closed, outside
/// strings and comments.
fn unclosed(text: &str) -> Option<usize> {
  let mut stack = Vec::new();
  let mut chars = text.char_indices().peekable();
  while let Some((i, c)) = chars.next() {
    match c {
      '"' => {
        let mut escaped = false;
        for (_, d) in chars.by_ref() {
          match d {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => break,
            '\n' => break,
            _ => escaped = false,
          }
        }
      }
      '#' => {
        for (_, d) in chars.by_ref() {
          if d == '\n' {
            break;
          }
        }
      }
      '{' | '[' => stack.push(i),
      '}' | ']' => {
        stack.pop();
      }
      _ => {}
    }
  }
  stack.last().copied()
}

/// Whether a string body (after its opening quote) closes on this line.
fn closes_string(line: &str) -> bool {
  let mut escaped = false;
  for c in line.chars() {
    match c {
      '\\' if !escaped => escaped = true,
      '"' if !escaped => return true,
      _ => escaped = false,
    }
  }
  false
}

fn describe_at(text: &str, at: usize) -> String {
  let rest = &text[at.min(text.len())..];
  match rest.chars().next() {
    None => "end of file".to_owned(),
    Some('\n' | '\r') => "end of line".to_owned(),
    Some(c) if c.is_alphanumeric() || c == '_' => {
      let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
      format!("`{word}`")
    }
    Some(c) => format!("`{c}`"),
  }
}

fn syntax_help(text: &str, at: usize, expected: &[&str]) -> String {
  let rest = &text[at.min(text.len())..];
  let line_before = text[..at.min(text.len())].rsplit('\n').next().unwrap_or("");
  if rest.starts_with(':') {
    return "goenv writes `key = value`, not `key: value`".to_owned();
  }
  if rest.starts_with("=") && line_before.trim().is_empty() {
    return "an assignment needs a name before `=`".to_owned();
  }
  if expected.contains(&"`=`") && line_before.trim_start().starts_with("export") {
    return "write `export NAME = \"value\"`".to_owned();
  }
  if line_before.matches('"').count() % 2 == 1 && (rest.starts_with('\n') || rest.is_empty()) {
    return "a string must end on the line it starts on; close it with `\"`, or use `<<EOT` for several lines"
      .to_owned();
  }
  if line_before.contains('{') || line_before.contains('[') {
    return "check that every `{` and `[` is closed and that list items are separated by `,`".to_owned();
  }
  "see the language reference in the book for the shape of each statement".to_owned()
}

fn join_or(items: &[&str]) -> String {
  match items {
    [] => String::new(),
    [one] => (*one).to_owned(),
    [init @ .., last] => format!("{} or {last}", init.join(", ")),
  }
}

#[cfg(test)]
mod tests;
