//! The changes that take one thing a resource wrote off the host.

use super::block_hash;
use crate::check::resource::HostInfo;
use crate::plan::block_merge::{self, Place};
use crate::plan::change::{Change, FileState, HostState};
use crate::plan::ledger::{KeyFile, Owned, sha256_of};

pub(super) enum Outcome {
  Changes(Vec<Change>),
  /// Already not there.
  Gone,
  /// Edited since converge wrote it, and removed anyway (`--force-remove`).
  Forced(Vec<Change>, String),
  /// Edited since converge wrote it: kept.
  Drift(String),
  /// Left on purpose, and why.
  Kept(String),
}

/// The changes that take `owned` off the host in `state`.
pub(super) fn remove(owned: &Owned, state: &HostState, info: &HostInfo, force: bool) -> Outcome {
  let path = owned.path();
  if let Some(why) = state.refused.get(path) {
    return Outcome::Kept(format!("`{path}` is not removed: {why}"));
  }
  let system = info.is_system(path);
  match owned {
    Owned::Tool { path } => Outcome::Changes(vec![remove_binary(path, system)]),
    Owned::Link { path, target } => match state.links.get(path) {
      Some(None) => Outcome::Gone,
      Some(Some(now)) if now != target => {
        Outcome::Kept(format!("`{path}` now points at `{now}`, not where converge linked it: kept"))
      }
      _ => Outcome::Changes(vec![remove_link(path, target, system)]),
    },
    Owned::Toolchain { prefix, version } => {
      if prefix.trim_end_matches('/').matches('/').count() < 2 {
        return Outcome::Kept(format!("`{prefix}` is too near `/` to be removed as a Go tree: kept"));
      }
      Outcome::Changes(vec![remove_toolchain(prefix, version, system)])
    }
    // The login user can write the ledger, so the command runs as that user.
    Owned::Undo { command, sensitive } => Outcome::Changes(vec![Change::Run {
      summary: if *sensitive { "undo (sensitive)".to_owned() } else { format!("undo: {command}") },
      script: format!("cd \"${{HOME:-/}}\"\n{command}"),
      system: false,
      payload: None,
    }]),
    Owned::File { path, sha256, created } => {
      let Some(file) = state.file(path) else { return Outcome::Gone };
      let edited = sha256_of(Some(file)) != *sha256;
      let change = Change::Remove { path: path.clone(), before: file.clone(), system };
      if edited {
        let why = format!("`{path}` was edited since converge wrote it");
        return if force { Outcome::Forced(vec![change], why) } else { Outcome::Drift(why) };
      }
      if !created && !force {
        return Outcome::Kept(format!("`{path}` existed before converge wrote it: kept"));
      }
      Outcome::Changes(vec![change])
    }
    Owned::Block { path, comment, name, sha256, created } => {
      let Some(file) = state.file(path) else { return Outcome::Gone };
      if block_merge::block(&file.data, comment, name).is_none() {
        if block_merge::names(&file.data, comment).iter().any(|n| n == name) {
          return Outcome::Kept(format!("the block `{name}` in `{path}` is damaged: kept"));
        }
        return Outcome::Gone;
      }
      let edited = !sha256.is_empty() && block_hash(Some(file), comment, name) != *sha256;
      let why = format!("the block `{name}` in `{path}` was edited since converge wrote it");
      if edited && !force {
        return Outcome::Drift(why);
      }
      match block_merge::try_merge(&file.data, comment, name, "", Place::Bottom) {
        Ok(data) => {
          let changes = vec![rewrite(path, file, data, *created, system, |d| d.is_empty())];
          if edited { Outcome::Forced(changes, why) } else { Outcome::Changes(changes) }
        }
        Err(e) => Outcome::Kept(format!("`{path}`: {e}: kept")),
      }
    }
    Owned::Key { path, file: kind, key, created } => {
      let Some(file) = state.file(path) else { return Outcome::Gone };
      let data = match kind {
        KeyFile::GoEnv => remove_go_env_key(&file.data, key),
        KeyFile::Sysctl => crate::check::resources::sysctl::remove_line(&file.data, key),
        KeyFile::Vscode => {
          let text = String::from_utf8_lossy(&file.data);
          match crate::check::resources::vscode::remove_key(&text, key) {
            Ok(Some(text)) => text.into_bytes(),
            Ok(None) => return Outcome::Gone,
            Err(e) => {
              return Outcome::Kept(format!("`{path}` is not JSON with comments ({e}): `{key}` kept"));
            }
          }
        }
      };
      if data[..] == file.data[..] {
        return Outcome::Gone;
      }
      let empty = |d: &[u8]| match kind {
        KeyFile::GoEnv => d.is_empty(),
        KeyFile::Sysctl => crate::check::resources::sysctl::only_header(d),
        KeyFile::Vscode => jsonc_parser::parse_to_serde_value::<serde_json::Value>(
          &String::from_utf8_lossy(d),
          &jsonc_parser::ParseOptions::default(),
        )
        .ok()
        .is_some_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty)),
      };
      Outcome::Changes(vec![rewrite(path, file, data, *created, system, empty)])
    }
  }
}

