//! Showing a plan: for people (per resource `+ create`, `~ update`,
//! `- remove`, unified diffs, colour on a terminal), as versioned JSON, and as
//! markdown for a pull-request comment. Values of resources marked `sensitive`
//! are shown as `(sensitive)`.

use crate::apply::StepOutcome;
use crate::change::{Change, FileState};
use crate::fleet::{HostRun, Status};
use crate::planner::{HostPlan, Step};
use serde_json::json;
use std::fmt::Write;

/// The JSON document's schema version; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
  Create,
  Update,
  Remove,
  None,
}

impl Action {
  pub fn of(step: &Step) -> Action {
    if step.changes.is_empty() {
      return Action::None;
    }
    let writes_new = step.changes.iter().all(|c| matches!(c, Change::Write { before: None, .. }));
    let removes = step.changes.iter().all(|c| matches!(c, Change::Remove { .. }));
    if writes_new {
      Action::Create
    } else if removes {
      Action::Remove
    } else {
      Action::Update
    }
  }

  fn sign(self) -> &'static str {
    match self {
      Action::Create => "+",
      Action::Update => "~",
      Action::Remove => "-",
      Action::None => " ",
    }
  }

  fn word(self) -> &'static str {
    match self {
      Action::Create => "create",
      Action::Update => "update",
      Action::Remove => "remove",
      Action::None => "none",
    }
  }
}

/// Counts of create / update / remove over hosts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
  pub create: usize,
  pub update: usize,
  pub remove: usize,
  pub failed: usize,
}

impl Counts {
  pub fn of<'a>(plans: impl IntoIterator<Item = &'a HostPlan>) -> Counts {
    let mut c = Counts::default();
    for plan in plans {
      c.failed += usize::from(plan.error.is_some());
      for step in &plan.steps {
        c.failed += usize::from(step.failed());
        match Action::of(step) {
          Action::Create => c.create += 1,
          Action::Update => c.update += 1,
          Action::Remove => c.remove += 1,
          Action::None => {}
        }
      }
    }
    c
  }

  pub fn changes(&self) -> usize {
    self.create + self.update + self.remove
  }
}

fn paint(text: &str, code: &str, color: bool) -> String {
  if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
}

/// A unified diff of two file states, or a note when they are not text.
pub fn diff(before: Option<&FileState>, after: Option<&FileState>, path: &str) -> String {
  let old = before.map_or(&[][..], |f| &f.data[..]);
  let new = after.map_or(&[][..], |f| &f.data[..]);
  if old == new {
    return String::new();
  }
  let (Ok(old_text), Ok(new_text)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
    let short = |data: &[u8]| blake3::hash(data).to_hex()[..12].to_owned();
    return format!(
      "(binary: {} bytes, blake3 {} -> {} bytes, blake3 {})\n",
      old.len(),
      short(old),
      new.len(),
      short(new)
    );
  };
  let diff = similar::TextDiff::from_lines(old_text, new_text);
  let from = if before.is_some() { path.to_owned() } else { "/dev/null".to_owned() };
  let to = if after.is_some() { path.to_owned() } else { "/dev/null".to_owned() };
  let mut out = diff.unified_diff().context_radius(3).header(&from, &to).to_string();
  if !out.ends_with('\n') {
    out.push('\n');
  }
  out
}

fn fields(before: Option<&FileState>, after: &FileState) -> Vec<String> {
  let mut out = Vec::new();
  let old_mode = before.and_then(|b| b.mode);
  if after.mode.is_some() && after.mode != old_mode {
    let show = |m: Option<u32>| m.map_or("(none)".to_owned(), |m| format!("{m:04o}"));
    out.push(format!("mode: {} -> {}", show(old_mode), show(after.mode)));
  }
  let old_owner = before.and_then(|b| b.owner.clone());
  if after.owner.is_some() && after.owner != old_owner {
    out.push(format!(
      "owner: {} -> {}",
      old_owner.unwrap_or_else(|| "(none)".to_owned()),
      after.owner.clone().unwrap_or_default()
    ));
  }
  out
}

