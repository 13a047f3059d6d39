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

/// `converge --plan` (and, with `apply`, `converge`): check, gather facts,
/// plan every host, show the plan; then apply it when asked.
pub fn plan(paths: &[PathBuf], root: Option<&std::path::Path>, apply: bool, reporter: &Reporter) -> i32 {
  use crate::planner::{PlanOptions, plan_host};
  use crate::transport::{Local, Transport};
  let mut sources = Sources::new();
  let mut diagnostics = Diagnostics::new();
  let files = loader::load(paths, &mut sources, &mut diagnostics);
  let (playbook, found) = resolver::resolve(&files, &mut sources);
  diagnostics.extend(found);
  if diagnostics.has_errors() {
    reporter.diagnostics(diagnostics, &sources, "no plan: the playbooks have errors");
    return EXIT_ERROR;
  }
  let root = match root {
    Some(r) => match std::fs::canonicalize(r) {
      Ok(r) => r.display().to_string().trim_end_matches('/').to_owned(),
      Err(e) => {
        reporter.note(&format!("error: cannot use `--root {}`: {e}", r.display()));
        return EXIT_ERROR;
      }
    },
    None => String::new(),
  };
  let options = PlanOptions { root: root.clone(), timeout: std::time::Duration::from_secs(120) };
  let mut plans = Vec::new();
  let mut outcomes = Vec::new();
  for play in &playbook.hosts {
    if !(playbook.local || play.name == resolver::LOCALHOST) {
      plans.push(crate::planner::failed_host(
        &play.name,
        "this build of converge reaches only the local machine; SSH hosts are not supported yet".to_owned(),
      ));
      continue;
    }
    let mut transport: Box<dyn Transport> = Box::new(Local { name: play.name.clone() });
    let plan = plan_host(play, &playbook.handlers, transport.as_mut(), &options, &sources);
    if apply {
      outcomes.push(crate::apply::apply_host(&plan, transport.as_mut(), &root, options.timeout));
    }
    plans.push(plan);
  }
  let counts = crate::plan_output::Counts::of(&plans);
  if !diagnostics.is_empty() {
    reporter.diagnostics(diagnostics, &sources, "warnings");
  }
  match reporter.format() {
    crate::arguments::Format::Json => {
      let doc = crate::plan_output::json(&plans, apply.then_some(&outcomes[..]));
      reporter.line(&serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    crate::arguments::Format::Markdown => reporter.line(&crate::plan_output::markdown(&plans)),
    crate::arguments::Format::Human => {
      reporter.raw(&crate::plan_output::human(&plans, reporter.color()));
      for outcome in &outcomes {
        let status = if outcome.failed() {
          "failed"
        } else if outcome.changed() > 0 {
          "changed"
        } else {
          "ok"
        };
        reporter.line(&format!("{}: {status} ({} changed)", outcome.host, outcome.changed()));
        if let Some(e) = &outcome.error {
          reporter.line(&format!("  ! {e}"));
        }
        for (name, result) in &outcome.steps {
          if let crate::apply::StepOutcome::Failed(why) | crate::apply::StepOutcome::Skipped(why) = result {
            reporter.line(&format!("  ! {name}: {why}"));
          }
        }
      }
    }
  }
  let failed = counts.failed > 0 || outcomes.iter().any(crate::apply::HostOutcome::failed);
  if failed {
    EXIT_ERROR
  } else if !apply && counts.changes() > 0 {
    EXIT_CHANGES
  } else {
    EXIT_OK
  }
}
