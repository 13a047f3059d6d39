//! `converge --plan`, `converge`, `converge apply PLAN`, `converge enforce`
//! and `converge verify`: the whole road, as a pipeline. Each step below is
//! one stage or one decision; a step that cannot go on returns a [`Stop`],
//! which the reporter shows in the run's output format.

use super::{EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
use crate::check::playbook::Playbook;
use crate::check::{loader, resolver};
use crate::cli::config::Run;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::fleet::{HostRun, RunOptions};
use crate::plan::saved_plan::SavedPlan;
use crate::report::document::RunReport;
use crate::report::reporter::Reporter;
use crate::source::Sources;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a run stopped before any host was touched.
pub enum Stop {
  /// One controller-side problem, with its code.
  Error(Code, String),
  /// The playbooks have errors.
  Diagnostics(Diagnostics, Sources),
}

fn stop<T>(code: Code, message: impl Into<String>) -> Result<T, Stop> {
  Err(Stop::Error(code, message.into()))
}

/// The checked playbooks of a run.
struct Loaded {
  playbook: Playbook,
  sources: Sources,
  warnings: Diagnostics,
  /// blake3 of each source file, for saved plans.
  hashes: BTreeMap<String, String>,
}

/// Runs the road and returns the exit code.
pub fn run(run: &Run, reporter: &Reporter) -> i32 {
  match pipeline(run, reporter) {
    Ok(code) => code,
    Err(stop) => {
      reporter.stopped(&stop, run.apply);
      EXIT_ERROR
    }
  }
}

fn pipeline(run: &Run, reporter: &Reporter) -> Result<i32, Stop> {
  let started = std::time::Instant::now();
  let started_at = crate::plan::ledger::now();
  let _lock = lock(run)?;
  let saved = saved_plan(run)?;
  let (playbooks, commit) = playbooks(run, saved.as_deref())?;
  let mut loaded = load(&playbooks, &run.vars)?;
  select_hosts(run, saved.as_deref(), &mut loaded)?;
  let (options, client) = options(run, saved.clone())?;
  let progress = reporter.progress(loaded.playbook.hosts.len(), !loaded.playbook.local);
  let done = |host: &HostRun| progress.host_done(host);
  let runs = crate::fleet::run(&loaded.playbook, &loaded.sources, &options, &client, &done);
  progress.finish();
  reporter.warnings(&loaded.warnings, &loaded.sources);
  if run.verify_only {
    reporter.verify(&runs);
    let holds = runs.iter().all(|r| r.verify().is_some_and(crate::verify::Matrix::holds));
    return Ok(if holds { EXIT_OK } else { EXIT_ERROR });
  }
  let mut report = RunReport::new(&runs, run.apply, &loaded.sources);
  report.diagnostics = loaded
    .warnings
    .clone()
    .sorted()
    .iter()
    .map(|d| crate::diagnostic::JsonDiagnostic::new(d, &loaded.sources))
    .collect();
  report.plan_blake3 = match (&run.out, &saved) {
    (Some(out), _) => Some(save_plan(run, out, &report, &runs, started_at, loaded.hashes)?),
    (None, Some(saved)) => Some(saved.blake3.clone()),
    (None, None) => None,
  };
  if run.verify {
    report.verify = Some(crate::report::verify::json(&runs));
  }
  reporter.run(&report, &runs, run.verify);
  if let (Some(out), Some(hash)) = (&run.out, &report.plan_blake3) {
    reporter.note(&format!(
      "Saved the plan to {} (blake3 {hash}); apply it with `converge apply {}`",
      out.display(),
      out.display()
    ));
  }
  if let Some(recap) = crate::report::reporter::failed_hosts(&runs) {
    reporter.note(&recap);
  }
  if let Some(enforce) = &run.enforce {
    write_enforce(enforce, &report, &runs, started_at, started.elapsed(), commit.as_deref())?;
  }
  Ok(exit_code(run, &runs))
}

/// One applying run per state directory at a time.
fn lock(run: &Run) -> Result<Option<crate::cli::lock::RunLock>, Stop> {
  match (&run.state_dir, run.apply) {
    (Some(dir), true) => match crate::cli::lock::acquire(dir, run.lock_wait) {
      Ok(lock) => Ok(Some(lock)),
      Err(e) => stop(Code::RunLock, e.to_string()),
    },
    _ => Ok(None),
  }
}

fn saved_plan(run: &Run) -> Result<Option<Arc<SavedPlan>>, Stop> {
  match &run.saved {
    Some(path) => match SavedPlan::read(path) {
      Ok(plan) => Ok(Some(Arc::new(plan))),
      Err(e) => stop(Code::SavedPlanUnusable, e.to_string()),
    },
    None => Ok(None),
  }
}

/// The playbooks to read (a saved plan's own, or pull mode's checkout), and
/// pull mode's commit.
fn playbooks(run: &Run, saved: Option<&SavedPlan>) -> Result<(Vec<PathBuf>, Option<String>), Stop> {
  let playbooks = saved.map_or_else(|| run.playbooks.clone(), |s| s.playbooks.clone());
  let Some(git) = &run.git else { return Ok((playbooks, None)) };
  let head = match crate::cli::pull::sync(&git.url, git.branch.as_deref(), &git.checkout) {
    Ok(head) => head,
    Err(e) => return stop(Code::PullFailed, e.to_string()),
  };
  let playbooks = if playbooks.is_empty() {
    vec![git.checkout.clone()]
  } else {
    playbooks.iter().map(|p| git.checkout.join(p)).collect()
  };
  Ok((playbooks, Some(head)))
}

/// The syntax and check stages.
fn load(playbooks: &[PathBuf], vars: &crate::cli::vars::ExtraVars) -> Result<Loaded, Stop> {
  let mut sources = Sources::new();
  let mut diagnostics = Diagnostics::new();
  let files = loader::load(playbooks, &mut sources, &mut diagnostics);
  let (playbook, found) = resolver::resolve_with(&[], &files, &mut sources, vars);
  diagnostics.extend(found);
  if diagnostics.has_errors() {
    return Err(Stop::Diagnostics(diagnostics, sources));
  }
  let hashes =
    sources.iter().map(|s| (s.name.clone(), blake3::hash(s.text.as_bytes()).to_hex().to_string())).collect();
  Ok(Loaded { playbook, sources, warnings: diagnostics, hashes })
}

/// The hosts this run reaches: a saved plan's, `--limit`, `--local`.
fn select_hosts(run: &Run, saved: Option<&SavedPlan>, loaded: &mut Loaded) -> Result<(), Stop> {
  let playbook = &mut loaded.playbook;
  if let Some(saved) = saved {
    if let Err(e) = saved.check_sources(&loaded.hashes) {
      return stop(Code::SavedPlanUnusable, e.to_string());
    }
    playbook.hosts.retain(|h| saved.hosts.contains_key(&h.name));
  }
  if let Some(pattern) = &run.limit {
    let keep = match playbook.inventory.limit(pattern) {
      Ok(keep) => keep,
      Err(e) => return stop(Code::LimitSelectsNothing, format!("--limit {pattern}: {e}")),
    };
    let local = playbook.local;
    playbook.hosts.retain(|h| keep.contains(&h.name) || (local && h.name == resolver::LOCALHOST));
    if playbook.hosts.is_empty() {
      return stop(
        Code::LimitSelectsNothing,
        format!("--limit {pattern} selects no host the playbooks target"),
      );
    }
  }
  if run.local
    && let Err(e) = keep_this_machine(playbook, run.limit.is_some())
  {
    return stop(Code::SettingsConflict, e);
  }
  Ok(())
}

/// The settings every host runs with, and the SSH client configuration.
fn options(
  run: &Run,
  saved: Option<Arc<SavedPlan>>,
) -> Result<(RunOptions, crate::host::ssh::ClientConfig), Stop> {
  let root = match saved.as_ref().and_then(|s| s.root.clone()).or_else(|| run.root.clone()) {
    Some(r) => match std::fs::canonicalize(&r) {
      Ok(r) => r.display().to_string().trim_end_matches('/').to_owned(),
      Err(e) => return stop(Code::SettingsConflict, format!("cannot use `--root {}`: {e}", r.display())),
    },
    None => String::new(),
  };
  if run.verify && !root.is_empty() {
    return stop(
      Code::SettingsConflict,
      "verify runs each shell on a live host; it cannot be combined with `--root`",
    );
  }
  let ssh = crate::host::ssh::Options {
    host_key_policy: run.host_key_policy,
    connect_timeout: run.connect_timeout,
    config: run.ssh_config.clone(),
    ..crate::host::ssh::Options::default()
  };
  let client = match crate::host::ssh::ClientConfig::load(&ssh) {
    Ok(c) => c,
    Err(e) => return stop(Code::SshConfig, e.to_string()),
  };
  let run_guards = !(run.no_guards || saved.as_ref().is_some_and(|s| s.no_guards));
  let options = RunOptions {
    plan: crate::plan::planner::PlanOptions {
      root,
      timeout: run.timeout,
      state_dir: run.state_dir.clone(),
      run_guards,
      prune: !(run.no_prune || saved.as_ref().is_some_and(|s| s.no_prune)),
      force_remove: run.force_remove || saved.as_ref().is_some_and(|s| s.force_remove),
    },
    apply: run.apply,
    forks: run.forks,
    ssh,
    verify: run.verify,
    probe: run.probe,
    lock_wait: run.lock_wait,
    saved,
  };
  Ok((options, client))
}

/// `--plan --out FILE`: writes the plan file and returns its hash.
fn save_plan(
  run: &Run,
  out: &std::path::Path,
  report: &RunReport,
  runs: &[HostRun],
  created: u64,
  sources: BTreeMap<String, String>,
) -> Result<String, Stop> {
  use crate::plan::saved_plan::{FORMAT_VERSION, KIND, SavedHost, digest, encode};
  let hosts = runs
    .iter()
    .map(|r| {
      let failed = r.plan().is_none() || r.status().failed();
      let error = failed.then(|| r.error().map_or_else(|| "a resource failed".to_owned(), |e| e.to_string()));
      let host = SavedHost {
        facts_blake3: r.plan().map(|p| p.facts_hash.clone()).unwrap_or_default(),
        plan_blake3: r.plan().map(digest).unwrap_or_default(),
        facts: r.plan().map(|p| p.facts.clone()).unwrap_or_default(),
        error,
      };
      (r.host().to_owned(), host)
    })
    .collect();
  let file = SavedPlan {
    kind: KIND.to_owned(),
    format_version: FORMAT_VERSION,
    converge_version: env!("CARGO_PKG_VERSION").to_owned(),
    created,
    playbooks: run.playbooks.clone(),
    sources,
    root: run.root.clone(),
    no_guards: run.no_guards,
    no_prune: run.no_prune,
    force_remove: run.force_remove,
    hosts,
    plan: report.to_json(),
    blake3: String::new(),
  };
  let (bytes, hash) = encode(&file);
  match crate::atomic::write(out, &bytes, Some(0o600)) {
    Ok(()) => Ok(hash),
    Err(e) => stop(Code::OutputFile, format!("cannot write the plan to `{}`: {e}", out.display())),
  }
}

/// `converge enforce`: the JSON report and the Prometheus textfile.
fn write_enforce(
  enforce: &crate::cli::config::Enforce,
  report: &RunReport,
  runs: &[HostRun],
  started_at: u64,
  duration: std::time::Duration,
  commit: Option<&str>,
) -> Result<(), Stop> {
  let json = crate::report::enforce::json(report, runs, started_at, duration, commit);
  let text = serde_json::to_string_pretty(&json).unwrap_or_default() + "\n";
  let metrics = crate::report::enforce::metrics(runs, crate::plan::ledger::now(), duration);
  for (path, bytes) in [(&enforce.report, text.as_bytes()), (&enforce.metrics, metrics.as_bytes())] {
    let written = path
      .parent()
      .map_or(Ok(()), |d| if d.as_os_str().is_empty() { Ok(()) } else { std::fs::create_dir_all(d) });
    if let Err(e) = written.and_then(|()| crate::atomic::write(path, bytes, Some(0o644))) {
      return stop(Code::OutputFile, format!("cannot write `{}`: {e}", path.display()));
    }
  }
  Ok(())
}

/// Terraform's `-detailed-exitcode`: 1 when a host failed (or verify found a
/// failing cell), 2 when a plan has changes, 0 otherwise.
fn exit_code(run: &Run, runs: &[HostRun]) -> i32 {
  let failed = runs.iter().any(|r| r.status().failed())
    || (run.verify && !runs.iter().all(|r| r.verify().is_some_and(crate::verify::Matrix::holds)));
  let pending = runs.iter().any(|r| r.plan().is_some_and(|p| p.change_count() > 0));
  if failed {
    EXIT_ERROR
  } else if !run.apply && pending {
    EXIT_CHANGES
  } else {
    EXIT_OK
  }
}

impl Stop {
  /// The stop as a diagnostic (code and message; the playbooks' own keep their spans).
  pub fn diagnostics(&self) -> Vec<Diagnostic> {
    match self {
      Stop::Error(code, message) => vec![Diagnostic::new(*code, message.clone())],
      Stop::Diagnostics(d, _) => d.clone().sorted(),
    }
  }
}

/// `--local`: keeps the one host that is this machine (its inventory name is
/// this machine's host name, or `localhost`; or the one `--limit` chose) and
/// converges it without SSH.
fn keep_this_machine(playbook: &mut crate::check::playbook::Playbook, limited: bool) -> Result<(), String> {
  let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_owned();
  let short = name.split('.').next().unwrap_or_default().to_owned();
  if !limited {
    let me = |h: &str| h == name || h == short || h.split('.').next() == Some(short.as_str());
    let mine: Vec<String> = playbook.hosts.iter().map(|h| h.name.clone()).filter(|h| me(h)).collect();
    if mine.is_empty() {
      if playbook.hosts.iter().any(|h| h.name == resolver::LOCALHOST) {
        playbook.hosts.retain(|h| h.name == resolver::LOCALHOST);
      } else {
        return Err(format!(
          "--local: no host of the playbooks is named like this machine (`{name}`); pass --limit NAME to say which one it is"
        ));
      }
    } else {
      playbook.hosts.retain(|h| mine.contains(&h.name));
    }
  }
  if playbook.hosts.len() > 1 {
    let names: Vec<&str> = playbook.hosts.iter().map(|h| h.name.as_str()).collect();
    return Err(format!(
      "--local converges this machine as one host, but {} match: {}",
      names.len(),
      names.join(", ")
    ));
  }
  playbook.local = true;
  Ok(())
}