/// The plan for people.
pub fn human(runs: &[HostRun], color: bool) -> String {
  let mut s = String::new();
  let plans: Vec<&HostPlan> = runs.iter().map(|r| &r.plan).collect();
  for plan in plans.iter().copied() {
    let counts = Counts::of([plan]);
    let _ = writeln!(s, "{}", paint(&plan.host, "1", color));
    if let Some(error) = &plan.error {
      let _ = writeln!(s, "  {} {error}", paint("!", "31", color));
    }
    for step in &plan.steps {
      let action = Action::of(step);
      if step.failed() {
        for e in &step.errors {
          let _ = writeln!(s, "  {} {}: {}", paint("!", "31", color), step.name, e.message);
          if let Some(help) = &e.help {
            let _ = writeln!(s, "      help: {help}");
          }
        }
        continue;
      }
      for note in &step.notes {
        let _ = writeln!(s, "  {} {}: {note}", paint("·", "2", color), step.name);
      }
      if action == Action::None {
        continue;
      }
      let code = match action {
        Action::Create => "32",
        Action::Remove => "31",
        _ => "33",
      };
      let notified = if step.notified_by.is_empty() {
        String::new()
      } else {
        format!(" (notified by {})", step.notified_by.join(", "))
      };
      let _ = writeln!(s, "  {} {}{notified}", paint(action.sign(), code, color), step.name);
      for change in &step.changes {
        for line in change_lines(change, step.sensitive, color) {
          let _ = writeln!(s, "      {line}");
        }
      }
    }
    if counts.changes() == 0 && plan.error.is_none() && !plan.failed() {
      let _ = writeln!(s, "  no changes");
    }
  }
  let c = Counts::of(plans.iter().copied());
  let _ = writeln!(
    s,
    "Plan: {} to create, {} to update, {} to remove on {} host{}{}.",
    c.create,
    c.update,
    c.remove,
    plans.len(),
    if plans.len() == 1 { "" } else { "s" },
    if c.failed > 0 { format!("; {} failed", c.failed) } else { String::new() }
  );
  s
}

fn change_lines(change: &Change, sensitive: bool, color: bool) -> Vec<String> {
  match change {
    Change::Write { path, before, after, .. } => {
      let mut out = fields(before.as_ref(), after);
      if sensitive {
        out.insert(0, format!("{path}: (sensitive)"));
      } else {
        for line in diff(before.as_ref(), Some(after), path).lines() {
          out.push(color_diff_line(line, color));
        }
      }
      out
    }
    Change::Remove { path, before, .. } => {
      if sensitive {
        vec![format!("{path}: (sensitive)")]
      } else {
        diff(Some(before), None, path).lines().map(|l| color_diff_line(l, color)).collect()
      }
    }
    Change::Run { summary, .. } => vec![format!("run: {}", if sensitive { "(sensitive)" } else { summary })],
  }
}

fn color_diff_line(line: &str, color: bool) -> String {
  if line.starts_with("+++") || line.starts_with("---") {
    paint(line, "1", color)
  } else if line.starts_with('+') {
    paint(line, "32", color)
  } else if line.starts_with('-') {
    paint(line, "31", color)
  } else if line.starts_with("@@") {
    paint(line, "36", color)
  } else {
    line.to_owned()
  }
}

fn change_json(change: &Change, sensitive: bool) -> serde_json::Value {
  let sha = |f: Option<&FileState>| f.map(|f| f.hash().to_hex().to_string());
  match change {
    Change::Write { path, before, after, system } => json!({
      "type": "write",
      "path": path,
      "system": system,
      "before_blake3": sha(before.as_ref()),
      "after_blake3": sha(Some(after)),
      "mode_before": before.as_ref().and_then(|b| b.mode).map(|m| format!("{m:04o}")),
      "mode_after": after.mode.map(|m| format!("{m:04o}")),
      "owner_before": before.as_ref().and_then(|b| b.owner.clone()),
      "owner_after": after.owner,
      "diff": if sensitive { "(sensitive)".to_owned() } else { diff(before.as_ref(), Some(after), path) },
    }),
    Change::Remove { path, before, system } => json!({
      "type": "remove",
      "path": path,
      "system": system,
      "before_blake3": sha(Some(before)),
      "diff": if sensitive { "(sensitive)".to_owned() } else { diff(Some(before), None, path) },
    }),
    Change::Run { summary, system, .. } => json!({
      "type": "run",
      "summary": if sensitive { "(sensitive)" } else { summary },
      "system": system,
    }),
  }
}

/// The plan (and, applying, the results) as JSON (schema [`FORMAT_VERSION`]).
pub fn json(runs: &[HostRun], applied: bool) -> serde_json::Value {
  let c = Counts::of(runs.iter().map(|r| &r.plan));
  let hosts: Vec<serde_json::Value> = runs
    .iter()
    .map(|run| {
      let plan = &run.plan;
      let outcome = run.outcome.as_ref();
      json!({
        "host": plan.host,
        "status": run.status,
        "duration_ms": u64::try_from(run.duration.as_millis()).unwrap_or(u64::MAX),
        "connections": run.stats.connections,
        "channels": run.stats.channels,
        "facts_blake3": plan.facts_hash,
        "error": plan.error.as_ref().or(outcome.and_then(|o| o.error.as_ref())),
        "steps": plan.steps.iter().map(|step| {
          let result = outcome.and_then(|o| o.steps.iter().find(|(n, _)| *n == step.name)).map(|(_, r)| match r {
            StepOutcome::Unchanged => json!({"status": "unchanged"}),
            StepOutcome::Changed => json!({"status": "changed"}),
            StepOutcome::Failed(why) => json!({"status": "failed", "reason": why}),
            StepOutcome::Skipped(why) => json!({"status": "skipped", "reason": why}),
          });
          json!({
            "name": step.name,
            "kind": step.kind,
            "action": Action::of(step).word(),
            "notified_by": step.notified_by,
            "notes": step.notes,
            "errors": step.errors.iter().map(|e| json!({"code": e.code.as_str(), "message": e.message, "help": e.help})).collect::<Vec<_>>(),
            "changes": step.changes.iter().map(|ch| change_json(ch, step.sensitive)).collect::<Vec<_>>(),
            "result": result,
          })
        }).collect::<Vec<_>>(),
      })
    })
    .collect();
  let count = |status: Status| runs.iter().filter(|r| r.status == status).count();
  json!({
    "format_version": FORMAT_VERSION,
    "applied": applied,
    "summary": {
      "create": c.create, "update": c.update, "remove": c.remove, "failed": c.failed, "hosts": runs.len(),
      "ok": count(Status::Ok), "changed": count(Status::Changed),
      "hosts_failed": count(Status::Failed), "unreachable": count(Status::Unreachable),
    },
    "hosts": hosts,
  })
}

