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
    reporter.json_with(diagnostics, &sources, "unformatted", &listed);
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

/// `converge --plan` and `converge` (apply): this build checks the playbooks and
/// says plainly that it cannot contact hosts, instead of pretending to plan.
pub fn plan_unavailable(paths: &[PathBuf], reporter: &Reporter) -> i32 {
  let code = check(paths, reporter);
  if code == EXIT_OK {
    reporter.note("error: this build of converge checks playbooks but cannot gather facts, plan or apply; use `converge check`");
  }
  EXIT_ERROR
}
