//! The ledger: what converge last applied on a host, so that a plan can say
//! why each change is there.
//!
//! A change is **new** when converge never applied its resource on that host,
//! **drift** when the host changed since converge last left it (someone edited
//! a managed file, removed a toolchain), and **intent** when the host is as
//! converge left it, so the change can only come from the playbook.
//!
//! Each apply that changes something appends records to a small JSON-lines file
//! on the host (`~/.local/state/converge/ledger.jsonl`, written under the host
//! lock by the apply script itself) and the controller keeps the same lines per
//! host in its state directory. The host's file wins when both exist: it
//! travels with the host and is the only one in pull mode. Per resource a
//! record holds its kind and a hash of its source text; per file converge reads,
//! the sha256 of its bytes right after the apply, computed on the host.
//!
//! A resource record also lists what the resource wrote ([`Owned`]: a whole
//! file, a managed block, a key of a settings file, a tool binary), so that a
//! resource that leaves the playbook can be removed ([`crate::plan::prune`]).
//! Records written before converge kept that list have none (`owns` absent):
//! such a resource is never pruned. A pruned resource leaves the ledger by a
//! [`Line::Forget`].

use crate::plan::change::{Change, FileState, HostState};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeMap;

/// Where the host keeps converge's state (ledger, lock, run log).
pub const HOST_DIR: &str = "~/.local/state/converge";
/// The host's ledger file.
pub const HOST_FILE: &str = "~/.local/state/converge/ledger.jsonl";

/// Why a change is in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
  /// converge never applied this resource here.
  New,
  /// The host changed since converge last applied.
  Drift,
  /// The host is as converge left it: the playbook changed.
  Intent,
}

impl Label {
  pub fn word(self) -> &'static str {
    match self {
      Label::New => "new",
      Label::Drift => "drift",
      Label::Intent => "intent",
    }
  }
}

/// One line of a ledger file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub enum Line {
  /// A resource converged by the run `run`, and what it wrote (`None` in
  /// records of a converge that did not keep it).
  Resource {
    /// The resource's display name.
    name: String,
    /// Its [`crate::check::resource::ResourceKey`], which keys the record;
    /// absent in the records of a converge that keyed them by `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    kind: String,
    source: String,
    run: String,
    at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owns: Option<Vec<Owned>>,
  },
  /// A resource removed from the host by the run `run` (it left the
  /// playbook); `name` is the key of its record.
  Forget { name: String, run: String, at: u64 },
  /// A file's sha256 (`absent`, `unreadable`) right after the run `run`.
  Path { path: String, sha256: String, run: String, at: u64 },
}

/// What a resource looked like when converge last applied it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
  /// The resource's display name when it was applied.
  pub name: String,
  /// Keyed by its display name (by a converge before resource keys): it
  /// belongs to the declared resource of that name, whatever its key.
  pub legacy: bool,
  pub kind: String,
  /// blake3 of the resource's source text, whitespace folded.
  pub source: String,
  pub run: String,
  pub at: u64,
  /// What it wrote; `None` when the record does not say.
  pub owns: Option<Vec<Owned>>,
}

/// The format of a settings file converge sets keys in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyFile {
  /// The go env file (`KEY=value` lines, as `go env -w` writes them).
  GoEnv,
  /// A sysctl.d file (`key = value` lines).
  Sysctl,
  /// A VS Code settings file (JSON with comments).
  Vscode,
}

/// One thing a resource wrote on a host, as the ledger records it. Paths are
/// expanded (absolute, below `--root` when converging a tree).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "lowercase")]
pub enum Owned {
  /// A whole file (`file`, `template`), with its sha256 right after the apply.
  /// `created`: the file was absent before converge first wrote it.
  File {
    path: String,
    #[serde(default)]
    sha256: String,
    #[serde(default)]
    created: bool,
  },
  /// A managed block: the file, the comment leader of its markers, its name
  /// and the sha256 of its lines (markers included). `created`: converge
  /// created the file, so it is deleted once no block is left in it.
  Block {
    path: String,
    comment: String,
    name: String,
    #[serde(default)]
    sha256: String,
    #[serde(default)]
    created: bool,
  },
  /// A key of a settings file.
  Key {
    path: String,
    file: KeyFile,
    key: String,
    #[serde(default)]
    created: bool,
  },
  /// A tool binary `go install` put there.
  Tool { path: String },
  /// A symbolic link converge made (`link = true`) and what it points at:
  /// removed only while it still points there.
  Link { path: String, target: String },
  /// A Go tree `go toolchain` installed at `prefix`, and its version
  /// (`go1.22.5`): removed only while its VERSION still says so, and only
  /// when no declared toolchain uses the prefix.
  Toolchain { prefix: String, version: String },
  /// A command's `undo`: run (as the login user, never through sudo) when
  /// the command leaves the playbook.
  Undo {
    command: String,
    /// The command is `sensitive`: plans do not show it.
    #[serde(default)]
    sensitive: bool,
  },
}

