//! Strings that may hold minijinja templates.
//!
//! A [`Text`] is a string value from a playbook with its span. Its template
//! syntax is checked when it is read; it is rendered per host, with the host's
//! variables and (at plan time) its facts. At check time facts are not known, so
//! a text that uses `facts` is checked for syntax and names only.

use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;
use std::collections::BTreeSet;

/// A string from a playbook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
  pub value: String,
  pub span: Span,
}

impl Text {
  pub fn new(value: impl Into<String>, span: Span) -> Self {
    Self { value: value.into(), span }
  }

  /// Whether the text holds template syntax and must be rendered.
  pub fn is_template(&self) -> bool {
    is_template(&self.value)
  }
}

pub fn is_template(s: &str) -> bool {
  s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// The environment every template is rendered in: strict about undefined names,
/// no auto-escaping, and the trailing newline kept.
pub fn environment() -> minijinja::Environment<'static> {
  let mut env = minijinja::Environment::new();
  env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
  if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder().keep_trailing_newline(true).build() {
    env.set_syntax(syntax);
  }
  env
}

/// Checks template syntax. `span` is the string literal the template came from;
/// `offset` is where its decoded text starts within the span (1 after a quote).
pub fn check_syntax(source: &str, span: Span, offset: usize) -> Result<(), Diagnostic> {
  let Some((range, detail)) = compiled(source).error else { return Ok(()) };
  let at = range.map_or(span, |r| span.slice(offset + r.start, offset + r.end.max(r.start + 1)));
  Err(
    Diagnostic::new(Code::TemplateSyntax, format!("template syntax error: {detail}")).label(at, detail).help(
      "templates use minijinja (Jinja2) syntax: `{{ variable }}`, `{{ facts.goarch }}`, `{% if ... %}`",
    ),
  )
}

/// The top-level names a template reads (`go_version`, `facts`), and the dotted
/// paths it reads below them (`facts.goarch`).
pub fn names(source: &str) -> (BTreeSet<String>, BTreeSet<String>) {
  compiled(source).names
}

/// What a template compiles to: the names it reads, or its syntax error.
#[derive(Clone, Default)]
struct Compiled {
  names: (BTreeSet<String>, BTreeSet<String>),
  error: Option<(Option<std::ops::Range<usize>>, String)>,
}

thread_local! {
  /// Templates compiled lately, by source: a template is checked once per host,
  /// and `converge lsp` checks a playbook again after every change. Cleared
  /// when it holds [`CACHED_BYTES`] of sources.
  static COMPILED: std::cell::RefCell<(usize, std::collections::HashMap<String, Compiled>)> =
    Default::default();
}

const CACHED_BYTES: usize = 4 << 20;

fn compiled(source: &str) -> Compiled {
  if let Some(hit) = COMPILED.with_borrow(|(_, cache)| cache.get(source).cloned()) {
    return hit;
  }
  let env = environment();
  let out = match env.template_from_str(source) {
    Ok(t) => Compiled {
      names: (
        t.undeclared_variables(false).into_iter().collect(),
        t.undeclared_variables(true).into_iter().collect(),
      ),
      error: None,
    },
    Err(e) => Compiled {
      names: Default::default(),
      error: Some((e.range(), e.detail().unwrap_or("invalid template").to_owned())),
    },
  };
  COMPILED.with_borrow_mut(|(bytes, cache)| {
    if *bytes + source.len() > CACHED_BYTES {
      cache.clear();
      *bytes = 0;
    }
    if source.len() <= CACHED_BYTES {
      *bytes += source.len();
      cache.insert(source.to_owned(), out.clone());
    }
  });
  out
}

/// Renders a template with a context.
pub fn render(source: &str, context: &minijinja::Value) -> Result<String, minijinja::Error> {
  let env = environment();
  env.render_str(source, context)
}

/// The span of the first occurrence of `name` inside a template's literal, or the
/// whole literal when it cannot be found (for instance behind escapes).
pub fn name_span(literal: &str, span: Span, name: &str) -> Span {
  let mut from = 0;
  while let Some(i) = literal[from..].find(name) {
    let start = from + i;
    let end = start + name.len();
    let before = literal[..start].chars().next_back();
    let after = literal[end..].chars().next();
    let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
    if boundary(before) && boundary(after) {
      return span.slice(start, end);
    }
    from = end;
  }
  span
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::source::FileId;

  #[test]
  fn names_lists_top_level_and_nested() {
    let (top, nested) = names("go{{ go_version }}.{{ facts.goarch }}");
    assert_eq!(top.into_iter().collect::<Vec<_>>(), vec!["facts", "go_version"]);
    assert!(nested.contains("facts.goarch"));
  }

  #[test]
  fn syntax_errors_point_into_the_literal() {
    let span = Span::new(FileId(0), 10, 30);
    let err = check_syntax("a {{ b ", span, 1).err().map(|d| d.code);
    assert_eq!(err, Some(Code::TemplateSyntax));
  }

  #[test]
  fn compiled_templates_are_remembered_within_a_bounded_size() {
    let big = format!("{{{{ a }}}}{}", "x".repeat(CACHED_BYTES / 3));
    for i in 0..10 {
      let source = format!("{big}{i}");
      assert_eq!(names(&source).0.into_iter().collect::<Vec<_>>(), vec!["a"]);
      assert!(COMPILED.with_borrow(|(bytes, _)| *bytes <= CACHED_BYTES));
    }
    let span = Span::new(FileId(0), 0, 20);
    for _ in 0..2 {
      assert!(check_syntax("{{ b }}", span, 1).is_ok());
      assert_eq!(check_syntax("a {{ b ", span, 1).err().map(|d| d.code), Some(Code::TemplateSyntax));
    }
  }

  #[test]
  fn name_span_respects_word_boundaries() {
    let span = Span::new(FileId(0), 0, 40);
    assert_eq!(name_span("\"{{ go_versions }} {{ go_version }}\"", span, "go_version"), span.slice(22, 32));
  }
}
