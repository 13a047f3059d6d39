//! `template "PATH" { source = "x.j2" }`: a whole file rendered by minijinja with
//! the host's variables and facts.

use super::file::{Content, Ownership, file_request, read_content, read_controller_file};
use crate::check::reader::{Cx, Reader};
use crate::check::resource::{HostInfo, HostPath, Kind, KindDoc, QueryScope, Spec, Validator};
use crate::check::text::{self, Text};
use crate::host::facts::Request;
use crate::plan::change::{Change, HostState, write_if_changed};

pub struct TemplateKind;

#[derive(Debug)]
pub struct Template {
  pub path: Text,
  pub content: Content,
  pub ownership: Ownership,
}

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["content", "source", "mode", "owner", "group"];

impl Kind for TemplateKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["template"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc { summary: "a whole file rendered from a minijinja template", attributes: ATTRIBUTES }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let path = r.label(cx, "path")?;
    r.finish(cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, ATTRIBUTES);
    let content = read_content(&options, cx, r, true)??;
    if let Content::Source { text: source, path: file } = &content
      && let Ok(body) = crate::source::read_text_bounded(file, crate::source::MAX_CONTROLLER_FILE_BYTES)
      && let Err(mut d) = text::check_syntax(&body, source.span, 0)
    {
      d.labels.truncate(0);
      d = d.label(source.span, format!("in the template `{}`", file.display()));
      cx.error(d);
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

  fn paths(&self) -> Vec<HostPath> {
    vec![HostPath::File(self.path.value.clone())]
  }

  fn requests(&self, v: &mut QueryScope) -> Vec<Request> {
    file_request(v, &self.path)
  }

  fn plan(&self, v: &mut Validator, host: &HostInfo, state: &HostState) -> Vec<Change> {
    let Some(path) = v.text(&self.path).map(|p| host.expand(&p)) else { return Vec::new() };
    let body = match &self.content {
      Content::Inline(t) => v.text(t),
      Content::Source { text, path } => read_controller_file(v, text, path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .and_then(|body| v.text(&Text::new(body, text.span))),
    };
    let Some(body) = body else { return Vec::new() };
    let (mode, owner) = self.ownership.desired(v, state.file(&path));
    write_if_changed(state, &path, body.into_bytes(), mode, owner, host.is_system(&path))
      .into_iter()
      .collect()
  }

  fn owns(&self, v: &mut Validator, host: &HostInfo, state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    let Some(path) = v.text(&self.path).map(|p| host.expand(&p)) else { return Vec::new() };
    if state.file(&path).is_none() {
      return Vec::new();
    }
    vec![crate::plan::ledger::Owned::File { path, sha256: String::new(), created: false }]
  }

  fn validate(&self, v: &mut Validator) {
    super::host_path(v, &self.path, "a template's destination");
    match &self.content {
      Content::Inline(t) => {
        v.text(t);
      }
      Content::Source { text: source, path } => {
        if let Ok(body) = crate::source::read_text_bounded(path, crate::source::MAX_CONTROLLER_FILE_BYTES) {
          v.text(&Text::new(body, source.span));
        }
      }
    }
    self.ownership.validate(v);
  }
}
