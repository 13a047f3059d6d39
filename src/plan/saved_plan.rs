//! Saved plans: `converge --plan --out FILE` and `converge apply FILE`.
//!
//! A plan file holds, besides the plan itself (the JSON of `--format json`),
//! what it was computed from: the blake3 of every playbook and inventory file
//! read, and per host a hash of its facts (each fact hashed too, so a refusal
//! can name what changed) and a hash of its changes. `converge apply` reads the
//! same playbooks, gathers each host's facts again and plans again:
//!
//! - facts unchanged: the new plan must hash to the saved one (it does, unless
//!   a file on the controller such as a template or a tarball changed), and it
//!   is applied;
//! - facts changed and nothing left to do: the plan was applied already, the
//!   host is left alone;
//! - facts changed and changes pending: the host is refused as stale, naming
//!   the facts that changed. The other hosts are applied.

use crate::plan::change::Change;
use crate::plan::planner::HostPlan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a plan file says it is.
pub const KIND: &str = "converge-plan";
/// Its schema version.
pub const FORMAT_VERSION: u32 = 1;

/// One host of a saved plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedHost {
  pub facts_blake3: String,
  pub plan_blake3: String,
  pub facts: BTreeMap<String, String>,
  /// Why the host could not be planned, when it could not.
  #[serde(default, skip_serializing_if = "Option::is_none")]
  pub error: Option<String>,
}

/// A plan file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedPlan {
  pub kind: String,
  pub format_version: u32,
  pub converge_version: String,
  pub created: u64,
  /// The playbook arguments, as given (relative to where converge ran).
  pub playbooks: Vec<PathBuf>,
  /// blake3 of every file read: playbooks, inventories, variable files.
  pub sources: BTreeMap<String, String>,
  #[serde(default)]
  pub root: Option<PathBuf>,
  /// Planned with `--no-guards`: `converge apply` plans again the same way,
  /// and the apply decides the guarded commands.
  #[serde(default)]
  pub no_guards: bool,
  /// Planned with `--no-prune`: the apply prunes nothing either.
  #[serde(default)]
  pub no_prune: bool,
  /// Planned with `--force-remove`: the apply removes the same.
  #[serde(default)]
  pub force_remove: bool,
  pub hosts: BTreeMap<String, SavedHost>,
  /// The plan as `--format json` shows it.
  pub plan: serde_json::Value,
  /// blake3 of the file's bytes, as read (what `b3sum FILE` prints).
  #[serde(skip)]
  pub blake3: String,
}

/// Why a plan file cannot be applied at all.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
  #[error("cannot read the plan `{path}`: {source}")]
  Read { path: PathBuf, source: std::io::Error },
  #[error("`{path}` is not a converge plan: {source}")]
  Parse { path: PathBuf, source: serde_json::Error },
  #[error("`{path}` is not a converge plan (its kind is `{kind}`)")]
  Kind { path: PathBuf, kind: String },
  #[error("`{path}` was made by converge {made}, this is converge {this}; plan again with this version")]
  Version { path: PathBuf, made: String, this: String },
  #[error("`{file}` changed since the plan was made; plan again")]
  SourceChanged { file: String },
  #[error("`{file}` was read by the plan but is not read now; plan again")]
  SourceGone { file: String },
  #[error("`{file}` is read now but was not when the plan was made; plan again")]
  SourceNew { file: String },
}

impl SavedPlan {
  pub fn read(path: &Path) -> Result<SavedPlan, PlanFileError> {
    // Plans hold every host's facts: bounded like other controller files.
    let text = crate::source::read_bounded(path, crate::source::MAX_CONTROLLER_FILE_BYTES)
      .map_err(|e| PlanFileError::Read { path: path.to_owned(), source: e.into() })?;
    let mut plan: SavedPlan = serde_json::from_slice(&text)
      .map_err(|source| PlanFileError::Parse { path: path.to_owned(), source })?;
    plan.blake3 = blake3::hash(&text).to_hex().to_string();
    if plan.kind != KIND {
      return Err(PlanFileError::Kind { path: path.to_owned(), kind: plan.kind });
    }
    let this = env!("CARGO_PKG_VERSION");
    if plan.converge_version != this || plan.format_version != FORMAT_VERSION {
      return Err(PlanFileError::Version {
        path: path.to_owned(),
        made: plan.converge_version,
        this: this.to_owned(),
      });
    }
    Ok(plan)
  }

