//! One host's run as the later stages see it: either it stopped before it
//! could be planned, or it was planned (and perhaps gated, applied and
//! verified). Its [`Status`] is computed from what happened, never stored, and
//! nothing in it is changed after the stage that made it.

use crate::apply::HostOutcome;
use crate::host::error::HostError;
use crate::host::transport::Stats;
use crate::plan::planner::HostPlan;
use crate::plan::saved_plan::Gate;
use crate::verify::Matrix;
use std::time::Duration;

/// How a host's run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
  /// Nothing to change (or, applying, nothing changed).
  Ok,
  /// Changes pending (`--plan`) or made.
  Changed,
  Failed,
  /// No connection: refused, timed out, host key or authentication refused.
  Unreachable,
  /// The host changed since the plan was made: `converge apply PLAN`, or
  /// another run converged it between this run's facts and its host lock.
  /// Nothing was changed.
  Stale,
}

impl Status {
  /// Every status, in the order reports list them.
  pub const ALL: [Status; 5] =
    [Status::Ok, Status::Changed, Status::Failed, Status::Unreachable, Status::Stale];

  pub fn word(self) -> &'static str {
    match self {
      Status::Ok => "ok",
      Status::Changed => "changed",
      Status::Failed => "failed",
      Status::Unreachable => "unreachable",
      Status::Stale => "stale",
    }
  }

  /// Whether the run failed on this host.
  pub fn failed(self) -> bool {
    matches!(self, Status::Failed | Status::Unreachable | Status::Stale)
  }
}

/// What a run measured on a host: connections and channels opened, and the
/// wall time of each phase.
#[derive(Clone, Debug, Default)]
pub struct Measured {
  pub stats: Stats,
  /// Connecting and authenticating.
  pub connect: Duration,
  /// The facts round trip.
  pub facts: Duration,
  /// Planning (no I/O but the controller's ledger).
  pub plan: Duration,
  /// The apply round trip.
  pub apply: Duration,
  /// The verify round trip.
  pub verify: Duration,
  /// The whole run of the host.
  pub total: Duration,
  /// The controller's CPU time in each phase (the host's thread).
  pub cpu: Box<PhaseCpu>,
  /// What the facts round trips moved over the wire.
  pub wire: crate::host::facts::Wire,
}

/// The controller's CPU time (user and system, of the thread that ran the host)
/// spent in each phase of one host's run.
#[derive(Clone, Debug, Default)]
pub struct PhaseCpu {
  pub connect: Duration,
  pub facts: Duration,
  pub plan: Duration,
  pub apply: Duration,
  pub verify: Duration,
}

/// CPU time the calling thread has used so far (`CLOCK_THREAD_CPUTIME_ID`).
pub(crate) fn thread_cpu() -> Duration {
  let ts = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
  Duration::new(u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0))
}

/// A host that stopped before it could be planned.
#[derive(Debug)]
pub struct Stopped {
  pub host: String,
  pub error: HostError,
  pub measured: Measured,
}

/// A host that was planned.
#[derive(Debug)]
pub struct Ran {
  pub plan: HostPlan,
  /// `converge apply PLAN`: what the saved plan said of this host.
  pub gate: Option<Gate>,
  /// The apply, when there was one: its outcome, or why nothing ran.
  pub outcome: Option<Result<HostOutcome, HostError>>,
  /// What each consumer saw (`verify`).
  pub verify: Option<Matrix>,
  /// The connection dropped during the run.
  pub lost: bool,
  /// Warnings about the run that are not a step's (the controller's copy of
  /// the ledger could not be written).
  pub warnings: Vec<String>,
  /// Whether the run was `converge apply PLAN`.
  pub saved: bool,
  /// What the facts round trip asked the host (`-vv`).
  pub asked: Vec<String>,
  pub measured: Measured,
}

/// One host's run.
#[derive(Debug)]
pub enum HostRun {
  Stopped(Stopped),
  Ran(Box<Ran>),
}

impl HostRun {
  pub fn host(&self) -> &str {
    match self {
      HostRun::Stopped(s) => &s.host,
      HostRun::Ran(r) => &r.plan.host,
    }
  }

  /// The plan, when the host got that far.
  pub fn plan(&self) -> Option<&HostPlan> {
    match self {
      HostRun::Stopped(_) => None,
      HostRun::Ran(r) => Some(&r.plan),
    }
  }

  /// The apply's outcome, when something ran.
  pub fn outcome(&self) -> Option<&HostOutcome> {
    match self {
      HostRun::Ran(r) => r.outcome.as_ref().and_then(|o| o.as_ref().ok()),
      HostRun::Stopped(_) => None,
    }
  }

  pub fn verify(&self) -> Option<&Matrix> {
    match self {
      HostRun::Ran(r) => r.verify.as_ref(),
      HostRun::Stopped(_) => None,
    }
  }

  pub fn measured(&self) -> &Measured {
    match self {
      HostRun::Stopped(s) => &s.measured,
      HostRun::Ran(r) => &r.measured,
    }
  }

  pub fn duration(&self) -> Duration {
    self.measured().total
  }

  pub fn stats(&self) -> Stats {
    self.measured().stats
  }

  pub fn warnings(&self) -> &[String] {
    match self {
      HostRun::Ran(r) => &r.warnings,
      HostRun::Stopped(_) => &[],
    }
  }

  /// The error that stopped or failed the host as a whole, if any: it could
  /// not be reached or planned, an assertion failed, the saved plan is stale,
  /// the apply could not run or did not finish.
  pub fn error(&self) -> Option<HostError> {
    let ran = match self {
      HostRun::Stopped(s) => return Some(s.error.clone()),
      HostRun::Ran(r) => r,
    };
    if let Some(why) = &ran.plan.error {
      return Some(HostError::Assertion(why.trim_start_matches("assertion failed: ").to_owned()));
    }
    if let Some(Gate::Stale(why)) = &ran.gate {
      return Some(HostError::Stale(why.clone()));
    }
    match &ran.outcome {
      Some(Err(e)) => Some(e.clone()),
      Some(Ok(o)) => o.error.clone(),
      None => None,
    }
  }

  /// Resources with changes: made when applied, pending otherwise.
  pub fn changes(&self) -> usize {
    match (self.outcome(), self.plan()) {
      (Some(o), _) => o.changed(),
      (None, Some(plan)) => plan.change_count(),
      (None, None) => 0,
    }
  }

  /// How the run ended, from what happened.
  pub fn status(&self) -> Status {
    let ran = match self {
      HostRun::Stopped(s) if s.error.unreachable() => return Status::Unreachable,
      HostRun::Stopped(s) if s.error.stale() => return Status::Stale,
      HostRun::Stopped(_) => return Status::Failed,
      HostRun::Ran(r) => r,
    };
    if ran.lost {
      return Status::Unreachable;
    }
    if matches!(ran.gate, Some(Gate::Stale(_))) {
      return Status::Stale;
    }
    match &ran.outcome {
      Some(Err(e)) if e.stale() => Status::Stale,
      Some(Err(e)) if e.unreachable() => Status::Unreachable,
      Some(Err(_)) => Status::Failed,
      Some(Ok(o)) if o.failed() => Status::Failed,
      Some(Ok(o)) if o.changed() > 0 => Status::Changed,
      Some(Ok(_)) => Status::Ok,
      None if ran.saved && !ran.plan.failed() => Status::Ok,
      None if ran.plan.failed() => Status::Failed,
      None if ran.plan.change_count() > 0 => Status::Changed,
      None => Status::Ok,
    }
  }
}
