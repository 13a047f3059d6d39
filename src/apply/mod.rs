//! Apply: one shell script per host that carries out a plan's changes, built
//! with [`crate::host::shell::Script`].
//!
//! Each step runs with `set -e`, in a subshell when it only writes the login
//! user's files, in a child shell (through `sudo -n` for system paths)
//! otherwise; a step whose dependencies failed is skipped, independent steps
//! still run. Steps that change the same files are written together, each
//! file once ([`group`]). Files are written atomically by `cv_prep` and `cv_commit`
//! (`shell/lib.sh`): the path is resolved on the host without following a
//! link another user could have planted, a temporary file is written in the
//! same directory, given the old file's mode and owner (or the ones the plan
//! sets); then the step's new files are synced, and each is checked once more
//! against what the plan saw and renamed over the old one. A legitimate link
//! is kept and its target written. Changes to system paths go through `sudo
//! -n` when the login user is not root. Results come back as nonce-framed lines, so rc-file noise cannot
//! fake them; a script that ends before its end marker is reported as such.

use crate::check::resource::HostInfo;
use crate::host::error::HostError;
use crate::host::shell::{Arg, Script, StepRun, frame};
use crate::host::transport::{Input, Transport};
use crate::plan::change::Change;
use crate::plan::planner::HostPlan;
use payload::check_payload;
#[cfg(test)]
use payload::sha256_file;
use std::path::PathBuf;
use std::time::Duration;

/// How one step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
  Unchanged,
  Changed,
  Failed(String),
  Skipped(String),
}

/// How a host's apply ended, once its script ran.
#[derive(Debug)]
pub struct HostOutcome {
  pub host: String,
  pub steps: Vec<(String, StepOutcome)>,
  /// The script ran but did not finish, or could not record the ledger.
  pub error: Option<HostError>,
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

/// How one file change is written: the scope and top directory `cv_safe`
/// checks links against (see `shell/lib.sh`), the path on disk and as shown.
fn file_args<'a>(info: &'a HostInfo, root: &'a str, path: &'a str) -> (&'static str, String, String) {
  if info.is_system(path) {
    ("system", root.to_owned(), format!("{root}{path}"))
  } else {
    ("user", format!("{root}{}", info.home.trim_end_matches('/')), format!("{root}{path}"))
  }
}

/// Bytes streamed into the apply script's input as base64 lines, at a
/// placeholder line, instead of being written into the script's text.
#[derive(Clone, Debug)]
enum Sent {
  /// A controller file: its path and how many of its bytes (as many as were
  /// checked).
  File(PathBuf, u64),
  /// The bytes of a file the plan writes, shared with the plan.
  Bytes(std::sync::Arc<[u8]>),
}

/// From this many bytes on, a file's new content is streamed with the script
/// ([`Sent::Bytes`]) rather than quoted in it: the script of every host in
/// flight would otherwise hold its own base64 copy of it.
const STREAM_FROM: usize = 64 << 10;

/// The umask `cv_prep` creates a file's temporary copy with, from the mode the
/// file ends with (`mode`: the plan's, or the one the facts found): the umask
/// giving that mode, so that the copy is never readable by more than the file
/// and needs no `chmod`. The owner can always read and write the copy, which
/// is then written (a `chmod` follows when the mode takes that away), and
/// execute or special bits, which no umask gives, make it 077 and a `chmod`.
/// A file of no known mode is one this plan creates without setting one: 022,
/// as for any new file.
fn creation_umask(mode: Option<u32>) -> String {
  match mode {
    Some(mode) if mode & 0o7111 == 0 => format!("{:03o}", 0o777 & !(mode | 0o600)),
    Some(_) => "077".to_owned(),
    None => "022".to_owned(),
  }
}

