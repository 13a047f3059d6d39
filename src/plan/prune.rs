//! Pruning: what converge wrote for a resource that left the playbook is
//! removed from the host.
//!
//! The ledger records per resource what it wrote ([`Owned`]). A resource of the
//! host's ledger that is not in the host's play any more becomes a removal
//! [`Step`] whose changes take it out again, computed against the host as the
//! plan leaves it: its managed blocks leave their files (every other byte
//! kept), a file it wrote is deleted when it still hashes as converge left it
//! and converge created it, a key leaves the go env file, converge's sysctl.d
//! file or a VS Code settings file, a tool binary is deleted. What was edited
//! since converge wrote it is drift: kept and shown, unless `--force-remove`.
//! What another resource of the play still owns (the shared hooks of the
//! exports) stays. A file converge created is deleted once nothing is left
//! in it. `command` resources are never undone. A resource whose record does
//! not say what it wrote (an older converge's) is left alone.

use crate::check::resource::HostInfo;
use crate::host::facts::{Facts, Request};
use crate::plan::block_merge::{self, Place};
use crate::plan::change::{Change, FileState, HostState};
use crate::plan::ledger::{HostLedger, KeyFile, Label, Ledger, Owned, Record, sha256_of};
use crate::plan::planner::{HostPlan, PlanOptions, Step};
use std::collections::BTreeSet;

/// Fills in what the ledger needs of each step's [`Owned`] things: their
/// hashes in `state`, the host as the plan leaves it, and whether converge
/// created their file (it was absent in `observed`, or an earlier record says
/// so).
pub(crate) fn fill_owned(steps: &mut [Step], ledger: &Ledger, observed: &HostState, state: &HostState) {
  let mut created: BTreeSet<String> = ledger
    .resources
    .values()
    .flat_map(|r| r.owns.iter().flatten())
    .filter(|o| o.created())
    .map(|o| o.path().to_owned())
    .collect();
  for step in steps.iter() {
    for owned in &step.owns {
      let path = owned.path();
      let was_absent = observed.files.get(path).is_some_and(Option::is_none) && !observed.dirs.contains(path);
      if was_absent && state.file(path).is_some() {
        created.insert(path.to_owned());
      }
    }
  }
  for step in steps {
    for owned in &mut step.owns {
      let is_created = created.contains(owned.path());
      owned.set_created(is_created);
      match owned {
        Owned::File { path, sha256, .. } => *sha256 = sha256_of(state.file(path)),
        Owned::Block { path, comment, name, sha256, .. } => {
          *sha256 = block_hash(state.file(path), comment, name);
        }
        Owned::Key { .. } | Owned::Tool { .. } | Owned::Undo { .. } => {}
      }
    }
  }
}

/// The sha256 of a block's lines in a file, or `absent`.
fn block_hash(file: Option<&FileState>, comment: &str, name: &str) -> String {
  match file.and_then(|f| block_merge::block(&f.data, comment, name)) {
    Some(bytes) => crate::plan::ledger::hex(&<sha2::Sha256 as sha2::Digest>::digest(bytes)),
    None => "absent".to_owned(),
  }
}

/// The resources of the ledger that are not in the plan: pruning removes them.
/// Handlers that were not notified this time are not in the plan, but still
/// in the playbook: `handlers` are their names (and, for a `sensitive` one,
/// its kind, since its name is hidden).
fn candidates<'a>(plan: &HostPlan, ledger: &'a Ledger, handlers: &Handlers) -> Vec<(&'a String, &'a Record)> {
  let planned: BTreeSet<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
  ledger
    .resources
    .iter()
    .filter(|(name, _)| !planned.contains(name.as_str()))
    .filter(|(name, record)| {
      let hidden_handler = name.contains(" (sensitive, ") && handlers.sensitive_kinds.contains(&record.kind);
      !(handlers.names.contains(name.as_str()) || hidden_handler)
    })
    .collect()
}

/// The resources of a playbook's handlers, which a plan holds only when they
/// are notified.
#[derive(Debug, Default)]
pub struct Handlers {
  names: BTreeSet<String>,
  sensitive_kinds: BTreeSet<String>,
}

