//! The run's report as typed documents: what `--format json` prints, what a
//! saved plan embeds, and what `converge enforce` writes are the same
//! [`RunReport`], built once from the hosts' runs. Values of resources marked
//! `sensitive` are masked when the document is turned into JSON
//! ([`RunReport::to_json`]).

use crate::apply::StepOutcome;
use crate::check::secrets::Secrets;
use crate::diagnostic::JsonDiagnostic;
use crate::fleet::{HostRun, Status};
use crate::plan::change::{Change, FileState};
use crate::plan::planner::{HostPlan, Step};
use crate::report::plan::{Action, Counts, Labels, diff, reason};
use crate::source::Sources;
use serde::Serialize;

/// The JSON document's schema version; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// A plan, or a run's results: `--format json`, the plan inside a saved plan,
/// and the base of the enforce report.
#[derive(Debug, Serialize)]
pub struct RunReport {
  pub format_version: u32,
  /// Whether changes were applied (`false` for `--plan`).
  pub applied: bool,
  pub summary: Summary,
  pub hosts: Vec<HostReport>,
  /// `--verify`: each host's matrix.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub verify: Option<serde_json::Value>,
  /// The saved plan's hash (`--out`, `converge apply PLAN`).
  #[serde(skip_serializing_if = "Option::is_none")]
  pub plan_blake3: Option<String>,
  /// Warnings from checking the playbooks, or the errors that stopped the run
  /// before any host.
  pub diagnostics: Vec<JsonDiagnostic>,
  /// The values no output may show.
  #[serde(skip)]
  pub secrets: Secrets,
}

/// Counts over all hosts.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
  pub create: usize,
  pub update: usize,
  pub remove: usize,
  /// Resources that failed, planning or applying.
  pub failed: usize,
  pub hosts: usize,
  pub ok: usize,
  pub changed: usize,
  pub hosts_failed: usize,
  pub unreachable: usize,
  pub stale: usize,
  pub drift: usize,
  pub intent: usize,
  pub new: usize,
}

/// One host.
#[derive(Debug, Serialize)]
pub struct HostReport {
  pub host: String,
  pub status: Status,
  pub duration_ms: u64,
  pub connections: u32,
  pub channels: u32,
  /// The hash of the facts the plan was made from (empty: never planned).
  pub facts_blake3: String,
  /// Why the host stopped or failed as a whole.
  pub error: Option<String>,
  /// The code of `error` (`E7xx`, or `E604` for facts).
  pub error_code: Option<&'static str>,
  /// Things about the run that are not a resource's (`W711`).
  pub warnings: Vec<String>,
  /// What the plan says of the host besides its steps (why nothing is pruned).
  pub notes: Vec<String>,
  pub steps: Vec<StepReport>,
}

/// One resource of a host.
#[derive(Debug, Serialize)]
pub struct StepReport {
  pub name: String,
  pub kind: String,
  /// `create`, `update`, `remove` or `none`.
  pub action: &'static str,
  /// Why the change is there: `drift`, `intent` or `new`.
  pub label: Option<crate::plan::ledger::Label>,
  pub notified_by: Vec<String>,
  pub notes: Vec<String>,
  /// Plan-time diagnostics (`E6xx`), with the resource's file, line and span.
  pub errors: Vec<JsonDiagnostic>,
  pub changes: Vec<ChangeReport>,
  /// Applying: what happened to the resource.
  pub result: Option<StepResult>,
}

/// What applying did to a resource.
#[derive(Debug, Serialize)]
pub struct StepResult {
  /// `unchanged`, `changed`, `failed` or `skipped`.
  pub status: &'static str,
  #[serde(skip_serializing_if = "Option::is_none")]
  pub reason: Option<String>,
}

/// One change.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ChangeReport {
  Write {
    path: String,
    system: bool,
    before_blake3: Option<String>,
    after_blake3: Option<String>,
    mode_before: Option<String>,
    mode_after: Option<String>,
    owner_before: Option<String>,
    owner_after: Option<String>,
    diff: String,
  },
  Remove {
    path: String,
    system: bool,
    before_blake3: Option<String>,
    diff: String,
  },
  Run {
    summary: String,
    system: bool,
  },
}

/// The enforce report: the applied run plus when, how long and from which commit.
#[derive(Debug, Serialize)]
pub struct EnforceReport<'a> {
  #[serde(flatten)]
  pub run: &'a RunReport,
  pub kind: &'static str,
  pub started: u64,
  pub duration_ms: u64,
  pub ok: bool,
  #[serde(skip_serializing_if = "Option::is_none")]
  pub commit: Option<String>,
}

