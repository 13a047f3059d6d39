//! `file "PATH" { content = "..." }`: a whole file with exact content (or copied
//! from a local `source`), mode and owner; or `state = "absent"`.

use crate::check::reader::{Cx, Options, Reader};
use crate::check::resource::{
  Evaluated, HostInfo, HostPath, Kind, KindDoc, Planning, QueryScope, Spec, Validator,
};
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

  /// Renders the mode, owner and group once for a host and checks them.
  /// `None` when one cannot be known or is wrong (reported).
  pub fn evaluate(&self, v: &mut Validator) -> Option<DesiredOwnership> {
    let mut ok = true;
    let mut mode = None;
    if let Some(text) = &self.mode {
      match v.text(text) {
        Some(m) => match parse_mode(&m) {
          Some(bits) => mode = Some(bits),
          None => {
            ok = false;
            v.error(
              Diagnostic::new(Code::FileMode, format!("`{m}` is not a file mode"))
                .label(text.span, "expected three or four octal digits")
                .help("write modes like `\"0644\"` or `\"0755\"`"),
            );
          }
        },
        None => ok = false,
      }
    }
    let mut names = [None, None];
    for ((what, name), out) in [("owner", &self.owner), ("group", &self.group)].into_iter().zip(&mut names) {
      let Some(name) = name else { continue };
      let Some(n) = v.text(name) else {
        ok = false;
        continue;
      };
      let valid = !n.is_empty()
        && n.len() <= 32
        && (n.bytes().all(|b| b.is_ascii_digit())
          || n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'));
      if !valid {
        ok = false;
        v.error(
          Diagnostic::new(Code::FileMode, format!("`{n}` is not a valid {what} name"))
            .label(name.span, format!("expected a {what} name or number")),
        );
      }
      *out = Some(n);
    }
    let [owner, group] = names;
    ok.then_some(DesiredOwnership { mode, owner, group })
  }
}

/// The mode and ownership of a managed file, rendered for one host.
#[derive(Debug, Default)]
pub struct DesiredOwnership {
  pub mode: Option<u32>,
  pub owner: Option<String>,
  pub group: Option<String>,
}

impl DesiredOwnership {
  /// The mode and `user:group` to enforce; parts not given are taken from the
  /// current file.
  pub fn apply(&self, current: Option<&FileState>) -> (Option<u32>, Option<String>) {
    if self.owner.is_none() && self.group.is_none() {
      return (self.mode, None);
    }
    let (cur_user, cur_group) = current
      .and_then(|c| c.owner.as_deref())
      .and_then(|o| o.split_once(':'))
      .map_or((String::new(), String::new()), |(u, g)| (u.to_owned(), g.to_owned()));
    let user = self.owner.clone().unwrap_or(cur_user);
    let group = self.group.clone().unwrap_or(cur_group);
    (self.mode, Some(format!("{user}:{group}")))
  }
}

/// Reads a file on the controller, or reports why it cannot. A file is read
/// once per run and its bytes shared by every host that plans it (see
/// [`controller_bytes`]).
pub fn read_controller_file(
  v: &mut Validator,
  text: &Text,
  path: &std::path::Path,
) -> Option<std::sync::Arc<[u8]>> {
  controller_file(text, path).map_err(|d| v.error(d)).ok()
}

/// The bytes of a file on the controller ([`controller_bytes`]), or the
/// diagnostic that says why it cannot be read.
pub(crate) fn controller_file(
  text: &Text,
  path: &std::path::Path,
) -> Result<std::sync::Arc<[u8]>, Diagnostic> {
  controller_bytes(path).map_err(|e| {
    Diagnostic::new(Code::ControllerFile, format!("cannot read `{}`: {e}", path.display()))
      .label(text.span, "read from here")
      .help("relative paths are read from the playbook's directory")
  })
}

/// What identifies one version of a file: device, inode, size, and the times
/// of its last change.
type Version = (u64, u64, u64, i64, i64, i64, i64);

/// Controller files read in this run, by path.
type ReadFiles = std::collections::HashMap<std::path::PathBuf, (Version, std::sync::Arc<[u8]>)>;

/// The bytes of a controller file, read once and shared while the file stays
/// the same (same device, inode, size, modification and change times): every
/// host of a run plans with one copy, however many hosts there are. Hosts
/// that ask at the same moment wait for the one read.
pub(crate) fn controller_bytes(
  path: &std::path::Path,
) -> Result<std::sync::Arc<[u8]>, crate::source::ReadError> {
  use std::os::unix::fs::MetadataExt;
  use std::sync::{Arc, Mutex, OnceLock, PoisonError};
  static READ: OnceLock<Mutex<ReadFiles>> = OnceLock::new();
  let version = |m: &std::fs::Metadata| -> Version {
    (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec())
  };
  let mut read = READ.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
  let before = std::fs::metadata(path).ok().map(|m| version(&m));
  if let Some(before) = before
    && let Some((seen, bytes)) = read.get(path)
    && *seen == before
  {
    return Ok(Arc::clone(bytes));
  }
  let bytes: Arc<[u8]> = crate::source::read_bounded(path, crate::source::MAX_CONTROLLER_FILE_BYTES)?.into();
  // Kept only when the file did not change while it was read.
  let after = std::fs::metadata(path).ok().map(|m| version(&m));
  match (before, after) {
    (Some(before), Some(after)) if before == after => {
      read.insert(path.to_owned(), (after, Arc::clone(&bytes)));
    }
    _ => {
      read.remove(path);
    }
  }
  Ok(bytes)
}

