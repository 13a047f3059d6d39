//! Runs a playbook's hosts in parallel: connect, gather facts, plan, apply.
//!
//! Every host runs ahead on its own (no lockstep per resource) on a rayon pool
//! of `forks` threads. A host that cannot be reached, hangs, or fails is
//! recorded and the others finish. Per host: one connection, facts in one
//! channel, the apply in one more.

use crate::apply::{HostOutcome, apply_host};
use crate::check::playbook::{HostPlay, Playbook};
use crate::host::ssh::{ClientConfig, Ssh};
use crate::host::transport::{Local, Stats, Transport};
use crate::plan::planner::{HostPlan, PlanOptions, failed_host, plan_host};
use crate::source::Sources;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// One host's run.
#[derive(Debug)]
pub struct HostRun {
  pub plan: HostPlan,
  pub outcome: Option<HostOutcome>,
  pub status: Status,
  pub stats: Stats,
  pub duration: Duration,
  /// What each consumer saw (`verify`).
  pub verify: Option<crate::verify::Matrix>,
}

impl HostRun {
  /// A host that stopped before its facts: nothing planned, nothing run.
  fn stopped(host: &str, error: String, status: Status, stats: Stats, started: Instant) -> HostRun {
    let plan = failed_host(host, error);
    HostRun { plan, outcome: None, status, stats, duration: started.elapsed(), verify: None }
  }
}

/// Settings of a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
  pub plan: PlanOptions,
  pub apply: bool,
  pub forks: usize,
  pub ssh: crate::host::ssh::Options,
  /// Run every consumer afterwards and build the verify matrix.
  pub verify: bool,
  /// How long to wait for another run's lock on a host.
  pub lock_wait: Duration,
  /// `converge apply PLAN`: the saved plan each host is checked against.
  pub saved: Option<std::sync::Arc<crate::plan::saved_plan::SavedPlan>>,
}

/// The default `--forks`: enough to hide network latency, bounded so a big
/// inventory does not open thousands of connections at once.
pub const DEFAULT_FORKS: usize = 50;

/// How a host is reached, settled before it runs.
enum Route {
  Local,
  Ssh(Box<crate::host::ssh::Target>),
  /// Why it cannot be reached (an unusable setting).
  Refused(Status, String),
}

impl Route {
  /// The machine behind it: entries that name one machine twice (under two
  /// login users, say) share it. A proxy is part of it: one address behind two
  /// jump hosts may be two machines.
  fn machine(&self) -> Option<String> {
    match self {
      Route::Local => Some("local".to_owned()),
      Route::Ssh(t) => {
        Some(format!("{}\0{}\0{:?}", t.address.to_ascii_lowercase().trim_end_matches('.'), t.port, t.proxy))
      }
      Route::Refused(..) => None,
    }
  }
}

fn route(playbook: &Playbook, play: &HostPlay, options: &RunOptions, client: &ClientConfig) -> Route {
  use crate::host::connection::{Connection, connection};
  match connection(playbook, play, &options.plan.root, client, &options.ssh) {
    Connection::Local => Route::Local,
    Connection::Ssh(target) => Route::Ssh(target),
    Connection::Refused { unreachable: true, why } => Route::Refused(Status::Unreachable, why),
    Connection::Refused { unreachable: false, why } => Route::Refused(Status::Failed, why),
  }
}

