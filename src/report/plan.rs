//! Showing a plan for people: per resource `+ create`, `~ update`,
//! `- remove`, unified diffs, colour on a terminal (the JSON document is
//! [`crate::report::document`], the pull-request comment
//! [`crate::report::markdown`]). Values of resources marked `sensitive`
//! are shown as `(sensitive)`: their own diffs and commands, and every line of
//! any other diff, name, note or message that holds one of their values
//! ([`crate::check::secrets`]).

use crate::apply::StepOutcome;
use crate::check::secrets::Secrets;
use crate::fleet::{HostRun, Status};
use crate::plan::change::{Change, FileState};
use crate::plan::planner::{HostPlan, Step};
use std::fmt::Write;

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
    if step.removal {
      return Action::Remove;
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

  pub fn sign(self) -> &'static str {
    match self {
      Action::Create => "+",
      Action::Update => "~",
      Action::Remove => "-",
      Action::None => " ",
    }
  }

  pub fn word(self) -> &'static str {
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

/// Counts of changed resources by why they change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Labels {
  pub drift: usize,
  pub intent: usize,
  pub new: usize,
}

impl Labels {
  pub fn of<'a>(plans: impl IntoIterator<Item = &'a HostPlan>) -> Labels {
    let mut l = Labels::default();
    for step in plans.into_iter().flat_map(|p| p.steps.iter()) {
      match step.label {
        Some(crate::plan::ledger::Label::Drift) => l.drift += 1,
        Some(crate::plan::ledger::Label::Intent) => l.intent += 1,
        Some(crate::plan::ledger::Label::New) => l.new += 1,
        None => {}
      }
    }
    l
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

/// The plan for people: per host, each resource with its symbol, label and
/// diff (and, applied, what happened to it). Hosts whose changes read the same
/// are shown once, under all their names.
pub fn human(runs: &[HostRun], color: bool) -> String {
  let mut s = String::new();
  // Each host's body, and the hosts that share it (in order of first appearance).
  let mut groups: Vec<(Vec<&str>, String)> = Vec::new();
  for run in runs {
    let body = host_human(run, color);
    let shared = run.changes() > 0 && run.error().is_none();
    match groups.iter_mut().find(|(_, b)| shared && *b == body) {
      Some((hosts, _)) => hosts.push(run.host()),
      None => groups.push((vec![run.host()], body)),
    }
  }
  for (hosts, body) in &groups {
    let title = match hosts.as_slice() {
      [one] => (*one).to_owned(),
      many => format!("{} ({} hosts): same changes", host_list(many), many.len()),
    };
    let _ = writeln!(s, "{}\n{body}", paint(&title, "1", color).trim_end());
  }
  let c = total_counts(runs);
  if c.changes() > 0 || c.failed > 0 {
    let _ = writeln!(
      s,
      "{}",
      paint(
        "Symbols: + create, ~ update, - remove, ! error, · note; (drift|intent|new) says why.",
        "2",
        color
      )
    );
  }
  let _ = writeln!(
    s,
    "Plan: {} to create, {} to update, {} to remove on {} host{}{}.",
    c.create,
    c.update,
    c.remove,
    runs.len(),
    if runs.len() == 1 { "" } else { "s" },
    if c.failed > 0 { format!("; {} failed", c.failed) } else { String::new() }
  );
  all_secrets(runs).redact(&s)
}

/// Host names for a heading: the first eight, then how many more.
fn host_list(hosts: &[&str]) -> String {
  let shown: Vec<&str> = hosts.iter().take(8).copied().collect();
  match hosts.len() {
    n if n > 8 => format!("{} and {} more", shown.join(", "), n - 8),
    _ => shown.join(", "),
  }
}

/// One host's part of the plan, without its name.
fn host_human(run: &HostRun, color: bool) -> String {
  let mut s = String::new();
  let shown_error = match run {
    HostRun::Stopped(_) => run.error(),
    HostRun::Ran(r) => r.plan.error.as_ref().and_then(|_| run.error()),
  };
  if let Some(error) = &shown_error {
    let _ = writeln!(s, "  {} {error} [{}]", paint("!", "31", color), error.code().as_str());
  }
  let Some(plan) = run.plan() else { return s };
  for note in &plan.notes {
    let _ = writeln!(s, "  {} {note}", paint("·", "2", color));
  }
  for step in &plan.steps {
    let action = Action::of(step);
    if step.failed() {
      for e in &step.errors {
        let (sign, code) = (paint("!", "31", color), e.code.as_str());
        let _ = writeln!(s, "  {sign} {}: {} [{code}, {}]", step.name, e.message, step.at);
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
    let label = step.label.map_or(String::new(), |l| format!(" ({})", paint(l.word(), label_code(l), color)));
    let result = match run.outcome().and_then(|o| o.steps.iter().find(|(n, _)| *n == step.name)) {
      Some((_, StepOutcome::Changed)) => format!(": {}", paint("applied", "32", color)),
      Some((_, StepOutcome::Unchanged)) => ": unchanged".to_owned(),
      Some((_, StepOutcome::Failed(why))) => {
        format!(": {} ({})", paint("failed", "31", color), reason(plan, &step.name, why))
      }
      Some((_, StepOutcome::Skipped(why))) => {
        format!(": {} ({})", paint("skipped", "33", color), reason(plan, &step.name, why))
      }
      None => String::new(),
    };
    let _ = writeln!(s, "  {} {}{notified}{label}{result}", paint(action.sign(), code, color), step.name);
    for change in &step.changes {
      for line in change_lines(change, step.sensitive, &plan.secrets, color) {
        let _ = writeln!(s, "      {line}");
      }
    }
  }
  for warning in run.warnings() {
    let _ = writeln!(s, "  {} {warning} [W711]", paint("·", "2", color));
  }
  if Counts::of([plan]).changes() == 0 && plan.error.is_none() && !plan.failed() {
    let _ = writeln!(s, "  no changes");
  }
  s
}

fn label_code(label: crate::plan::ledger::Label) -> &'static str {
  match label {
    crate::plan::ledger::Label::Drift => "35",
    crate::plan::ledger::Label::Intent => "36",
    crate::plan::ledger::Label::New => "32",
  }
}

pub(crate) fn change_lines(change: &Change, sensitive: bool, secrets: &Secrets, color: bool) -> Vec<String> {
  match change {
    Change::Write { path, before, after, .. } => {
      let mut out = fields(before.as_ref(), after);
      if sensitive {
        out.insert(0, format!("{path}: (sensitive)"));
      } else {
        for line in secrets.redact_diff(&diff(before.as_ref(), Some(after), path)).lines() {
          out.push(color_diff_line(line, color));
        }
      }
      out
    }
    Change::Remove { path, before, .. } => {
      if sensitive {
        vec![format!("{path}: (sensitive)")]
      } else {
        secrets
          .redact_diff(&diff(Some(before), None, path))
          .lines()
          .map(|l| color_diff_line(l, color))
          .collect()
      }
    }
    Change::Run { summary, .. } => {
      vec![format!(
        "run: {}",
        if sensitive { crate::check::secrets::MASK.to_owned() } else { secrets.redact(summary) }
      )]
    }
  }
}

/// Why a step failed or was skipped, as shown: a sensitive step's reason keeps
/// its first part (`exit status 3`) only, since the rest is the command's own
/// error output.
pub fn reason(plan: &HostPlan, name: &str, why: &str) -> String {
  let sensitive = plan.steps.iter().any(|s| s.name == name && s.sensitive);
  match why.split_once(": ") {
    Some((head, _)) if sensitive => format!("{}: {}", plan.secrets.redact(head), crate::check::secrets::MASK),
    _ => plan.secrets.redact(why),
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

/// The sensitive values of every host: what no output may show.
pub fn all_secrets(runs: &[HostRun]) -> Secrets {
  let mut all = Secrets::default();
  for plan in runs.iter().filter_map(HostRun::plan) {
    all.extend(&plan.secrets);
  }
  all
}

/// A host's counts, with `failed` counting the host's own error and every
/// resource that failed planning or applying.
pub(crate) fn host_counts(run: &HostRun) -> Counts {
  Counts { failed: crate::report::document::failures(run), ..Counts::of(run.plan()) }
}

/// Counts over all hosts.
pub(crate) fn total_counts(runs: &[HostRun]) -> Counts {
  runs.iter().map(host_counts).fold(Counts::default(), |a, b| Counts {
    create: a.create + b.create,
    update: a.update + b.update,
    remove: a.remove + b.remove,
    failed: a.failed + b.failed,
  })
}

/// The end of a run for people: each host's status, changes, duration and
/// connections, then what failed.
pub fn summary(runs: &[HostRun], applied: bool, color: bool) -> String {
  let mut s = String::new();
  let width = runs.iter().map(|r| r.host().len()).max().unwrap_or(4).max(4);
  let _ = writeln!(s, "\n{:width$}  {:11}  {:>7}  {:>8}  CONN/CHAN", "HOST", "STATUS", "CHANGES", "TIME");
  for run in runs {
    let status = run.status();
    let code = match status {
      Status::Ok => "32",
      Status::Changed => "33",
      Status::Failed | Status::Unreachable | Status::Stale => "31",
    };
    let word = format!("{:11}", status.word());
    let stats = run.stats();
    let _ = writeln!(
      s,
      "{:width$}  {}  {:>7}  {:>7.2}s  {}/{}",
      run.host(),
      paint(&word, code, color),
      run.changes(),
      run.duration().as_secs_f64(),
      stats.connections,
      stats.channels
    );
  }
  for run in runs {
    // An assertion's error is shown with the plan; the rest here.
    let shown = match run {
      HostRun::Ran(r) if r.plan.error.is_some() => None,
      _ => run.error(),
    };
    if let Some(e) = shown {
      let redacted = run.plan().map_or_else(|| e.to_string(), |p| p.secrets.redact(&e.to_string()));
      let _ = writeln!(s, "{}: {} {redacted} [{}]", run.host(), paint("!", "31", color), e.code().as_str());
    }
    if let (Some(outcome), Some(plan)) = (run.outcome(), run.plan()) {
      for (name, result) in &outcome.steps {
        if let StepOutcome::Failed(why) | StepOutcome::Skipped(why) = result {
          let why = reason(plan, name, why);
          let _ = writeln!(s, "{}: {} {name}: {why}", run.host(), paint("!", "31", color));
        }
      }
    }
  }
  if applied {
    let _ = writeln!(s, "{}", apply_complete(runs));
  }
  let count = |status: Status| runs.iter().filter(|r| r.status() == status).count();
  let _ = writeln!(
    s,
    "{} {} host{}: {} ok, {} changed, {} failed, {} unreachable{}.",
    if applied { "Applied to" } else { "Planned" },
    runs.len(),
    if runs.len() == 1 { "" } else { "s" },
    count(Status::Ok),
    count(Status::Changed),
    count(Status::Failed),
    count(Status::Unreachable),
    match count(Status::Stale) {
      0 => String::new(),
      n => format!(", {n} stale"),
    }
  );
  all_secrets(runs).redact(&s)
}

/// Terraform's closing line of an apply: what happened to the resources.
fn apply_complete(runs: &[HostRun]) -> String {
  let (mut changed, mut removed, mut failed, mut skipped) = (0, 0, 0, 0);
  for run in runs {
    let (Some(outcome), Some(plan)) = (run.outcome(), run.plan()) else { continue };
    for (name, result) in &outcome.steps {
      let removes = plan.steps.iter().any(|s| s.name == *name && Action::of(s) == Action::Remove);
      match result {
        StepOutcome::Changed if removes => removed += 1,
        StepOutcome::Changed => changed += 1,
        StepOutcome::Failed(_) => failed += 1,
        StepOutcome::Skipped(_) => skipped += 1,
        StepOutcome::Unchanged => {}
      }
    }
  }
  let how = if failed > 0 || runs.iter().any(|r| r.status().failed()) {
    "Apply finished with errors"
  } else {
    "Apply complete"
  };
  format!("{how}! Resources: {changed} changed, {removed} removed, {failed} failed, {skipped} skipped.")
}