fn millis(d: std::time::Duration) -> u64 {
  u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RunReport {
  /// The report of the hosts' runs.
  pub fn new(runs: &[HostRun], applied: bool, sources: &Sources) -> RunReport {
    let plans = runs.iter().filter_map(HostRun::plan);
    let c = Counts::of(plans.clone());
    let labels = Labels::of(plans);
    let count = |status: Status| runs.iter().filter(|r| r.status() == status).count();
    let failed = runs.iter().map(failures).sum();
    let mut secrets = Secrets::default();
    for plan in runs.iter().filter_map(HostRun::plan) {
      secrets.extend(&plan.secrets);
    }
    RunReport {
      format_version: FORMAT_VERSION,
      applied,
      summary: Summary {
        create: c.create,
        update: c.update,
        remove: c.remove,
        failed,
        hosts: runs.len(),
        ok: count(Status::Ok),
        changed: count(Status::Changed),
        hosts_failed: count(Status::Failed),
        unreachable: count(Status::Unreachable),
        stale: count(Status::Stale),
        drift: labels.drift,
        intent: labels.intent,
        new: labels.new,
      },
      hosts: runs.iter().map(|r| host_report(r, sources)).collect(),
      verify: None,
      plan_blake3: None,
      diagnostics: Vec::new(),
      secrets,
    }
  }

  /// A run that stopped before any host: the same document, with no hosts and
  /// the diagnostics that stopped it.
  pub fn stopped(applied: bool, diagnostics: Vec<JsonDiagnostic>) -> RunReport {
    RunReport {
      format_version: FORMAT_VERSION,
      applied,
      summary: Summary::default(),
      hosts: Vec::new(),
      verify: None,
      plan_blake3: None,
      diagnostics,
      secrets: Secrets::default(),
    }
  }

  /// The JSON value, sensitive values masked.
  pub fn to_json(&self) -> serde_json::Value {
    let mut doc = serde_json::to_value(self).unwrap_or_default();
    self.secrets.redact_json(&mut doc);
    doc
  }
}

impl EnforceReport<'_> {
  pub fn to_json(&self) -> serde_json::Value {
    let mut doc = serde_json::to_value(self).unwrap_or_default();
    self.run.secrets.redact_json(&mut doc);
    doc
  }
}

/// The resources of a host that failed planning or applying. A host that
/// failed as a whole counts in `hosts_failed`, `unreachable` or `stale`.
pub(crate) fn failures(run: &HostRun) -> usize {
  match (run.outcome(), run.plan()) {
    (Some(o), _) => o.steps.iter().filter(|(_, r)| matches!(r, StepOutcome::Failed(_))).count(),
    (None, Some(plan)) => plan.steps.iter().filter(|s| s.failed()).count(),
    (None, None) => 0,
  }
}

fn host_report(run: &HostRun, sources: &Sources) -> HostReport {
  let measured = run.measured();
  let error = run.error();
  HostReport {
    host: run.host().to_owned(),
    status: run.status(),
    duration_ms: millis(measured.total),
    connections: measured.stats.connections,
    channels: measured.stats.channels,
    facts_blake3: run.plan().map(|p| p.facts_hash.clone()).unwrap_or_default(),
    error: error.as_ref().map(ToString::to_string),
    error_code: error.as_ref().map(|e| e.code().as_str()),
    warnings: run.warnings().to_vec(),
    notes: run.plan().map(|p| p.notes.clone()).unwrap_or_default(),
    steps: run
      .plan()
      .map(|plan| plan.steps.iter().map(|s| step_report(run, plan, s, sources)).collect())
      .unwrap_or_default(),
  }
}

fn step_report(run: &HostRun, plan: &HostPlan, step: &Step, sources: &Sources) -> StepReport {
  let result =
    run.outcome().and_then(|o| o.steps.iter().find(|(n, _)| *n == step.name)).map(|(_, r)| match r {
      StepOutcome::Unchanged => StepResult { status: "unchanged", reason: None },
      StepOutcome::Changed => StepResult { status: "changed", reason: None },
      StepOutcome::Failed(why) => {
        StepResult { status: "failed", reason: Some(reason(plan, &step.name, why)) }
      }
      StepOutcome::Skipped(why) => {
        StepResult { status: "skipped", reason: Some(reason(plan, &step.name, why)) }
      }
    });
  StepReport {
    name: step.name.clone(),
    kind: step.kind.clone(),
    action: Action::of(step).word(),
    label: step.label,
    notified_by: step.notified_by.clone(),
    notes: step.notes.clone(),
    errors: step.errors.iter().map(|e| JsonDiagnostic::new(e, sources)).collect(),
    changes: step.changes.iter().map(|c| change_report(c, step.sensitive, &plan.secrets)).collect(),
    result,
  }
}

fn change_report(change: &Change, sensitive: bool, secrets: &Secrets) -> ChangeReport {
  let sha = |f: Option<&FileState>| f.map(|f| f.hash().to_hex().to_string());
  let shown = |diff: String| if sensitive { "(sensitive)".to_owned() } else { secrets.redact_diff(&diff) };
  match change {
    Change::Write { path, before, after, system } => ChangeReport::Write {
      path: path.clone(),
      system: *system,
      before_blake3: sha(before.as_ref()),
      after_blake3: sha(Some(after)),
      mode_before: before.as_ref().and_then(|b| b.mode).map(|m| format!("{m:04o}")),
      mode_after: after.mode.map(|m| format!("{m:04o}")),
      owner_before: before.as_ref().and_then(|b| b.owner.clone()),
      owner_after: after.owner.clone(),
      diff: shown(diff(before.as_ref(), Some(after), path)),
    },
    Change::Remove { path, before, system } => ChangeReport::Remove {
      path: path.clone(),
      system: *system,
      before_blake3: sha(Some(before)),
      diff: shown(diff(Some(before), None, path)),
    },
    Change::Run { summary, system, .. } => ChangeReport::Run {
      summary: if sensitive { crate::check::secrets::MASK.to_owned() } else { secrets.redact(summary) },
      system: *system,
    },
  }
}
