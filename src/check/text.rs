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
  let env = environment();
  match env.template_from_str(source) {
    Ok(_) => Ok(()),
    Err(error) => {
      let at = error.range().map_or(span, |r| span.slice(offset + r.start, offset + r.end.max(r.start + 1)));
      let detail = error.detail().unwrap_or("invalid template").to_owned();
      Err(
        Diagnostic::new(Code::TemplateSyntax, format!("template syntax error: {detail}"))
          .label(at, detail)
          .help(
            "templates use minijinja (Jinja2) syntax: `{{ variable }}`, `{{ facts.goarch }}`, `{% if ... %}`",
          ),
      )
    }
  }
}

/// The top-level names a template reads (`go_version`, `facts`), and the dotted
/// paths it reads below them (`facts.goarch`).
pub fn names(source: &str) -> (BTreeSet<String>, BTreeSet<String>) {
  let env = environment();
  match env.template_from_str(source) {
    Ok(t) => (
      t.undeclared_variables(false).into_iter().collect(),
      t.undeclared_variables(true).into_iter().collect(),
    ),
    Err(_) => Default::default(),
  }
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
  fn name_span_respects_word_boundaries() {
    let span = Span::new(FileId(0), 0, 40);
    assert_eq!(name_span("\"{{ go_versions }} {{ go_version }}\"", span, "go_version"), span.slice(22, 32));
  }
}
