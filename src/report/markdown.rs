//! A plan as markdown for a pull-request comment: a table of counts per host,
//! then the changes, hosts with identical changes in one collapsible section,
//! folded to stay under GitHub's comment limit.

use crate::fleet::HostRun;
use crate::report::plan::{Action, Counts, Labels, all_secrets, change_lines, host_counts, total_counts};
use std::fmt::Write;

/// GitHub refuses comments longer than 65,536 characters; the markdown stays
/// under this, with room for a workflow's own heading.
pub const MARKDOWN_LIMIT: usize = 65_000;

/// One collapsible section of the markdown: the hosts whose changes read the
/// same, and those changes.
struct Section {
  hosts: Vec<String>,
  counts: Counts,
  body: String,
  /// The changed resources, for the folded form.
  resources: Vec<String>,
}

impl Section {
  fn title(&self) -> String {
    let names: Vec<String> = self.hosts.iter().take(8).map(|h| format!("<code>{h}</code>")).collect();
    let more =
      if self.hosts.len() > 8 { format!(" and {} more", self.hosts.len() - 8) } else { String::new() };
    let c = self.counts;
    let failed = if c.failed > 0 { format!(", {} failed", c.failed) } else { String::new() };
    format!("{}{more}: +{} ~{} -{}{failed}", names.join(", "), c.create, c.update, c.remove)
  }

  fn full(&self) -> String {
    format!("<details><summary>{}</summary>\n\n{}</details>\n\n", self.title(), self.body)
  }

  fn folded(&self, lines: usize) -> String {
    format!(
      "<details><summary>{} (diff folded)</summary>\n\n{lines} lines of diff are folded to keep this comment under GitHub's limit; the plan file and the job log have them. Changes: {}.\n\n</details>\n\n",
      self.title(),
      self.resources.join(", ")
    )
  }
}

/// The plan as markdown, for a pull-request comment: a summary table, then
/// per host (hosts with the same changes share one section) a collapsible
/// diff. When the whole would pass [`MARKDOWN_LIMIT`], the largest diffs are
/// folded first; the summary always stays.
pub fn markdown(runs: &[HostRun], plan_hash: Option<&str>) -> String {
  all_secrets(runs).redact(&markdown_within(runs, plan_hash, MARKDOWN_LIMIT))
}

fn markdown_within(runs: &[HostRun], plan_hash: Option<&str>, limit: usize) -> String {
  let c = total_counts(runs);
  let labels = Labels::of(runs.iter().filter_map(HostRun::plan));
  let mut head = String::from("## converge plan\n\n");
  let _ = writeln!(
    head,
    "**{} host{}**: {} to create, {} to update, {} to remove ({} drift, {} intent, {} new){}.\n",
    runs.len(),
    if runs.len() == 1 { "" } else { "s" },
    c.create,
    c.update,
    c.remove,
    labels.drift,
    labels.intent,
    labels.new,
    if c.failed > 0 { format!("; **{} failed**", c.failed) } else { String::new() }
  );
  if let Some(hash) = plan_hash {
    let _ = writeln!(head, "Plan file blake3: `{hash}` (compare with `b3sum PLAN`).\n");
  }
  // The table: hosts with something to say, then one row for the rest.
  let mut table = String::from(
    "| host | create | update | remove | drift | intent | new | failed |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
  );
  let busy_run = |r: &HostRun| r.changes() > 0 || host_counts(r).failed > 0 || r.error().is_some();
  let quiet = runs.iter().filter(|r| !busy_run(r)).count();
  let busy: Vec<&HostRun> = runs.iter().filter(|r| busy_run(r)).collect();
  let row_budget = limit / 3;
  let mut shown = 0;
  for run in &busy {
    let h = host_counts(run);
    let l = Labels::of(run.plan());
    let row = format!(
      "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
      run.host(),
      h.create,
      h.update,
      h.remove,
      l.drift,
      l.intent,
      l.new,
      h.failed
    );
    if table.len() + row.len() > row_budget {
      break;
    }
    table.push_str(&row);
    shown += 1;
  }
  if shown < busy.len() {
    let _ = writeln!(
      table,
      "| *{} more hosts with changes (in the plan file)* | | | | | | | |",
      busy.len() - shown
    );
  }
  if quiet > 0 {
    let _ =
      writeln!(table, "| *{quiet} host{} without changes* | 0 | 0 | 0 | 0 | 0 | 0 | 0 |", plural_s(quiet));
  }
  let _ = writeln!(
    table,
    "| **total** | {} | {} | {} | {} | {} | {} | {} |\n",
    c.create, c.update, c.remove, labels.drift, labels.intent, labels.new, c.failed
  );

  // Sections, hosts with identical changes together.
  let mut sections: Vec<Section> = Vec::new();
  for run in &busy {
    let body = host_markdown(run);
    if let Some(section) = sections.iter_mut().find(|s| s.body == body) {
      section.hosts.push(run.host().to_owned());
      continue;
    }
    let resources = run
      .plan()
      .iter()
      .flat_map(|p| p.steps.iter())
      .filter(|s| !s.changes.is_empty() || s.failed())
      .map(|s| format!("`{}`", s.name))
      .collect();
    sections.push(Section { hosts: vec![run.host().to_owned()], counts: host_counts(run), body, resources });
  }
  let mut rendered: Vec<String> = sections.iter().map(Section::full).collect();
  let fixed = head.len() + table.len() + 200;
  let total = |r: &[String]| fixed + r.iter().map(String::len).sum::<usize>();
  // Fold the largest first until it fits.
  let mut order: Vec<usize> = (0..sections.len()).collect();
  order.sort_by_key(|&i| std::cmp::Reverse(rendered[i].len()));
  for &i in &order {
    if total(&rendered) <= limit {
      break;
    }
    let section = &sections[i];
    let folded = section.folded(section.body.lines().count());
    rendered[i] = if folded.len() < rendered[i].len() { folded } else { rendered[i].clone() };
  }
  // Still too long (thousands of distinct hosts): keep what fits.
  let mut out = head + &table;
  let mut omitted = 0;
  for section in rendered {
    if out.len() + section.len() + 200 > limit {
      omitted += 1;
      continue;
    }
    out.push_str(&section);
  }
  if omitted > 0 {
    let _ = writeln!(
      out,
      "_{omitted} more sections are left out to stay under GitHub's comment limit; the plan file has them._"
    );
  }
  out
}

fn plural_s(n: usize) -> &'static str {
  if n == 1 { "" } else { "s" }
}

/// One host's changes in markdown.
fn host_markdown(run: &HostRun) -> String {
  let mut s = String::new();
  if let Some(e) = run.error() {
    let _ = writeln!(s, "**error** (`{}`): {e}\n", e.code().as_str());
  }
  let Some(plan) = run.plan() else { return s };
  for step in &plan.steps {
    for e in &step.errors {
      let _ = writeln!(s, "- **{}**: {}", step.name, e.message);
    }
    if step.changes.is_empty() {
      continue;
    }
    let label = step.label.map_or(String::new(), |l| format!(" ({})", l.word()));
    let _ = writeln!(s, "#### {} `{}`{label}\n\n```diff", Action::of(step).sign(), step.name);
    for change in &step.changes {
      for line in change_lines(change, step.sensitive, &plan.secrets, false) {
        let _ = writeln!(s, "{}", line.replace("```", "`\u{200b}``"));
      }
    }
    let _ = writeln!(s, "```\n");
  }
  s
}