impl Handlers {
  pub fn of(handlers: &[std::sync::Arc<crate::check::playbook::Handler>]) -> Handlers {
    let mut out = Handlers::default();
    for resource in handlers.iter().flat_map(|h| h.resources.iter()) {
      out.names.insert(resource.name());
      if resource.meta.sensitive {
        out.sensitive_kinds.insert(resource.kind.clone());
      }
    }
    out
  }
}

/// A path from a ledger (which the host can edit) that pruning may act on:
/// absolute, without `..`, NUL or newline.
fn usable(path: &str) -> bool {
  path.starts_with('/')
    && path.len() > 1
    && !path.contains(['\0', '\n'])
    && !path.split('/').any(|p| p == "..")
}

/// The files pruning must read that the facts round trip did not: asked in a
/// second, small round trip, only when there is something to prune.
pub fn queries(
  plan: &HostPlan,
  ledger: &HostLedger,
  handlers: &Handlers,
  options: &PlanOptions,
) -> Vec<Request> {
  if !options.prune || plan.error.is_some() {
    return Vec::new();
  }
  let read: BTreeSet<&str> = plan.files.iter().map(String::as_str).collect();
  let mut out = BTreeSet::new();
  for (_, record) in candidates(plan, &ledger.ledger, handlers) {
    for owned in record.owns.iter().flatten() {
      let path = owned.path();
      if matches!(owned, Owned::Tool { .. } | Owned::Undo { .. }) || !usable(path) || read.contains(path) {
        continue;
      }
      out.insert(Request::File(path.to_owned()));
    }
  }
  out.into_iter().collect()
}

/// Adds to `plan` a removal step for each resource of the ledger that left
/// the play. `facts` are the host's facts, `extra` the answers of the second
/// round trip ([`queries`]), when there was one.
pub fn prune(
  plan: &mut HostPlan,
  facts: &Facts,
  extra: Option<&Facts>,
  ledger: &HostLedger,
  handlers: &Handlers,
  options: &PlanOptions,
) {
  if plan.error.is_some() {
    return;
  }
  if ledger.ledger.lines == 0 {
    plan.notes.push(
      "nothing is pruned: converge has no ledger of this host (neither on the host nor on this controller), so it does not know what it wrote there".to_owned(),
    );
    return;
  }
  let candidates: Vec<(String, Record)> =
    candidates(plan, &ledger.ledger, handlers).into_iter().map(|(n, r)| (n.clone(), r.clone())).collect();
  if candidates.is_empty() {
    return;
  }
  if !options.prune {
    let names: Vec<&str> = candidates.iter().map(|(n, _)| n.as_str()).collect();
    plan.notes.push(format!("not pruned (--no-prune): {}", names.join(", ")));
    return;
  }
  // The host as the plan leaves it.
  let mut state = crate::plan::observed::initial_state(facts, &plan.info);
  if let Some(extra) = extra {
    let more = crate::plan::observed::initial_state(extra, &plan.info);
    for (path, file) in more.files {
      if let std::collections::btree_map::Entry::Vacant(slot) = state.files.entry(path.clone()) {
        let seen = if more.refused.contains_key(&path) {
          "refused".to_owned()
        } else if more.dirs.contains(&path) {
          "other".to_owned()
        } else {
          sha256_of(file.as_ref())
        };
        plan.read.insert(path.clone(), seen);
        plan.files.push(path);
        slot.insert(file);
      }
    }
    state.refused.extend(more.refused);
    state.dirs.extend(more.dirs);
  }
  state.files.remove(&plan.info.expand(crate::plan::ledger::HOST_FILE));
  for step in &plan.steps {
    for change in &step.changes {
      state.apply(change);
    }
  }
  // What the play still owns stays.
  let mut kept: BTreeSet<Owned> =
    plan.steps.iter().flat_map(|s| s.owns.iter().map(Owned::identity)).collect();
  for (name, record) in candidates {
    let record = trusted(&name, record, ledger, &plan.info);
    let mut step = removal(&name, &record.0, &plan.info, &mut state, &mut kept, options.force_remove);
    step.notes.extend(record.1);
    plan.steps.push(step);
  }
}

