//! Showing `converge verify` matrices: a table per host for people (✓, the
//! value seen, `–` for a consumer the host does not have), versioned JSON, and
//! markdown. Each failing cell is listed with the value seen, the resource that
//! declares it, and whether a pending change in the plan addresses it.
//!
//! The values of a `sensitive` resource are neither shown as wanted nor as
//! seen (a wrong value seen is often the old secret); any other text holding a
//! sensitive value has it masked ([`crate::check::secrets`]).

use crate::check::secrets::MASK;
use crate::fleet::HostRun;
use crate::report::plan::all_secrets;
use crate::verify::{Cell, Matrix, Row};
use serde_json::json;
use std::fmt::Write;

/// The JSON document's schema version.
pub const FORMAT_VERSION: u32 = 1;

fn paint(text: &str, code: &str, color: bool) -> String {
  if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
}

/// Whether a row checks a value of a `sensitive` resource.
fn sensitive(run: &HostRun, row: &Row) -> bool {
  run.plan().is_some_and(|p| p.steps.iter().any(|s| s.name == row.resource && s.sensitive))
}

/// A value seen or wanted, as shown for the row.
fn shown(run: &HostRun, row: &Row, value: &str) -> String {
  if sensitive(run, row) {
    MASK.to_owned()
  } else {
    run.plan().map_or_else(|| value.to_owned(), |p| p.secrets.redact(value))
  }
}

fn mark(cell: &Cell) -> &'static str {
  match cell {
    Cell::Ok => "✓",
    Cell::Wrong { .. } => "✗",
    Cell::Absent => "–",
    Cell::Broken { .. } => "?",
    Cell::Skipped { .. } => "·",
  }
}

/// The matrices for people.
pub fn human(runs: &[HostRun], color: bool) -> String {
  let mut s = String::new();
  for run in runs {
    let host = &run.host();
    let Some(matrix) = run.verify() else {
      let why = run.error().map_or_else(|| "not verified".to_owned(), |e| e.to_string());
      let _ = writeln!(s, "{}\n  {} {why}\n", paint(host, "1", color), paint("!", "31", color));
      continue;
    };
    let _ = writeln!(s, "{} ({}, login shell {})", paint(host, "1", color), matrix.user, matrix.shell);
    if let Some(e) = &matrix.error {
      let _ = writeln!(s, "  {} {e}\n", paint("!", "31", color));
      continue;
    }
    if matrix.rows.is_empty() && matrix.host_rows.is_empty() {
      let _ =
        writeln!(s, "  nothing to verify: the playbook declares no export, PATH entry, go setting or tool\n");
      continue;
    }
    let label_width =
      matrix.rows.iter().chain(&matrix.host_rows).map(|r| r.label.chars().count()).max().unwrap_or(0).min(64);
    let mut header = format!("  {:label_width$}", "");
    for c in &matrix.consumers {
      let _ = write!(header, "  {c}");
    }
    if !matrix.rows.is_empty() {
      let _ = writeln!(s, "{}", header.trim_end());
    }
    for row in &matrix.rows {
      let label: String = row.label.chars().take(label_width).collect();
      let mut line = format!("  {label:label_width$}");
      for (c, cell) in matrix.consumers.iter().zip(&row.cells) {
        let width = c.chars().count();
        let m = format!("{:^width$}", mark(cell));
        let code = match cell {
          Cell::Ok => "32",
          Cell::Absent => "2",
          _ => "31",
        };
        let _ = write!(line, "  {}", paint(&m, code, color));
      }
      let _ = writeln!(s, "{}", line.trim_end());
    }
    for row in &matrix.rows {
      // Consumers that saw the same wrong value share a line.
      let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
      for (c, cell) in matrix.consumers.iter().zip(&row.cells) {
        let seen = match cell {
          Cell::Wrong { seen } | Cell::Broken { seen } => seen.as_str(),
          Cell::Ok | Cell::Absent | Cell::Skipped { .. } => continue,
        };
        match groups.iter_mut().find(|(s, _)| *s == seen) {
          Some((_, consumers)) => consumers.push(c),
          None => groups.push((seen, vec![c])),
        }
      }
      let fix = if row.pending && run.outcome().is_none() {
        "a pending change addresses it"
      } else {
        "no pending change addresses it"
      };
      for (seen, consumers) in groups {
        let _ = writeln!(
          s,
          "  {} {} under {}: saw {:?}, want {:?} ({}; {fix})",
          paint("✗", "31", color),
          row.label,
          consumers.join(", "),
          shown(run, row, seen),
          shown(run, row, &row.expect.wanted()),
          row.resource
        );
      }
      if let Some(advice) = &row.advice {
        let _ = writeln!(s, "    fix: {advice}");
      }
    }
    host_rows(&mut s, run, matrix, label_width, color);
    let failures = matrix.failures();
    let _ = writeln!(
      s,
      "  {}\n",
      if failures == 0 {
        paint("every cell holds", "32", color)
      } else {
        paint(&format!("{failures} cell{} fail", if failures == 1 { "" } else { "s" }), "31", color)
      }
    );
  }
  let holding = runs.iter().filter(|r| r.verify().is_some_and(Matrix::holds)).count();
  let _ = writeln!(
    s,
    "Verified {} host{}: {holding} hold, {} do not. (✓ holds, ✗ wrong value, – consumer absent, ? no answer, · skipped)",
    runs.len(),
    if runs.len() == 1 { "" } else { "s" },
    runs.len() - holding
  );
  all_secrets(runs).redact(&s)
}

