//! The subcommands: each takes its checked settings and the reporter, and
//! returns the process exit code.

use crate::check::{loader, resolver};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::report::reporter::{Reporter, plural};
use crate::source::Sources;
use crate::syntax::formatter;
use std::path::PathBuf;

/// Exit codes, as Terraform's `-detailed-exitcode`.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;

/// `converge check`: parse and resolve, report every problem.
pub fn check(paths: &[PathBuf], reporter: &Reporter) -> i32 {
  let mut sources = Sources::new();
  let mut diagnostics = Diagnostics::new();
  let files = loader::load(paths, &mut sources, &mut diagnostics);
  let (playbook, found) = resolver::resolve(&files, &mut sources);
  diagnostics.extend(found);
  let failed = diagnostics.has_errors();
  let resources: usize = playbook.hosts.iter().map(|h| h.resources.len()).sum();
  let summary = format!(
    "{} {} file{}, {} host{}, {} resource{}",
    if failed { "checked" } else { "valid:" },
    files.len(),
    plural(files.len()),
    playbook.hosts.len(),
    plural(playbook.hosts.len()),
    resources,
    plural(resources),
  );
  reporter.diagnostics(diagnostics, &sources, &summary);
  if failed { EXIT_ERROR } else { EXIT_OK }
}

/// `converge fmt`: rewrite files in the canonical layout (or, with `--check`,
/// list those that are not). Files with syntax errors are reported and left
/// alone.
pub fn fmt(paths: &[PathBuf], check: bool, reporter: &Reporter) -> i32 {
  let mut sources = Sources::new();
  let mut diagnostics = Diagnostics::new();
  let mut unformatted = 0;
  let mut listed = Vec::new();
  let mut failed = false;
  for path in loader::discover(paths, &mut diagnostics) {
    let mut found = Diagnostics::new();
    let Some(file) = loader::load_file(&path, &mut sources, &mut found) else {
      diagnostics.extend(found);
      continue;
    };
    if found.has_errors() {
      diagnostics.extend(found);
      continue;
    }
    let text = sources.text(file.ast.file);
    let formatted = formatter::format(&file.ast, text);
    if formatted == text {
      continue;
    }
    unformatted += 1;
    if check {
      listed.push(path.display().to_string());
    } else if let Err(e) = formatter::write(&path, &formatted) {
      failed = true;
      diagnostics.push(Diagnostic::new(Code::Io, format!("cannot write `{}`: {e}", path.display())));
    }
  }
  failed |= diagnostics.has_errors();
  if reporter.format() == crate::cli::arguments::Format::Json {
    reporter.json_with(diagnostics.sorted(), &sources, Some(("unformatted", &listed)));
  } else {
    for path in &listed {
      reporter.line(path);
    }
    if !diagnostics.is_empty() {
      reporter.diagnostics(diagnostics, &sources, "fmt stopped");
    }
  }
  if check && unformatted > 0 {
    reporter.note(&format!("{unformatted} file{} not formatted; run `converge fmt`", plural(unformatted)));
    return EXIT_ERROR;
  }
  if failed { EXIT_ERROR } else { EXIT_OK }
}

/// Exit code of `--plan` when changes are pending (Terraform's `-detailed-exitcode`).
pub const EXIT_CHANGES: i32 = 2;