/// Runs every host; `done` is called as each one finishes (progress).
///
/// Applying, inventory entries that reach one machine (the same address and
/// port) run one after the other, in inventory order, each planned after the one before
/// it applied: what they share (system paths, `/usr/local/go`) is changed
/// once, by the first, and never by two runs at once.
pub fn run(
  playbook: &Playbook,
  sources: &Sources,
  options: &RunOptions,
  client: &ClientConfig,
  done: &(dyn Fn(&HostRun) + Sync),
) -> Vec<HostRun> {
  let one = |play: &HostPlay, route: Route| {
    let run = run_host(playbook, play, route, sources, options);
    done(&run);
    run
  };
  let all = || -> Vec<HostRun> {
    use rayon::prelude::*;
    let routes: Vec<Route> =
      playbook.hosts.par_iter().map(|play| route(playbook, play, options, client)).collect();
    // When applying, the entries of each machine, in inventory order; every
    // entry on its own otherwise (a plan changes nothing).
    let mut groups: Vec<Vec<(usize, Route)>> = Vec::new();
    let mut group_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, route) in routes.into_iter().enumerate() {
      let g = match route.machine().filter(|_| options.apply) {
        Some(machine) => *group_of.entry(machine).or_insert_with(|| {
          groups.push(Vec::new());
          groups.len() - 1
        }),
        None => {
          groups.push(Vec::new());
          groups.len() - 1
        }
      };
      groups[g].push((i, route));
    }
    let mut runs: Vec<(usize, HostRun)> = groups
      .into_par_iter()
      .flat_map_iter(|group| {
        group.into_iter().map(|(i, route)| (i, one(&playbook.hosts[i], route))).collect::<Vec<_>>()
      })
      .collect();
    runs.sort_by_key(|(i, _)| *i);
    runs.into_iter().map(|(_, run)| run).collect()
  };
  match rayon::ThreadPoolBuilder::new().num_threads(options.forks.max(1)).build() {
    Ok(pool) => pool.install(all),
    Err(_) => all(),
  }
}

fn run_host(
  playbook: &Playbook,
  play: &HostPlay,
  route: Route,
  sources: &Sources,
  options: &RunOptions,
) -> HostRun {
  let started = Instant::now();
  let local = matches!(route, Route::Local);
  // Set by the SSH transport when the host stops answering mid-run.
  let mut lost: Option<Arc<AtomicBool>> = None;
  let mut transport: Box<dyn Transport> = match route {
    Route::Local => Box::new(Local { name: play.name.clone() }),
    Route::Refused(status, why) => {
      return HostRun::stopped(&play.name, why, status, Stats::default(), started);
    }
    Route::Ssh(target) => match Ssh::connect(&target) {
      Ok(ssh) => {
        lost = Some(ssh.lost());
        Box::new(ssh)
      }
      Err(e) => {
        let stats = Stats { connections: 1, channels: 0 };
        return HostRun::stopped(&play.name, e.to_string(), Status::Unreachable, stats, started);
      }
    },
  };
  let is_lost = || lost.as_ref().is_some_and(|l| l.load(Ordering::SeqCst));
  let mut plan = plan_host(play, &playbook.handlers, transport.as_mut(), &options.plan, sources);
  let mut apply = options.apply;
  let mut stale = false;
  if let (Some(saved), false) = (&options.saved, plan.lost) {
    match saved.gate(&plan) {
      crate::plan::saved_plan::Gate::Apply => {}
      crate::plan::saved_plan::Gate::Done => apply = false,
      crate::plan::saved_plan::Gate::Stale(why) => {
        apply = false;
        stale = true;
        plan.error = Some(why);
      }
    }
  }
  let apply_options = crate::apply::ApplyOptions {
    root: options.plan.root.clone(),
    timeout: options.plan.timeout,
    lock_wait: options.lock_wait,
  };
  let outcome = apply.then(|| apply_host(&plan, transport.as_mut(), &apply_options));
  if let (Some(o), Some(dir), false) = (&outcome, &options.plan.state_dir, local)
    && let Err(e) = crate::plan::ledger::append_controller(dir, &plan.host, &o.ledger)
  {
    // The host's own ledger has the lines; the controller's copy is a convenience.
    plan
      .steps
      .iter_mut()
      .take(1)
      .for_each(|s| s.notes.push(format!("cannot record the ledger on the controller: {e}")));
  }
  let status = match &outcome {
    _ if plan.lost || is_lost() => Status::Unreachable,
    _ if stale => Status::Stale,
    Some(o) if o.stale => Status::Stale,
    None if options.saved.is_some() && !plan.failed() => Status::Ok,
    Some(o) if o.failed() => Status::Failed,
    Some(o) if o.changed() > 0 => Status::Changed,
    Some(_) => Status::Ok,
    None if plan.failed() => Status::Failed,
    None if plan.change_count() > 0 => Status::Changed,
    None => Status::Ok,
  };
  let verify = (options.verify && !plan.lost && !is_lost())
    .then(|| crate::verify::verify_host(&plan, transport.as_mut(), !local, options.plan.timeout));
  let stats = transport.stats();
  drop(transport);
  HostRun { plan, outcome, status, stats, duration: started.elapsed(), verify }
}
