//! Runs a playbook's hosts in parallel: connect, gather facts, plan, apply.
//!
//! Every host runs ahead on its own (no lockstep per resource) on a rayon pool
//! of `forks` threads. A host that cannot be reached, hangs, or fails is
//! recorded and the others finish. Per host: one connection, facts in one
//! channel, the apply in one more.
//!
//! What enters: the resolved [`Playbook`] and the run's settings. What leaves:
//! one [`HostRun`] per host, in inventory order.

mod host_run;

pub use host_run::{HostRun, Measured, Ran, Status, Stopped};

use crate::apply::apply_host;
use crate::check::playbook::{HostPlay, Playbook};
use crate::host::error::HostError;
use crate::host::facts::{FactCache, FactsError};
use crate::host::known::Known;
use crate::host::ssh::{ClientConfig, Ssh};
use crate::host::transport::{Local, Stats, Transport};
use crate::plan::ledger::HostLedger;
use crate::plan::planner::{PlanOptions, plan, queries};
use crate::source::Sources;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Settings of a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
  pub plan: PlanOptions,
  pub apply: bool,
  pub forks: usize,
  pub ssh: crate::host::ssh::Options,
  /// Run every consumer afterwards and build the verify matrix.
  pub verify: bool,
  /// With `verify`: also request each GOPROXY entry and GOSUMDB from the host.
  pub probe: bool,
  /// How long to wait for another run's lock on a host.
  pub lock_wait: Duration,
  /// `converge apply PLAN`: the saved plan each host is checked against.
  pub saved: Option<std::sync::Arc<crate::plan::saved_plan::SavedPlan>>,
}

/// The default `--forks`, and with it the most hosts in flight: one thread per
/// host up to this bound. A host in flight spends nearly all its time waiting
/// on the network and on the host, and its thread costs little, so fewer
/// threads than hosts only queue hosts behind each other; the bound keeps a
/// big inventory from opening thousands of connections at once and its sockets
/// well under the usual limit of 1024 open files.
pub const DEFAULT_FORKS: usize = 256;

