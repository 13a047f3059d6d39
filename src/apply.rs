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
  /// The lines the apply added to the host's ledger.
  pub ledger: Vec<String>,
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
    Change::Write { path, before, after, .. } => {
      write_script(&format!("{root}{path}"), before.as_ref(), after)
    }
    Change::Remove { path, before, .. } => {
      let p = quote(&format!("{root}{path}"));
      format!("{}rm -f -- {p}\n", unchanged_since_plan(&p, Some(before), None))
    }
    Change::Run { script, .. } => format!("{script}\n"),
  }
}

/// Refuses (exit 98) when the file is neither as planned nor already as
/// wanted: someone changed it after the plan was made, and writing the plan's
/// bytes would lose their edit.
fn unchanged_since_plan(p: &str, before: Option<&FileState>, after: Option<&FileState>) -> String {
  let before = crate::ledger::sha256_of(before);
  let after = crate::ledger::sha256_of(after);
  format!(
    "cur=$(if [ -f {p} ]; then sha256sum < {p} | cut -c1-64; elif [ -e {p} ]; then echo other; else echo absent; fi)\ncase $cur in {before}|{after}) ;; *) echo \"converge: \"{p}\" changed since the plan was made; nothing written\" >&2; exit 98;; esac\n"
  )
}

fn write_script(path: &str, before: Option<&FileState>, file: &FileState) -> String {
  let p = quote(path);
  let mut s = unchanged_since_plan(&p, before, Some(file));
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

/// Settings of one host's apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
  /// Converge this directory as if it were `/`.
  pub root: String,
  pub timeout: Duration,
  /// How long to wait for another converge run's lock on the host.
  pub lock_wait: Duration,
}

/// What the script needs besides the plan.
struct Frame<'a> {
  root: &'a str,
  nonce: &'a str,
  run: &'a str,
  at: u64,
  lock_wait: Duration,
}

/// The whole apply script of a host. It takes the host's lock (another run
/// waits up to `lock_wait`, then gives up having changed nothing), runs the
/// steps, and appends what it converged to the host's ledger.
fn script(plan: &HostPlan, f: &Frame) -> String {
  let (root, nonce) = (f.root, f.nonce);
  let mut s = String::from("set -u\nLC_ALL=C; export LC_ALL\numask 022\n");
  let state_dir = quote(&format!("{root}{}", plan.info.expand(crate::ledger::HOST_DIR)));
  let _ = writeln!(
    s,
    "cv_dir={state_dir}\nif ! mkdir -p -- \"$cv_dir\" 2>/dev/null || ! ( : >> \"$cv_dir/host.lock\" ) 2>/dev/null; then echo \"__LOCK_{nonce}__ unwritable\"; exit 0; fi\nexec 9>>\"$cv_dir/host.lock\"\nif ! command -v flock >/dev/null 2>&1; then echo \"__LOCK_{nonce}__ noflock\"; exit 0; fi\nflock -w {} 9 || {{ echo \"__LOCK_{nonce}__ busy\"; exit 0; }}\necho \"start {} $(date +%s.%N) $$\" >> \"$cv_dir/log\"",
    f.lock_wait.as_secs().max(1),
    f.run
  );
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
    // The lock's descriptor is closed for the step, so nothing it starts can hold the lock.
    let _ = writeln!(
      s,
      "if {guard}; then\n  if ( {run} ) 9>&-; then s{i}=ok; echo \"__STEP_{nonce}__ {i} changed\"; else rc=$?; s{i}=failed; echo \"__STEP_{nonce}__ {i} failed $rc\"; fi\nelse s{i}=skipped; echo \"__STEP_{nonce}__ {i} skipped\"; fi"
    );
  }
  s.push_str(&ledger_script(plan, f));
  let _ = writeln!(s, "echo \"end {} $(date +%s.%N) $$\" >> \"$cv_dir/log\"", f.run);
  let _ = writeln!(s, "echo \"__APPLY_DONE_{nonce}__\"");
  s
}

