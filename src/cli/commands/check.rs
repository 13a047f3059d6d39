//! `converge check`: the syntax and check stages only, every problem reported.

use super::{EXIT_ERROR, EXIT_OK};
use crate::check::{loader, resolver};
use crate::diagnostic::Diagnostics;
use crate::report::reporter::{Reporter, plural};
use crate::source::Sources;
use std::path::PathBuf;

/// `converge check`: parse and resolve, report every problem.
pub fn check(paths: &[PathBuf], vars: &crate::cli::vars::ExtraVars, reporter: &Reporter) -> i32 {
  let mut sources = Sources::new();
  let mut diagnostics = Diagnostics::new();
  let files = loader::load(paths, &mut sources, &mut diagnostics);
  let (playbook, found) = resolver::resolve_with(&[], &files, &mut sources, vars);
  diagnostics.extend(found);
  // How each host is reached, once its variables are settled: a host whose
  // variables already have errors is not judged twice.
  if !diagnostics.has_errors() {
    diagnostics.extend(crate::host::connection::check(&playbook));
  }
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