impl Owned {
  pub fn path(&self) -> &str {
    match self {
      Owned::File { path, .. }
      | Owned::Block { path, .. }
      | Owned::Key { path, .. }
      | Owned::Tool { path }
      | Owned::Link { path, .. } => path,
      Owned::Toolchain { prefix, .. } => prefix,
      Owned::Undo { .. } => "",
    }
  }

  /// The same thing, hashes and flags left out: what two resources may share.
  pub fn identity(&self) -> Owned {
    match self {
      Owned::File { path, .. } => Owned::File { path: path.clone(), sha256: String::new(), created: false },
      Owned::Block { path, comment, name, .. } => Owned::Block {
        path: path.clone(),
        comment: comment.clone(),
        name: name.clone(),
        sha256: String::new(),
        created: false,
      },
      Owned::Key { path, file, key, .. } => {
        Owned::Key { path: path.clone(), file: *file, key: key.clone(), created: false }
      }
      Owned::Tool { path } => Owned::Tool { path: path.clone() },
      Owned::Link { path, target } => Owned::Link { path: path.clone(), target: target.clone() },
      // Any toolchain at the prefix keeps the tree: the declared one replaces it.
      Owned::Toolchain { prefix, .. } => Owned::Toolchain { prefix: prefix.clone(), version: String::new() },
      Owned::Undo { command, sensitive } => Owned::Undo { command: command.clone(), sensitive: *sensitive },
    }
  }

  /// Marks it as written into a file converge created.
  pub fn set_created(&mut self, yes: bool) {
    if let Owned::File { created, .. } | Owned::Block { created, .. } | Owned::Key { created, .. } = self {
      *created = yes;
    }
  }

  /// Whether the record says converge created its file.
  pub fn created(&self) -> bool {
    matches!(
      self,
      Owned::File { created: true, .. }
        | Owned::Block { created: true, .. }
        | Owned::Key { created: true, .. }
    )
  }
}

/// The folded ledger of one host: the last record of every resource and path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
  pub resources: BTreeMap<String, Record>,
  pub paths: BTreeMap<String, String>,
  /// Lines in the file (folding keeps the last of each).
  pub lines: usize,
  /// The last line of each resource and path, as read.
  folded: BTreeMap<(u8, String), String>,
}

impl Ledger {
  /// Folds a ledger file. Lines that do not parse (a torn write, a newer
  /// format) are skipped: the ledger only labels changes, it never decides them.
  pub fn parse(text: &str) -> Ledger {
    let mut ledger = Ledger::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
      ledger.lines += 1;
      match serde_json::from_str::<Line>(line) {
        Ok(Line::Resource { name, key, kind, source, run, at, owns }) => {
          let legacy = key.is_none();
          let key = key.unwrap_or_else(|| name.clone());
          ledger.folded.insert((0, key.clone()), line.to_owned());
          ledger.resources.insert(key, Record { name, legacy, kind, source, run, at, owns });
        }
        Ok(Line::Forget { name, .. }) => {
          ledger.folded.remove(&(0, name.clone()));
          ledger.resources.remove(&name);
        }
        Ok(Line::Path { path, sha256, .. }) => {
          ledger.folded.insert((1, path.clone()), line.to_owned());
          ledger.paths.insert(path, sha256);
        }
        Err(_) => {}
      }
    }
    ledger
  }

  /// The ledger with only the last line of each resource and path: what the
  /// apply writes back, so the file stays as small as what it describes.
  pub fn folded(&self) -> String {
    self.folded.values().fold(String::new(), |mut s, line| {
      s.push_str(line);
      s.push('\n');
      s
    })
  }

  /// The record of the resource with `key` and display name `name`: the one
  /// keyed by `key`, or a record of an older converge keyed by `name`.
  pub fn record(&self, key: &str, name: &str) -> Option<&Record> {
    self.resources.get(key).or_else(|| self.resources.get(name).filter(|r| r.legacy))
  }

  /// The label of a resource's changes, given the host as the facts found it.
  pub fn label(
    &self,
    key: &str,
    name: &str,
    source: &str,
    changes: &[Change],
    observed: &HostState,
  ) -> Label {
    let Some(record) = self.record(key, name) else {
      return Label::New;
    };
    let paths: Vec<&str> = changes
      .iter()
      .filter_map(|c| match c {
        Change::Write { path, .. } | Change::Remove { path, .. } => Some(path.as_str()),
        Change::Run { .. } => None,
      })
      .collect();
    if paths.is_empty() {
      // Commands and installs leave no file to compare: the same source asking
      // for work again means the host lost what converge did.
      return if record.source == source { Label::Drift } else { Label::Intent };
    }
    let drifted = paths
      .iter()
      .any(|p| self.paths.get(*p).is_some_and(|recorded| *recorded != sha256_of(observed.file(p))));
    if drifted { Label::Drift } else { Label::Intent }
  }
}

