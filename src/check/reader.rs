//! Reading a statement against the shape a resource kind expects.
//!
//! Resource kinds describe their syntax by calling a [`Reader`]: `label` for the
//! next string in the head, `keyword` for a fixed word, `options` for the block of
//! `key = value` attributes. Each call reports its own mistakes (missing label,
//! wrong type, unknown attribute with "did you mean"), so every kind gets the same
//! diagnostics without writing them.
//!
//! Conventions: `label`/`keyword`/`list` consume head terms in order; `finish`
//! reports head terms nobody consumed. Methods return `None` after reporting an
//! error, so callers simply use `?`.

use crate::check::text::{self, Text};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::source::Span;
use crate::syntax::ast::{Block, Op, Stmt, Term, Value, ValueKind};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

/// What reading needs besides the statement: where to report, and the directory
/// of the playbook (relative `source` paths are relative to it).
pub struct Cx<'a> {
  pub diagnostics: &'a mut Diagnostics,
  pub base_dir: PathBuf,
}

impl Cx<'_> {
  pub fn error(&mut self, d: Diagnostic) {
    self.diagnostics.push(d);
  }

  pub fn base_dir(&self) -> &Path {
    &self.base_dir
  }
}

/// Options every resource takes in its block.
pub const META: &[&str] = &["name", "after", "notify", "sensitive"];

/// Names, ordering and notifications of one resource.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meta {
  pub name: Option<Text>,
  pub after: Vec<Text>,
  pub notify: Vec<Text>,
  pub sensitive: bool,
}

/// A cursor over one statement.
pub struct Reader<'s> {
  stmt: &'s Stmt,
  pos: usize,
  /// The meta attributes found by [`Reader::options`] or [`Reader::meta_only`].
  pub meta: Meta,
  /// How the statement is called in messages: `go toolchain`.
  kind: String,
}

impl<'s> Reader<'s> {
  /// A reader positioned after the statement's `keywords` leading words.
  pub fn new(stmt: &'s Stmt, keywords: usize, kind: impl Into<String>) -> Self {
    Self { stmt, pos: keywords, meta: Meta::default(), kind: kind.into() }
  }

