//! All user-facing output goes through the [`Reporter`]: diagnostics (graphical
//! or JSON), summaries and file lists. Nothing else in converge prints.

use crate::cli::arguments::Format;
use crate::cli::commands::Stop;
use crate::cli::config::Output;
use crate::diagnostic::{Diagnostic, Diagnostics, JsonDiagnostic, render};
use crate::fleet::HostRun;
use crate::report::document::RunReport;
use crate::report::render::{Render, renderer};
use crate::source::Sources;
use std::io::Write;

pub struct Reporter {
  output: Output,
  /// The output format's renderer, chosen once here.
  render: Box<dyn Render>,
}

impl Reporter {
  pub fn new(output: Output) -> Self {
    Self { render: renderer(output.format), output }
  }

  /// A run's plan or results, in the run's format; with `-v`, each host's
  /// phases on standard error.
  pub fn run(&self, report: &RunReport, runs: &[HostRun], verify: bool) {
    self.render.run(self, report, runs, verify);
    self.phases(runs);
  }

  /// `-q`: say only what failed and the summary.
  pub fn quiet(&self) -> bool {
    self.output.verbosity < 0
  }

  /// `-v`: each host's time per phase and its connections; `-vv` adds what the
  /// facts round trip asked.
  pub fn phases(&self, runs: &[HostRun]) {
    if self.output.verbosity < 1 {
      return;
    }
    let mut text = String::new();
    for run in runs {
      let m = run.measured();
      let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
      text.push_str(&format!(
        "{}: connect {:.0} ms, facts {:.0} ms, plan {:.0} ms, apply {:.0} ms, verify {:.0} ms, total {:.0} ms; {} connection{}, {} channel{}; facts {} bytes received, {} of file contents, {} file{} by hash; controller cpu: connect {:.1} ms, facts {:.1} ms, plan {:.1} ms, apply {:.1} ms, verify {:.1} ms\n",
        run.host(),
        ms(m.connect),
        ms(m.facts),
        ms(m.plan),
        ms(m.apply),
        ms(m.verify),
        ms(m.total),
        m.stats.connections,
        plural(m.stats.connections as usize),
        m.stats.channels,
        plural(m.stats.channels as usize),
        m.wire.received,
        m.wire.file_bytes,
        m.wire.hashed,
        plural(m.wire.hashed as usize),
        ms(m.cpu.connect),
        ms(m.cpu.facts),
        ms(m.cpu.plan),
        ms(m.cpu.apply),
        ms(m.cpu.verify),
      ));
      if let (true, HostRun::Ran(ran)) = (self.output.verbosity >= 2, run) {
        for asked in &ran.asked {
          text.push_str(&format!("  {}: asked {asked}\n", run.host()));
        }
      }
    }
    let (own, children) = process_cpu();
    let per_host = |d: std::time::Duration| d.as_secs_f64() * 1000.0 / runs.len().max(1) as f64;
    text.push_str(&format!(
      "run cpu: converge {:.1} ms per host, its child processes (ssh -G, proxies) {:.1} ms per host, {} hosts\n",
      per_host(own),
      per_host(children),
      runs.len()
    ));
    self.err(&text);
  }

  /// `converge verify`'s matrices, in the run's format.
  pub fn verify(&self, runs: &[HostRun]) {
    self.render.verify(self, runs);
  }

  /// A run that stopped before any host, in the run's format.
  pub fn stopped(&self, stop: &Stop, applied: bool) {
    self.render.stopped(self, stop, applied);
  }

  /// The playbooks' warnings, for people (JSON carries them in the document).
  pub fn warnings(&self, warnings: &Diagnostics, sources: &Sources) {
    if !warnings.is_empty() && self.output.format != Format::Json {
      self.diagnostics(warnings.clone(), sources, "warnings");
    }
  }

  pub fn format(&self) -> Format {
    self.output.format
  }

  /// Prints diagnostics: to standard error for people, or one JSON document on
  /// standard output.
  pub fn diagnostics(&self, diagnostics: Diagnostics, sources: &Sources, summary: &str) {
    let (errors, warnings) = (diagnostics.error_count(), diagnostics.warning_count());
    let sorted: Vec<Diagnostic> = diagnostics.sorted();
    match self.output.format {
      Format::Json => self.json_with(sorted, sources, None),
      Format::Human | Format::Markdown => {
        let mut text = String::new();
        for d in &sorted {
          text.push_str(&render(d, sources, self.output.stderr_color, self.output.width));
          text.push('\n');
        }
        let counts = match (errors, warnings) {
          (0, 0) => String::new(),
          (e, 0) => format!(": {e} error{}", plural(e)),
          (0, w) => format!(": {w} warning{}", plural(w)),
          (e, w) => format!(": {e} error{}, {w} warning{}", plural(e), plural(w)),
        };
        text.push_str(&format!("{summary}{counts}\n"));
        self.err(&text);
      }
    }
  }

