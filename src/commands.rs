//! The subcommands: each takes its checked settings and the reporter, and
//! returns the process exit code.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::reporter::{Reporter, plural};
use crate::source::Sources;
use crate::{atomic, formatter, loader, resolver};
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
    } else if let Err(e) = atomic::write(&path, formatted.as_bytes(), None) {
      failed = true;
      diagnostics.push(Diagnostic::new(Code::Io, format!("cannot write `{}`: {e}", path.display())));
    }
  }
  failed |= diagnostics.has_errors();
  if reporter.format() == crate::arguments::Format::Json {
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

/// `converge --plan` and `converge`: check, then for every host (in parallel)
/// connect, gather facts, plan, and apply when asked; show the plan, the
/// results, and a summary per host.
pub fn run(run: &crate::config::Run, reporter: &Reporter) -> i32 {
  use crate::fleet::{HostRun, RunOptions, Status};
  let mut sources = Sources::new();
  let mut diagnostics = Diagnostics::new();
  let files = loader::load(&run.playbooks, &mut sources, &mut diagnostics);
  let (mut playbook, found) = resolver::resolve(&files, &mut sources);
  diagnostics.extend(found);
  if diagnostics.has_errors() {
    reporter.diagnostics(diagnostics, &sources, "no plan: the playbooks have errors");
    return EXIT_ERROR;
  }
  if let Some(pattern) = &run.limit {
    match resolver::limit(&playbook.inventory, pattern) {
      Ok(keep) => {
        playbook.hosts.retain(|h| keep.contains(&h.name) || (playbook.local && h.name == resolver::LOCALHOST))
      }
      Err(e) => {
        reporter.note(&format!("error: --limit {pattern}: {e}"));
        return EXIT_ERROR;
      }
    }
    if playbook.hosts.is_empty() {
      reporter.note(&format!("error: --limit {pattern} selects no host the playbooks target"));
      return EXIT_ERROR;
    }
  }
  let root = match &run.root {
    Some(r) => match std::fs::canonicalize(r) {
      Ok(r) => r.display().to_string().trim_end_matches('/').to_owned(),
      Err(e) => {
        reporter.note(&format!("error: cannot use `--root {}`: {e}", r.display()));
        return EXIT_ERROR;
      }
    },
    None => String::new(),
  };
  let ssh = crate::ssh::Options {
    host_key_policy: run.host_key_policy,
    connect_timeout: run.connect_timeout,
    config: run.ssh_config.clone(),
    ..crate::ssh::Options::default()
  };
  let client = match crate::ssh::ClientConfig::load(&ssh) {
    Ok(c) => c,
    Err(e) => {
      reporter.note(&format!("error: {e}"));
      return EXIT_ERROR;
    }
  };
  let options = RunOptions {
    plan: crate::planner::PlanOptions { root, timeout: run.timeout },
    apply: run.apply,
    forks: run.forks,
    ssh,
    verify: run.verify,
  };
  if run.verify && !options.plan.root.is_empty() {
    reporter.note("error: verify runs each shell on a live host; it cannot be combined with `--root`");
    return EXIT_ERROR;
  }
  let progress = reporter.progress(playbook.hosts.len(), !playbook.local);
  let done = |host: &HostRun| progress.host_done(host);
  let runs = crate::fleet::run(&playbook, &sources, &options, &client, &done);
  progress.finish();
  let json = reporter.format() == crate::arguments::Format::Json;
  if !diagnostics.is_empty() && !json {
    reporter.diagnostics(diagnostics.clone(), &sources, "warnings");
  }
  if run.verify_only {
    match reporter.format() {
      crate::arguments::Format::Json => {
        let doc = crate::verify_output::json(&runs);
        reporter.line(&serde_json::to_string_pretty(&doc).unwrap_or_default());
      }
      crate::arguments::Format::Markdown => reporter.line(&crate::verify_output::markdown(&runs)),
      crate::arguments::Format::Human => reporter.raw(&crate::verify_output::human(&runs, reporter.color())),
    }
    let holds = runs.iter().all(|r| r.verify.as_ref().is_some_and(crate::verify::Matrix::holds));
    return if holds { EXIT_OK } else { EXIT_ERROR };
  }
  match reporter.format() {
    crate::arguments::Format::Json => {
      let mut doc = crate::plan_output::json(&runs, run.apply);
      if run.verify {
        doc["verify"] = crate::verify_output::json(&runs);
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
    crate::arguments::Format::Markdown => {
      reporter.line(&crate::plan_output::markdown(&runs));
      if run.verify {
        reporter.line(&crate::verify_output::markdown(&runs));
      }
    }
    crate::arguments::Format::Human => {
      reporter.raw(&crate::plan_output::human(&runs, reporter.color()));
      reporter.raw(&crate::plan_output::summary(&runs, run.apply, reporter.color()));
      if run.verify {
        reporter.raw(&crate::verify_output::human(&runs, reporter.color()));
      }
    }
  }
  let failed = runs.iter().any(|r| matches!(r.status, Status::Failed | Status::Unreachable))
    || (run.verify && !runs.iter().all(|r| r.verify.as_ref().is_some_and(crate::verify::Matrix::holds)));
  let pending = runs.iter().any(|r| r.plan.change_count() > 0);
  if failed {
    EXIT_ERROR
  } else if !run.apply && pending {
    EXIT_CHANGES
  } else {
    EXIT_OK
  }
}