/// Appends the commands of change `k` of a step to its body (a write is
/// prepared only: the caller commits it). `root` prefixes every
/// path. A change's controller file takes the next of `checked` and is added
/// to `sent`; the body gets a placeholder line its base64 lines replace.
#[allow(clippy::too_many_arguments)]
fn change_script(
  body: &mut Script,
  k: usize,
  change: &Change,
  known: Option<&str>,
  info: &HostInfo,
  root: &str,
  checked: &mut impl Iterator<Item = (PathBuf, u64)>,
  sent: &mut Vec<Sent>,
) {
  match change {
    Change::Write { path, before, after, .. } => {
      let (scope, top, full) = file_args(info, root, path);
      let sha_before = crate::plan::ledger::sha256_of(before.as_ref());
      let sha_after = crate::plan::ledger::sha256_of(Some(after));
      // Mode and owner are set only when the plan changes them: otherwise the
      // file keeps its own, so a mode is never widened behind anyone's back.
      let mode = match (before, after.mode) {
        (Some(b), Some(m)) if b.mode == Some(m) => String::new(),
        (_, Some(m)) => format!("{m:o}"),
        (_, None) => String::new(),
      };
      let owner = match (before, &after.owner) {
        (Some(b), Some(o)) if b.owner.as_ref() == Some(o) => String::new(),
        (_, Some(o)) => o.clone(),
        (_, None) => String::new(),
      };
      let names = crate::host::shell::temp_names();
      let umask = creation_umask(after.mode);
      let args = [
        Arg::Str(scope),
        Arg::Str(&top),
        Arg::Str(&full),
        Arg::Str(path),
        Arg::Str(&sha_before),
        Arg::Str(&sha_after),
        Arg::Str(&mode),
        Arg::Str(&owner),
      ];
      let mut args = [&[Arg::Num(k as u64)], &args[..]].concat();
      // What the file holds, when the script knows it (a variable's name).
      let seen = known.map_or(Arg::Str(""), Arg::Var);
      if after.data.len() < STREAM_FROM {
        args.extend([Arg::Data(&after.data), Arg::Str(&names), Arg::Str(&umask), seen]);
        body.line("cv_prep {} {} {} {} {} {} {} {} {} {} {} {} {}", &args);
      } else {
        // `-`: cv_prep reads the base64 lines on its standard input.
        args.extend([Arg::Str(&names), Arg::Str(&umask), seen]);
        body.line("cv_prep {} {} {} {} {} {} {} {} {} - {} {} {} <<'__PAYLOAD_{nonce}__'", &args);
        body.line("__PAYLOAD_DATA_{nonce}__ {}", &[Arg::Num(sent.len() as u64)]);
        body.line("__PAYLOAD_{nonce}__", &[]);
        sent.push(Sent::Bytes(std::sync::Arc::clone(&after.data)));
      }
    }
    Change::Remove { path, before, .. } => {
      let (scope, top, full) = file_args(info, root, path);
      let sha_before = crate::plan::ledger::sha256_of(Some(before));
      body.line(
        "cv_remove {} {} {} {} {}",
        &[Arg::Str(scope), Arg::Str(&top), Arg::Str(&full), Arg::Str(path), Arg::Str(&sha_before)],
      );
    }
    Change::Run { script, payload, .. } => {
      if let Some(payload) = payload
        && let Some(file) = checked.next()
      {
        let dir = format!("{root}{}", payload.dir);
        body.line(
          "cv_pd={}; mkdir -p -- \"$cv_pd\"\nCONVERGE_PAYLOAD=$(mktemp -- \"$cv_pd/.converge.$$.XXXXXX\")\ntrap 'rm -f -- \"$CONVERGE_PAYLOAD\"' EXIT\nbase64 -d > \"$CONVERGE_PAYLOAD\" <<'__PAYLOAD_{nonce}__'",
          &[Arg::Str(&dir)],
        );
        body.line("__PAYLOAD_DATA_{nonce}__ {}", &[Arg::Num(sent.len() as u64)]);
        sent.push(Sent::File(file.0, file.1));
        let shown = payload.path.display().to_string();
        body.line(
          "__PAYLOAD_{nonce}__\nif ! printf '%s  %s\\n' {} \"$CONVERGE_PAYLOAD\" | sha256sum -c --status -; then echo \"converge: sha256 mismatch for \"{}\" as it arrived on the host; nothing was changed\" >&2; exit 1; fi",
          &[Arg::Str(&payload.sha256.to_ascii_lowercase()), Arg::Str(&shown)],
        );
      }
      body.command(script);
    }
  }
}

/// The script's input: its text, with each controller file's placeholder
/// line replaced by the file, read as it is sent.
fn input_of(text: &str, nonce: &str, sent: &[Sent]) -> Input {
  let mark = format!("{} ", frame::marker("PAYLOAD_DATA", nonce));
  let mut input = Input::new();
  let mut pending = String::new();
  for line in text.split_inclusive('\n') {
    let file = line
      .strip_prefix(mark.as_str())
      .and_then(|k| k.trim_end().parse::<usize>().ok())
      .and_then(|k| sent.get(k));
    match file {
      Some(Sent::File(path, len)) => {
        input.text(std::mem::take(&mut pending));
        input.file(path.clone(), *len);
      }
      Some(Sent::Bytes(data)) => {
        input.text(std::mem::take(&mut pending));
        input.bytes(std::sync::Arc::clone(data));
      }
      None => pending.push_str(line),
    }
  }
  input.text(pending);
  input
}

