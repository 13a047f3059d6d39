//! `file "PATH" { content = "..." }`: a whole file with exact content (or copied
//! from a local `source`), mode and owner; or `state = "absent"`.

use crate::check::reader::{Cx, Options, Reader};
use crate::check::resource::{HostInfo, HostPath, Kind, KindDoc, QueryScope, Spec, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::host::facts::Request;
use crate::plan::change::{Change, FileState, HostState, write_if_changed};
use std::path::PathBuf;

pub struct FileKind;

/// Mode and ownership of a managed file; shared by `file`, `template` and
/// `managed block`.
#[derive(Debug, Default)]
pub struct Ownership {
  /// Octal text, `"0644"`.
  pub mode: Option<Text>,
  pub owner: Option<Text>,
  pub group: Option<Text>,
}

impl Ownership {
  pub const KEYS: [&'static str; 3] = ["mode", "owner", "group"];

  pub fn read(options: &Options, cx: &mut Cx) -> Ownership {
    let mode = match options.raw("mode").map(|v| &v.kind) {
      Some(crate::syntax::ast::ValueKind::Int(i)) => {
        let span = options.raw("mode").map(|v| v.span).unwrap_or_default();
        cx.error(
          Diagnostic::new(
            Code::FileMode,
            format!("a mode is written as an octal string, not the number `{}`", i.raw),
          )
          .label(span, "a number here is read as decimal")
          .help(format!("did you mean `mode = \"{:0>4}\"`?", i.raw.trim_start_matches('0'))),
        );
        None
      }
      _ => options.text(cx, "mode"),
    };
    Ownership { mode, owner: options.text(cx, "owner"), group: options.text(cx, "group") }
  }

  pub fn validate(&self, v: &mut Validator) {
    if let Some(mode) = &self.mode
      && let Some(m) = v.text(mode)
      && parse_mode(&m).is_none()
    {
      v.error(
        Diagnostic::new(Code::FileMode, format!("`{m}` is not a file mode"))
          .label(mode.span, "expected three or four octal digits")
          .help("write modes like `\"0644\"` or `\"0755\"`"),
      );
    }
    for (what, name) in [("owner", &self.owner), ("group", &self.group)] {
      let Some(name) = name else { continue };
      let Some(n) = v.text(name) else { continue };
      let valid = !n.is_empty()
        && n.len() <= 32
        && (n.bytes().all(|b| b.is_ascii_digit())
          || n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'));
      if !valid {
        v.error(
          Diagnostic::new(Code::FileMode, format!("`{n}` is not a valid {what} name"))
            .label(name.span, format!("expected a {what} name or number")),
        );
      }
    }
  }
}

impl Ownership {
  /// The mode and `user:group` to enforce, rendered for this host; parts not
  /// given are taken from the current file.
  pub fn desired(&self, v: &mut Validator, current: Option<&FileState>) -> (Option<u32>, Option<String>) {
    let mode = self.mode.as_ref().and_then(|m| v.text(m)).and_then(|m| parse_mode(&m));
    let owner = self.owner.as_ref().and_then(|o| v.text(o));
    let group = self.group.as_ref().and_then(|g| v.text(g));
    if owner.is_none() && group.is_none() {
      return (mode, None);
    }
    let (cur_user, cur_group) = current
      .and_then(|c| c.owner.as_deref())
      .and_then(|o| o.split_once(':'))
      .map_or((String::new(), String::new()), |(u, g)| (u.to_owned(), g.to_owned()));
    let user = owner.unwrap_or(cur_user);
    let group = group.unwrap_or(cur_group);
    (mode, Some(format!("{user}:{group}")))
  }
}

/// Reads a file on the controller, or reports why it cannot.
pub fn read_controller_file(v: &mut Validator, text: &Text, path: &std::path::Path) -> Option<Vec<u8>> {
  match crate::source::read_bounded(path, crate::source::MAX_CONTROLLER_FILE_BYTES) {
    Ok(bytes) => Some(bytes),
    Err(e) => {
      v.error(
        Diagnostic::new(Code::ControllerFile, format!("cannot read `{}`: {e}", path.display()))
          .label(text.span, "read from here")
          .help("relative paths are read from the playbook's directory"),
      );
      None
    }
  }
}

/// The request for a resource's target file.
pub fn file_request(v: &mut Validator, path: &Text) -> Vec<Request> {
  v.text(path).map(|p| vec![Request::File(p)]).unwrap_or_default()
}

/// The permission bits of an octal mode string (`"644"`, `"0755"`).
pub fn parse_mode(mode: &str) -> Option<u32> {
  if !(3..=4).contains(&mode.len()) || !mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
    return None;
  }
  u32::from_str_radix(mode, 8).ok()
}

/// Where a file's content comes from.
#[derive(Debug)]
pub enum Content {
  Inline(Text),
  /// A file on the controller, relative to the playbook's directory.
  Source {
    text: Text,
    path: PathBuf,
  },
}

#[derive(Debug)]
pub struct File {
  pub path: Text,
  /// `None` with `absent`.
  pub content: Option<Content>,
  pub absent: bool,
  pub ownership: Ownership,
}

/// Reads `content = ...` or `source = ...` (exactly one) from the options.
pub fn read_content(options: &Options, cx: &mut Cx, r: &Reader, required: bool) -> Option<Option<Content>> {
  match (options.text(cx, "content"), options.text(cx, "source")) {
    (Some(_), Some(source)) => {
      cx.error(
        Diagnostic::new(Code::Shape, "give either `content` or `source`, not both")
          .label(source.span, "second source of content")
          .label(options.key_span("content").unwrap_or(r.span()), "content given here")
          .help("keep `content` for text written in the playbook, or `source` for a file beside it"),
      );
      None
    }
    (Some(content), None) => Some(Some(Content::Inline(content))),
    (None, Some(source)) => {
      let path = cx.base_dir().join(&source.value);
      if !source.is_template()
        && let Err(e) = crate::source::regular_file(&path)
      {
        cx.error(
          Diagnostic::new(Code::Io, format!("cannot use the source file `{}`: {e}", path.display()))
            .label(source.span, "read from here")
            .help(
              "relative sources are read from the playbook's directory; converge reads regular files only",
            ),
        );
        return None;
      }
      Some(Some(Content::Source { text: source, path }))
    }
    (None, None) if required => {
      if !options.has("content") && !options.has("source") {
        cx.error(
          Diagnostic::new(Code::MissingAttribute, format!("`{}` needs `content` or `source`", r.kind()))
            .label(r.stmt().head_span(), "no content")
            .help("add `{ content = \"...\" }` or `{ source = \"files/NAME\" }`"),
        );
      }
      None
    }
    (None, None) => Some(None),
  }
}

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["content", "source", "state", "mode", "owner", "group"];

impl Kind for FileKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["file"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc { summary: "a whole file: content or source, mode, owner; or absent", attributes: ATTRIBUTES }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let path = r.label(cx, "path")?;
    r.finish(cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, ATTRIBUTES);
    let state = options.choice(cx, "state", &["present", "absent"]);
    if options.has("state") && state.is_none() {
      return None;
    }
    let absent = state.as_ref().is_some_and(|s| s.value == "absent");
    let given = ["content", "source", "mode", "owner", "group"].into_iter().find(|k| options.has(k));
    if let (true, Some(key)) = (absent, given) {
      cx.error(
        Diagnostic::new(Code::Shape, format!("an absent file takes no `{key}`"))
          .label(options.key_span(key).unwrap_or(r.span()), "would be ignored")
          .help("remove it, or drop `state = \"absent\"`"),
      );
      return None;
    }
    let content = read_content(&options, cx, r, !absent)?;
    let ownership = Ownership::read(&options, cx);
    Some(Box::new(File { path, content, absent, ownership }))
  }
}

impl Spec for File {
  fn id(&self) -> String {
    format!("file {}", self.path.value)
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
    let system = host.is_system(&path);
    let current = state.file(&path);
    if self.absent {
      return current
        .map(|before| Change::Remove { path: path.clone(), before: before.clone(), system })
        .into_iter()
        .collect();
    }
    let data = match &self.content {
      Some(Content::Inline(t)) => v.text(t).map(String::into_bytes),
      Some(Content::Source { text, path }) => read_controller_file(v, text, path),
      None => None,
    };
    let Some(data) = data else { return Vec::new() };
    let (mode, owner) = self.ownership.desired(v, current);
    write_if_changed(state, &path, data, mode, owner, system).into_iter().collect()
  }

  fn owns(&self, v: &mut Validator, host: &HostInfo, state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    if self.absent {
      return Vec::new();
    }
    let Some(path) = v.text(&self.path).map(|p| host.expand(&p)) else { return Vec::new() };
    if state.file(&path).is_none() {
      return Vec::new();
    }
    vec![crate::plan::ledger::Owned::File { path, sha256: String::new(), created: false }]
  }

  fn validate(&self, v: &mut Validator) {
    super::host_path(v, &self.path, "a file path");
    if let Some(Content::Inline(t)) = &self.content {
      v.text(t);
    }
    self.ownership.validate(v);
  }
}

#[cfg(test)]
mod tests {
  #[test]
  fn modes() {
    assert_eq!(super::parse_mode("0644"), Some(0o644));
    assert_eq!(super::parse_mode("755"), Some(0o755));
    assert_eq!(super::parse_mode("0849"), None);
    assert_eq!(super::parse_mode("64"), None);
    assert_eq!(super::parse_mode("rw-r--r--"), None);
  }
}