/// One change per file: several blocks of one file removed in turn become
/// one write (or one removal) from the file as it was to the file as it ends.
pub(super) fn collapse(changes: Vec<Change>) -> Vec<Change> {
  let mut out: Vec<Change> = Vec::new();
  for change in changes {
    let path = match &change {
      Change::Write { path, .. } | Change::Remove { path, .. } => path.clone(),
      Change::Run { .. } => {
        out.push(change);
        continue;
      }
    };
    let earlier = out.iter().position(|c| match c {
      Change::Write { path: p, .. } | Change::Remove { path: p, .. } => *p == path,
      Change::Run { .. } => false,
    });
    let Some(i) = earlier else {
      out.push(change);
      continue;
    };
    let first = match &out[i] {
      Change::Write { before, .. } => before.clone(),
      Change::Remove { before, .. } => Some(before.clone()),
      Change::Run { .. } => None,
    };
    out[i] = match (change, first) {
      (Change::Remove { path, system, .. }, Some(before)) => Change::Remove { path, before, system },
      (Change::Write { path, after, system, .. }, before) => Change::Write { path, before, after, system },
      (other, _) => other,
    };
  }
  out
}

/// The change that deletes a tool binary (`path` expanded, below `--root`).
pub(crate) fn remove_binary(path: &str, system: bool) -> Change {
  Change::Run {
    summary: format!("remove {path}"),
    script: crate::host::shell::sh!("rm -f -- \"$CONVERGE_ROOT\"{}", path).into(),
    system,
    payload: None,
  }
}

/// The change that deletes the link `path` while it still points at `target`.
fn remove_link(path: &str, target: &str, system: bool) -> Change {
  Change::Run {
    summary: format!("remove the link {path} -> {target}"),
    script: crate::host::shell::sh!(
      "l=\"$CONVERGE_ROOT\"{l}\nif [ -L \"$l\" ] && [ \"$(readlink -- \"$l\")\" = {t} ]; then rm -f -- \"$l\"; fi",
      l = path,
      t = target
    )
    .into(),
    system,
    payload: None,
  }
}

/// The change that deletes the Go tree at `prefix` while its VERSION file
/// still names `version`: the tree is first renamed aside within its parent
/// (one atomic step, so no half-deleted Go is ever at the prefix), then
/// deleted. A tree that is not that Go any more is kept, with a message.
fn remove_toolchain(prefix: &str, version: &str, system: bool) -> Change {
  Change::Run {
    summary: format!("remove the Go tree {prefix} ({version})"),
    script: crate::host::shell::sh!(
      "p=\"$CONVERGE_ROOT\"{p}\n\
       if [ -d \"$p\" ] && [ ! -L \"$p\" ] && [ -f \"$p/VERSION\" ] && [ \"$(head -n 1 -- \"$p/VERSION\")\" = {v} ]; then\n\
       t=$(mktemp -d -- \"$(dirname -- \"$p\")/.converge-remove.XXXXXX\") && mv -- \"$p\" \"$t/go\" && rm -rf -- \"$t\"\n\
       elif [ -e \"$p\" ]; then echo \"converge: $p is not the Go tree converge installed: kept\" >&2; fi",
      p = prefix,
      v = version
    )
    .into(),
    system,
    payload: None,
  }
}

/// The change that leaves `data` in `path`, or removes the file when converge
/// created it and nothing of anyone's is left in it.
fn rewrite(
  path: &str,
  file: &FileState,
  data: Vec<u8>,
  created: bool,
  system: bool,
  empty: impl Fn(&[u8]) -> bool,
) -> Change {
  if created && empty(&data) {
    return Change::Remove { path: path.to_owned(), before: file.clone(), system };
  }
  Change::Write {
    path: path.to_owned(),
    before: Some(file.clone()),
    after: FileState { data: data.into(), mode: file.mode, owner: file.owner.clone() },
    system,
  }
}

/// The change that takes `names` out of the host's go env file (`goenv`
/// with `state = "absent"`), every other byte kept.
pub(crate) fn unset_go_env(host: &HostInfo, state: &HostState, names: &[&str]) -> Vec<Change> {
  let Some(path) = host.go_env_path() else { return Vec::new() };
  let Some(file) = state.file(&path) else { return Vec::new() };
  let data = names.iter().fold(file.data.to_vec(), |data, name| remove_go_env_key(&data, name));
  crate::plan::change::write_if_changed(state, &path, data, None, None, host.is_system(&path))
    .into_iter()
    .collect()
}

/// The go env file without the lines that set `key` (as `go env -u`), every
/// other byte kept.
pub(super) fn remove_go_env_key(data: &[u8], key: &str) -> Vec<u8> {
  let mut out = Vec::with_capacity(data.len());
  for line in data.split_inclusive(|b| *b == b'\n') {
    let line_key = match line.iter().position(|b| *b == b'=') {
      Some(i) if !line[..i].contains(&b'#') => &line[..i],
      _ => &[][..],
    };
    if line_key == key.as_bytes() {
      continue;
    }
    out.extend_from_slice(line);
  }
  out
}