/// How a host is reached, settled before it runs.
enum Route {
  Local,
  Ssh(Box<crate::host::ssh::Target>),
  /// Why it cannot be reached (an unusable setting).
  Refused(HostError),
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
    Connection::Refused { unreachable: true, why } => Route::Refused(HostError::Unreachable(why)),
    Connection::Refused { unreachable: false, why } => Route::Refused(HostError::Refused(why)),
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
  // No more threads than hosts: a pool is fitted to the fleet.
  let threads = options.forks.min(playbook.hosts.len()).max(1);
  match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
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
  let cpu_start = host_run::thread_cpu();
  let mut measured = Measured::default();
  let stopped = |error: HostError, mut measured: Measured| {
    measured.total = started.elapsed();
    HostRun::Stopped(Stopped { host: play.name.clone(), error, measured })
  };
  let local = matches!(route, Route::Local);
  // Set by the SSH transport when the host stops answering mid-run.
  let mut lost: Option<Arc<AtomicBool>> = None;
  let mut transport: Box<dyn Transport> = match route {
    Route::Local => Box::new(Local { name: play.name.clone() }),
    Route::Refused(error) => return stopped(error, measured),
    Route::Ssh(target) => match Ssh::connect(&target) {
      Ok(ssh) => {
        lost = Some(ssh.lost());
        Box::new(ssh)
      }
      Err(e) => {
        measured.stats = Stats { connections: 1, channels: 0 };
        measured.connect = started.elapsed();
        measured.cpu.connect = host_run::thread_cpu().saturating_sub(cpu_start);
        return stopped(HostError::Unreachable(e.to_string()), measured);
      }
    },
  };
  measured.connect = started.elapsed();
  let mut cpu_mark = host_run::thread_cpu();
  measured.cpu.connect = cpu_mark.saturating_sub(cpu_start);
  // The CPU this thread used since the last mark.
  let mut cpu_since = || {
    let now = host_run::thread_cpu();
    let spent = now.saturating_sub(cpu_mark);
    cpu_mark = now;
    spent
  };
  let is_lost = || lost.as_ref().is_some_and(|l| l.load(Ordering::SeqCst));
  let phase = Instant::now();
  let asked = queries(play, &playbook.handlers, options.plan.run_guards, sources);
  let cache = if options.apply { FactCache::Write } else { FactCache::Read };
  // Files whose bytes the controller kept are asked for by hash: over SSH it
  // saves the wire, and on this machine (pull mode) a `base64` per file.
  // A `--root` tree is not the host its name says: its files are not kept.
  let store = options.plan.state_dir.as_deref().filter(|_| !local || options.plan.root.is_empty());
  let known = store.map(|dir| Known::load(dir, &play.name, &asked)).unwrap_or_default();
  let facts = match crate::host::facts::gather(
    transport.as_mut(),
    &options.plan.root,
    &asked,
    options.plan.timeout,
    cache,
    &known,
  ) {
    Ok(facts) => facts,
    Err(e) => {
      // No facts: the host stops here.
      measured.facts = phase.elapsed();
      measured.cpu.facts = cpu_since();
      measured.stats = transport.stats();
      let lost = matches!(e, FactsError::Transport(_)) || is_lost();
      let error = if lost {
        HostError::Lost(format!("cannot gather facts: {e}"))
      } else {
        HostError::Facts(e.to_string())
      };
      return stopped(error, measured);
    }
  };
  measured.facts = phase.elapsed();
  measured.cpu.facts = cpu_since();
  measured.wire = facts.wire;
  let phase = Instant::now();
  let mut ledger = HostLedger::load(&facts, options.plan.state_dir.as_deref(), &play.name);
  ledger.local = local;
  let mut plan = plan(play, &playbook.handlers, &facts, &ledger, sources);
  // What left the playbook: a second round trip only for files the first did not read.
  let handlers = crate::plan::prune::Handlers::of(&playbook.handlers);
  let more = crate::plan::prune::queries(&plan, &ledger, &handlers, &options.plan);
  let extra = if more.is_empty() {
    None
  } else {
    // Only files are asked: the fact cache has nothing to answer or keep.
    match crate::host::facts::gather(
      transport.as_mut(),
      &options.plan.root,
      &more,
      options.plan.timeout,
      FactCache::Read,
      &Known::default(),
    ) {
      Ok(extra) => {
        measured.wire += extra.wire;
        Some(extra)
      }
      Err(e) => return stopped(HostError::Facts(format!("cannot read the files to prune: {e}")), measured),
    }
  };
  crate::plan::prune::prune(&mut plan, &facts, extra.as_ref(), &ledger, &handlers, &options.plan);
  measured.plan = phase.elapsed();
  measured.cpu.plan = cpu_since();
  let gate = options.saved.as_ref().map(|saved| saved.gate(&plan));
  let apply = options.apply && matches!(gate, None | Some(crate::plan::saved_plan::Gate::Apply));
  let apply_options = crate::apply::ApplyOptions {
    root: options.plan.root.clone(),
    timeout: options.plan.timeout,
    lock_wait: options.lock_wait,
  };
  let phase = Instant::now();
  let outcome =
    (apply && plan.error.is_none()).then(|| apply_host(&plan, transport.as_mut(), &apply_options));
  measured.apply = phase.elapsed();
  measured.cpu.apply = cpu_since();
  let mut warnings = Vec::new();
  if let (Some(Ok(o)), Some(dir), false) = (&outcome, &options.plan.state_dir, local)
    && let Err(e) = crate::plan::ledger::append_controller(dir, &plan.host, &o.ledger)
  {
    // The host's own ledger has the lines; the controller's copy is a convenience.
    warnings.push(format!("cannot record the ledger on the controller: {e}"));
  }
  if let Some(dir) = store {
    let applied = outcome.as_ref().map(|o| o.as_ref().is_ok_and(|o| !o.failed()));
    // An apply that records lines rewrites the host's ledger: the folded form
    // and its new lines.
    let ledger = match &outcome {
      Some(Ok(o)) if o.error.is_none() && !o.ledger.is_empty() => {
        Some(o.ledger.iter().fold(plan.ledger_base.clone(), |text, line| text + line + "\n"))
      }
      _ => None,
    };
    let files =
      crate::plan::observed::remembered(&plan, &facts, applied, ledger.as_deref().map(str::as_bytes));
    if let Err(e) = known.record(dir, &play.name, &files) {
      warnings.push(format!("cannot keep the host's file contents on the controller: {e}"));
    }
  }
  let phase = Instant::now();
  let verify = (options.verify && !is_lost()).then(|| {
    crate::verify::verify_host(&plan, transport.as_mut(), !local, options.plan.timeout, options.probe)
  });
  measured.verify = phase.elapsed();
  measured.cpu.verify = cpu_since();
  measured.stats = transport.stats();
  let lost = is_lost();
  drop(transport);
  measured.total = started.elapsed();
  HostRun::Ran(Box::new(Ran {
    plan,
    gate,
    outcome,
    verify,
    lost,
    warnings,
    saved: options.saved.is_some(),
    asked: asked.iter().map(crate::host::facts::Request::describe).collect(),
    measured,
  }))
}
