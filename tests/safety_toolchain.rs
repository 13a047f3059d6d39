//! Toolchain tarballs from the controller reach hosts over the run's own
//! connection, checked by sha256 on both ends; guard text never appears on a
//! command line of the host; a guard decided at apply that skips its command
//! reports the step unchanged.

use crate::fleet::Fleet;
use crate::test::binary;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A converged tree (`--root`) with its own state directory.
struct Tree {
  dir: tempfile::TempDir,
}

impl Tree {
  fn new() -> Tree {
    let tree = Tree { dir: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")) };
    std::fs::create_dir_all(tree.root().join("home/dev")).unwrap_or_else(|e| panic!("{e}"));
    tree
  }

  fn root(&self) -> PathBuf {
    self.dir.path().join("root")
  }

  fn command(&self, playbook: &str, extra: &[&str]) -> Command {
    let file = self.dir.path().join("site.goenv");
    std::fs::write(&file, playbook).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = self.bare();
    cmd.arg(&file).arg("--root").arg(self.root()).arg("--state-dir").arg(self.dir.path().join("state"));
    cmd.args(extra);
    cmd
  }

  /// `converge apply plan.json`, for a plan saved with `--out plan.json`.
  fn apply_saved(&self) -> Command {
    let mut cmd = self.bare();
    cmd.args(["apply", "plan.json", "--state-dir"]).arg(self.dir.path().join("state"));
    cmd
  }

  fn bare(&self) -> Command {
    let mut cmd = Command::new(binary());
    cmd
      .current_dir(self.dir.path())
      .env("HOME", "/home/dev")
      .env("NO_COLOR", "1")
      .env_remove("GOENV")
      .env_remove("XDG_CONFIG_HOME");
    cmd
  }

  fn converge(&self, playbook: &str, extra: &[&str]) -> Output {
    self.command(playbook, extra).output().unwrap_or_else(|e| panic!("{e}"))
  }
}

fn text(out: &Output) -> String {
  format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Kills a started process by its id when dropped, even when a test fails.
struct Started(Child);

impl Drop for Started {
  fn drop(&mut self) {
    let _ = self.0.kill();
    let _ = self.0.wait();
  }
}

/// Every process's command line on this machine (the testbed's hosts share
/// its process table), as text with the arguments separated by spaces.
fn command_lines() -> Vec<String> {
  let mut lines = Vec::new();
  for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
    if entry.file_name().to_string_lossy().parse::<u32>().is_err() {
      continue;
    }
    if let Ok(raw) = std::fs::read(entry.path().join("cmdline")) {
      lines.push(String::from_utf8_lossy(&raw).replace('\0', " "));
    }
  }
  lines
}

/// Runs `cmd` while watching every command line: returns whether the guard's
/// `sleep` was seen running and the command lines that held `secret`.
fn watch(cmd: &mut Command, sleep: &str, secret: &str) -> (bool, Vec<String>, Output) {
  let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{e}"));
  let mut child = Started(child);
  let started = Instant::now();
  let mut saw_guard = false;
  let mut leaks = Vec::new();
  while started.elapsed() < Duration::from_secs(60) {
    for line in command_lines() {
      if line.contains(sleep) {
        saw_guard = true;
      }
      if line.contains(secret) {
        leaks.push(line);
      }
    }
    if child.0.try_wait().ok().flatten().is_some() {
      break;
    }
    std::thread::sleep(Duration::from_millis(20));
  }
  let Started(inner) = &mut child;
  let _ = inner.kill();
  let mut stdout = Vec::new();
  let mut stderr = Vec::new();
  if let Some(mut out) = inner.stdout.take() {
    let _ = std::io::Read::read_to_end(&mut out, &mut stdout);
  }
  if let Some(mut err) = inner.stderr.take() {
    let _ = std::io::Read::read_to_end(&mut err, &mut stderr);
  }
  let status = inner.wait().unwrap_or_else(|e| panic!("{e}"));
  (saw_guard, leaks, Output { status, stdout, stderr })
}

/// A guard whose text holds a secret, and that runs long enough to be seen.
fn slow_guard(secret: &str, sleep: &str) -> String {
  format!("command \"touch ~/ran\" {{\n  unless = \": {secret}; sleep {sleep}; false\"\n}}\n")
}

#[test]
fn guard_text_is_on_no_command_line_while_a_local_plan_or_apply_runs_it() {
  let tree = Tree::new();
  let secret = "guard-secret-7d1f3a";
  let sleep = "2.731";
  let playbook = slow_guard(secret, sleep);
  // While planning (the facts script runs the guard) ...
  let (saw, leaks, out) = watch(&mut tree.command(&playbook, &["--plan"]), &format!("sleep {sleep}"), secret);
  assert!(saw, "the guard's sleep was never seen running: {}", text(&out));
  assert!(leaks.is_empty(), "the guard's text is on a command line: {leaks:?}");
  assert_eq!(out.status.code(), Some(2), "{}", text(&out));
  // ... and while applying a plan saved without running guards (the apply runs it).
  let out = tree.converge(&playbook, &["--plan", "--out", "plan.json"]);
  assert_eq!(out.status.code(), Some(2), "{}", text(&out));
  let (saw, leaks, out) = watch(&mut tree.apply_saved(), &format!("sleep {sleep}"), secret);
  assert!(saw, "the guard's sleep was never seen running: {}", text(&out));
  assert!(leaks.is_empty(), "the guard's text is on a command line: {leaks:?}");
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn guard_text_is_on_no_command_line_of_an_ssh_host() {
  let fleet = Fleet::start(1);
  let secret = "guard-secret-52c9e0";
  let sleep = "2.417";
  let playbook = format!("{}{}", fleet.inventory(), slow_guard(secret, sleep));
  let mut cmd = fleet.run_command(&[]);
  cmd.arg(fleet.write_playbook(&playbook)).arg("--plan");
  let (saw, leaks, out) = watch(&mut cmd, &format!("sleep {sleep}"), secret);
  assert!(saw, "the guard's sleep was never seen running: {}", text(&out));
  assert!(leaks.is_empty(), "the guard's text is on a command line: {leaks:?}");
  assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