#[cfg(test)]
mod controller_tests {
  use super::controller_bytes;

  #[test]
  fn a_controller_file_is_read_once_and_again_when_it_changes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("tool");
    std::fs::write(&path, b"one").unwrap_or_else(|e| panic!("{e}"));
    let first = controller_bytes(&path).unwrap_or_else(|e| panic!("{e}"));
    let again = controller_bytes(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(std::sync::Arc::ptr_eq(&first, &again), "the second host shares the first read");
    // Same size, new bytes: the change time differs, so it is read again.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&path, b"two").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&controller_bytes(&path).unwrap_or_else(|e| panic!("{e}"))[..], b"two");
    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(controller_bytes(&path).is_err(), "a file that is gone is not served from memory");
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

  fn evaluate(&self, v: &mut Validator, host: &HostInfo) -> Evaluated {
    let path = super::host_path(v, &self.path, "a file path").map(|p| host.expand(&p));
    let content = match &self.content {
      Some(Content::Inline(t)) => {
        v.text(t).map(|t| DesiredContent::Inline(std::sync::Arc::from(t.into_bytes())))
      }
      Some(Content::Source { text, path }) => {
        Some(DesiredContent::Source { text: text.clone(), path: path.clone() })
      }
      None => Some(DesiredContent::None),
    };
    let ownership = self.ownership.evaluate(v);
    let (Some(path), Some(content), Some(ownership)) = (path, content, ownership) else {
      return Evaluated::Failed;
    };
    Evaluated::Desired(Box::new(Desired { path, absent: self.absent, content, ownership }))
  }
}

/// What a file holds, once rendered for a host.
#[derive(Debug)]
enum DesiredContent {
  /// `state = "absent"`.
  None,
  Inline(std::sync::Arc<[u8]>),
  /// A file on the controller, read when the host is planned.
  Source {
    text: Text,
    path: PathBuf,
  },
}

/// A file's desired state on one host.
#[derive(Debug)]
struct Desired {
  /// Expanded.
  path: String,
  absent: bool,
  content: DesiredContent,
  ownership: DesiredOwnership,
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    let path = &self.path;
    let system = p.host.is_system(path);
    let current = state.file(path);
    if self.absent {
      return current
        .map(|before| Change::Remove { path: path.clone(), before: before.clone(), system })
        .into_iter()
        .collect();
    }
    let data = match &self.content {
      DesiredContent::Inline(data) => std::sync::Arc::clone(data),
      DesiredContent::Source { text, path } => match controller_file(text, path) {
        Ok(data) => data,
        Err(d) => {
          p.error(d);
          return Vec::new();
        }
      },
      DesiredContent::None => return Vec::new(),
    };
    let (mode, owner) = self.ownership.apply(current);
    write_if_changed(state, path, data, mode, owner, system).into_iter().collect()
  }

  fn owns(&self, _host: &HostInfo, state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    if self.absent || state.file(&self.path).is_none() {
      return Vec::new();
    }
    vec![crate::plan::ledger::Owned::File { path: self.path.clone(), sha256: String::new(), created: false }]
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

  #[test]
  fn ownership_is_checked_once_rendered_and_completed_from_the_current_file() {
    use super::{FileState, Ownership, Text};
    let (sources, names) = (crate::source::Sources::new(), std::collections::BTreeSet::new());
    let mut diagnostics = crate::diagnostic::Diagnostics::new();
    let mut v = crate::check::resource::Validator {
      host: "h",
      context: minijinja::Value::default(),
      names: &names,
      facts: None,
      sources: &sources,
      diagnostics: &mut diagnostics,
      notes: Vec::new(),
    };
    let text = |s: &str| Some(Text::new(s, crate::source::Span::default()));
    let bad = Ownership { mode: text("0849"), owner: text("root;id"), group: None };
    assert!(bad.evaluate(&mut v).is_none());
    let good = Ownership { mode: text("0640"), owner: None, group: text("adm") };
    let good = good.evaluate(&mut v).unwrap_or_else(|| panic!("a valid ownership is refused"));
    let mode_only = Ownership { mode: text("755"), owner: None, group: None };
    let mode_only = mode_only.evaluate(&mut v).unwrap_or_else(|| panic!("a valid mode is refused"));
    let errors: Vec<String> = diagnostics.sorted().into_iter().map(|d| d.message).collect();
    assert_eq!(errors, ["`0849` is not a file mode", "`root;id` is not a valid owner name"]);
    let current =
      FileState { data: std::sync::Arc::from(&b"x"[..]), mode: Some(0o600), owner: Some("dev:dev".into()) };
    assert_eq!(good.apply(Some(&current)), (Some(0o640), Some("dev:adm".to_owned())));
    assert_eq!(good.apply(None), (Some(0o640), Some(":adm".to_owned())));
    assert_eq!(mode_only.apply(Some(&current)), (Some(0o755), None));
  }
}
