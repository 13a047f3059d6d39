//! The one canonical layout of a `.goenv` file, for `converge fmt`.
//!
//! Playbooks are read and reviewed by people, and diffs between two versions
//! are only readable when both are laid out the same way. [`format`] prints a
//! parsed file back with one statement per line, two-space indentation, expanded
//! blocks, one-line lists and maps when they fit, and every comment and every
//! literal exactly as written. It never changes meaning: parsing its output gives
//! the same tree ([`crate::syntax::ast::shape`]) and the same comments, and formatting
//! its output again gives the same text.
//!
//! The tree does not hold comments, so they are woven back in from
//! [`Ast::comments`] with a cursor: before each statement, list item and closing
//! bracket, every comment that starts before it in the source and has not been
//! printed yet is printed, at the end of the current line if it ended a line of
//! code in the source, else on its own line.

use crate::syntax::ast::{Ast, Block, Comment, Stmt, Term, Value, ValueKind};

/// The width a one-line list or map must fit in, indentation included.
const MAX_WIDTH: usize = 100;

/// Spaces per level of nesting.
const INDENT: usize = 2;

/// Replaces the playbook at `path` with its formatted `text`, atomically. When
/// `path` is a symbolic link, the file it leads to is replaced and the link is
/// kept: replacing the link itself would leave the real playbook unformatted
/// and turn the link into a copy.
pub fn write(path: &std::path::Path, text: &str) -> std::io::Result<()> {
  let target = std::fs::canonicalize(path)?;
  crate::atomic::write(&target, text.as_bytes(), None)
}

/// Formats a file that parsed without diagnostics. `text` is the source the
/// tree was parsed from; it is read to tell own-line comments from end-of-line
/// ones and to find blank lines.
pub fn format(ast: &Ast, text: &str) -> String {
  let mut printer = Printer {
    text,
    comments: &ast.comments,
    next: 0,
    out: String::with_capacity(text.len() + text.len() / 8),
    line_has_code: false,
    line_has_comment: false,
  };
  let mut seq = Seq::new(true);
  printer.stmts(&ast.stmts, 0, &mut seq);
  printer.comments_before(usize::MAX, 0, &mut seq);
  if !printer.out.is_empty() {
    printer.out.push('\n');
  }
  printer.out
}

/// A run of own-line elements (statements and own-line comments) at one level,
/// tracked to decide where blank lines go.
struct Seq {
  /// Whether blank lines from the source are kept between elements (in files
  /// and blocks, not in lists and maps).
  blank_lines: bool,
  /// Whether no element has been printed yet: no blank line before the first.
  first: bool,
  /// Where the previous element ends in the source.
  prev_end: usize,
}

impl Seq {
  fn new(blank_lines: bool) -> Self {
    Seq { blank_lines, first: true, prev_end: 0 }
  }
}

struct Printer<'a> {
  text: &'a str,
  comments: &'a [Comment],
  /// The first comment not printed yet.
  next: usize,
  /// The output. Its last line is not ended yet: lines are ended when the next
  /// one starts, so that a comment can still be added to the end of it.
  out: String,
  line_has_code: bool,
  line_has_comment: bool,
}

