//! Changes: what a plan says will happen on a host, and what apply does.
//!
//! Resources never touch a host themselves. Planning a resource yields
//! [`Change`]s computed against the predicted [`HostState`]; apply turns the very
//! same changes into one shell script ([`crate::apply`]). So the plan cannot
//! disagree with what apply does, and every transport runs the same script.

use std::collections::BTreeMap;
use std::sync::Arc;

/// The bytes, mode and owner of a file. The bytes are shared, not copied, by
/// every plan that holds them: a controller file planned for 200 hosts is in
/// memory once ([`crate::check::resources::file::read_controller_file`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileState {
  pub data: Arc<[u8]>,
  pub mode: Option<u32>,
  /// `user:group`.
  pub owner: Option<String>,
}

impl FileState {
  pub fn hash(&self) -> blake3::Hash {
    blake3::hash(&self.data)
  }
}

/// One thing apply will do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
  /// Replace (or create) a file atomically.
  Write { path: String, before: Option<FileState>, after: FileState, system: bool },
  /// Delete a file.
  Remove { path: String, before: FileState, system: bool },
  /// Run a shell snippet, with a controller file on the host when it needs one.
  Run { summary: String, script: String, system: bool, payload: Option<Payload> },
}

/// A controller file a [`Change::Run`] needs on the host. Apply checks its
/// sha256 on the controller, sends it over the run's own connection into a
/// temporary file in `dir` (on the host, below `--root`), checks the sha256
/// again there and runs the snippet with the file's path in
/// `$CONVERGE_PAYLOAD`; the snippet moves or removes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
  /// The file on the controller.
  pub path: std::path::PathBuf,
  /// Its expected sha256, in hexadecimal.
  pub sha256: String,
  /// The directory on the host it is written to: beside where it is used, on
  /// the same file system.
  pub dir: String,
}

impl Change {
  pub fn system(&self) -> bool {
    match self {
      Change::Write { system, .. } | Change::Remove { system, .. } | Change::Run { system, .. } => *system,
    }
  }
}

/// What a host will look like, as far as the plan knows: the files read by the
/// facts round trip, updated by every change planned so far. Later resources
/// plan against it, so a plan stays exact across dependencies.
#[derive(Clone, Debug, Default)]
pub struct HostState {
  /// `None`: the file is known to be absent.
  pub files: BTreeMap<String, Option<FileState>>,
  pub sysctl: BTreeMap<String, Option<String>>,
  /// Tool binaries and the `path version` of their build info.
  pub tools: BTreeMap<String, Option<String>>,
  /// The Go version installed in each prefix.
  pub go: BTreeMap<String, Option<String>>,
  /// Symbolic links and their targets (`None`: absent or not a link).
  pub links: BTreeMap<String, Option<String>>,
  /// Directories known to exist.
  pub dirs: std::collections::BTreeSet<String>,
  /// Exit statuses of guard commands.
  pub guards: BTreeMap<String, i32>,
  /// Files converge may not read or write, and why: a link on the way leads
  /// to another user's file, or out of the home directory or the tree.
  pub refused: BTreeMap<String, String>,
}

impl HostState {
  /// The current state of a file, or `None` when it is absent or unknown.
  pub fn file(&self, path: &str) -> Option<&FileState> {
    self.files.get(path).and_then(Option::as_ref)
  }

  /// Why `change` may not be made, when it touches a refused file.
  pub fn refusal(&self, change: &Change) -> Option<&str> {
    match change {
      Change::Write { path, .. } | Change::Remove { path, .. } => self.refused.get(path).map(String::as_str),
      Change::Run { .. } => None,
    }
  }

  /// Records a planned change.
  pub fn apply(&mut self, change: &Change) {
    match change {
      Change::Write { path, after, .. } => {
        self.files.insert(path.clone(), Some(after.clone()));
      }
      Change::Remove { path, .. } => {
        self.files.insert(path.clone(), None);
      }
      Change::Run { .. } => {}
    }
  }
}

/// The change that makes `path` hold `data` (with `mode`/`owner` when given), or
/// nothing when it already does. Equal blake3 hashes mean no write.
pub fn write_if_changed(
  state: &HostState,
  path: &str,
  data: impl Into<Arc<[u8]>>,
  mode: Option<u32>,
  owner: Option<String>,
  system: bool,
) -> Option<Change> {
  let data: Arc<[u8]> = data.into();
  let before = state.file(path).cloned();
  if let Some(b) = &before {
    let same_data = b.hash() == blake3::hash(&data);
    let same_mode = mode.is_none() || mode == b.mode;
    let same_owner = owner.is_none() || owner == b.owner;
    if same_data && same_mode && same_owner {
      return None;
    }
  }
  let mode = mode.or(before.as_ref().and_then(|b| b.mode));
  let owner = owner.or(before.as_ref().and_then(|b| b.owner.clone()));
  Some(Change::Write { path: path.to_owned(), before, after: FileState { data, mode, owner }, system })
}