  pub fn stmt(&self) -> &'s Stmt {
    self.stmt
  }

  pub fn kind(&self) -> &str {
    &self.kind
  }

  pub fn span(&self) -> Span {
    self.stmt.span
  }

  /// Where a missing part would go: just after the head.
  fn after_head(&self) -> Span {
    let end = self.stmt.head_span().end;
    Span::new(self.stmt.span.file, end, end)
  }

  pub fn peek(&self) -> Option<&'s Term> {
    self.stmt.head.get(self.pos)
  }

  pub fn peek_word(&self) -> Option<&'s str> {
    self.peek().and_then(Term::word)
  }

  pub fn next_term(&mut self) -> Option<&'s Term> {
    let term = self.stmt.head.get(self.pos);
    if term.is_some() {
      self.pos += 1;
    }
    term
  }

  /// The next head term, which must be a string: `go toolchain "1.22.5"`.
  pub fn label(&mut self, cx: &mut Cx, what: &str) -> Option<Text> {
    match self.next_term() {
      Some(Term::Value(v)) => text_of(v, cx, &format!("the {what} of `{}`", self.kind)),
      Some(Term::Op(op, span)) => {
        cx.error(
          Diagnostic::new(
            Code::Shape,
            format!("expected the {what} of `{}`, found `{}`", self.kind, op.as_str()),
          )
          .label(*span, "unexpected operator"),
        );
        None
      }
      None => {
        cx.error(
          Diagnostic::new(Code::MissingAttribute, format!("`{}` needs its {what}", self.kind))
            .label(self.after_head(), format!("{what} expected here"))
            .help(format!("write it as a string after `{}`", self.kind)),
        );
        None
      }
    }
  }

  /// The next head term as a string or a bare word (`sysctl fs.file-max = 1`).
  pub fn label_or_word(&mut self, cx: &mut Cx, what: &str) -> Option<Text> {
    if let Some(Term::Value(Value { kind: ValueKind::Word(w), span })) = self.peek() {
      self.pos += 1;
      return Some(Text::new(w.clone(), *span));
    }
    self.label(cx, what)
  }

  /// A fixed word, such as `type` in `selinux label "..." type "..."`.
  pub fn keyword(&mut self, cx: &mut Cx, keyword: &str) -> bool {
    match self.peek() {
      Some(term) if term.word() == Some(keyword) => {
        self.pos += 1;
        true
      }
      Some(term) => {
        let found = describe_term(term);
        cx.error(
          Diagnostic::new(Code::Shape, format!("expected `{keyword}` in `{}`, found {found}", self.kind))
            .label(term.span(), format!("expected `{keyword}`")),
        );
        false
      }
      None => {
        cx.error(
          Diagnostic::new(Code::MissingAttribute, format!("`{}` needs `{keyword}` here", self.kind))
            .label(self.after_head(), format!("`{keyword}` expected")),
        );
        false
      }
    }
  }

  /// The next head term if it is an operator.
  pub fn op(&mut self) -> Option<(Op, Span)> {
    match self.peek() {
      Some(Term::Op(op, span)) => {
        self.pos += 1;
        Some((*op, *span))
      }
      _ => None,
    }
  }

  /// Reports head terms that nothing consumed.
  pub fn finish(&self, cx: &mut Cx) -> Option<()> {
    let rest = &self.stmt.head[self.pos.min(self.stmt.head.len())..];
    let (Some(first), Some(last)) = (rest.first(), rest.last()) else { return Some(()) };
    cx.error(
      Diagnostic::new(
        Code::Shape,
        format!("`{}` takes nothing more here, found {}", self.kind, describe_term(first)),
      )
      .label(first.span().to(last.span()), "unexpected")
      .help("see the reference for the shape of this statement"),
    );
    None
  }

  /// The `= value` of the statement, which must be there.
  pub fn value(&self, cx: &mut Cx, what: &str) -> Option<&'s Value> {
    match &self.stmt.value {
      Some(v) => Some(v),
      None => {
        cx.error(
          Diagnostic::new(Code::MissingAttribute, format!("`{}` needs `= {what}`", self.kind))
            .label(self.after_head(), format!("`= {what}` expected here")),
        );
        None
      }
    }
  }

  /// Reports an `= value` the statement does not take.
  pub fn no_value(&self, cx: &mut Cx) -> Option<()> {
    if let Some(v) = &self.stmt.value {
      cx.error(
        Diagnostic::new(Code::Shape, format!("`{}` takes no `= value`", self.kind))
          .label(v.span, "unexpected value")
          .help("options go in a block: `{ key = value }`"),
      );
      return None;
    }
    Some(())
  }

  /// Reads the block as options: `allowed` attributes plus [`META`].
  pub fn options(&mut self, cx: &mut Cx, allowed: &[&str]) -> Options<'s> {
    let mut options = Options::default();
    if let Some(block) = &self.stmt.block {
      options.read(block, cx, allowed, &self.kind, true);
    }
    self.meta = options.meta.clone();
    options
  }

  /// Reads only the [`META`] attributes of a block whose other statements the
  /// kind reads itself (`goenv`, `vscode settings`).
  pub fn meta_only(&mut self, cx: &mut Cx) {
    let Some(block) = &self.stmt.block else { return };
    let mut options = Options::default();
    for stmt in &block.stmts {
      let is_meta = matches!(stmt.head.as_slice(), [t] if t.word().is_some_and(|w| META.contains(&w)));
      if let (true, Some(value)) = (is_meta, &stmt.value) {
        let key = stmt.head[0].word().unwrap_or_default().to_owned();
        options.attrs.insert(key, (value, stmt.head_span()));
      }
    }
    self.meta = options.read_meta(cx);
  }
}

/// The `key = value` attributes of a block, checked against a list.
#[derive(Default)]
pub struct Options<'s> {
  attrs: IndexMap<String, (&'s Value, Span)>,
  /// Known attributes that an unknown one was taken for ("did you mean").
  misspelled: Vec<String>,
  pub meta: Meta,
}

impl<'s> Options<'s> {
  fn read(&mut self, block: &'s Block, cx: &mut Cx, allowed: &[&str], kind: &str, meta: bool) {
    for stmt in &block.stmts {
      let Some((key, key_span, value)) = attribute(stmt, cx, kind) else { continue };
      let known = allowed.contains(&key.as_str()) || (meta && META.contains(&key.as_str()));
      if !known {
        let candidates = allowed.iter().chain(if meta { META } else { &[] }).copied();
        let mut d = Diagnostic::new(Code::UnknownAttribute, format!("`{kind}` has no attribute `{key}`"))
          .label(key_span, "unknown attribute");
        let all: Vec<&str> = allowed.iter().chain(if meta { META } else { &[] }).copied().collect();
        d = match did_you_mean(&key, candidates) {
          Some(s) => {
            if let Some(known) = allowed.iter().chain(META).find(|k| **k == s) {
              self.misspelled.push((*known).to_owned());
            }
            d.help(format!("did you mean `{s}`?"))
          }
          None => d.help(format!("`{kind}` takes: {}", all.join(", "))),
        };
        cx.error(d);
        continue;
      }
      if let Some((_, first)) = self.attrs.get(&key) {
        cx.error(
          Diagnostic::new(Code::DuplicateAttribute, format!("`{key}` is given twice"))
            .label(key_span, "given again here")
            .label(*first, "first given here")
            .help("keep one of them"),
        );
        continue;
      }
      self.attrs.insert(key, (value, key_span));
    }
    if meta {
      self.meta = self.read_meta(cx);
    }
  }

