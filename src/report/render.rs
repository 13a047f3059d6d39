//! The three output formats of a run, chosen once from `--format` when the
//! [`Reporter`](crate::report::reporter::Reporter) is made: for people
//! ([`Human`]), as versioned JSON ([`Json`]), and as markdown for a
//! pull-request comment ([`Markdown`]). Each shows the same typed
//! [`RunReport`] and the same verify matrices.

use crate::cli::commands::Stop;
use crate::diagnostic::JsonDiagnostic;
use crate::fleet::HostRun;
use crate::report::document::RunReport;
use crate::report::reporter::Reporter;
use crate::source::Sources;

/// One output format.
pub trait Render: Send + Sync {
  /// A run's plan or results.
  fn run(&self, out: &Reporter, report: &RunReport, runs: &[HostRun], verify: bool);
  /// `converge verify`: the matrices only.
  fn verify(&self, out: &Reporter, runs: &[HostRun]);
  /// A run that stopped before any host.
  fn stopped(&self, out: &Reporter, stop: &Stop, applied: bool);
}

/// For people: the plan, a summary table, what failed; errors on stderr.
pub struct Human;
/// One JSON document on stdout, the same shape whether the run went through or stopped.
pub struct Json;
/// Markdown for a pull-request comment.
pub struct Markdown;

impl Render for Human {
  fn run(&self, out: &Reporter, report: &RunReport, runs: &[HostRun], verify: bool) {
    if !out.quiet() {
      out.raw(&crate::report::plan::human(runs, out.color()));
    }
    out.raw(&crate::report::plan::summary(runs, report.applied, out.color()));
    if verify {
      out.raw(&crate::report::verify::human(runs, out.color()));
    }
  }

  fn verify(&self, out: &Reporter, runs: &[HostRun]) {
    out.raw(&crate::report::verify::human(runs, out.color()));
  }

  fn stopped(&self, out: &Reporter, stop: &Stop, _applied: bool) {
    stopped_for_people(out, stop);
  }
}

impl Render for Markdown {
  fn run(&self, out: &Reporter, report: &RunReport, runs: &[HostRun], verify: bool) {
    out.line(&crate::report::markdown::markdown(runs, report.plan_blake3.as_deref()));
    if verify {
      out.line(&crate::report::verify::markdown(runs));
    }
  }

  fn verify(&self, out: &Reporter, runs: &[HostRun]) {
    out.line(&crate::report::verify::markdown(runs));
  }

  fn stopped(&self, out: &Reporter, stop: &Stop, _applied: bool) {
    stopped_for_people(out, stop);
  }
}

impl Render for Json {
  fn run(&self, out: &Reporter, report: &RunReport, _runs: &[HostRun], _verify: bool) {
    out.line(&serde_json::to_string_pretty(&report.to_json()).unwrap_or_default());
  }

  fn verify(&self, out: &Reporter, runs: &[HostRun]) {
    out.line(&serde_json::to_string_pretty(&crate::report::verify::json(runs)).unwrap_or_default());
  }

  fn stopped(&self, out: &Reporter, stop: &Stop, applied: bool) {
    let empty = Sources::new();
    let sources = match stop {
      Stop::Diagnostics(_, sources) => sources,
      Stop::Error(..) => &empty,
    };
    let diagnostics = stop.diagnostics().iter().map(|d| JsonDiagnostic::new(d, sources)).collect();
    let report = RunReport::stopped(applied, diagnostics);
    out.line(&serde_json::to_string_pretty(&report.to_json()).unwrap_or_default());
  }
}

fn stopped_for_people(out: &Reporter, stop: &Stop) {
  match stop {
    Stop::Error(_, message) => out.note(&format!("error: {message}")),
    Stop::Diagnostics(diagnostics, sources) => {
      out.diagnostics(diagnostics.clone(), sources, "no plan: the playbooks have errors")
    }
  }
}

/// The renderer of a format.
pub fn renderer(format: crate::cli::arguments::Format) -> Box<dyn Render> {
  match format {
    crate::cli::arguments::Format::Human => Box::new(Human),
    crate::cli::arguments::Format::Json => Box::new(Json),
    crate::cli::arguments::Format::Markdown => Box::new(Markdown),
  }
}