/// Sets what `cv_safe` trusts: the login user, and root (for a `--root` tree
/// also the user converging it, who owns it).
fn trust(s: &mut Script, info: &HostInfo) {
  match info.uid {
    // The facts of this run asked the same user on the same host.
    Some(uid) => s.line("[ -n \"${cv_uid-}\" ] || cv_uid={}", &[Arg::Num(u64::from(uid))]),
    None => {
      s.line("[ -n \"${cv_uid-}\" ] || cv_uid=$(id -u -- {} 2>/dev/null || id -u)", &[Arg::Str(&info.user)])
    }
  };
  if info.rooted {
    s.fixed("cv_trust=\"0 $(id -u)\"");
  } else {
    s.fixed("cv_trust=0");
  }
}

/// Whether changes must go through `sudo`: one of them touches a system
/// path and the login user is not `privileged` (root, or a `--root` tree).
fn needs_sudo(changes: &[Change], privileged: bool) -> bool {
  !privileged && changes.iter().any(Change::system)
}

/// Settings of one host's apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
  /// Converge this directory as if it were `/`.
  pub root: String,
  /// How long the whole apply may take, the wait for the host lock included.
  pub timeout: Duration,
  /// How long to wait for another converge run's lock on the host (at most
  /// a second less than `timeout`).
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

/// The exit status of a step whose script could not be built.
const UNBUILDABLE: u64 = 95;
/// The exit status of a step that refused to run; its last output line says why.
const REFUSED: u64 = 96;

/// The whole apply script of a host. It takes the host's lock (another run
/// waits up to `lock_wait`, then gives up having changed nothing), checks that
/// the files the plan read are still as planned ([`stale_script`]), runs the
/// steps, and appends what it converged to the host's ledger.
fn script(plan: &HostPlan, f: &Frame, sent: &mut Vec<Sent>) -> String {
  let root = f.root;
  let mut s = Script::new(f.nonce);
  s.fixed("set -u\nLC_ALL=C; export LC_ALL\numask 022\ncv_nl='\n'");
  s.fixed(crate::host::shell::LIB);
  s.fixed("cv_uid=");
  trust(&mut s, &plan.info);
  // The home directory resolved once, for every step (see `cv_top_real`).
  s.line("cv_top_real {}", &[Arg::Str(&format!("{root}{}", plan.info.home.trim_end_matches('/')))]);
  let state_dir = format!("{root}{}", plan.info.expand(crate::plan::ledger::HOST_DIR));
  s.line("cv_dir={}", &[Arg::Str(&state_dir)]);
  s.line(
    "if ! { [ -d \"$cv_dir\" ] || mkdir -p -- \"$cv_dir\" 2>/dev/null; } || ! ( : >> \"$cv_dir/host.lock\" ) 2>/dev/null; then echo \"__LOCK_{nonce}__ unwritable\"; exit 0; fi\nexec 9>>\"$cv_dir/host.lock\"\nif ! command -v flock >/dev/null 2>&1; then echo \"__LOCK_{nonce}__ noflock\"; exit 0; fi\nflock -w {} 9 || { echo \"__LOCK_{nonce}__ busy\"; exit 0; }\ncv_now=$(date +%s.%N); cv_t0=${cv_now%.*}\necho \"start \"{}\" $cv_now $$\" >> \"$cv_dir/log\" 2>/dev/null",
    &[Arg::Num(f.lock_wait.as_secs().max(1)), Arg::Str(f.run)],
  );
  // Under the lock nobody else writes the state directory: temporary files
  // there are left over from a killed run.
  s.fixed("for cv_f in \"$cv_dir\"/.new.* \"$cv_dir\"/.ledger.*; do if [ -e \"$cv_f\" ] || [ -L \"$cv_f\" ]; then rm -f -- \"$cv_f\"; fi; done");
  // Steps that change the same files are written together, where the last
  // of them stands (see `group`).
  let groups = group::groups(&plan.steps, plan.info.privileged, STREAM_FROM);
  let group_of = |i: usize| groups.iter().find(|g| g.members.contains(&i));
  let mut earlier = Earlier { checked: stale_script(&mut s, plan, f), ..Earlier::default() };
  clean_script(&mut s, plan, root);
  if !root.is_empty() {
    // Commands of a converged tree see its home directory as theirs.
    s.line("HOME={}\"$HOME\"; export HOME", &[Arg::Str(root)]);
  }
  for (i, step) in plan.steps.iter().enumerate() {
    s.line("# step {}", &[Arg::Num(i as u64)]);
    if step.failed() || step.changes.is_empty() {
      s.line("s{}=ok", &[Arg::Num(i as u64)]);
      continue;
    }
    let single = [i];
    // A group runs where its last step stands, as one step with its writes.
    let (ids, deps, changes, checked): (&[usize], &[usize], &[Change], _) = match group_of(i) {
      Some(g) if g.members.last() != Some(&i) => {
        s.line("# written with step {}", &[Arg::Num(g.members.last().copied().unwrap_or(i) as u64)]);
        continue;
      }
      Some(g) => (&g.members, &[], &g.changes, Vec::new()),
      None => {
        // The controller files the step sends are checked before anything is.
        let checked: Result<Vec<(PathBuf, u64)>, String> = step
          .changes
          .iter()
          .filter_map(|c| match c {
            Change::Run { payload: Some(p), .. } => Some(check_payload(p).map(|len| (p.path.clone(), len))),
            _ => None,
          })
          .collect();
        match checked {
          Ok(c) => (&single, &step.depends_on, &step.changes, c),
          Err(why) => {
            let why = why.replace(['\n', '\r'], " ");
            s.line(
              "s{}=failed; echo \"__OUT_{nonce}__ {} \"{}; echo \"__STEP_{nonce}__ {} failed {}\"",
              &[
                Arg::Num(i as u64),
                Arg::Num(i as u64),
                Arg::Str(&why),
                Arg::Num(i as u64),
                Arg::Num(REFUSED),
              ],
            );
            continue;
          }
        }
      }
    };
    let (run, body) = step_body(changes, ids, plan, f, &mut earlier, checked, sent);
    if s.step(ids, deps, run, &body).is_err() {
      for id in ids {
        s.line(
          "s{}=failed; echo \"__STEP_{nonce}__ {} failed {}\"",
          &[Arg::Num(*id as u64), Arg::Num(*id as u64), Arg::Num(UNBUILDABLE)],
        );
      }
    }
  }
  ledger_script(&mut s, plan, f);
  s.line("echo \"end \"{}\" $(date +%s.%N) $$\" >> \"$cv_dir/log\" 2>/dev/null", &[Arg::Str(f.run)]);
  s.line("echo \"__APPLY_DONE_{nonce}__\"", &[]);
  s.text().to_owned()
}

