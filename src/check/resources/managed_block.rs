//! `managed block "PATH" { content = "..." }`: lines that converge owns inside a
//! file it does not own (`~/.bashrc`), between marker comments. Every byte
//! outside the markers is kept.

use super::file::{DesiredOwnership, Ownership, file_request};
use crate::check::reader::{Cx, Reader};
use crate::check::resource::{
  Evaluated, HostInfo, HostPath, Kind, KindDoc, Planning, QueryScope, Spec, Validator,
};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::host::facts::Request;
use crate::plan::block_merge::{self, Place};
use crate::plan::change::{Change, HostState, write_if_changed};
use crate::plan::ledger::Owned;
use crate::source::Span;

pub struct ManagedBlockKind;

/// Where a new block goes in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
  Top,
  Bottom,
}

#[derive(Debug)]
pub struct ManagedBlock {
  pub path: Text,
  pub content: Text,
  /// Marker name: lines `# BEGIN converge: NAME` and `# END converge: NAME`.
  pub marker: Option<Text>,
  /// The comment leader of the file's syntax, `#` by default.
  pub comment: Option<Text>,
  pub position: Position,
  pub ownership: Ownership,
}

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["content", "marker", "comment", "position", "state", "mode", "owner", "group"];

impl Kind for ManagedBlockKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["managed", "block"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc { summary: "lines owned by converge inside a file it does not own", attributes: ATTRIBUTES }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let path = r.label(cx, "path")?;
    r.finish(cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, ATTRIBUTES);
    let absent = options.choice(cx, "state", &["present", "absent"]).is_some_and(|s| s.value == "absent");
    let content = match options.text(cx, "content") {
      // An absent block is a block with no lines.
      _ if absent => Text::new(String::new(), r.stmt().head_span()),
      Some(c) => c,
      None => {
        if !options.has("content") {
          cx.error(
            Diagnostic::new(Code::MissingAttribute, "`managed block` needs `content`")
              .label(r.stmt().head_span(), "no content")
              .help("add `{ content = \"...\" }`; an empty string removes the block's lines"),
          );
        }
        return None;
      }
    };
    let position = match options.choice(cx, "position", &["top", "bottom"]) {
      Some(p) if p.value == "top" => Position::Top,
      _ => Position::Bottom,
    };
    Some(Box::new(ManagedBlock {
      path,
      content,
      marker: options.text(cx, "marker"),
      comment: options.text(cx, "comment"),
      position,
      ownership: Ownership::read(&options, cx),
    }))
  }
}

impl ManagedBlock {
  pub fn marker_name(&self) -> &str {
    self.marker.as_ref().map_or("converge", |m| m.value.as_str())
  }
}

impl Spec for ManagedBlock {
  fn id(&self) -> String {
    format!("managed block {} {}", self.path.value, self.marker_name())
  }

  fn claims(&self) -> Vec<Text> {
    vec![Text::new(format!("block {} {}", self.path.value, self.marker_name()), self.path.span)]
  }

  fn paths(&self) -> Vec<HostPath> {
    vec![HostPath::File(self.path.value.clone())]
  }

  fn requests(&self, v: &mut QueryScope) -> Vec<Request> {
    file_request(v, &self.path)
  }

  fn evaluate(&self, v: &mut Validator, host: &HostInfo) -> Evaluated {
    let path = super::host_path(v, &self.path, "a managed block's file").map(|p| host.expand(&p));
    let comment = self.comment.as_ref().map_or_else(|| Some("#".to_owned()), |c| v.text(c));
    let content = v.text(&self.content);
    let mut ok = true;
    if let (Some(content), Some(comment)) = (&content, &comment)
      && let Err(e) = block_merge::check_content(comment, content)
    {
      ok = false;
      v.error(
        Diagnostic::new(Code::WrongType, format!("a managed block's content cannot hold a marker: {e}"))
          .label(self.content.span, "a line of this content")
          .help(e.help()),
      );
    }
    let marker = self.marker.as_ref().map_or_else(|| Some("converge".to_owned()), |m| v.text(m));
    if let (Some(text), Some(m)) = (&self.marker, &marker)
      && (m.is_empty() || m.contains('\n'))
    {
      ok = false;
      v.error(
        Diagnostic::new(Code::WrongType, "a marker must be one non-empty line")
          .label(text.span, "empty or several lines"),
      );
    }
    let ownership = self.ownership.evaluate(v);
    let (Some(path), Some(comment), Some(content), Some(marker), Some(ownership), true) =
      (path, comment, content, marker, ownership, ok)
    else {
      return Evaluated::Failed;
    };
    Evaluated::Desired(Box::new(Desired {
      path,
      content,
      comment,
      marker,
      place: if self.position == Position::Top { Place::Top } else { Place::Bottom },
      ownership,
      path_span: self.path.span,
      content_span: self.content.span,
    }))
  }
}

/// A managed block's desired state on one host.
#[derive(Debug)]
struct Desired {
  /// The file, expanded.
  path: String,
  content: String,
  /// The comment leader.
  comment: String,
  /// The marker name.
  marker: String,
  place: Place,
  ownership: DesiredOwnership,
  path_span: Span,
  content_span: Span,
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    let (path, content) = (&self.path, &self.content);
    let current = state.file(path);
    let existing = current.map_or(&[][..], |c| &c.data[..]);
    if current.is_none() && content.is_empty() {
      return Vec::new();
    }
    let data = match block_merge::try_merge(existing, &self.comment, &self.marker, content, self.place) {
      Ok(data) => data,
      Err(e) => {
        let (code, span, label) = match e {
          block_merge::BlockError::MarkerInContent { .. } => {
            (Code::WrongType, self.content_span, "this content")
          }
          block_merge::BlockError::Damaged { .. } => (Code::BlockDamaged, self.path_span, "in this file"),
        };
        p.error(
          Diagnostic::new(code, format!("cannot write the block into `{path}`: {e}"))
            .label(span, label)
            .help(e.help()),
        );
        return Vec::new();
      }
    };
    let (mode, owner) = self.ownership.apply(current);
    write_if_changed(state, path, data, mode, owner, p.host.is_system(path)).into_iter().collect()
  }

  fn owns(&self, _host: &HostInfo, state: &HostState) -> Vec<Owned> {
    let (path, comment, name) = (&self.path, &self.comment, &self.marker);
    let held = state.file(path).is_some_and(|f| block_merge::block(&f.data, comment, name).is_some());
    if !held {
      return Vec::new();
    }
    vec![Owned::Block {
      path: path.clone(),
      comment: comment.clone(),
      name: name.clone(),
      sha256: String::new(),
      created: false,
    }]
  }
}
