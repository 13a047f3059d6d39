//! What `converge enforce` leaves behind for people and monitoring: a JSON
//! report of the run (the plan document with each change's label and result,
//! per-host status, durations and connections) and a Prometheus textfile for
//! node_exporter's textfile collector. Both are written atomically, so a
//! scraper or a reader never sees half a file.

use crate::fleet::{HostRun, Status};
use crate::report::document::{EnforceReport, RunReport};
use crate::report::plan::Labels;
use std::fmt::Write;
use std::time::Duration;

/// The JSON report: the applied run plus when, how long and from which commit.
pub fn json(
  report: &RunReport,
  runs: &[HostRun],
  started: u64,
  duration: Duration,
  commit: Option<&str>,
) -> serde_json::Value {
  EnforceReport {
    run: report,
    kind: "converge-report",
    started,
    duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
    ok: !runs.iter().any(|r| r.status().failed()),
    commit: commit.map(str::to_owned),
  }
  .to_json()
}

/// A label value in the text format: backslash, double quote and newline escaped.
fn label_value(s: &str) -> String {
  s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The Prometheus text format (0.0.4) of a run.
pub fn metrics(runs: &[HostRun], finished: u64, duration: Duration) -> String {
  let mut s = String::new();
  let family = |s: &mut String, name: &str, help: &str| {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge");
  };
  family(&mut s, "converge_hosts", "Hosts of the last converge enforce run, by how their run ended.");
  for status in Status::ALL {
    let n = runs.iter().filter(|r| r.status() == status).count();
    let _ = writeln!(s, "converge_hosts{{status=\"{}\"}} {n}", status.word());
  }
  let labels = Labels::of(runs.iter().filter_map(HostRun::plan));
  family(&mut s, "converge_changes", "Resources the last run had to change, by why: drift, intent or new.");
  for (label, n) in [("drift", labels.drift), ("intent", labels.intent), ("new", labels.new)] {
    let _ = writeln!(s, "converge_changes{{label=\"{label}\"}} {n}");
  }
  family(&mut s, "converge_drift_resources", "Resources found drifted from what converge last applied.");
  let _ = writeln!(s, "converge_drift_resources {}", labels.drift);
  family(&mut s, "converge_run_duration_seconds", "Wall time of the last run.");
  let _ = writeln!(s, "converge_run_duration_seconds {:.3}", duration.as_secs_f64());
  family(
    &mut s,
    "converge_last_run_timestamp_seconds",
    "When the last run finished, in seconds since the epoch.",
  );
  let _ = writeln!(s, "converge_last_run_timestamp_seconds {finished}");
  family(&mut s, "converge_last_run_success", "1 when no host failed or was unreachable in the last run.");
  let _ = writeln!(s, "converge_last_run_success {}", u8::from(!runs.iter().any(|r| r.status().failed())));
  family(&mut s, "converge_host_up", "1 when the host was reached and converged without failure.");
  for run in runs {
    let up = u8::from(!run.status().failed());
    let _ = writeln!(s, "converge_host_up{{host=\"{}\"}} {up}", label_value(run.host()));
  }
  family(&mut s, "converge_host_drift_resources", "Resources found drifted on the host.");
  for run in runs {
    let n = Labels::of(run.plan()).drift;
    let _ = writeln!(s, "converge_host_drift_resources{{host=\"{}\"}} {n}", label_value(run.host()));
  }
  family(&mut s, "converge_host_duration_seconds", "Wall time of the host's run.");
  for run in runs {
    let _ = writeln!(
      s,
      "converge_host_duration_seconds{{host=\"{}\"}} {:.3}",
      label_value(run.host()),
      run.duration().as_secs_f64()
    );
  }
  verify_metrics(&mut s, runs);
  s
}

/// With `--verify`: per host and consumer, the cells that hold and those that
/// fail (the host's own facts under `consumer="host"`), and whether every cell
/// of the host holds.
fn verify_metrics(s: &mut String, runs: &[HostRun]) {
  if !runs.iter().any(|r| r.verify().is_some()) {
    return;
  }
  let family = |s: &mut String, name: &str, help: &str| {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge");
  };
  family(
    s,
    "converge_verify_cells",
    "Cells of the verify matrix after the last run, by host, consumer and state.",
  );
  for run in runs {
    let Some(matrix) = run.verify() else { continue };
    let host = label_value(run.host());
    for (consumer, ok, failed) in matrix.cells_by_consumer() {
      let consumer = label_value(&consumer);
      for (state, n) in [("ok", ok), ("failed", failed)] {
        let _ = writeln!(
          s,
          "converge_verify_cells{{host=\"{host}\",consumer=\"{consumer}\",state=\"{state}\"}} {n}"
        );
      }
    }
  }
  family(s, "converge_verify_host_holds", "1 when every consumer of the host sees the declared environment.");
  for run in runs {
    let holds = u8::from(run.verify().is_some_and(crate::verify::Matrix::holds));
    let _ = writeln!(s, "converge_verify_host_holds{{host=\"{}\"}} {holds}", label_value(run.host()));
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn label_values_are_escaped() {
    assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  }
}