/// The record with what it may remove: what the host's ledger says of a
/// system path (changed through sudo) is taken only when converge runs as
/// root or on this machine, or when the controller's copy says the same, since
/// the login user can edit the host's file. Returns what was left out, said.
fn trusted(name: &str, mut record: Record, ledger: &HostLedger, info: &HostInfo) -> (Record, Vec<String>) {
  if info.privileged || ledger.local {
    return (record, Vec::new());
  }
  let agreed: BTreeSet<Owned> = ledger
    .controller
    .resources
    .get(name)
    .and_then(|r| r.owns.as_ref())
    .map(|owns| owns.iter().map(Owned::identity).collect())
    .unwrap_or_default();
  let mut notes = Vec::new();
  if let Some(owns) = &mut record.owns {
    owns.retain(|o| {
      let system = !matches!(o, Owned::Undo { .. }) && info.is_system(o.path());
      let keep = !system || agreed.contains(&o.identity());
      if !keep {
        notes.push(format!(
          "`{}` is kept: only the host's own ledger, which its login user can edit, says converge wrote it, and removing it takes sudo",
          o.path()
        ));
      }
      keep
    });
  }
  (record, notes)
}

/// The removal step of one resource.
fn removal(
  name: &str,
  record: &Record,
  info: &HostInfo,
  state: &mut HostState,
  done: &mut BTreeSet<Owned>,
  force: bool,
) -> Step {
  let mut step = Step {
    name: name.to_owned(),
    kind: record.kind.clone(),
    stops_host: false,
    changes: Vec::new(),
    errors: Vec::new(),
    depends_on: Vec::new(),
    notified_by: Vec::new(),
    notes: Vec::new(),
    sensitive: false,
    expects: Vec::new(),
    label: None,
    source: record.source.clone(),
    at: "ledger".to_owned(),
    owns: Vec::new(),
    removal: true,
  };
  let Some(owns) = &record.owns else {
    step.notes.push(
      "left the playbook, but its ledger record (from an older converge) does not say what it wrote: nothing removed".to_owned(),
    );
    return step;
  };
  if let Some(var) = name.strip_prefix("export ").filter(|_| record.kind == "export") {
    step.expects.push(crate::plan::expect::Expect::Unset { name: var.to_owned() });
  }
  if record.kind == "command" && !owns.iter().any(|o| matches!(o, Owned::Undo { .. })) {
    step.notes.push(
      "left the playbook; a command is never undone (give it `undo` to run a command on removal)".to_owned(),
    );
  }
  let mut drift = false;
  for owned in owns {
    if !matches!(owned, Owned::Undo { .. }) && !usable(owned.path()) {
      step.notes.push(format!("the ledger names `{}`, which is not an absolute path: ignored", owned.path()));
      continue;
    }
    if !done.insert(owned.identity()) {
      continue;
    }
    if let Owned::Undo { sensitive: true, .. } = owned {
      step.sensitive = true;
    }
    match remove(owned, state, info, force) {
      Outcome::Changes(changes) => {
        for change in &changes {
          state.apply(change);
        }
        step.changes.extend(changes);
      }
      Outcome::Gone => {}
      Outcome::Forced(changes, why) => {
        drift = true;
        step.notes.push(format!("{why}: removed (--force-remove)"));
        for change in &changes {
          state.apply(change);
        }
        step.changes.extend(changes);
      }
      Outcome::Drift(why) => {
        step.notes.push(format!("{why}: kept (drift); `--force-remove` removes it"));
        step.owns.push(owned.clone());
      }
      Outcome::Kept(why) => step.notes.push(why),
    }
    if let Owned::Key { file: KeyFile::Sysctl, key, .. } = owned {
      step.notes.push(format!("the live value of `{key}` is kept until the next boot"));
    }
  }
  step.changes = collapse(std::mem::take(&mut step.changes));
  if !step.changes.is_empty() {
    step.label = Some(if drift { Label::Drift } else { Label::Intent });
  }
  step
}