/// What the steps before the one being built know of the files: their
/// sha256 as the stale check found it (`$cv_H<k>`, by path), which steps
/// wrote or removed each since, and whether a command ran (it may have
/// written anything).
#[derive(Default)]
struct Earlier<'p> {
  checked: std::collections::BTreeMap<&'p str, usize>,
  written: std::collections::BTreeMap<&'p str, Vec<usize>>,
  ran: bool,
}

/// The body of step `i` and how it runs. A step that only writes and removes
/// files as the login user runs in a subshell, which has all it needs; one
/// with commands or `sudo` runs in a shell of its own, which sets itself up.
/// Consecutive writes are prepared one by one and committed together
/// (`cv_prep`, `cv_commit`: one sync for all their new contents); a file
/// written twice in a step is committed in between.
fn step_body<'p>(
  changes: &'p [Change],
  ids: &[usize],
  plan: &HostPlan,
  f: &Frame,
  earlier: &mut Earlier<'p>,
  checked: Vec<(PathBuf, u64)>,
  sent: &mut Vec<Sent>,
) -> (StepRun, Script) {
  let root = f.root;
  let mut checked = checked.into_iter();
  let mut body = Script::new(f.nonce);
  let needs_sudo = needs_sudo(changes, plan.info.privileged);
  let commands = changes.iter().any(|c| matches!(c, Change::Run { .. }));
  let run = match (needs_sudo, commands) {
    (false, false) => StepRun::Inline,
    (false, true) => StepRun::Shell,
    (true, _) => StepRun::Sudo,
  };
  if run != StepRun::Inline {
    // What the script resolved already (the login user's uid, its home's
    // real path) comes as arguments: each step's shell would ask again.
    body.fixed("set -e\ncv_t0=$1; cv_uid=${2-}; cv_tk1=${3-}; cv_tv1=${4-}; cv_tk2=${5-}; cv_tv2=${6-}");
    body.fixed(crate::host::shell::LIB);
    trust(&mut body, &plan.info);
    body.line("CONVERGE_ROOT={}", &[Arg::Str(root)]);
    // A step that finds nothing to do (a guard decided at apply said so)
    // ends with `cv_unchanged`.
    body.line("cv_unchanged() { echo \"__UNCHANGED_{nonce}__\"; exit 0; }", &[]);
  }
  let mut pending: std::collections::BTreeSet<&str> = Default::default();
  let mut in_step: std::collections::BTreeSet<&str> = Default::default();
  for (k, change) in changes.iter().enumerate() {
    let write = match change {
      Change::Write { path, .. } => Some(path.as_str()),
      _ => None,
    };
    if !pending.is_empty() && write.is_none_or(|p| pending.contains(p)) {
      body.fixed("cv_commit");
      pending.clear();
    }
    // What the file holds before this write, when this script knows it
    // without hashing the file again (a step in a subshell sees the parent's
    // variables): the stale check's sha256 of a file no change touched
    // before, or what the earlier steps that wrote it left, once they all
    // succeeded. The checks around the rename still compare the file with it.
    let known = match change {
      Change::Write { path, before, .. }
        if run == StepRun::Inline && !earlier.ran && !in_step.contains(path.as_str()) =>
      {
        match earlier.written.get(path.as_str()) {
          Some(writers) => {
            let k = k as u64;
            body.line("cv_K{}=ok", &[Arg::Num(k)]);
            for j in writers {
              body.line("[ \"$s{}\" = ok ] || cv_K{}=", &[Arg::Num(*j as u64), Arg::Num(k)]);
            }
            let before = crate::plan::ledger::sha256_of(before.as_ref());
            body.line("[ -z \"$cv_K{}\" ] || cv_K{}={}", &[Arg::Num(k), Arg::Num(k), Arg::Str(&before)]);
            Some(format!("cv_K{k}"))
          }
          None => earlier.checked.get(path.as_str()).map(|h| format!("cv_H{h}")),
        }
      }
      _ => None,
    };
    change_script(&mut body, k, change, known.as_deref(), &plan.info, root, &mut checked, sent);
    if let Change::Write { path, .. } | Change::Remove { path, .. } = change {
      in_step.insert(path);
    }
    if let Some(path) = write {
      pending.insert(path);
    }
  }
  if !pending.is_empty() {
    body.fixed("cv_commit");
  }
  for change in changes {
    match change {
      Change::Write { path, .. } | Change::Remove { path, .. } => {
        earlier.written.entry(path).or_default().extend_from_slice(ids)
      }
      Change::Run { .. } => earlier.ran = true,
    }
  }
  (run, body)
}