/// A host's ledger as planning sees it.
#[derive(Clone, Debug, Default)]
pub struct HostLedger {
  /// The host's own ledger, folded, or, when the host has none, the
  /// controller's copy of it.
  pub ledger: Ledger,
  /// Whether the host had a ledger file (the apply then writes the folded form
  /// back).
  pub on_host: bool,
  /// The sha256 of the host's ledger file, or `absent`.
  pub sha256: String,
  /// The controller's copy of the host's ledger (empty when it has none).
  /// The login user can edit the host's file, so pruning a system path
  /// through sudo needs this copy to agree ([`crate::plan::prune`]).
  pub controller: Ledger,
  /// The host's file is as trustworthy as the controller's: converge runs on
  /// this machine, as the user who owns it.
  pub local: bool,
}

impl HostLedger {
  /// The ledger of `host` from its facts (which always query [`HOST_FILE`]),
  /// or from the controller's copy in `state_dir` when the host has none.
  pub fn load(
    facts: &crate::host::facts::Facts,
    state_dir: Option<&std::path::Path>,
    host: &str,
  ) -> HostLedger {
    let on_host = match facts.answers.get(&crate::host::facts::Request::File(HOST_FILE.to_owned())) {
      Some(crate::host::facts::Answer::File { data, mode, owner }) => {
        Some(FileState { data: data.as_slice().into(), mode: *mode, owner: owner.clone() })
      }
      _ => None,
    };
    let sha256 = sha256_of(on_host.as_ref());
    let controller = state_dir
      .and_then(|dir| std::fs::read_to_string(controller_file(dir, host)).ok())
      .map(|text| Ledger::parse(&text))
      .unwrap_or_default();
    let ledger = match &on_host {
      Some(file) => Ledger::parse(&String::from_utf8_lossy(&file.data)),
      None => controller.clone(),
    };
    HostLedger { ledger, on_host: on_host.is_some(), sha256, controller, local: false }
  }
}

/// The sha256 the apply script records for a file: hex, or `absent`.
pub fn sha256_of(file: Option<&FileState>) -> String {
  file.map_or_else(|| "absent".to_owned(), |f| hex(&sha2::Sha256::digest(&f.data)))
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
  use std::fmt::Write;
  bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
    let _ = write!(s, "{b:02x}");
    s
  })
}

/// blake3 of a resource's source text with whitespace folded, so that
/// reformatting a playbook is not a change of intent.
pub fn source_hash(text: &str) -> String {
  let folded: Vec<&str> = text.split_whitespace().collect();
  blake3::hash(folded.join(" ").as_bytes()).to_hex()[..16].to_owned()
}