/// The end of a run for people: each host's status, changes, duration and
/// connections, then what failed.
pub fn summary(runs: &[HostRun], applied: bool, color: bool) -> String {
  let mut s = String::new();
  let width = runs.iter().map(|r| r.plan.host.len()).max().unwrap_or(4).max(4);
  let _ = writeln!(s, "\n{:width$}  {:11}  {:>7}  {:>8}  CONN/CHAN", "HOST", "STATUS", "CHANGES", "TIME");
  for run in runs {
    let changes = match &run.outcome {
      Some(o) => o.changed(),
      None => run.plan.change_count(),
    };
    let code = match run.status {
      Status::Ok => "32",
      Status::Changed => "33",
      Status::Failed | Status::Unreachable => "31",
    };
    let word = format!("{:11}", run.status.word());
    let _ = writeln!(
      s,
      "{:width$}  {}  {changes:>7}  {:>7.2}s  {}/{}",
      run.plan.host,
      paint(&word, code, color),
      run.duration.as_secs_f64(),
      run.stats.connections,
      run.stats.channels
    );
  }
  for run in runs {
    let error = run.outcome.as_ref().and_then(|o| o.error.as_ref());
    if let Some(e) = error.filter(|_| run.plan.error.is_none()) {
      let _ = writeln!(s, "{}: {} {e}", run.plan.host, paint("!", "31", color));
    }
    if run.status == Status::Unreachable {
      if let Some(e) = &run.plan.error {
        let _ = writeln!(s, "{}: {} {e}", run.plan.host, paint("!", "31", color));
      }
    }
    for (name, result) in run.outcome.iter().flat_map(|o| o.steps.iter()) {
      if let StepOutcome::Failed(why) | StepOutcome::Skipped(why) = result {
        let _ = writeln!(s, "{}: {} {name}: {why}", run.plan.host, paint("!", "31", color));
      }
    }
  }
  let count = |status: Status| runs.iter().filter(|r| r.status == status).count();
  let _ = writeln!(
    s,
    "{} {} host{}: {} ok, {} changed, {} failed, {} unreachable.",
    if applied { "Applied to" } else { "Planned" },
    runs.len(),
    if runs.len() == 1 { "" } else { "s" },
    count(Status::Ok),
    count(Status::Changed),
    count(Status::Failed),
    count(Status::Unreachable)
  );
  s
}

/// The plan as markdown, for a pull-request comment.
pub fn markdown(runs: &[HostRun]) -> String {
  let plans: Vec<&HostPlan> = runs.iter().map(|r| &r.plan).collect();
  let c = Counts::of(plans.iter().copied());
  let mut s = String::from(
    "## converge plan\n\n| host | create | update | remove | failed |\n| --- | ---: | ---: | ---: | ---: |\n",
  );
  for plan in plans.iter().copied() {
    let h = Counts::of([plan]);
    let _ = writeln!(s, "| `{}` | {} | {} | {} | {} |", plan.host, h.create, h.update, h.remove, h.failed);
  }
  let _ = writeln!(s, "| **total** | {} | {} | {} | {} |\n", c.create, c.update, c.remove, c.failed);
  for plan in plans.iter().copied() {
    if plan.change_count() == 0 && !plan.failed() {
      continue;
    }
    let _ = writeln!(s, "<details><summary><code>{}</code></summary>\n", plan.host);
    if let Some(e) = &plan.error {
      let _ = writeln!(s, "**error:** {e}\n");
    }
    for step in &plan.steps {
      for e in &step.errors {
        let _ = writeln!(s, "- **{}**: {}", step.name, e.message);
      }
      if step.changes.is_empty() {
        continue;
      }
      let _ = writeln!(s, "#### {} `{}`\n\n```diff", Action::of(step).sign(), step.name);
      for change in &step.changes {
        for line in change_lines(change, step.sensitive, false) {
          let _ = writeln!(s, "{line}");
        }
      }
      let _ = writeln!(s, "```\n");
    }
    let _ = writeln!(s, "</details>\n");
  }
  s
}