/// Under the host lock, before anything is written: every file the plan read
/// must still be as the facts found it, or already as the plan leaves it (a
/// run of the same plan got there first). Anything else means another run
/// changed the host since the facts, and a plan made from them could mix its
/// own files with that run's: the script prints each such path and stops
/// having changed nothing. A file the login user cannot read is left to the
/// step that writes it, which checks it again. Returns where each file's
/// sha256 is kept: `cv_H<k>`, by path.
fn stale_script<'p>(
  s: &mut Script,
  plan: &'p HostPlan,
  f: &Frame,
) -> std::collections::BTreeMap<&'p str, usize> {
  use std::collections::{BTreeMap, BTreeSet};
  let mut accepted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
  for (path, seen) in &plan.read {
    accepted.entry(path).or_default().insert(seen.clone());
  }
  for change in plan.steps.iter().filter(|st| !st.failed()).flat_map(|st| st.changes.iter()) {
    match change {
      Change::Write { path, before, after, .. } => {
        let states = accepted.entry(path).or_default();
        states.insert(crate::plan::ledger::sha256_of(before.as_ref()));
        states.insert(crate::plan::ledger::sha256_of(Some(after)));
      }
      Change::Remove { path, before, .. } => {
        let states = accepted.entry(path).or_default();
        states.insert(crate::plan::ledger::sha256_of(Some(before)));
        states.insert("absent".to_owned());
      }
      Change::Run { .. } => {}
    }
  }
  if accepted.is_empty() {
    return BTreeMap::new();
  }
  s.fixed(
    "cv_stale=\ncv_seen() { if cv_safe \"$1\" \"$2\" \"$3\"; then cv_hash \"$cv_real\"; else echo refused; fi; }",
  );
  // Each file's sha256 stays in `cv_H<k>`, for the step that writes it first.
  let mut index = BTreeMap::new();
  for (k, (path, states)) in accepted.iter().enumerate() {
    let (scope, top, full) = file_args(&plan.info, f.root, path);
    let states = states.iter().map(String::as_str).collect::<Vec<_>>().join(" ");
    s.line(
      "cv_now=$(cv_seen {} {} {}); cv_H{}=$cv_now; case \" \"{}\" \" in *\" $cv_now \"*) ;; *) cv_stale=1; echo \"__STALE_{nonce}__ \"{} ;; esac",
      &[
        Arg::Str(scope),
        Arg::Str(&top),
        Arg::Str(&full),
        Arg::Num(k as u64),
        Arg::Str(&format!("{states} unreadable")),
        Arg::Str(path),
      ],
    );
    index.insert(*path, k);
  }
  s.line(
    "if [ -n \"$cv_stale\" ]; then echo \"end \"{}\" $(date +%s.%N) $$ stale\" >> \"$cv_dir/log\" 2>/dev/null; exit 0; fi",
    &[Arg::Str(f.run)],
  );
  index
}