  /// The JSON document of [`Reporter::diagnostics`] with one more list in it
  /// (`fmt --check --format json` adds the unformatted files).
  pub fn json_with(&self, sorted: Vec<Diagnostic>, sources: &Sources, extra: Option<(&str, &[String])>) {
    let errors = sorted.iter().filter(|d| d.is_error()).count();
    let warnings = sorted.len() - errors;
    let valid = errors == 0;
    let json: Vec<JsonDiagnostic> = sorted.iter().map(|d| JsonDiagnostic::new(d, sources)).collect();
    let mut doc = serde_json::json!({
      "version": 1,
      "valid": valid,
      "errors": errors,
      "warnings": warnings,
      "diagnostics": json,
    });
    if let Some((key, items)) = extra {
      doc[key] = serde_json::json!(items);
    }
    self.out(&format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default()));
  }

  /// Progress of a run across hosts on standard error: a bar on a terminal,
  /// a line per finished host otherwise (for fleets; a lone local host shows
  /// nothing).
  pub fn progress(&self, hosts: usize, fleet: bool) -> Progress {
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !self.quiet();
    let fleet = fleet && !self.quiet();
    let bar = (terminal && hosts > 0).then(|| {
      let bar = indicatif::ProgressBar::new(hosts as u64);
      let style = indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} hosts [{elapsed}] {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
      bar.set_style(style);
      bar.enable_steady_tick(std::time::Duration::from_millis(120));
      bar
    });
    Progress { bar, lines: fleet && !terminal }
  }

  /// A line for people on standard error.
  pub fn note(&self, line: &str) {
    self.err(&format!("{line}\n"));
  }

  /// Text on standard output, as is.
  pub fn raw(&self, text: &str) {
    self.out(text);
  }

  /// Whether standard output may be coloured.
  pub fn color(&self) -> bool {
    self.output.stdout_color
  }

  /// A line of results on standard output.
  pub fn line(&self, line: &str) {
    self.out(&format!("{line}\n"));
  }

  fn out(&self, text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
  }

  fn err(&self, text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
  }
}

/// The hosts a run failed on, last on standard error where a long fleet's
/// output ends (Ansible's recap): at most ten named, with why.
pub fn failed_hosts(runs: &[HostRun]) -> Option<String> {
  let failed: Vec<&HostRun> = runs.iter().filter(|r| r.status().failed()).collect();
  if failed.is_empty() {
    return None;
  }
  let mut text = format!("{} of {} host{} failed:", failed.len(), runs.len(), plural(runs.len()));
  for run in failed.iter().take(10) {
    text.push_str(&format!("\n  {} ({}){}", run.host(), run.status().word(), why_failed(run)));
  }
  if failed.len() > 10 {
    text.push_str(&format!("\n  and {} more", failed.len() - 10));
  }
  Some(text)
}

/// `: ` and the first line of what stopped the host, or nothing.
fn why_failed(run: &HostRun) -> String {
  run.error().map(|e| format!(": {}", one_line(&e.to_string()))).unwrap_or_default()
}

/// The first line of a message, at most 200 characters, control characters
/// (a host's own text may carry terminal escapes) shown as `?`: a host's
/// error in a one-line summary.
fn one_line(text: &str) -> String {
  let first = text.lines().next().unwrap_or_default();
  let mut line: String = first.chars().take(200).map(|c| if c.is_control() { '?' } else { c }).collect();
  if first.chars().nth(200).is_some() {
    line.push('…');
  }
  line
}

pub fn plural(n: usize) -> &'static str {
  if n == 1 { "" } else { "s" }
}

/// See [`Reporter::progress`].
pub struct Progress {
  bar: Option<indicatif::ProgressBar>,
  lines: bool,
}

impl Progress {
  pub fn host_done(&self, run: &crate::fleet::HostRun) {
    let word = run.status().word();
    let status = match run.verify() {
      Some(m) if m.holds() => "verified".to_owned(),
      Some(m) if m.error.is_none() => format!("{word}, {} verify cells fail", m.failures()),
      _ => word.to_owned(),
    };
    let why = if run.status().failed() { why_failed(run) } else { String::new() };
    let line = format!("{}: {status} ({:.2} s){why}", run.host(), run.duration().as_secs_f64());
    if let Some(bar) = &self.bar {
      bar.inc(1);
      bar.set_message(line);
    } else if self.lines {
      let mut stderr = std::io::stderr().lock();
      let _ = writeln!(stderr, "{line}");
    }
  }

  pub fn finish(&self) {
    if let Some(bar) = &self.bar {
      bar.finish_and_clear();
    }
  }
}

/// The user and system CPU time of this process, and of its children that
/// ended, so far: `/proc/self/stat`'s utime + stime and cutime + cstime, in
/// USER_HZ ticks (100 per second in Linux's ABI).
fn process_cpu() -> (std::time::Duration, std::time::Duration) {
  let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
  // The fields after the command name, which ends at the last `)`.
  let fields: Vec<u64> = stat
    .rsplit_once(')')
    .map(|(_, rest)| rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
    .unwrap_or_default();
  // utime, stime, cutime and cstime are fields 14 to 17 of the line; the
  // state (field 3) is the first after the name.
  let ticks = |i: usize| fields.get(i - 3).copied().unwrap_or(0);
  let time = |t: u64| std::time::Duration::from_millis(t * 10);
  (time(ticks(14) + ticks(15)), time(ticks(16) + ticks(17)))
}

#[cfg(test)]
mod tests {
  #[test]
  fn a_one_line_summary_is_one_bounded_line_without_control_characters() {
    assert_eq!(super::one_line("refused\nsecond line"), "refused");
    assert_eq!(super::one_line("\u{1b}[2Jgone\u{7}"), "?[2Jgone?");
    let long = "é".repeat(300);
    assert_eq!(super::one_line(&long), format!("{}…", "é".repeat(200)));
  }
}
