//! Apply: one shell script per host that carries out a plan's changes.
//!
//! Each step runs in a subshell with `set -e`; a step whose dependencies
//! failed is skipped, independent steps still run. Files are written atomically:
//! a temporary file in the same directory, mode and owner copied from the old
//! file (or set as declared), `sync`, then `mv` over the old one. Changes to
//! system paths go through `sudo -n` when the login user is not root. Results
//! come back as nonce-framed lines, so rc-file noise cannot fake them.

use crate::change::{Change, FileState};
use crate::planner::HostPlan;
use crate::transport::Transport;
use std::fmt::Write;
use std::time::Duration;

/// How one step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
  Unchanged,
  Changed,
  Failed(String),
  Skipped(String),
}

/// How a host's apply ended.
#[derive(Debug)]
pub struct HostOutcome {
  pub host: String,
  pub steps: Vec<(String, StepOutcome)>,
  pub error: Option<String>,
}

impl HostOutcome {
  pub fn failed(&self) -> bool {
    self.error.is_some()
      || self.steps.iter().any(|(_, o)| matches!(o, StepOutcome::Failed(_) | StepOutcome::Skipped(_)))
  }

  pub fn changed(&self) -> usize {
    self.steps.iter().filter(|(_, o)| *o == StepOutcome::Changed).count()
  }
}

/// Single-quotes a string for `sh`.
pub fn quote(s: &str) -> String {
  format!("'{}'", s.replace('\'', "'\\''"))
}

fn b64(data: &[u8]) -> String {
  const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
  for chunk in data.chunks(3) {
    let n = (u32::from(chunk[0]) << 16)
      | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
      | u32::from(*chunk.get(2).unwrap_or(&0));
    for i in 0..4 {
      if i <= chunk.len() {
        out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
      } else {
        out.push('=');
      }
    }
  }
  out
}

/// The shell commands for one change. `root` prefixes every path.
fn change_script(change: &Change, root: &str) -> String {
  match change {
    Change::Write { path, after, .. } => write_script(&format!("{root}{path}"), after),
    Change::Remove { path, .. } => format!("rm -f -- {}\n", quote(&format!("{root}{path}"))),
    Change::Run { script, .. } => format!("{script}\n"),
  }
}

fn write_script(path: &str, file: &FileState) -> String {
  let p = quote(path);
  let mut s = String::new();
  let _ = writeln!(s, "p={p}; d=$(dirname -- \"$p\"); mkdir -p -- \"$d\"");
  let _ = writeln!(s, "t=$(mktemp -- \"$d/.converge.XXXXXX\")");
  let _ = writeln!(s, "trap 'rm -f -- \"$t\"' EXIT");
  let _ = writeln!(s, "printf '%s' '{}' | base64 -d > \"$t\"", b64(&file.data));
  let _ = writeln!(
    s,
    "if [ -e \"$p\" ]; then chmod --reference=\"$p\" \"$t\"; chown --reference=\"$p\" \"$t\" 2>/dev/null || true; else chmod 644 \"$t\"; fi"
  );
  if let Some(mode) = file.mode {
    let _ = writeln!(s, "chmod {mode:o} \"$t\"");
  }
  if let Some(owner) = &file.owner {
    let _ = writeln!(s, "chown {} \"$t\"", quote(owner));
  }
  let _ = writeln!(s, "sync -- \"$t\" 2>/dev/null || true");
  let _ = writeln!(s, "mv -f -- \"$t\" \"$p\"; trap - EXIT");
  s
}