/// Removes what killed runs left in the directories of the files this plan
/// reads or writes, each reached the safe way: the user's own directories,
/// and every one when the login user may write system paths. (Steps through
/// `sudo` clean the system directories they write in.)
fn clean_script(s: &mut Script, plan: &HostPlan, root: &str) {
  let written = plan.steps.iter().flat_map(|st| st.changes.iter()).filter_map(|c| match c {
    Change::Write { path, .. } | Change::Remove { path, .. } => Some(path),
    Change::Run { .. } => None,
  });
  let dirs: std::collections::BTreeSet<&str> = plan
    .files
    .iter()
    .chain(written)
    .filter(|p| plan.info.privileged || !plan.info.is_system(p))
    .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d))
    .filter(|d| !d.is_empty())
    .collect();
  for dir in dirs {
    let (scope, top, full) = file_args(&plan.info, root, dir);
    s.line(
      "if cv_safe {} {} {} && [ -d \"$cv_real\" ]; then cv_clean \"$cv_real\"; fi",
      &[Arg::Str(scope), Arg::Str(&top), Arg::Str(&full)],
    );
  }
}

/// Appends the converged resources and the sha256 of every file the plan read
/// to the host's ledger (folded first, when nobody wrote it since the facts),
/// and prints the new lines for the controller's copy. The ledger is replaced
/// atomically; when that fails (a full disk), it is left as it was and the
/// cause is printed.
fn ledger_script(s: &mut Script, plan: &HostPlan, f: &Frame) {
  use crate::plan::ledger::Line;
  s.fixed("cv_lines=\ncv_led_hash() { if cv_safe \"$1\" \"$2\" \"$3\"; then cv_hash \"$cv_real\"; else echo refused; fi; }");
  for (i, step) in plan.steps.iter().enumerate() {
    if step.failed() {
      continue;
    }
    // A removed resource leaves the ledger; what a removal kept (drift) stays.
    let line = if step.removal && step.owns.is_empty() {
      Line::Forget { name: step.key.clone(), run: f.run.to_owned(), at: f.at }
    } else {
      Line::Resource {
        name: step.name.clone(),
        key: Some(step.key.clone()),
        kind: step.kind.clone(),
        source: step.source.clone(),
        run: f.run.to_owned(),
        at: f.at,
        owns: Some(step.owns.clone()),
      }
    };
    let Ok(json) = serde_json::to_string(&line) else { continue };
    s.line(
      "if [ \"$s{}\" = ok ]; then cv_lines=$cv_lines{}$cv_nl; fi",
      &[Arg::Num(i as u64), Arg::Str(&json)],
    );
  }
  // Each file's sha256 without a process per file, unless a command of the
  // plan runs (it may write anything): a file no step writes keeps the one
  // the facts found; a file whose writing steps all succeeded holds what they
  // wrote last. Otherwise it is hashed on the host.
  let runs = plan.steps.iter().flat_map(|st| &st.changes).any(|c| matches!(c, Change::Run { .. }));
  let mut written: std::collections::BTreeMap<&str, (String, Vec<usize>)> = Default::default();
  for (i, step) in plan.steps.iter().enumerate().filter(|(_, st)| !st.failed()) {
    for change in &step.changes {
      let (path, sha256) = match change {
        Change::Write { path, after, .. } => (path, crate::plan::ledger::sha256_of(Some(after))),
        Change::Remove { path, .. } => (path, "absent".to_owned()),
        Change::Run { .. } => continue,
      };
      let entry = written.entry(path.as_str()).or_default();
      entry.0 = sha256;
      entry.1.push(i);
    }
  }
  let marker = "@SHA256@";
  for path in &plan.files {
    let line = |sha256: &str| {
      serde_json::to_string(&Line::Path {
        path: path.clone(),
        sha256: sha256.to_owned(),
        run: f.run.to_owned(),
        at: f.at,
      })
    };
    let Ok(json) = line(marker) else { continue };
    let Some((head, tail)) = json.split_once(marker) else { continue };
    let (scope, top, full) = file_args(&plan.info, f.root, path);
    let hashed = [Arg::Str(head), Arg::Str(scope), Arg::Str(&top), Arg::Str(&full), Arg::Str(tail)];
    match (runs, written.get(path.as_str()), plan.read.get(path)) {
      (false, None, Some(seen)) => {
        let Ok(json) = line(seen) else { continue };
        s.line("cv_lines=$cv_lines{}$cv_nl", &[Arg::Str(&json)]);
      }
      (false, Some((sha256, steps)), _) => {
        let Ok(json) = line(sha256) else { continue };
        s.fixed("cv_w=ok");
        for i in steps {
          s.line("[ \"$s{}\" = ok ] || cv_w=", &[Arg::Num(*i as u64)]);
        }
        let mut args = vec![Arg::Str(&json)];
        args.extend(hashed);
        s.line(
          "if [ -n \"$cv_w\" ]; then cv_lines=$cv_lines{}$cv_nl; else cv_lines=$cv_lines{}$(cv_led_hash {} {} {}){}$cv_nl; fi",
          &args,
        );
      }
      _ => {
        s.line("cv_lines=$cv_lines{}$(cv_led_hash {} {} {}){}$cv_nl", &hashed);
      }
    }
  }
  s.line(
    "cv_led=\"$cv_dir/ledger.jsonl\"\nif ! cv_err=$( {\n  cv_out=\"$cv_dir/.ledger.\"{}\n  set -C; true >\"$cv_out\" || exit 1; set +C\n  if { if [ \"$(cv_hash \"$cv_led\")\" = {} ]; then cv_b={}; case $cv_b in b:*) printf '%s' \"${cv_b#b:}\" | base64 -d ;; *) printf '%b' \"${cv_b#t:}\" ;; esac; elif [ -e \"$cv_led\" ]; then cat -- \"$cv_led\"; fi && printf '%s' \"$cv_lines\"; } | cat > \"$cv_out\" && { sync -- \"$cv_out\" 2>/dev/null || :; } && mv -f -- \"$cv_out\" \"$cv_led\"; then exit 0; fi\n  rm -f -- \"$cv_out\"; exit 1\n} 2>&1 ); then printf '%s\\n' \"${cv_err:-the ledger could not be replaced}\" | sed 's/^/__LEDGERERR_{nonce}__ /'; fi\ncv_rest=$cv_lines\nwhile [ -n \"$cv_rest\" ]; do printf '__LEDGER_{nonce}__ %s\\n' \"${cv_rest%%\"$cv_nl\"*}\"; cv_rest=${cv_rest#*\"$cv_nl\"}; done",
    &[
      Arg::Str(&crate::host::shell::temp_names().replace(' ', "")),
      Arg::Str(&plan.ledger_sha256),
      Arg::Data(plan.ledger_base.as_bytes()),
    ],
  );
}