  /// Checks that the playbooks read now are the ones the plan was made from.
  pub fn check_sources(&self, now: &BTreeMap<String, String>) -> Result<(), PlanFileError> {
    for (file, hash) in &self.sources {
      match now.get(file) {
        None => return Err(PlanFileError::SourceGone { file: file.clone() }),
        Some(h) if h != hash => return Err(PlanFileError::SourceChanged { file: file.clone() }),
        Some(_) => {}
      }
    }
    if let Some(file) = now.keys().find(|f| !self.sources.contains_key(*f)) {
      return Err(PlanFileError::SourceNew { file: file.clone() });
    }
    Ok(())
  }

  /// What to do with a host planned again at apply time.
  pub fn gate(&self, plan: &HostPlan) -> Gate {
    let Some(saved) = self.hosts.get(&plan.host) else {
      return Gate::Stale("the host is not in the saved plan".to_owned());
    };
    if let Some(e) = &saved.error {
      return Gate::Stale(format!("the host could not be planned ({e}); plan again"));
    }
    if plan.facts_hash == saved.facts_blake3 {
      return if digest(plan) == saved.plan_blake3 {
        Gate::Apply
      } else {
        Gate::Stale(
          "the host is unchanged but the plan comes out different (a template, binary or tarball on the controller changed); plan again"
            .to_owned(),
        )
      };
    }
    if plan.change_count() == 0 && !plan.failed() {
      return Gate::Done;
    }
    let mut changed: Vec<&str> =
      plan.facts.iter().filter(|(k, v)| saved.facts.get(*k) != Some(*v)).map(|(k, _)| k.as_str()).collect();
    changed.extend(saved.facts.keys().filter(|k| !plan.facts.contains_key(*k)).map(String::as_str));
    changed.sort_unstable();
    changed.dedup();
    let shown: Vec<&str> = changed.iter().take(5).copied().collect();
    let more = if changed.len() > 5 { format!(" and {} more", changed.len() - 5) } else { String::new() };
    Gate::Stale(format!(
      "stale: changed on the host since the plan was made: {}{more}; plan again",
      shown.join(", ")
    ))
  }
}

/// The decision for one host of `converge apply PLAN`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
  /// Facts as planned: apply.
  Apply,
  /// The plan is already in effect: nothing to do.
  Done,
  /// Refused, with the reason.
  Stale(String),
}

/// blake3 of what a host's plan would do: every step's name, kind, errors
/// and changes (file hashes, modes, owners, commands).
pub fn digest(plan: &HostPlan) -> String {
  let mut h = blake3::Hasher::new();
  let mut put = |s: &str| {
    h.update(s.as_bytes());
    h.update(b"\0");
  };
  if let Some(e) = &plan.error {
    put(e);
  }
  for step in &plan.steps {
    put(&step.name);
    put(&step.kind);
    put(&step.errors.len().to_string());
    for change in &step.changes {
      match change {
        Change::Write { path, before, after, system } => {
          put("write");
          put(path);
          put(&crate::plan::ledger::sha256_of(before.as_ref()));
          put(&after.hash().to_hex());
          put(&format!("{:?} {:?} {system}", after.mode, after.owner));
        }
        Change::Remove { path, before, system } => {
          put("remove");
          put(path);
          put(&before.hash().to_hex());
          put(&system.to_string());
        }
        Change::Run { summary, script, system, payload } => {
          put("run");
          put(summary);
          put(script);
          put(&system.to_string());
          if let Some(p) = payload {
            put(&p.sha256);
          }
        }
      }
    }
  }
  h.finalize().to_hex().to_string()
}

/// The plan file's bytes and their blake3 (what `b3sum FILE` prints).
pub fn encode(plan: &SavedPlan) -> (Vec<u8>, String) {
  let mut bytes = serde_json::to_vec_pretty(plan).unwrap_or_default();
  bytes.push(b'\n');
  let hash = blake3::hash(&bytes).to_hex().to_string();
  (bytes, hash)
}