impl Printer<'_> {
  /// Starts a new line at `indent`, after a blank line if `blank`.
  fn start_line(&mut self, indent: usize, blank: bool) {
    if !self.out.is_empty() {
      self.out.push('\n');
      if blank {
        self.out.push('\n');
      }
    }
    self.out.extend(std::iter::repeat_n(' ', indent));
    self.line_has_code = false;
    self.line_has_comment = false;
  }

  /// Adds code to the current line.
  fn code(&mut self, s: &str) {
    self.out.push_str(s);
    self.line_has_code = true;
  }

  /// The column the next character goes to, in characters.
  fn column(&self) -> usize {
    let start = self.out.rfind('\n').map_or(0, |i| i + 1);
    self.out[start..].chars().count()
  }

  /// Whether the source holds a blank line between two elements of `seq`, the
  /// next one starting at `start`.
  fn blank_before(&self, seq: &Seq, start: usize) -> bool {
    seq.blank_lines && !seq.first && self.text.get(seq.prev_end..start).is_some_and(has_blank_line)
  }

  /// Prints every comment not printed yet that starts before `pos`; own-line
  /// ones go at `indent`.
  fn comments_before(&mut self, pos: usize, indent: usize, seq: &mut Seq) {
    while let Some(comment) = self.comments.get(self.next) {
      if comment.span.start >= pos {
        break;
      }
      self.next += 1;
      if self.ends_code_line(comment) && self.line_has_code && !self.line_has_comment {
        self.out.push(' ');
      } else {
        let blank = self.blank_before(seq, comment.span.start);
        self.start_line(indent, blank);
        seq.first = false;
        seq.prev_end = seq.prev_end.max(comment.span.end);
      }
      self.out.push_str(comment.text.trim_end());
      self.line_has_comment = true;
    }
  }

  /// Whether `comment` follows code on its line in the source.
  fn ends_code_line(&self, comment: &Comment) -> bool {
    let before = self.text.get(..comment.span.start).unwrap_or("");
    let line = before.rfind(['\n', '\r']).map_or(before, |i| &before[i + 1..]);
    !line.chars().all(|c| c == ' ' || c == '\t')
  }

  /// Whether a comment starts inside `span` of the source.
  fn has_comment_in(&self, start: usize, end: usize) -> bool {
    let i = self.comments.partition_point(|c| c.span.start < start);
    self.comments.get(i).is_some_and(|c| c.span.start < end)
  }

  /// Statements of a file, block or map, each on its own line at `indent`.
  fn stmts(&mut self, stmts: &[Stmt], indent: usize, seq: &mut Seq) {
    for stmt in stmts {
      self.comments_before(stmt.span.start, indent, seq);
      let blank = self.blank_before(seq, stmt.span.start);
      self.start_line(indent, blank);
      self.stmt(stmt, indent);
      seq.first = false;
      seq.prev_end = seq.prev_end.max(stmt.span.end);
    }
  }

  /// One statement, from the current position of a line at `indent`.
  fn stmt(&mut self, stmt: &Stmt, indent: usize) {
    for (i, term) in stmt.head.iter().enumerate() {
      if i > 0 {
        self.code(" ");
      }
      match term {
        Term::Op(op, _) => self.code(op.as_str()),
        Term::Value(value) => self.value(value, indent, 0),
      }
    }
    if let Some(value) = &stmt.value {
      self.code(" = ");
      self.value(value, indent, if stmt.block.is_some() { 2 } else { 0 });
    }
    if let Some(block) = &stmt.block {
      self.code(" ");
      self.braces(&block.stmts, block.span.start, block.span.end, indent, true);
    }
  }

  /// A value, from the current position of a line at `indent`; `trail` is the
  /// width of what follows it on the line (`,` or ` {`).
  fn value(&mut self, value: &Value, indent: usize, trail: usize) {
    if matches!(value.kind, ValueKind::List(_) | ValueKind::Map(_))
      && let Some(flat) = self.flat(value)
    {
      let empty = matches!(&value.kind, ValueKind::List(v) if v.is_empty())
        || matches!(&value.kind, ValueKind::Map(b) if b.stmts.is_empty());
      if empty || self.column() + flat.chars().count() + trail <= MAX_WIDTH {
        self.code(&flat);
        return;
      }
    }
    match &value.kind {
      ValueKind::List(items) => self.list(items, value.span.end, indent),
      ValueKind::Map(Block { stmts, span }) => self.braces(stmts, span.start, span.end, indent, false),
      _ => {
        let mut s = String::new();
        scalar(value, &mut s);
        self.code(&s);
      }
    }
  }

  /// An expanded list: one item per line, each followed by `,`.
  fn list(&mut self, items: &[Value], end: usize, indent: usize) {
    let inner = indent + INDENT;
    let mut seq = Seq::new(false);
    self.code("[");
    for item in items {
      self.comments_before(item.span.start, inner, &mut seq);
      self.start_line(inner, false);
      self.value(item, inner, 1);
      self.code(",");
    }
    self.comments_before(end.saturating_sub(1), indent, &mut seq);
    self.start_line(indent, false);
    self.code("]");
  }

  /// A block (`blank_lines`) or map in braces spanning `start..end` of the
  /// source: `{}` when empty, else expanded with one statement per line.
  fn braces(&mut self, stmts: &[Stmt], start: usize, end: usize, indent: usize, blank_lines: bool) {
    if stmts.is_empty() && !self.has_comment_in(start, end) {
      self.code("{}");
      return;
    }
    let mut seq = Seq::new(blank_lines);
    self.code("{");
    self.stmts(stmts, indent + INDENT, &mut seq);
    self.comments_before(end.saturating_sub(1), indent, &mut seq);
    self.start_line(indent, false);
    self.code("}");
  }

  /// A list or map on one line, or `None` when it holds a comment, a heredoc or
  /// a block.
  fn flat(&self, value: &Value) -> Option<String> {
    let mut out = String::new();
    self.flat_value(value, &mut out).then_some(out)
  }

  fn flat_value(&self, value: &Value, out: &mut String) -> bool {
    match &value.kind {
      ValueKind::List(items) => {
        if self.has_comment_in(value.span.start, value.span.end) {
          return false;
        }
        out.push('[');
        for (i, item) in items.iter().enumerate() {
          if i > 0 {
            out.push_str(", ");
          }
          if !self.flat_value(item, out) {
            return false;
          }
        }
        out.push(']');
        true
      }
      ValueKind::Map(block) => {
        if self.has_comment_in(value.span.start, value.span.end) {
          return false;
        }
        if block.stmts.is_empty() {
          out.push_str("{}");
          return true;
        }
        out.push_str("{ ");
        for (i, stmt) in block.stmts.iter().enumerate() {
          if i > 0 {
            out.push_str(", ");
          }
          if !self.flat_stmt(stmt, out) {
            return false;
          }
        }
        out.push_str(" }");
        true
      }
      ValueKind::Str(s) if s.heredoc => false,
      _ => {
        scalar(value, out);
        true
      }
    }
  }

  fn flat_stmt(&self, stmt: &Stmt, out: &mut String) -> bool {
    if stmt.block.is_some() {
      return false;
    }
    for (i, term) in stmt.head.iter().enumerate() {
      if i > 0 {
        out.push(' ');
      }
      match term {
        Term::Op(op, _) => out.push_str(op.as_str()),
        Term::Value(value) => {
          if !self.flat_value(value, out) {
            return false;
          }
        }
      }
    }
    match &stmt.value {
      Some(value) => {
        out.push_str(" = ");
        self.flat_value(value, out)
      }
      None => true,
    }
  }
}