/// The facts of the host, a mark each, then what fails or was skipped.
fn host_rows(s: &mut String, run: &HostRun, matrix: &Matrix, label_width: usize, color: bool) {
  if matrix.host_rows.is_empty() {
    return;
  }
  let _ = writeln!(s, "  {:label_width$}  host", "");
  for row in &matrix.host_rows {
    let Some(cell) = row.cells.first() else { continue };
    let label: String = row.label.chars().take(label_width).collect();
    let code = match cell {
      Cell::Ok => "32",
      Cell::Absent | Cell::Skipped { .. } => "2",
      _ => "31",
    };
    let detail = row.detail.as_ref().map(|d| format!("  ({d})")).unwrap_or_default();
    let mark = paint(mark(cell).trim(), code, color);
    let _ = writeln!(s, "  {label:label_width$}   {mark}{detail}");
  }
  for row in &matrix.host_rows {
    match row.cells.first() {
      Some(Cell::Wrong { seen } | Cell::Broken { seen }) => {
        let _ = writeln!(
          s,
          "  {} {}: saw {:?}, want {:?} ({})",
          paint("✗", "31", color),
          row.label,
          shown(run, row, seen),
          shown(run, row, &row.expect.wanted()),
          row.resource
        );
        if let Some(advice) = &row.advice {
          let _ = writeln!(s, "    fix: {advice}");
        }
      }
      Some(Cell::Skipped { note }) => {
        let _ = writeln!(s, "  · {}: skipped, {note}", row.label);
      }
      _ => {}
    }
  }
}

/// `converge verify --format json` (and `verify` inside a run's document).
#[derive(Debug, serde::Serialize)]
pub struct VerifyReport {
  pub format_version: u32,
  pub summary: VerifySummary,
  pub hosts: Vec<VerifyHost>,
}

/// Hosts where every cell holds, and the others.
#[derive(Debug, serde::Serialize)]
pub struct VerifySummary {
  pub hosts: usize,
  pub holding: usize,
  pub failing: usize,
}

/// One host's matrix, or why it has none.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum VerifyHost {
  NotVerified {
    host: String,
    holds: bool,
    error: String,
  },
  Verified {
    host: String,
    holds: bool,
    /// The login user and their login shell.
    user: String,
    shell: String,
    /// Why the matrix is empty (the verify script failed).
    error: Option<String>,
    failures: usize,
    consumers: Vec<String>,
    rows: Vec<VerifyRow>,
    /// Facts of the host (sysctl, SELinux, VS Code settings, a stale server):
    /// one cell each, under `host`.
    host_rows: Vec<VerifyRow>,
    /// The user's running VS Code server processes: pid, what, start.
    servers: Vec<crate::verify::Server>,
  },
}

/// One expectation and what each consumer saw.
#[derive(Debug, serde::Serialize)]
pub struct VerifyRow {
  pub label: String,
  pub resource: String,
  /// What the resource declares (values masked when `sensitive`).
  pub expect: serde_json::Value,
  /// The plan has a change for this resource that was not applied.
  pub pending_change: bool,
  /// Per consumer: `ok`, `wrong` (with `seen`), `absent`, `broken`, `skipped` (with `note`).
  pub cells: serde_json::Map<String, serde_json::Value>,
  /// What fixes a failing cell, when converge knows.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub advice: Option<String>,
  /// What was measured for a fact of the host that holds (a probe's status and latency).
  #[serde(skip_serializing_if = "Option::is_none")]
  pub detail: Option<String>,
}