/// The whole apply script of a host.
pub fn script(plan: &HostPlan, root: &str, nonce: &str) -> String {
  let mut s = String::from("set -u\nLC_ALL=C; export LC_ALL\numask 022\n");
  if !root.is_empty() {
    // Commands of a converged tree see its home directory as theirs.
    let _ = writeln!(s, "HOME={}\"$HOME\"; export HOME", quote(root));
  }
  for (i, step) in plan.steps.iter().enumerate() {
    let _ = writeln!(s, "# step {i}: {}", step.name.replace('\n', " "));
    if step.failed() || step.changes.is_empty() {
      let _ = writeln!(s, "s{i}=ok");
      continue;
    }
    let deps: Vec<String> = step.depends_on.iter().map(|d| format!("[ \"$s{d}\" = ok ]")).collect();
    let guard = if deps.is_empty() { "true".to_owned() } else { deps.join(" && ") };
    let mut body = format!("set -e\nCONVERGE_ROOT={}\n", quote(root));
    for change in &step.changes {
      body.push_str(&change_script(change, root));
    }
    let needs_sudo = !plan.info.privileged && step.changes.iter().any(Change::system);
    let run = if needs_sudo {
      format!(
        "if ! sudo -n true 2>/dev/null; then echo 'sudo needs a password' >&2; exit 97; fi\nsudo -n sh -s <<'__CONVERGE_STEP__'\n{body}__CONVERGE_STEP__\n"
      )
    } else {
      format!("sh -s <<'__CONVERGE_STEP__'\n{body}__CONVERGE_STEP__\n")
    };
    let _ = writeln!(
      s,
      "if {guard}; then\n  if ( {run} ); then s{i}=ok; echo \"__STEP_{nonce}__ {i} changed\"; else rc=$?; s{i}=failed; echo \"__STEP_{nonce}__ {i} failed $rc\"; fi\nelse s{i}=skipped; echo \"__STEP_{nonce}__ {i} skipped\"; fi"
    );
  }
  let _ = writeln!(s, "echo \"__APPLY_DONE_{nonce}__\"");
  s
}

/// Applies a host's plan over its transport. Nothing runs when the plan stops
/// the host (a failed assertion, no facts).
pub fn apply_host(
  plan: &HostPlan,
  transport: &mut dyn Transport,
  root: &str,
  timeout: Duration,
) -> HostOutcome {
  let mut outcome = HostOutcome { host: plan.host.clone(), steps: Vec::new(), error: plan.error.clone() };
  if plan.error.is_some() {
    return outcome;
  }
  let has_changes = plan.steps.iter().any(|s| !s.changes.is_empty() && !s.failed());
  let results = if has_changes {
    let nonce =
      blake3::hash(format!("{}{:?}", plan.facts_hash, std::time::SystemTime::now()).as_bytes()).to_hex();
    let nonce = &nonce[..16];
    match transport.run_script(&script(plan, root, nonce), &[], timeout) {
      Ok(out) => {
        parse_results(&String::from_utf8_lossy(&out.stdout), &String::from_utf8_lossy(&out.stderr), nonce)
      }
      Err(e) => {
        outcome.error = Some(e.to_string());
        return outcome;
      }
    }
  } else {
    Vec::new()
  };
  for (i, step) in plan.steps.iter().enumerate() {
    let result = if step.failed() {
      StepOutcome::Failed(step.errors.first().map_or_else(String::new, |d| d.message.clone()))
    } else if step.changes.is_empty() {
      StepOutcome::Unchanged
    } else {
      results.iter().find(|(j, _)| *j == i).map_or_else(
        || StepOutcome::Failed("the apply script stopped before this step".to_owned()),
        |(_, o)| o.clone(),
      )
    };
    outcome.steps.push((step.name.clone(), result));
  }
  outcome
}

fn parse_results(stdout: &str, stderr: &str, nonce: &str) -> Vec<(usize, StepOutcome)> {
  let marker = format!("__STEP_{nonce}__ ");
  let last_error = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned();
  stdout
    .lines()
    .filter_map(|l| l.strip_prefix(&marker))
    .filter_map(|rest| {
      let mut parts = rest.split_whitespace();
      let i = parts.next()?.parse().ok()?;
      let outcome = match parts.next()? {
        "changed" => StepOutcome::Changed,
        "skipped" => StepOutcome::Skipped("a step it depends on failed".to_owned()),
        _ => {
          let rc = parts.next().unwrap_or("?");
          let why = if rc == "97" {
            "sudo needs a password; converge runs `sudo -n` only".to_owned()
          } else {
            format!("exit status {rc}: {last_error}")
          };
          StepOutcome::Failed(why)
        }
      };
      Some((i, outcome))
    })
    .collect()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn base64_matches_coreutils() {
    assert_eq!(b64(b""), "");
    assert_eq!(b64(b"a"), "YQ==");
    assert_eq!(b64(b"ab"), "YWI=");
    assert_eq!(b64(b"vm\n"), "dm0K");
  }

  #[test]
  fn quoting_survives_single_quotes() {
    assert_eq!(quote("it's"), "'it'\\''s'");
  }
}