/// `converge --plan`, `converge`, `converge apply PLAN`, `converge enforce`
/// and `converge verify`: check, then for every host (in parallel) connect,
/// gather facts, plan, and apply when asked; show the plan, the results, and a
/// summary per host.
pub fn run(run: &crate::cli::config::Run, reporter: &Reporter) -> i32 {
  use crate::fleet::{HostRun, RunOptions};
  let started = std::time::Instant::now();
  let started_at = crate::plan::ledger::now();
  let fail = |message: &str| {
    reporter.note(&format!("error: {message}"));
    EXIT_ERROR
  };
  // One applying run per state directory at a time.
  let _lock = match (&run.state_dir, run.apply) {
    (Some(dir), true) => match crate::cli::lock::acquire(dir, run.lock_wait) {
      Ok(lock) => Some(lock),
      Err(e) => return fail(&e.to_string()),
    },
    _ => None,
  };
  let saved = match &run.saved {
    Some(path) => match crate::plan::saved_plan::SavedPlan::read(path) {
      Ok(plan) => Some(std::sync::Arc::new(plan)),
      Err(e) => return fail(&e.to_string()),
    },
    None => None,
  };
  let mut playbooks = saved.as_ref().map_or_else(|| run.playbooks.clone(), |s| s.playbooks.clone());
  let mut commit = None;
  if let Some(git) = &run.git {
    match crate::cli::pull::sync(&git.url, git.branch.as_deref(), &git.checkout) {
      Ok(head) => commit = Some(head),
      Err(e) => return fail(&e.to_string()),
    }
    playbooks = if playbooks.is_empty() {
      vec![git.checkout.clone()]
    } else {
      playbooks.iter().map(|p| git.checkout.join(p)).collect()
    };
  }
  let mut sources = Sources::new();
  let mut diagnostics = Diagnostics::new();
  let files = loader::load(&playbooks, &mut sources, &mut diagnostics);
  let (mut playbook, found) = resolver::resolve(&files, &mut sources);
  diagnostics.extend(found);
  if diagnostics.has_errors() {
    reporter.diagnostics(diagnostics, &sources, "no plan: the playbooks have errors");
    return EXIT_ERROR;
  }
  let source_hashes: std::collections::BTreeMap<String, String> =
    sources.iter().map(|s| (s.name.clone(), blake3::hash(s.text.as_bytes()).to_hex().to_string())).collect();
  if let Some(saved) = &saved {
    if let Err(e) = saved.check_sources(&source_hashes) {
      return fail(&e.to_string());
    }
    playbook.hosts.retain(|h| saved.hosts.contains_key(&h.name));
  }
  if let Some(pattern) = &run.limit {
    match playbook.inventory.limit(pattern) {
      Ok(keep) => {
        playbook.hosts.retain(|h| keep.contains(&h.name) || (playbook.local && h.name == resolver::LOCALHOST))
      }
      Err(e) => return fail(&format!("--limit {pattern}: {e}")),
    }
    if playbook.hosts.is_empty() {
      return fail(&format!("--limit {pattern} selects no host the playbooks target"));
    }
  }
  if run.local
    && let Err(e) = keep_this_machine(&mut playbook, run.limit.is_some())
  {
    return fail(&e);
  }
  let root = match saved.as_ref().and_then(|s| s.root.clone()).or_else(|| run.root.clone()) {
    Some(r) => match std::fs::canonicalize(&r) {
      Ok(r) => r.display().to_string().trim_end_matches('/').to_owned(),
      Err(e) => return fail(&format!("cannot use `--root {}`: {e}", r.display())),
    },
    None => String::new(),
  };
  let ssh = crate::host::ssh::Options {
    host_key_policy: run.host_key_policy,
    connect_timeout: run.connect_timeout,
    config: run.ssh_config.clone(),
    ..crate::host::ssh::Options::default()
  };
  let client = match crate::host::ssh::ClientConfig::load(&ssh) {
    Ok(c) => c,
    Err(e) => return fail(&e.to_string()),
  };
  let options = RunOptions {
    plan: crate::plan::planner::PlanOptions {
      root,
      timeout: run.timeout,
      state_dir: run.state_dir.clone(),
      run_guards: !(run.no_guards || saved.as_ref().is_some_and(|s| s.no_guards)),
    },
    apply: run.apply,
    forks: run.forks,
    ssh,
    verify: run.verify,
    lock_wait: run.lock_wait,
    saved: saved.clone(),
  };
  if run.verify && !options.plan.root.is_empty() {
    return fail("verify runs each shell on a live host; it cannot be combined with `--root`");
  }
  let progress = reporter.progress(playbook.hosts.len(), !playbook.local);
  let done = |host: &HostRun| progress.host_done(host);
  let runs = crate::fleet::run(&playbook, &sources, &options, &client, &done);
  progress.finish();
  let json = reporter.format() == crate::cli::arguments::Format::Json;
  if !diagnostics.is_empty() && !json {
    reporter.diagnostics(diagnostics.clone(), &sources, "warnings");
  }
  if run.verify_only {
    match reporter.format() {
      crate::cli::arguments::Format::Json => {
        let doc = crate::report::verify::json(&runs);
        reporter.line(&serde_json::to_string_pretty(&doc).unwrap_or_default());
      }
      crate::cli::arguments::Format::Markdown => reporter.line(&crate::report::verify::markdown(&runs)),
      crate::cli::arguments::Format::Human => {
        reporter.raw(&crate::report::verify::human(&runs, reporter.color()))
      }
    }
    let holds = runs.iter().all(|r| r.verify.as_ref().is_some_and(crate::verify::Matrix::holds));
    return if holds { EXIT_OK } else { EXIT_ERROR };
  }
  // The plan file, and its hash for the pull-request comment.
  let mut plan_hash = None;
  if let Some(out) = &run.out {
    let file = crate::plan::saved_plan::SavedPlan {
      kind: crate::plan::saved_plan::KIND.to_owned(),
      format_version: crate::plan::saved_plan::FORMAT_VERSION,
      converge_version: env!("CARGO_PKG_VERSION").to_owned(),
      created: started_at,
      playbooks: run.playbooks.clone(),
      sources: source_hashes,
      root: run.root.clone(),
      no_guards: run.no_guards,
      hosts: runs
        .iter()
        .map(|r| {
          let failed = r.plan.facts_hash.is_empty() || r.status.failed();
          let error = failed.then(|| r.plan.error.clone().unwrap_or_else(|| "a resource failed".to_owned()));
          let host = crate::plan::saved_plan::SavedHost {
            facts_blake3: r.plan.facts_hash.clone(),
            plan_blake3: crate::plan::saved_plan::digest(&r.plan),
            facts: r.plan.facts.clone(),
            error,
          };
          (r.plan.host.clone(), host)
        })
        .collect(),
      plan: crate::report::plan::json(&runs, false),
      blake3: String::new(),
    };
    let (bytes, hash) = crate::plan::saved_plan::encode(&file);
    if let Err(e) = crate::atomic::write(out, &bytes, Some(0o600)) {
      return fail(&format!("cannot write the plan to `{}`: {e}", out.display()));
    }
    plan_hash = Some(hash);
  }
  if let Some(saved) = &saved {
    plan_hash = Some(saved.blake3.clone());
  }
  match reporter.format() {
    crate::cli::arguments::Format::Json => {
      let mut doc = crate::report::plan::json(&runs, run.apply);
      if run.verify {
        doc["verify"] = crate::report::verify::json(&runs);
      }
      if let Some(hash) = &plan_hash {
        doc["plan_blake3"] = serde_json::json!(hash);
      }
      let warnings: Vec<crate::diagnostic::JsonDiagnostic> = diagnostics
        .clone()
        .sorted()
        .iter()
        .map(|d| crate::diagnostic::JsonDiagnostic::new(d, &sources))
        .collect();
      doc["diagnostics"] = serde_json::json!(warnings);
      reporter.line(&serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    crate::cli::arguments::Format::Markdown => {
      reporter.line(&crate::report::plan::markdown(&runs, plan_hash.as_deref()));
      if run.verify {
        reporter.line(&crate::report::verify::markdown(&runs));
      }
    }
    crate::cli::arguments::Format::Human => {
      reporter.raw(&crate::report::plan::human(&runs, reporter.color()));
      reporter.raw(&crate::report::plan::summary(&runs, run.apply, reporter.color()));
      if run.verify {
        reporter.raw(&crate::report::verify::human(&runs, reporter.color()));
      }
    }
  }
  if let (Some(out), Some(hash)) = (&run.out, &plan_hash) {
    reporter.note(&format!(
      "Saved the plan to {} (blake3 {hash}); apply it with `converge apply {}`",
      out.display(),
      out.display()
    ));
  }
  let failed = runs.iter().any(|r| r.status.failed())
    || (run.verify && !runs.iter().all(|r| r.verify.as_ref().is_some_and(crate::verify::Matrix::holds)));
  if let Some(enforce) = &run.enforce {
    let duration = started.elapsed();
    let report = crate::report::enforce::json(&runs, started_at, duration, commit.as_deref());
    let text = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
    let metrics = crate::report::enforce::metrics(&runs, crate::plan::ledger::now(), duration);
    for (path, bytes) in [(&enforce.report, text.as_bytes()), (&enforce.metrics, metrics.as_bytes())] {
      let written = path
        .parent()
        .map_or(Ok(()), |d| if d.as_os_str().is_empty() { Ok(()) } else { std::fs::create_dir_all(d) });
      if let Err(e) = written.and_then(|()| crate::atomic::write(path, bytes, Some(0o644))) {
        reporter.note(&format!("error: cannot write `{}`: {e}", path.display()));
        return EXIT_ERROR;
      }
    }
  }
  let pending = runs.iter().any(|r| r.plan.change_count() > 0);
  if failed {
    EXIT_ERROR
  } else if !run.apply && pending {
    EXIT_CHANGES
  } else {
    EXIT_OK
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

/// `converge schedule`: the systemd service and timer (or the cron line) that
/// run `converge enforce` with the same arguments every INTERVAL; printed, or
/// installed with `--install`.
pub fn schedule(args: &crate::cli::config::Schedule, reporter: &Reporter) -> i32 {
  use crate::cli::schedule::{
    Schedule, cron_line, default_unit_dir, install_cron, install_systemd, systemd_units,
  };
  let fail = |message: &str| {
    reporter.note(&format!("error: {message}"));
    EXIT_ERROR
  };
  let every = match crate::cli::schedule::parse_interval(&args.every) {
    Ok(d) => d,
    Err(e) => return fail(&format!("--every: {e}")),
  };
  let exe = match std::env::current_exe() {
    Ok(p) => p.display().to_string(),
    Err(e) => return fail(&format!("cannot tell where this converge binary is: {e}")),
  };
  let cwd = match std::env::current_dir() {
    Ok(d) => d,
    Err(e) => return fail(&format!("cannot read the current directory: {e}")),
  };
  let mut exec = vec![exe, "enforce".to_owned()];
  exec.extend(args.enforce.iter().cloned());
  let root = {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
  };
  let mut schedule = Schedule::new(every, exec, cwd, root);
  schedule.name.clone_from(&args.name);
  if args.cron {
    if !args.install {
      return match cron_line(&schedule) {
        Ok(line) => {
          reporter.line(&line);
          EXIT_OK
        }
        Err(e) => fail(&e.to_string()),
      };
    }
    let current = std::process::Command::new("crontab").arg("-l").output();
    let current = match current {
      Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
      // `crontab -l` fails when there is no crontab yet.
      Ok(_) => String::new(),
      Err(e) => return fail(&format!("cannot run crontab: {e}")),
    };
    let text = match install_cron(&schedule, &current) {
      Ok(t) => t,
      Err(e) => return fail(&e.to_string()),
    };
    return match crontab_write(&text) {
      Ok(()) => {
        reporter.note(&format!("Installed the cron entry `{}` (crontab -l shows it).", schedule.name));
        EXIT_OK
      }
      Err(e) => fail(&e),
    };
  }
  let units = match systemd_units(&schedule) {
    Ok(u) => u,
    Err(e) => return fail(&e.to_string()),
  };
  if !args.install {
    reporter
      .line(&format!("# {}\n{}\n# {}\n{}", units.service_name, units.service, units.timer_name, units.timer));
    return EXIT_OK;
  }
  let Some(dir) = args.unit_dir.clone().or_else(|| default_unit_dir(root)) else {
    return fail("no unit directory: set HOME or pass --unit-dir");
  };
  let written = match install_systemd(&schedule, &dir) {
    Ok(w) => w,
    Err(e) => return fail(&e.to_string()),
  };
  for path in &written {
    reporter.note(&format!("wrote {}", path.display()));
  }
  if args.unit_dir.is_some() {
    reporter.note(&format!(
      "Enable it with `systemctl{} enable --now {}`.",
      if root { "" } else { " --user" },
      units.timer_name
    ));
    return EXIT_OK;
  }
  let systemctl = |verb: &[&str]| {
    let mut cmd = std::process::Command::new("systemctl");
    if !root {
      cmd.arg("--user");
    }
    cmd.args(verb).output()
  };
  for verb in [&["daemon-reload"][..], &["enable", "--now", units.timer_name.as_str()][..]] {
    match systemctl(verb) {
      Ok(out) if out.status.success() => {}
      Ok(out) => {
        return fail(&format!(
          "`systemctl {}` failed: {} (the unit files are written)",
          verb.join(" "),
          String::from_utf8_lossy(&out.stderr).trim()
        ));
      }
      Err(e) => return fail(&format!("cannot run systemctl: {e} (the unit files are written)")),
    }
  }
  reporter.note(&format!(
    "Enabled {}; `systemctl{} list-timers` shows when it runs next.",
    units.timer_name,
    if root { "" } else { " --user" }
  ));
  EXIT_OK
}

/// Replaces the user's crontab with `text`.
fn crontab_write(text: &str) -> Result<(), String> {
  use std::io::Write;
  let mut child = std::process::Command::new("crontab")
    .arg("-")
    .stdin(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .map_err(|e| format!("cannot run crontab: {e}"))?;
  if let Some(mut stdin) = child.stdin.take() {
    stdin.write_all(text.as_bytes()).map_err(|e| format!("cannot write to crontab: {e}"))?;
  }
  let out = child.wait_with_output().map_err(|e| format!("crontab: {e}"))?;
  if out.status.success() {
    Ok(())
  } else {
    Err(format!("`crontab -` failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
  }
}