  fn read_meta(&self, cx: &mut Cx) -> Meta {
    Meta {
      name: self.text(cx, "name"),
      after: self.text_list(cx, "after").unwrap_or_default(),
      notify: self.text_list(cx, "notify").unwrap_or_default(),
      sensitive: self.bool(cx, "sensitive").unwrap_or(false),
    }
  }

  pub fn has(&self, key: &str) -> bool {
    self.attrs.contains_key(key)
  }

  /// Whether an unknown attribute was reported as a misspelling of `key`, so
  /// that its absence need not be reported again.
  pub fn misspelled(&self, key: &str) -> bool {
    self.misspelled.iter().any(|k| k == key)
  }

  pub fn raw(&self, key: &str) -> Option<&'s Value> {
    self.attrs.get(key).map(|(v, _)| *v)
  }

  pub fn key_span(&self, key: &str) -> Option<Span> {
    self.attrs.get(key).map(|(_, s)| *s)
  }

  /// A string attribute.
  pub fn text(&self, cx: &mut Cx, key: &str) -> Option<Text> {
    let value = self.raw(key)?;
    text_of(value, cx, &format!("`{key}`"))
  }

  pub fn bool(&self, cx: &mut Cx, key: &str) -> Option<bool> {
    let value = self.raw(key)?;
    match &value.kind {
      ValueKind::Bool(b) => Some(*b),
      other => {
        let mut d = Diagnostic::new(
          Code::WrongType,
          format!("`{key}` expects `true` or `false`, found {}", other.describe()),
        )
        .label(value.span, "not a boolean");
        if let ValueKind::Str(s) = other
          && (s.value == "true" || s.value == "false" || s.value == "yes" || s.value == "no")
        {
          let b = if s.value == "true" || s.value == "yes" { "true" } else { "false" };
          d = d.help(format!("did you mean `{b}`, without quotes?"));
        }
        cx.error(d);
        None
      }
    }
  }

  pub fn int(&self, cx: &mut Cx, key: &str) -> Option<(i64, Span)> {
    let value = self.raw(key)?;
    match &value.kind {
      ValueKind::Int(i) => Some((i.value, value.span)),
      other => {
        let mut d = Diagnostic::new(
          Code::WrongType,
          format!("`{key}` expects a whole number, found {}", other.describe()),
        )
        .label(value.span, "not a number");
        if let ValueKind::Str(s) = other
          && s.value.parse::<i64>().is_ok()
        {
          d = d.help(format!("did you mean `{}`, without quotes?", s.value));
        }
        cx.error(d);
        None
      }
    }
  }

  /// A string or a list of strings.
  pub fn text_list(&self, cx: &mut Cx, key: &str) -> Option<Vec<Text>> {
    let value = self.raw(key)?;
    match &value.kind {
      ValueKind::List(items) => {
        let mut out = Vec::new();
        for item in items {
          out.push(text_of(item, cx, &format!("an item of `{key}`"))?);
        }
        Some(out)
      }
      _ => text_of(value, cx, &format!("`{key}`")).map(|t| vec![t]),
    }
  }

  /// One of a fixed set of words, written bare or quoted: `scope = system`.
  pub fn choice(&self, cx: &mut Cx, key: &str, choices: &[&str]) -> Option<Text> {
    let value = self.raw(key)?;
    let (word, span) = match &value.kind {
      ValueKind::Word(w) => (w.clone(), value.span),
      ValueKind::Str(s) => (s.value.clone(), value.span),
      other => {
        cx.error(
          Diagnostic::new(
            Code::WrongType,
            format!("`{key}` expects one of {}, found {}", quote_list(choices), other.describe()),
          )
          .label(value.span, "not one of the choices"),
        );
        return None;
      }
    };
    if choices.contains(&word.as_str()) {
      return Some(Text::new(word, span));
    }
    let mut d = Diagnostic::new(
      Code::WrongType,
      format!("`{key}` must be one of {}, not `{word}`", quote_list(choices)),
    )
    .label(span, "not one of the choices");
    if let Some(s) = did_you_mean(&word, choices.iter().copied()) {
      d = d.help(format!("did you mean `{s}`?"));
    }
    cx.error(d);
    None
  }
}