impl VerifyReport {
  pub fn new(runs: &[HostRun]) -> VerifyReport {
    let holding = runs.iter().filter(|r| r.verify().is_some_and(Matrix::holds)).count();
    VerifyReport {
      format_version: FORMAT_VERSION,
      summary: VerifySummary { hosts: runs.len(), holding, failing: runs.len() - holding },
      hosts: runs.iter().map(verify_host).collect(),
    }
  }
}

fn verify_host(run: &HostRun) -> VerifyHost {
  let Some(m) = run.verify() else {
    return VerifyHost::NotVerified {
      host: run.host().to_owned(),
      holds: false,
      error: run.error().map_or_else(|| "not verified".to_owned(), |e| e.to_string()),
    };
  };
  let host = [crate::verify::HOST.to_owned()];
  let json_row = |row: &Row, consumers: &[String]| {
    let mut expect = json!(row.expect);
    let mut cells: serde_json::Map<String, serde_json::Value> =
      consumers.iter().zip(&row.cells).map(|(c, cell)| (c.clone(), json!(cell))).collect();
    if sensitive(run, row) {
      hide_values(&mut expect);
      cells.values_mut().for_each(hide_values);
    }
    VerifyRow {
      label: row.label.clone(),
      resource: row.resource.clone(),
      expect,
      pending_change: row.pending && run.outcome().is_none(),
      cells,
      advice: row.advice.clone(),
      detail: row.detail.clone(),
    }
  };
  let rows = m.rows.iter().map(|r| json_row(r, &m.consumers)).collect();
  let host_rows = m.host_rows.iter().map(|r| json_row(r, &host)).collect();
  VerifyHost::Verified {
    host: run.host().to_owned(),
    holds: m.holds(),
    user: m.user.clone(),
    shell: m.shell.clone(),
    error: m.error.clone(),
    failures: m.failures(),
    consumers: m.consumers.clone(),
    rows,
    host_rows,
    servers: m.servers.clone(),
  }
}

/// The matrices as JSON, sensitive values masked.
pub fn json(runs: &[HostRun]) -> serde_json::Value {
  let mut doc = serde_json::to_value(VerifyReport::new(runs)).unwrap_or_default();
  all_secrets(runs).redact_json(&mut doc);
  doc
}

/// Masks the values (`value`, `seen`) of a serialized expectation or cell.
fn hide_values(value: &mut serde_json::Value) {
  if let Some(map) = value.as_object_mut() {
    for (key, v) in map.iter_mut() {
      if matches!(key.as_str(), "value" | "seen") {
        *v = json!(MASK);
      } else {
        hide_values(v);
      }
    }
  }
}

/// The matrices as markdown tables.
pub fn markdown(runs: &[HostRun]) -> String {
  let mut s = String::from("## converge verify\n\n");
  for run in runs {
    let _ = writeln!(s, "### `{}`\n", run.host());
    let Some(m) = run.verify() else {
      let _ = writeln!(
        s,
        "not verified: {}\n",
        run.error().map_or_else(|| "no matrix".to_owned(), |e| e.to_string())
      );
      continue;
    };
    if let Some(e) = &m.error {
      let _ = writeln!(s, "not verified: {e}\n");
      continue;
    }
    let _ = writeln!(s, "| expectation | {} |", m.consumers.join(" | "));
    let _ = writeln!(s, "| --- |{}", " :-: |".repeat(m.consumers.len()));
    for row in &m.rows {
      let cells: Vec<String> = row
        .cells
        .iter()
        .map(|c| match c {
          Cell::Wrong { seen } | Cell::Broken { seen } => {
            format!("✗ `{}`", shown(run, row, seen).replace('|', "\\|"))
          }
          other => mark(other).to_owned(),
        })
        .collect();
      let _ = writeln!(s, "| {} | {} |", row.label.replace('|', "\\|"), cells.join(" | "));
    }
    if !m.host_rows.is_empty() {
      let _ = writeln!(s, "\n| fact of the host | state |\n| --- | :-: |");
      for row in &m.host_rows {
        let cell = match row.cells.first() {
          Some(Cell::Wrong { seen } | Cell::Broken { seen }) => {
            format!("✗ `{}`", shown(run, row, seen).replace('|', "\\|"))
          }
          Some(Cell::Skipped { note }) => format!("· {note}"),
          Some(other) => {
            mark(other).to_owned() + &row.detail.as_ref().map(|d| format!(" {d}")).unwrap_or_default()
          }
          None => String::new(),
        };
        let _ = writeln!(s, "| {} | {cell} |", row.label.replace('|', "\\|"));
      }
    }
    s.push('\n');
  }
  all_secrets(runs).redact(&s)
}