/// Seconds since the epoch.
pub fn now() -> u64 {
  std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The controller's copy of a host's ledger: `STATE_DIR/hosts/HOST.jsonl`.
pub fn controller_file(state_dir: &std::path::Path, host: &str) -> std::path::PathBuf {
  let safe: String =
    host.chars().map(|c| if c.is_ascii_alphanumeric() || "._-@".contains(c) { c } else { '_' }).collect();
  state_dir.join("hosts").join(format!("{safe}.jsonl"))
}

/// Appends lines to the controller's copy of a host's ledger, atomically.
pub fn append_controller(state_dir: &std::path::Path, host: &str, lines: &[String]) -> std::io::Result<()> {
  if lines.is_empty() {
    return Ok(());
  }
  let path = controller_file(state_dir, host);
  if let Some(dir) = path.parent() {
    std::fs::create_dir_all(dir)?;
  }
  let mut text = std::fs::read(&path).unwrap_or_default();
  if !text.is_empty() && !text.ends_with(b"\n") {
    text.push(b'\n');
  }
  for line in lines {
    text.extend_from_slice(line.as_bytes());
    text.push(b'\n');
  }
  crate::atomic::write(&path, &text, Some(0o644))
}

#[cfg(test)]
mod tests {
  use super::*;

  fn file(data: &str) -> FileState {
    FileState { data: data.as_bytes().into(), mode: Some(0o644), owner: None }
  }

  fn write(path: &str, before: &str, after: &str) -> Change {
    Change::Write { path: path.to_owned(), before: Some(file(before)), after: file(after), system: false }
  }

  fn ledger_with(path: &str, content: &str) -> Ledger {
    let lines = [
      serde_json::to_string(&Line::Resource {
        name: "r".into(),
        key: Some("r".into()),
        kind: "export".into(),
        source: "s1".into(),
        run: "x".into(),
        at: 1,
        owns: None,
      }),
      serde_json::to_string(&Line::Path {
        path: path.into(),
        sha256: sha256_of(Some(&file(content))),
        run: "x".into(),
        at: 1,
      }),
    ];
    let text: Vec<String> = lines.into_iter().filter_map(Result::ok).collect();
    Ledger::parse(&(text.join("\n") + "\n{torn"))
  }

  fn observed(path: &str, content: &str) -> HostState {
    let mut s = HostState::default();
    s.files.insert(path.to_owned(), Some(file(content)));
    s
  }

  #[test]
  fn a_resource_never_applied_is_new() {
    let ledger = Ledger::default();
    let label = ledger.label("r", "r", "s1", &[write("/f", "a", "b")], &observed("/f", "a"));
    assert_eq!(label, Label::New);
  }

  #[test]
  fn a_host_as_converge_left_it_means_the_playbook_changed() {
    let ledger = ledger_with("/f", "applied");
    assert_eq!(ledger.lines, 3);
    let label = ledger.label("r", "r", "s2", &[write("/f", "applied", "wanted")], &observed("/f", "applied"));
    assert_eq!(label, Label::Intent);
  }

  #[test]
  fn a_file_changed_since_the_apply_is_drift() {
    let ledger = ledger_with("/f", "applied");
    let label = ledger.label("r", "r", "s1", &[write("/f", "edited", "applied")], &observed("/f", "edited"));
    assert_eq!(label, Label::Drift);
    let mut gone = HostState::default();
    gone.files.insert("/f".to_owned(), None);
    assert_eq!(ledger.label("r", "r", "s1", &[write("/f", "", "applied")], &gone), Label::Drift);
  }

  #[test]
  fn commands_are_drift_when_their_source_is_unchanged() {
    let ledger = ledger_with("/f", "applied");
    let run =
      Change::Run { summary: "go install".into(), script: "true".into(), system: false, payload: None };
    assert_eq!(ledger.label("r", "r", "s1", std::slice::from_ref(&run), &HostState::default()), Label::Drift);
    assert_eq!(ledger.label("r", "r", "s2", &[run], &HostState::default()), Label::Intent);
  }

  #[test]
  fn a_ledger_without_owns_still_parses_and_says_it_does_not_know() {
    let old = r#"{"t":"resource","name":"export A","kind":"export","source":"s","run":"x","at":1}"#;
    let ledger = Ledger::parse(old);
    assert_eq!(ledger.resources.get("export A").map(|r| r.owns.clone()), Some(None));
  }

  #[test]
  fn owns_round_trip_and_a_forget_line_drops_the_resource() {
    let line = Line::Resource {
      name: "r".into(),
      key: Some("r".into()),
      kind: "file".into(),
      source: "s".into(),
      run: "x".into(),
      at: 1,
      owns: Some(vec![Owned::File { path: "/etc/motd".into(), sha256: "ab".into(), created: true }]),
    };
    let text = serde_json::to_string(&line).unwrap_or_default();
    let ledger = Ledger::parse(&text);
    assert_eq!(ledger.resources.get("r").and_then(|r| r.owns.as_ref()).map(Vec::len), Some(1));
    let forget =
      serde_json::to_string(&Line::Forget { name: "r".into(), run: "y".into(), at: 2 }).unwrap_or_default();
    let ledger = Ledger::parse(&format!("{text}\n{forget}\n"));
    assert!(ledger.resources.is_empty());
    assert_eq!(ledger.folded(), "", "the folded ledger has neither line");
  }

  #[test]
  fn a_record_without_a_key_belongs_to_the_resource_of_its_name() {
    let old = r#"{"t":"resource","name":"my notes","kind":"file","source":"s","run":"x","at":1}"#;
    let new =
      r#"{"t":"resource","name":"yours","key":"file /b","kind":"file","source":"s","run":"x","at":1}"#;
    let ledger = Ledger::parse(&format!("{old}\n{new}\n"));
    assert_eq!(ledger.record("file /a", "my notes").map(|r| r.legacy), Some(true));
    assert_eq!(ledger.record("file /b", "other").map(|r| r.name.as_str()), Some("yours"));
    assert!(ledger.record("file /c", "yours").is_none(), "a keyed record is found by its key only");
  }

  #[test]
  fn source_hash_ignores_layout() {
    assert_eq!(source_hash("export A {\n  value = 1\n}"), source_hash("export A { value = 1 }"));
    assert_ne!(source_hash("export A { value = 1 }"), source_hash("export A { value = 2 }"));
  }
}