/// Appends the converged resources and the sha256 of every file the plan read
/// to the host's ledger (folded first, when nobody wrote it since the facts),
/// and prints the new lines for the controller's copy.
fn ledger_script(plan: &HostPlan, f: &Frame) -> String {
  use crate::ledger::Line;
  let mut s = String::from(
    "cv_new=$(mktemp \"$cv_dir/.new.XXXXXX\")\ncv_hash() { if [ -f \"$1\" ]; then h=$(sha256sum < \"$1\" 2>/dev/null | cut -c1-64); echo \"${h:-unreadable}\"; elif [ -e \"$1\" ]; then echo other; else echo absent; fi; }\n",
  );
  for (i, step) in plan.steps.iter().enumerate() {
    if step.failed() {
      continue;
    }
    let line = Line::Resource {
      name: step.name.clone(),
      kind: step.kind.clone(),
      source: step.source.clone(),
      run: f.run.to_owned(),
      at: f.at,
    };
    let Ok(json) = serde_json::to_string(&line) else { continue };
    let _ = writeln!(s, "[ \"$s{i}\" = ok ] && printf '%s\\n' {} >> \"$cv_new\"", quote(&json));
  }
  let marker = "@SHA256@";
  for path in &plan.files {
    let line = Line::Path { path: path.clone(), sha256: marker.to_owned(), run: f.run.to_owned(), at: f.at };
    let Ok(json) = serde_json::to_string(&line) else { continue };
    let Some((head, tail)) = json.split_once(marker) else { continue };
    let _ = writeln!(
      s,
      "printf '%s%s%s\\n' {} \"$(cv_hash {})\" {} >> \"$cv_new\"",
      quote(head),
      quote(&format!("{}{path}", f.root)),
      quote(tail)
    );
  }
  let _ = writeln!(
    s,
    "cv_led=\"$cv_dir/ledger.jsonl\"; cv_out=$(mktemp \"$cv_dir/.ledger.XXXXXX\")\nif [ \"$(cv_hash \"$cv_led\")\" = {} ]; then printf '%s' '{}' | base64 -d > \"$cv_out\"; else cat \"$cv_led\" > \"$cv_out\" 2>/dev/null; fi\ncat \"$cv_new\" >> \"$cv_out\"; sync -- \"$cv_out\" 2>/dev/null; mv -f -- \"$cv_out\" \"$cv_led\"\nsed 's/^/__LEDGER_{}__ /' \"$cv_new\"; rm -f -- \"$cv_new\"",
    quote(&plan.ledger_sha256),
    b64(plan.ledger_base.as_bytes()),
    f.nonce
  );
  s
}

/// Applies a host's plan over its transport. Nothing runs when the plan stops
/// the host (a failed assertion, no facts).
pub fn apply_host(plan: &HostPlan, transport: &mut dyn Transport, options: &ApplyOptions) -> HostOutcome {
  let mut outcome =
    HostOutcome { host: plan.host.clone(), steps: Vec::new(), error: plan.error.clone(), ledger: Vec::new() };
  if plan.error.is_some() {
    return outcome;
  }
  let has_changes = plan.steps.iter().any(|s| !s.changes.is_empty() && !s.failed());
  let results = if has_changes {
    let nonce =
      blake3::hash(format!("{}{:?}", plan.facts_hash, std::time::SystemTime::now()).as_bytes()).to_hex();
    let nonce = &nonce[..16];
    let run = crate::host_facts::nonce();
    let frame =
      Frame { root: &options.root, nonce, run: &run, at: crate::ledger::now(), lock_wait: options.lock_wait };
    let wait = options.timeout + options.lock_wait;
    match transport.run_script(&script(plan, &frame), &[], wait) {
      Ok(out) => {
        let stdout = String::from_utf8_lossy(&out.stdout);
        if let Some(why) = lock_refusal(&stdout, nonce, options.lock_wait) {
          outcome.error = Some(why);
          return outcome;
        }
        let prefix = format!("__LEDGER_{nonce}__ ");
        outcome.ledger = stdout.lines().filter_map(|l| l.strip_prefix(&prefix)).map(str::to_owned).collect();
        parse_results(&stdout, &String::from_utf8_lossy(&out.stderr), nonce)
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

/// Why the script gave up before its first step, if it did.
fn lock_refusal(stdout: &str, nonce: &str, wait: Duration) -> Option<String> {
  let marker = format!("__LOCK_{nonce}__ ");
  let why = stdout.lines().find_map(|l| l.strip_prefix(&marker))?;
  Some(match why.trim() {
    "busy" => format!(
      "another converge run holds this host's lock (waited {} s); nothing was changed",
      wait.as_secs().max(1)
    ),
    "noflock" => {
      "the host has no flock(1) (util-linux) to take converge's lock; nothing was changed".to_owned()
    }
    _ => format!(
      "cannot write converge's state directory {} on the host; nothing was changed",
      crate::ledger::HOST_DIR
    ),
  })
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
          } else if rc == "98" {
            format!("{last_error}; plan again")
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