/// Reads a statement that must be `key = value` (the key a word or a string).
pub fn attribute<'s>(stmt: &'s Stmt, cx: &mut Cx, within: &str) -> Option<(String, Span, &'s Value)> {
  let key = match stmt.head.as_slice() {
    [Term::Value(Value { kind: ValueKind::Word(w), span })] => (w.clone(), *span),
    [Term::Value(Value { kind: ValueKind::Str(s), span })] => (s.value.clone(), *span),
    _ => {
      let mut d = Diagnostic::new(Code::Shape, format!("expected `key = value` inside `{within}`"))
        .label(stmt.head_span(), "not an attribute");
      if let Some(words) = stmt.head.first().and_then(Term::word) {
        if stmt.value.is_none() && stmt.head.len() == 2 {
          d = d.help(format!("did you mean `{words} = ...`?"));
        } else {
          d = d
            .help(format!("`{within}` holds attributes; resources go in `hosts` blocks or at the top level"));
        }
      }
      cx.error(d);
      return None;
    }
  };
  match &stmt.value {
    Some(value) => {
      if stmt.block.is_some() {
        cx.error(
          Diagnostic::new(Code::Shape, format!("the attribute `{}` takes no block", key.0))
            .label(stmt.block.as_ref().map_or(stmt.span, |b| b.span), "unexpected block"),
        );
      }
      Some((key.0, key.1, value))
    }
    None => {
      let help = if stmt.block.is_some() {
        format!("did you mean `{} = {{ ... }}`?", key.0)
      } else {
        format!("did you mean `{} = \"...\"`?", key.0)
      };
      cx.error(
        Diagnostic::new(Code::MissingAttribute, format!("`{}` has no value", key.0))
          .label(key.1, "expected `= value` after this")
          .help(help),
      );
      None
    }
  }
}

/// A string value as a [`Text`], its template syntax checked.
pub fn text_of(value: &Value, cx: &mut Cx, what: &str) -> Option<Text> {
  match &value.kind {
    ValueKind::Str(s) => {
      if text::is_template(&s.value) {
        let offset = if s.heredoc { s.raw.find('\n').map_or(0, |i| i + 1) } else { 1 };
        if let Err(d) = text::check_syntax(&s.value, value.span, offset) {
          cx.error(d);
          return None;
        }
      }
      Some(Text::new(s.value.clone(), value.span))
    }
    other => {
      let shown = match other {
        ValueKind::Word(w) => Some(w.clone()),
        ValueKind::Int(i) => Some(i.raw.clone()),
        ValueKind::Bool(b) => Some(b.to_string()),
        _ => None,
      };
      let mut d =
        Diagnostic::new(Code::WrongType, format!("{what} must be a string, found {}", other.describe()))
          .label(value.span, "expected a string");
      if let Some(shown) = shown {
        d = d.help(format!("did you mean `\"{shown}\"`?"));
      }
      cx.error(d);
      None
    }
  }
}

/// Converts a value to JSON (variables, VS Code settings). Bare words are refused.
pub fn json_of(value: &Value, cx: &mut Cx) -> Option<serde_json::Value> {
  Some(match &value.kind {
    ValueKind::Str(s) => serde_json::Value::String(s.value.clone()),
    ValueKind::Int(i) => serde_json::Value::from(i.value),
    ValueKind::Bool(b) => serde_json::Value::Bool(*b),
    ValueKind::Word(w) => {
      cx.error(
        Diagnostic::new(Code::WrongType, format!("a bare word `{w}` is not a value"))
          .label(value.span, "expected a string, number, boolean, list or map")
          .help(format!("did you mean `\"{w}\"`?")),
      );
      return None;
    }
    ValueKind::List(items) => {
      let mut out = Vec::new();
      for item in items {
        out.push(json_of(item, cx)?);
      }
      serde_json::Value::Array(out)
    }
    ValueKind::Map(block) => {
      let mut out = serde_json::Map::new();
      let mut spans: IndexMap<String, Span> = IndexMap::new();
      for stmt in &block.stmts {
        let Some((key, span, v)) = attribute(stmt, cx, "map") else { continue };
        if let Some(first) = spans.get(&key) {
          cx.error(
            Diagnostic::new(Code::DuplicateAttribute, format!("the key `{key}` is given twice"))
              .label(span, "given again here")
              .label(*first, "first given here"),
          );
          continue;
        }
        spans.insert(key.clone(), span);
        if let Some(v) = json_of(v, cx) {
          out.insert(key, v);
        }
      }
      serde_json::Value::Object(out)
    }
  })
}

pub fn describe_term(term: &Term) -> String {
  match term {
    Term::Op(op, _) => format!("`{}`", op.as_str()),
    Term::Value(Value { kind: ValueKind::Word(w), .. }) => format!("`{w}`"),
    Term::Value(v) => v.describe().to_owned(),
  }
}

pub fn quote_list(items: &[&str]) -> String {
  items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}