/// A string, heredoc, number, boolean or word, exactly as written.
fn scalar(value: &Value, out: &mut String) {
  match &value.kind {
    ValueKind::Str(s) => out.push_str(&s.raw),
    ValueKind::Int(i) => out.push_str(&i.raw),
    ValueKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
    ValueKind::Word(w) => out.push_str(w),
    ValueKind::List(_) | ValueKind::Map(_) => {}
  }
}

/// Whether `text` holds an empty line: two line breaks with only spaces and
/// tabs between them (`\r\n` is one break).
fn has_blank_line(text: &str) -> bool {
  let mut breaks = 0;
  let mut chars = text.chars().peekable();
  while let Some(c) = chars.next() {
    match c {
      '\n' => breaks += 1,
      '\r' => {
        if chars.peek() == Some(&'\n') {
          chars.next();
        }
        breaks += 1;
      }
      ' ' | '\t' => {}
      _ => breaks = 0,
    }
    if breaks >= 2 {
      return true;
    }
  }
  false
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::source::FileId;
  use crate::syntax::ast::shape;
  use crate::syntax::parser::parse;

  fn fmt(text: &str) -> String {
    let (ast, diags) = parse(FileId(0), text);
    assert!(diags.is_empty(), "unexpected diagnostics for {text:?}: {diags:?}");
    format(&ast, text)
  }

  /// Formats `input`, compares with `expected`, and checks that the result is
  /// stable and means the same.
  fn check(input: &str, expected: &str) {
    let out = fmt(input);
    assert_eq!(out, expected, "formatting {input:?}");
    assert_eq!(fmt(&out), out, "formatting is not idempotent for {input:?}");
    let (before, _) = parse(FileId(0), input);
    let (after, _) = parse(FileId(0), &out);
    assert_eq!(shape(&after.stmts), shape(&before.stmts));
    let texts = |ast: &Ast| ast.comments.iter().map(|c| c.text.clone()).collect::<Vec<_>>();
    assert_eq!(texts(&after), texts(&before));
  }

  const ILLUSTRATION: &str = r#"inventory "inventory.ini"
vars { go_version = "1.22.5" }
hosts "devboxes" {
  go toolchain "{{ go_version }}" { sha256 = "…" }
  go tool "golang.org/x/tools/gopls" "v0.16.2"
  proxy ["https://goproxy.cn", "https://proxy.golang.org", direct]
  goenv { GOPRIVATE = "git.internal.example.com" }
  path prepend ["/usr/local/go/bin", "$HOME/go/bin"]
  selinux label "$HOME/go/pkg/mod(/.*)?" type "user_home_t"
  sysctl "fs.inotify.max_user_watches" = 524288
  assert kernel >= "5.10"
}
"#;

  const ILLUSTRATION_FORMATTED: &str = r#"inventory "inventory.ini"
vars {
  go_version = "1.22.5"
}
hosts "devboxes" {
  go toolchain "{{ go_version }}" {
    sha256 = "…"
  }
  go tool "golang.org/x/tools/gopls" "v0.16.2"
  proxy ["https://goproxy.cn", "https://proxy.golang.org", direct]
  goenv {
    GOPRIVATE = "git.internal.example.com"
  }
  path prepend ["/usr/local/go/bin", "$HOME/go/bin"]
  selinux label "$HOME/go/pkg/mod(/.*)?" type "user_home_t"
  sysctl "fs.inotify.max_user_watches" = 524288
  assert kernel >= "5.10"
}
"#;

  #[test]
  fn formats_the_illustration() {
    check(ILLUSTRATION, ILLUSTRATION_FORMATTED);
  }

  #[test]
  fn formats_by_example() {
    let long =
      format!("x = [{}]\n", (0..12).map(|i| format!("\"item-number-{i}\"")).collect::<Vec<_>>().join(", "));
    let long_expanded =
      format!("x = [\n{}]\n", (0..12).map(|i| format!("  \"item-number-{i}\",\n")).collect::<String>());
    let table: &[(&str, &str)] = &[
      ("", ""),
      ("  \n\n\t\n", ""),
      ("# only\n\n\n// comments   \n", "# only\n\n// comments\n"),
      ("a=1", "a = 1\n"),
      ("a   b    \"c\"   =   -1\n\n\n", "a b \"c\" = -1\n"),
      ("\n\na = 1\n\n\n\nb = 2\nc = 3\n\n", "a = 1\n\nb = 2\nc = 3\n"),
      ("a = 1; b = 2 # two\n", "a = 1\nb = 2 # two\n"),
      ("a = 1\r\nb { c = 2 }\r\n", "a = 1\nb {\n  c = 2\n}\n"),
      ("\"go.toolsEnvVars\" = true", "\"go.toolsEnvVars\" = true\n"),
      ("a {}\nb {\n\n}\nc { ; , }", "a {}\nb {}\nc {}\n"),
      ("a { b = 1, c = 2; d { e = 3 } }", "a {\n  b = 1\n  c = 2\n  d {\n    e = 3\n  }\n}\n"),
      ("a {\n\n  b = 1\n\n\n  c = 2\n\n}\n", "a {\n  b = 1\n\n  c = 2\n}\n"),
      ("x = {}\ny = []\nz = [\n]\n", "x = {}\ny = []\nz = []\n"),
      ("env = {\n  A = \"1\"\n  B = 2\n}\n", "env = { A = \"1\", B = 2 }\n"),
      ("env = { A = \"1\"; B = { C = [1,2] } }", "env = { A = \"1\", B = { C = [1, 2] } }\n"),
      ("x = [\n  \"a\",\n  [1,2,],\n]\n", "x = [\"a\", [1, 2]]\n"),
      (&long, &long_expanded),
      ("x = { a { b = 1 } }", "x = {\n  a {\n    b = 1\n  }\n}\n"),
      ("x = [1, # one\n 2]", "x = [\n  1, # one\n  2,\n]\n"),
      ("x = [ # first\n 1 # one\n , 2\n # last\n]", "x = [ # first\n  1, # one\n  2,\n# last\n]\n"),
      ("x = { # c\n A = 1 }", "x = { # c\n  A = 1\n}\n"),
      ("x = [ # c\n]\ny = { # d\n}\nz { # e\n}\n", "x = [ # c\n]\ny = { # d\n}\nz { # e\n}\n"),
      (
        "# head\n\n\na = 1 # one\n  # before b\nb {\n  # inside\n\n  c = 2 // two\n    # end of b\n} # after b\n# tail\n",
        "# head\n\na = 1 # one\n# before b\nb {\n  # inside\n\n  c = 2 // two\n# end of b\n} # after b\n# tail\n",
      ),
      ("a { b = 1 # x\n ; # y\n c = 2 }", "a {\n  b = 1 # x\n  # y\n  c = 2\n}\n"),
      ("x = <<EOT\n  body {\n    EOT2\nEOT\ny = 1\n", "x = <<EOT\n  body {\n    EOT2\nEOT\ny = 1\n"),
      (
        "a {\n     x = <<-EOT\n       indented\n       EOT # c\n  y = 2 }",
        "a {\n  x = <<-EOT\n       indented\n       EOT # c\n  y = 2\n}\n",
      ),
      ("x = [<<EOT\nline\nEOT, 2] { a = 1 }", "x = [\n  <<EOT\nline\nEOT,\n  2,\n] {\n  a = 1\n}\n"),
      ("assert kernel>=\"5.10\"", "assert kernel >= \"5.10\"\n"),
      ("mode = 0644\nx = \"a\\\"b\\u{41}\"", "mode = 0644\nx = \"a\\\"b\\u{41}\"\n"),
      ("a = 1 \\\n  # c\nb = 2\n", "a = 1\n# c\nb = 2\n"),
      ("a = 1\rb = 2\r\r\rc = 3", "a = 1\nb = 2\n\nc = 3\n"),
      ("a {\n\tb = 1\n\t\tc {\td = 2 }\n}", "a {\n  b = 1\n  c {\n    d = 2\n  }\n}\n"),
      ("x = { A = 1 }   {b=2}", "x = { A = 1 } {\n  b = 2\n}\n"),
      ("x = <<EOT\nbody\nEOT { b = 2 }", "x = <<EOT\nbody\nEOT {\n  b = 2\n}\n"),
      ("x = [1, <<EOT\nbody\nEOT # after\n]", "x = [\n  1,\n  <<EOT\nbody\nEOT, # after\n]\n"),
      ("a {\n  b = 1\n\n  // last\n\n}", "a {\n  b = 1\n\n// last\n}\n"),
    ];
    for (input, expected) in table {
      check(input, expected);
    }
  }

  #[test]
  fn lists_and_maps_stay_on_one_line_up_to_100_columns() {
    // `x = [""]` is 8 columns around the string.
    let fits = format!("x = [\"{}\"]\n", "a".repeat(92));
    check(&fits, &fits);
    let long = format!("x = [\"{}\"]\n", "a".repeat(93));
    check(&long, &format!("x = [\n  \"{}\",\n]\n", "a".repeat(93)));
    // Inside a block the indentation counts, and so does the ` {` of a block.
    let nested = format!("a {{\n  x = {{ K = \"{}\" }}\n}}\n", "b".repeat(84));
    check(&nested, &nested);
    let with_block = format!("x = {{ K = \"{}\" }} {{}}\n", "b".repeat(85));
    check(&with_block, &format!("x = {{\n  K = \"{}\"\n}} {{}}\n", "b".repeat(85)));
  }

  #[test]
  fn has_blank_line_counts_crlf_as_one_break() {
    assert!(!has_blank_line("\r\n  "));
    assert!(has_blank_line("\r\n \t\r\n"));
    assert!(!has_blank_line("\n;\n"));
    assert!(has_blank_line(";\n\n"));
  }
}
