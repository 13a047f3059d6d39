//! `template "PATH" { source = "x.j2" }`: a whole file rendered by minijinja with
//! the host's variables and facts.

use super::file::{Content, DesiredOwnership, Ownership, file_request, read_content, read_controller_file};
use crate::check::reader::{Cx, Reader};
use crate::check::resource::{
  Evaluated, HostInfo, HostPath, Kind, KindDoc, Planning, QueryScope, Spec, Validator,
};
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

  fn evaluate(&self, v: &mut Validator, host: &HostInfo) -> Evaluated {
    let path = super::host_path(v, &self.path, "a template's destination").map(|p| host.expand(&p));
    let body = match &self.content {
      Content::Inline(t) => v.text(t),
      Content::Source { text, path } => {
        // Planning a host (facts known) reads the source as every other
        // controller file is read, and says why it cannot; the check reads
        // it as text when it can, to report what its template uses.
        let body = if v.facts.is_some() {
          read_controller_file(v, text, path).map(|b| String::from_utf8_lossy(&b).into_owned())
        } else {
          crate::source::read_text_bounded(path, crate::source::MAX_CONTROLLER_FILE_BYTES).ok()
        };
        body.and_then(|body| v.text(&Text::new(body, text.span)))
      }
    };
    let ownership = self.ownership.evaluate(v);
    let (Some(path), Some(body), Some(ownership)) = (path, body, ownership) else {
      return Evaluated::Failed;
    };
    Evaluated::Desired(Box::new(Desired { path, body: body.into_bytes().into(), ownership }))
  }
}

/// A template's desired state on one host: the rendered file.
#[derive(Debug)]
struct Desired {
  /// Expanded.
  path: String,
  body: std::sync::Arc<[u8]>,
  ownership: DesiredOwnership,
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    let path = &self.path;
    let (mode, owner) = self.ownership.apply(state.file(path));
    write_if_changed(state, path, std::sync::Arc::clone(&self.body), mode, owner, p.host.is_system(path))
      .into_iter()
      .collect()
  }

  fn owns(&self, _host: &HostInfo, state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    if state.file(&self.path).is_none() {
      return Vec::new();
    }
    vec![crate::plan::ledger::Owned::File { path: self.path.clone(), sha256: String::new(), created: false }]
  }
}