/// Applies a host's plan over its transport, in one round trip. `Err` when
/// nothing ran: the host's lock was busy, the host changed since the plan, or
/// the transport failed. A plan that stops the host (a failed assertion) is
/// not applied: the caller does not call this.
pub fn apply_host(
  plan: &HostPlan,
  transport: &mut dyn Transport,
  options: &ApplyOptions,
) -> Result<HostOutcome, HostError> {
  let mut outcome =
    HostOutcome { host: plan.host.clone(), steps: Vec::new(), error: None, ledger: Vec::new() };
  let has_changes = plan.steps.iter().any(|s| !s.changes.is_empty() && !s.failed());
  // A resource that left the playbook with nothing to take off the host (a
  // command, an assertion) still leaves the ledger: the script runs for it.
  let forgets = plan.steps.iter().any(|s| s.removal && s.changes.is_empty() && s.owns.is_empty());
  let results = if has_changes || forgets {
    let nonce = crate::host::shell::nonce();
    let run = crate::host::shell::nonce();
    // The whole apply, its wait for the host lock included, has `timeout`:
    // the lock is waited for at most a second less, so that a run that cannot
    // get it says so before the deadline.
    let lock_wait = options.lock_wait.min(options.timeout.saturating_sub(Duration::from_secs(1)));
    let frame =
      Frame { root: &options.root, nonce: &nonce, run: &run, at: crate::plan::ledger::now(), lock_wait };
    let mut sent = Vec::new();
    let text = script(plan, &frame, &mut sent);
    let out = transport
      .run_input(input_of(&text, &nonce, &sent), options.timeout)
      .map_err(|e| HostError::Transport(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(refused) = lock_refusal(&stdout, &nonce, lock_wait) {
      return Err(refused);
    }
    let changed: Vec<&str> = frame::lines(&stdout, "STALE", &nonce).collect();
    if !changed.is_empty() {
      return Err(HostError::Stale(format!(
        "{} changed since the plan was made (another converge run?); nothing was changed, plan again",
        changed.join(", ")
      )));
    }
    outcome.ledger = frame::lines(&stdout, "LEDGER", &nonce).map(str::to_owned).collect();
    if !frame::has(&stdout, "APPLY_DONE", &nonce) {
      outcome.error = Some(HostError::ApplyEnded(ended_early(out.status, &stderr)));
    } else if let Some(why) =
      frame::lines(&stdout, "LEDGERERR", &nonce).filter(|l| !l.trim().is_empty()).last()
    {
      outcome.error = Some(HostError::Ledger(why.trim().to_owned()));
    }
    parse_results(&stdout, &stderr, &nonce)
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
  Ok(outcome)
}

/// What to say when the apply script ended without its end marker.
fn ended_early(status: Option<i32>, stderr: &str) -> String {
  let how = match status {
    None => "it was killed by a signal".to_owned(),
    Some(code) if code > 128 => format!("exit status {code}: killed by signal {}", code - 128),
    Some(code) => format!("exit status {code}"),
  };
  let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).map(str::trim);
  match last {
    Some(line) => format!("the apply script ended before its end marker ({how}): {line}"),
    None => format!("the apply script ended before its end marker ({how})"),
  }
}

/// Why the script gave up before its first step, if it did.
fn lock_refusal(stdout: &str, nonce: &str, wait: Duration) -> Option<HostError> {
  let why = frame::lines(stdout, "LOCK", nonce).next()?;
  Some(match why.trim() {
    "busy" => HostError::LockBusy { waited: wait },
    "noflock" => HostError::NoFlock,
    _ => HostError::StateDir,
  })
}

fn parse_results(stdout: &str, stderr: &str, nonce: &str) -> Vec<(usize, StepOutcome)> {
  let last_error = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned();
  // The last line each failed step printed.
  let mut said: std::collections::BTreeMap<usize, String> = std::collections::BTreeMap::new();
  for rest in frame::lines(stdout, "OUT", nonce) {
    let Some((i, text)) = rest.split_once(' ') else { continue };
    let (Ok(i), text) = (i.parse::<usize>(), text.trim()) else { continue };
    if !text.is_empty() {
      said.insert(i, text.to_owned());
    }
  }
  frame::lines(stdout, "STEP", nonce)
    .filter_map(|rest| {
      let mut parts = rest.split_whitespace();
      let i = parts.next()?.parse().ok()?;
      let outcome = match parts.next()? {
        "changed" => StepOutcome::Changed,
        "unchanged" => StepOutcome::Unchanged,
        "skipped" => StepOutcome::Skipped("a step it depends on failed".to_owned()),
        _ => {
          let rc = parts.next().unwrap_or("?");
          let last = said.get(&i).cloned().unwrap_or_else(|| last_error.clone());
          let why = match rc.parse::<u64>() {
            Ok(97) => "sudo needs a password; converge runs `sudo -n` only".to_owned(),
            Ok(98) => format!("{last}; plan again"),
            Ok(96) => last,
            Ok(UNBUILDABLE) => {
              "a line of its script equals the end marker of the step; nothing was run".to_owned()
            }
            _ if last.is_empty() => format!("exit status {rc}"),
            _ => format!("exit status {rc}: {last}"),
          };
          StepOutcome::Failed(why)
        }
      };
      Some((i, outcome))
    })
    .collect()
}

mod group;
mod payload;
#[cfg(test)]
mod tests;
