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
//!
//! This file finds what to prune and makes the steps; `remove` computes the
//! changes that take one thing off the host.

use crate::check::resource::HostInfo;
use crate::host::facts::{Facts, Request};
use crate::plan::block_merge;
use crate::plan::change::{FileState, HostState};
use crate::plan::ledger::{HostLedger, KeyFile, Label, Ledger, Owned, Record, sha256_of};
use crate::plan::planner::{HostPlan, PlanOptions, Step};
use remove::{Outcome, collapse, remove};
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
        Owned::Key { .. }
        | Owned::Tool { .. }
        | Owned::Link { .. }
        | Owned::Toolchain { .. }
        | Owned::Undo { .. } => {}
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
/// Records are matched by key; a record of an older converge, keyed by display
/// name, by that name.
fn candidates<'a>(plan: &HostPlan, ledger: &'a Ledger, handlers: &Handlers) -> Vec<(&'a String, &'a Record)> {
  let keys: BTreeSet<&str> = plan.steps.iter().map(|s| s.key.as_str()).collect();
  let names: BTreeSet<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
  ledger
    .resources
    .iter()
    .filter(|(key, record)| {
      let by_name = record.legacy && (names.contains(key.as_str()) || handlers.names.contains(key.as_str()));
      !(keys.contains(key.as_str()) || handlers.keys.contains(key.as_str()) || by_name)
    })
    .filter(|(key, record)| {
      // An older converge keyed a sensitive resource by its hidden name.
      let hidden_handler =
        record.legacy && key.contains(" (sensitive, ") && handlers.sensitive_kinds.contains(&record.kind);
      !hidden_handler
    })
    .collect()
}

/// The resources of a playbook's handlers, which a plan holds only when they
/// are notified.
#[derive(Debug, Default)]
pub struct Handlers {
  keys: BTreeSet<String>,
  names: BTreeSet<String>,
  sensitive_kinds: BTreeSet<String>,
}

impl Handlers {
  pub fn of(handlers: &[std::sync::Arc<crate::check::playbook::Handler>]) -> Handlers {
    let mut out = Handlers::default();
    for resource in handlers.iter().flat_map(|h| h.resources.iter()) {
      out.keys.insert(resource.key.to_string());
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
      // Binaries, links and trees are checked by the removal script itself.
      let checked_at_apply = matches!(
        owned,
        Owned::Tool { .. } | Owned::Link { .. } | Owned::Toolchain { .. } | Owned::Undo { .. }
      );
      if checked_at_apply || !usable(path) || read.contains(path) {
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
    let names: Vec<&str> = candidates.iter().map(|(_, r)| r.name.as_str()).collect();
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
  for (key, record) in candidates {
    let record = trusted(&key, record, ledger, &plan.info);
    let mut step = removal(&key, &record.0, &plan.info, &mut state, &mut kept, options.force_remove);
    step.notes.extend(record.1);
    plan.steps.push(step);
  }
}

/// The record with what it may remove: what the host's ledger says of a
/// system path (changed through sudo) is taken only when converge runs as
/// root or on this machine, or when the controller's copy says the same, since
/// the login user can edit the host's file. Returns what was left out, said.
fn trusted(key: &str, mut record: Record, ledger: &HostLedger, info: &HostInfo) -> (Record, Vec<String>) {
  if info.privileged || ledger.local {
    return (record, Vec::new());
  }
  let agreed: BTreeSet<Owned> = ledger
    .controller
    .resources
    .get(key)
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

/// The removal step of the resource whose ledger record is `key`'s.
fn removal(
  key: &str,
  record: &Record,
  info: &HostInfo,
  state: &mut HostState,
  done: &mut BTreeSet<Owned>,
  force: bool,
) -> Step {
  let mut step = Step {
    name: record.name.clone(),
    key: key.to_owned(),
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
  // `export NAME`, numbered from the second such resource: `export NAME #2`.
  let exported = key.strip_prefix("export ").and_then(|rest| rest.split(' ').next());
  if let Some(var) = exported.filter(|_| record.kind == "export") {
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

mod remove;
pub(crate) use remove::{remove_binary, unset_go_env};

#[cfg(test)]
mod tests;
