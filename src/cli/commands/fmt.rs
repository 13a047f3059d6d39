//! `converge fmt`: the canonical layout, written back or checked.

use super::{EXIT_ERROR, EXIT_OK};
use crate::check::loader;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::report::reporter::{Reporter, plural};
use crate::source::Sources;
use crate::syntax::formatter;
use std::path::PathBuf;

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
    // Standard input is formatted to standard output, as `terraform fmt -` does.
    if path == std::path::Path::new("-") && !check {
      reporter.raw(&formatted);
      continue;
    }
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
