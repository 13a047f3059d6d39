//! `template "PATH" { source = "x.j2" }`: a whole file rendered by minijinja with
//! the host's variables and facts.

use super::file::{Content, Ownership, read_content};
use crate::reader::{Cx, Reader};
use crate::resource::{Kind, Spec, Validator};
use crate::text::{self, Text};

pub struct TemplateKind;

#[derive(Debug)]
pub struct Template {
  pub path: Text,
  pub content: Content,
  pub ownership: Ownership,
}

impl Kind for TemplateKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["template"]
  }

  fn summary(&self) -> &'static str {
    "a whole file rendered from a minijinja template"
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let path = r.label(cx, "path")?;
    r.finish(cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, &["content", "source", "mode", "owner", "group"]);
    let content = read_content(&options, cx, r, true)??;
    if let Content::Source { text: source, path: file } = &content {
      if let Ok(body) = std::fs::read_to_string(file) {
        if let Err(mut d) = text::check_syntax(&body, source.span, 0) {
          d.labels.truncate(0);
          d = d.label(source.span, format!("in the template `{}`", file.display()));
          cx.error(d);
        }
      }
    }
    let ownership = Ownership::read(&options, cx);
    Some(Box::new(Template { path, content, ownership }))
  }
}

impl Spec for Template {
  fn id(&self) -> String {
    format!("template {}", self.path.value)
  }

  fn claims(&self) -> Vec<Text> {
    vec![Text::new(format!("file {}", self.path.value), self.path.span)]
  }

  fn validate(&self, v: &mut Validator) {
    super::host_path(v, &self.path, "a template's destination");
    match &self.content {
      Content::Inline(t) => {
        v.text(t);
      }
      Content::Source { text: source, path } => {
        if let Ok(body) = std::fs::read_to_string(path) {
          v.text(&Text::new(body, source.span));
        }
      }
    }
    self.ownership.validate(v);
  }
}
