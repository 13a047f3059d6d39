//! The syntax tree of a `.goenv` file.
//!
//! The tree is deliberately generic: a statement is a head (words, labels,
//! operators), an optional `= value` and an optional block. Meaning is given by
//! the resolver. Every node carries the [`Span`] of the text it came from;
//! comments are kept beside the tree, in source order, for the formatter.

use crate::source::{FileId, Span};

/// A parsed file.
#[derive(Clone, Debug, PartialEq)]
pub struct Ast {
  pub file: FileId,
  pub stmts: Vec<Stmt>,
  /// Every comment of the file, in source order.
  pub comments: Vec<Comment>,
}

/// A `#` or `//` comment, without its line break.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
  pub span: Span,
  pub text: String,
}

/// `head... [= value] [{ block }]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
  pub head: Vec<Term>,
  pub value: Option<Value>,
  pub block: Option<Block>,
  pub span: Span,
}

/// One element of a statement's head.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
  Op(Op, Span),
  Value(Value),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
  Eq,
  Ne,
  Ge,
  Le,
  Gt,
  Lt,
}

impl Op {
  pub fn as_str(self) -> &'static str {
    match self {
      Op::Eq => "==",
      Op::Ne => "!=",
      Op::Ge => ">=",
      Op::Le => "<=",
      Op::Gt => ">",
      Op::Lt => "<",
    }
  }
}

/// Braces holding statements.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
  pub stmts: Vec<Stmt>,
  pub span: Span,
}

/// A value with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
  pub kind: ValueKind,
  pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
  Str(Str),
  Int(Int),
  Bool(bool),
  /// A bare word: a keyword, a name or a symbol such as `direct`.
  Word(String),
  List(Vec<Value>),
  Map(Block),
}

/// A string literal: its decoded value and its text as written (kept by `fmt`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Str {
  pub value: String,
  pub raw: String,
  pub heredoc: bool,
}

/// A whole number and its text as written (`0644` is not `644` to a reader).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Int {
  pub value: i64,
  pub raw: String,
}

impl Term {
  pub fn span(&self) -> Span {
    match self {
      Term::Op(_, span) => *span,
      Term::Value(v) => v.span,
    }
  }

  /// The word, if this term is a bare word.
  pub fn word(&self) -> Option<&str> {
    match self {
      Term::Value(Value { kind: ValueKind::Word(w), .. }) => Some(w),
      _ => None,
    }
  }

  pub fn value(&self) -> Option<&Value> {
    match self {
      Term::Value(v) => Some(v),
      Term::Op(..) => None,
    }
  }
}

impl Value {
  pub fn as_str(&self) -> Option<&str> {
    match &self.kind {
      ValueKind::Str(s) => Some(&s.value),
      _ => None,
    }
  }

  pub fn as_word(&self) -> Option<&str> {
    match &self.kind {
      ValueKind::Word(w) => Some(w),
      _ => None,
    }
  }

  /// What kind of value this is, for messages: "a string", "a list".
  pub fn describe(&self) -> &'static str {
    self.kind.describe()
  }
}

impl ValueKind {
  pub fn describe(&self) -> &'static str {
    match self {
      ValueKind::Str(_) => "a string",
      ValueKind::Int(_) => "a number",
      ValueKind::Bool(_) => "a boolean",
      ValueKind::Word(_) => "a bare word",
      ValueKind::List(_) => "a list",
      ValueKind::Map(_) => "a map",
    }
  }
}

impl Stmt {
  /// The leading bare words of the head: `["go", "tool"]` for
  /// `go tool "golang.org/x/tools/gopls" "v0.16.2"`.
  pub fn keywords(&self) -> Vec<&str> {
    self.head.iter().map_while(Term::word).collect()
  }

  /// The span of the head alone.
  pub fn head_span(&self) -> Span {
    match (self.head.first(), self.head.last()) {
      (Some(first), Some(last)) => first.span().to(last.span()),
      _ => self.span,
    }
  }
}

/// A comparable form of a tree without spans or raw text, used to check that
/// formatting never changes meaning (`parse(fmt(x)) == parse(x)`).
pub fn shape(stmts: &[Stmt]) -> String {
  let mut out = String::new();
  for stmt in stmts {
    shape_stmt(stmt, &mut out);
    out.push('\n');
  }
  out
}

fn shape_stmt(stmt: &Stmt, out: &mut String) {
  out.push('(');
  for term in &stmt.head {
    match term {
      Term::Op(op, _) => out.push_str(op.as_str()),
      Term::Value(v) => shape_value(v, out),
    }
    out.push(' ');
  }
  if let Some(value) = &stmt.value {
    out.push_str("= ");
    shape_value(value, out);
  }
  if let Some(block) = &stmt.block {
    out.push_str(" {");
    for s in &block.stmts {
      shape_stmt(s, out);
    }
    out.push('}');
  }
  out.push(')');
}

fn shape_value(value: &Value, out: &mut String) {
  use std::fmt::Write;
  match &value.kind {
    ValueKind::Str(s) => {
      let _ = write!(out, "{:?}", s.value);
    }
    ValueKind::Int(i) => {
      let _ = write!(out, "{}", i.value);
    }
    ValueKind::Bool(b) => {
      let _ = write!(out, "{b}");
    }
    ValueKind::Word(w) => out.push_str(w),
    ValueKind::List(items) => {
      out.push('[');
      for item in items {
        shape_value(item, out);
        out.push(',');
      }
      out.push(']');
    }
    ValueKind::Map(block) => {
      out.push('{');
      for s in &block.stmts {
        shape_stmt(s, out);
      }
      out.push('}');
    }
  }
}