enum Outcome {
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
fn remove(owned: &Owned, state: &HostState, info: &HostInfo, force: bool) -> Outcome {
  let path = owned.path();
  if let Some(why) = state.refused.get(path) {
    return Outcome::Kept(format!("`{path}` is not removed: {why}"));
  }
  let system = info.is_system(path);
  match owned {
    Owned::Tool { path } => Outcome::Changes(vec![remove_binary(path, system)]),
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
      if data == file.data {
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
fn collapse(changes: Vec<Change>) -> Vec<Change> {
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
    after: FileState { data, mode: file.mode, owner: file.owner.clone() },
    system,
  }
}

/// The change that takes `names` out of the host's go env file (`goenv`
/// with `state = "absent"`), every other byte kept.
pub(crate) fn unset_go_env(host: &HostInfo, state: &HostState, names: &[&str]) -> Vec<Change> {
  let Some(path) = host.go_env_path() else { return Vec::new() };
  let Some(file) = state.file(&path) else { return Vec::new() };
  let data = names.iter().fold(file.data.clone(), |data, name| remove_go_env_key(&data, name));
  crate::plan::change::write_if_changed(state, &path, data, None, None, host.is_system(&path))
    .into_iter()
    .collect()
}

/// The go env file without the lines that set `key` (as `go env -u`), every
/// other byte kept.
fn remove_go_env_key(data: &[u8], key: &str) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn go_env_key_removal_keeps_other_lines() {
    assert_eq!(remove_go_env_key(b"A=1\nGOPROXY=x\n# c\nB=2", "GOPROXY"), b"A=1\n# c\nB=2");
    assert_eq!(remove_go_env_key(b"GOPROXY=x\n", "GOPROXY"), b"");
  }

  fn info() -> HostInfo {
    HostInfo { name: "h".into(), home: "/home/dev".into(), user: "dev".into(), ..HostInfo::default() }
  }

  fn file(data: &str) -> FileState {
    FileState { data: data.as_bytes().to_vec(), mode: Some(0o644), owner: None }
  }

  fn state(files: &[(&str, &str)]) -> HostState {
    let mut s = HostState::default();
    for (path, data) in files {
      s.files.insert((*path).to_owned(), Some(file(data)));
    }
    s
  }

  fn record(owns: Option<Vec<Owned>>) -> Record {
    Record { kind: "managed block".into(), source: "s".into(), run: "r".into(), at: 1, owns }
  }

  const BLOCK: &str = "# BEGIN converge: b\nx\n# END converge: b\n";

  fn block(path: &str, created: bool, data: &str) -> Owned {
    Owned::Block {
      path: path.into(),
      comment: "#".into(),
      name: "b".into(),
      sha256: block_hash(Some(&file(data)), "#", "b"),
      created,
    }
  }

  #[test]
  fn a_block_leaves_with_the_text_around_it_kept() {
    let before = format!("mine\n{BLOCK}more\n");
    let mut s = state(&[("/home/dev/.bashrc", &before)]);
    let owns = vec![block("/home/dev/.bashrc", false, &before)];
    let step = removal("b", &record(Some(owns)), &info(), &mut s, &mut BTreeSet::new(), false);
    assert_eq!(step.label, Some(Label::Intent));
    assert!(step.owns.is_empty(), "nothing kept: the ledger forgets it");
    assert_eq!(s.file("/home/dev/.bashrc").map(|f| f.data.clone()), Some(b"mine\nmore\n".to_vec()));
  }

  #[test]
  fn a_file_converge_created_for_a_block_goes_with_its_last_block() {
    let mut s = state(&[("/home/dev/.zshenv", BLOCK)]);
    let owns = vec![block("/home/dev/.zshenv", true, BLOCK)];
    let step = removal("b", &record(Some(owns)), &info(), &mut s, &mut BTreeSet::new(), false);
    assert!(matches!(step.changes.as_slice(), [Change::Remove { .. }]), "{:?}", step.changes);
  }

  #[test]
  fn an_edited_block_is_drift_kept_unless_forced() {
    let applied = format!("mine\n{BLOCK}");
    let edited = applied.replace("\nx\n", "\ny\n");
    let owns = vec![block("/home/dev/.bashrc", false, &applied)];
    let mut s = state(&[("/home/dev/.bashrc", &edited)]);
    let step = removal("b", &record(Some(owns.clone())), &info(), &mut s, &mut BTreeSet::new(), false);
    assert!(step.changes.is_empty() && step.label.is_none());
    assert_eq!(step.owns, owns, "the ledger keeps what was kept");
    assert!(step.notes.iter().any(|n| n.contains("kept (drift)")), "{:?}", step.notes);
    let step = removal("b", &record(Some(owns)), &info(), &mut s, &mut BTreeSet::new(), true);
    assert_eq!(step.label, Some(Label::Drift));
    assert_eq!(s.file("/home/dev/.bashrc").map(|f| f.data.clone()), Some(b"mine\n".to_vec()));
  }

  #[test]
  fn what_the_play_still_owns_stays() {
    let mut s = state(&[("/home/dev/.bashrc", BLOCK)]);
    let owned = block("/home/dev/.bashrc", false, BLOCK);
    let mut kept: BTreeSet<Owned> = [owned.identity()].into_iter().collect();
    let step = removal("b", &record(Some(vec![owned])), &info(), &mut s, &mut kept, false);
    assert!(step.changes.is_empty());
  }

  #[test]
  fn a_record_of_an_older_converge_is_left_alone_and_the_plan_says_so() {
    let mut s = state(&[("/home/dev/.bashrc", BLOCK)]);
    let step = removal("b", &record(None), &info(), &mut s, &mut BTreeSet::new(), false);
    assert!(step.changes.is_empty());
    assert!(step.notes.iter().any(|n| n.contains("older converge")), "{:?}", step.notes);
  }

  #[test]
  fn a_file_is_deleted_only_as_converge_left_it_and_only_if_it_created_it() {
    let sha = sha256_of(Some(&file("hello\n")));
    let owned = |created| Owned::File { path: "/etc/motd".into(), sha256: sha.clone(), created };
    let mut s = state(&[("/etc/motd", "hello\n")]);
    let step = removal("f", &record(Some(vec![owned(false)])), &info(), &mut s, &mut BTreeSet::new(), false);
    assert!(step.changes.is_empty(), "it existed before converge wrote it");
    let step = removal("f", &record(Some(vec![owned(true)])), &info(), &mut s, &mut BTreeSet::new(), false);
    assert!(matches!(step.changes.as_slice(), [Change::Remove { system: true, .. }]), "{:?}", step.changes);
  }

  #[test]
  fn several_blocks_of_one_file_are_one_change() {
    let two = format!("{BLOCK}# BEGIN converge: c\ny\n# END converge: c\n");
    let c = Owned::Block {
      path: "/home/dev/f".into(),
      comment: "#".into(),
      name: "c".into(),
      sha256: String::new(),
      created: true,
    };
    let owns = vec![block("/home/dev/f", true, &two), c];
    let mut s = state(&[("/home/dev/f", &two)]);
    let step = removal("b", &record(Some(owns)), &info(), &mut s, &mut BTreeSet::new(), false);
    match step.changes.as_slice() {
      [Change::Remove { before, .. }] => assert_eq!(before.data, two.as_bytes()),
      other => panic!("{other:?}"),
    }
  }

  #[test]
  fn a_system_path_only_the_hosts_ledger_names_is_not_removed_through_sudo() {
    let owned = Owned::File { path: "/etc/passwd".into(), sha256: "x".into(), created: true };
    let home = Owned::File { path: "/home/dev/f".into(), sha256: "x".into(), created: true };
    let host_only = HostLedger::default();
    let (record, notes) = trusted("f", record(Some(vec![owned.clone(), home.clone()])), &host_only, &info());
    assert_eq!(record.owns, Some(vec![home.clone()]));
    assert!(notes.iter().any(|n| n.contains("`/etc/passwd` is kept")), "{notes:?}");
    let mut agreed = HostLedger::default();
    agreed.controller.resources.insert("f".into(), record_with(vec![owned.clone()]));
    let (record, notes) = trusted("f", record_with(vec![owned.clone(), home.clone()]), &agreed, &info());
    assert_eq!(record.owns, Some(vec![owned.clone(), home.clone()]));
    assert!(notes.is_empty());
    let root = HostInfo { privileged: true, ..info() };
    let (record, _) = trusted("f", record_with(vec![owned.clone()]), &host_only, &root);
    assert_eq!(record.owns, Some(vec![owned]));
  }

  fn record_with(owns: Vec<Owned>) -> Record {
    record(Some(owns))
  }

  #[test]
  fn ledger_paths_that_climb_or_are_relative_are_not_used() {
    assert!(usable("/etc/profile.d/go.sh"));
    assert!(!usable("etc/x"));
    assert!(!usable("/home/u/../../etc/shadow"));
    assert!(!usable("/"));
  }
}
