//! `managed block "PATH" { content = "..." }`: lines that converge owns inside a
//! file it does not own (`~/.bashrc`), between marker comments. Every byte
//! outside the markers is kept.

use super::file::{Ownership, file_request};
use crate::check::reader::{Cx, Reader};
use crate::check::resource::{HostInfo, HostPath, Kind, KindDoc, QueryScope, Spec, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::host::facts::Request;
use crate::plan::block_merge::{self, Place};
use crate::plan::change::{Change, HostState, write_if_changed};
use crate::plan::ledger::Owned;

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

  fn plan(&self, v: &mut Validator, host: &HostInfo, state: &HostState) -> Vec<Change> {
    let Some(path) = v.text(&self.path).map(|p| host.expand(&p)) else { return Vec::new() };
    let Some(content) = v.text(&self.content) else { return Vec::new() };
    let comment = match &self.comment {
      Some(c) => match v.text(c) {
        Some(c) => c,
        None => return Vec::new(),
      },
      None => "#".to_owned(),
    };
    let marker = match &self.marker {
      Some(m) => match v.text(m) {
        Some(m) => m,
        None => return Vec::new(),
      },
      None => "converge".to_owned(),
    };
    let current = state.file(&path);
    let existing = current.map_or(&[][..], |c| &c.data[..]);
    let place = if self.position == Position::Top { Place::Top } else { Place::Bottom };
    if current.is_none() && content.is_empty() {
      return Vec::new();
    }
    let data = match block_merge::try_merge(existing, &comment, &marker, &content, place) {
      Ok(data) => data,
      Err(e) => {
        let (code, span, label) = match e {
          block_merge::BlockError::MarkerInContent { .. } => {
            (Code::WrongType, self.content.span, "this content")
          }
          block_merge::BlockError::Damaged { .. } => (Code::BlockDamaged, self.path.span, "in this file"),
        };
        v.error(
          Diagnostic::new(code, format!("cannot write the block into `{path}`: {e}"))
            .label(span, label)
            .help(e.help()),
        );
        return Vec::new();
      }
    };
    let (mode, owner) = self.ownership.desired(v, current);
    write_if_changed(state, &path, data, mode, owner, host.is_system(&path)).into_iter().collect()
  }

  fn owns(&self, v: &mut Validator, host: &HostInfo, state: &HostState) -> Vec<Owned> {
    let Some(path) = v.text(&self.path).map(|p| host.expand(&p)) else { return Vec::new() };
    let comment = self.comment.as_ref().map_or_else(|| Some("#".to_owned()), |c| v.text(c));
    let marker = self.marker.as_ref().map_or_else(|| Some("converge".to_owned()), |m| v.text(m));
    let (Some(comment), Some(name)) = (comment, marker) else { return Vec::new() };
    let held = state.file(&path).is_some_and(|f| block_merge::block(&f.data, &comment, &name).is_some());
    if !held {
      return Vec::new();
    }
    vec![Owned::Block { path, comment, name, sha256: String::new(), created: false }]
  }

  fn validate(&self, v: &mut Validator) {
    super::host_path(v, &self.path, "a managed block's file");
    let comment = self.comment.as_ref().map_or_else(|| Some("#".to_owned()), |c| v.text(c));
    if let (Some(content), Some(comment)) = (v.text(&self.content), comment)
      && let Err(e) = block_merge::check_content(&comment, &content)
    {
      v.error(
        Diagnostic::new(Code::WrongType, format!("a managed block's content cannot hold a marker: {e}"))
          .label(self.content.span, "a line of this content")
          .help(e.help()),
      );
    }
    if let Some(marker) = &self.marker
      && let Some(m) = v.text(marker)
      && (m.is_empty() || m.contains('\n'))
    {
      v.error(
        Diagnostic::new(Code::WrongType, "a marker must be one non-empty line")
          .label(marker.span, "empty or several lines"),
      );
    }
    self.ownership.validate(v);
  }
}
