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

/// A small fake Go tarball in `dir`: `go/bin/go` a shell script printing a
/// version, `go/VERSION`. Returns its path and sha256.
fn fake_go_tarball(dir: &std::path::Path, version: &str) -> (PathBuf, String) {
  let tree = dir.join("fake-go");
  let bin = tree.join("go/bin");
  std::fs::create_dir_all(&bin).unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(tree.join("go/VERSION"), format!("go{version}\ntime 2024-07-02T00:00:00Z\n"))
    .unwrap_or_else(|e| panic!("{e}"));
  for tool in ["go", "gofmt"] {
    let script = format!("#!/bin/sh\necho 'go version go{version} linux/amd64'\n");
    std::fs::write(bin.join(tool), script).unwrap_or_else(|e| panic!("{e}"));
    let status = Command::new("chmod").arg("755").arg(bin.join(tool)).status();
    assert!(status.is_ok_and(|s| s.success()));
  }
  let tarball = dir.join("go.tgz");
  let status = Command::new("tar").arg("-C").arg(&tree).arg("-czf").arg(&tarball).arg("go").status();
  assert!(status.is_ok_and(|s| s.success()));
  let out = Command::new("sha256sum").arg(&tarball).output().unwrap_or_else(|e| panic!("{e}"));
  let sum = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_owned();
  assert_eq!(sum.len(), 64);
  (tarball, sum)
}

/// Runs converge on `playbook` with the tarball at `ctl/go.tgz` beside it in a
/// mount namespace of its own: the testbed's hosts share this machine's files,
/// and must not find the controller's file there.
fn converge_hiding(fleet: &Fleet, tarball: &std::path::Path, playbook: &str, args: &[&str]) -> Output {
  let path = fleet.write_playbook(playbook);
  let ctl = fleet.workdir().join("ctl");
  std::fs::create_dir_all(&ctl).unwrap_or_else(|e| panic!("{e}"));
  let mut cmd = Command::new("unshare");
  cmd
    .args(["-m", "--propagation", "private", "sh", "-c"])
    .arg("mount -t tmpfs tmpfs \"$1\" && cp -- \"$2\" \"$1/go.tgz\" && shift 2 && exec \"$@\"")
    .arg("sh")
    .arg(&ctl)
    .arg(tarball)
    .arg(binary())
    .arg(&path)
    .args(args)
    .current_dir(fleet.workdir())
    .env("HOME", fleet.home())
    .env("NO_COLOR", "1")
    .env_remove("XDG_STATE_HOME")
    .env_remove("SSH_AUTH_SOCK");
  let (_, _, out) = watch(&mut cmd, "\u{0}never", "\u{0}never");
  out
}

#[test]
fn a_controller_tarball_is_sent_over_ssh_and_checked_by_sha256() {
  let fleet = Fleet::start(2);
  let made = fleet.workdir().join("made");
  std::fs::create_dir_all(&made).unwrap_or_else(|e| panic!("{e}"));
  let (tarball, sum) = fake_go_tarball(&made, "1.22.5");
  let hosts = ["h01", "h02"];
  let before: Vec<Option<Vec<u8>>> = hosts.iter().map(|h| fleet.read(h, "/usr/local/go/VERSION")).collect();

  // A wrong sha256 is caught on the controller: nothing is sent, nothing changes.
  let wrong = format!(
    "{}go toolchain \"1.22.5\" {{\n  source = \"ctl/go.tgz\"\n  sha256 = \"{}\"\n}}\n",
    fleet.inventory(),
    "0".repeat(64)
  );
  let out = converge_hiding(&fleet, &tarball, &wrong, &[]);
  assert_eq!(out.status.code(), Some(1), "{}", text(&out));
  assert!(
    text(&out).contains("sha256 mismatch") && text(&out).contains("nothing was changed"),
    "{}",
    text(&out)
  );
  for (h, was) in hosts.iter().zip(&before) {
    assert_eq!(&fleet.read(h, "/usr/local/go/VERSION"), was, "{h}");
    assert!(!fleet.host_path(h, "/usr/local/bin/go").exists(), "{h}");
  }

  let playbook = format!(
    "{}go toolchain \"1.22.5\" {{\n  source = \"ctl/go.tgz\"\n  sha256 = \"{sum}\"\n}}\n",
    fleet.inventory()
  );
  let out = converge_hiding(&fleet, &tarball, &playbook, &[]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  for (i, h) in hosts.iter().enumerate() {
    let user = ["dev-bash", "dev-zsh"][i];
    let said = fleet.ssh(h, user, "/usr/local/go/bin/go version; /usr/local/bin/go version");
    assert_eq!(said, "go version go1.22.5 linux/amd64\ngo version go1.22.5 linux/amd64\n", "{h}");
    let version = fleet.read_text(h, "/usr/local/go/VERSION");
    assert!(version.starts_with("go1.22.5\n"), "{h}: {version:?}");
    // Nothing is left of the transfer beside the prefix.
    let left: Vec<String> = std::fs::read_dir(fleet.host_path(h, "/usr/local"))
      .into_iter()
      .flatten()
      .flatten()
      .map(|e| e.file_name().to_string_lossy().into_owned())
      .filter(|n| n.starts_with(".converge"))
      .collect();
    assert!(left.is_empty(), "{h}: {left:?}");
  }
  let out = converge_hiding(&fleet, &tarball, &playbook, &["--plan"]);
  assert_eq!(out.status.code(), Some(0), "a second plan has nothing to do: {}", text(&out));
}

/// A plan saved without running guards leaves each guarded command to the
/// apply: a guard that skips its command leaves the step unchanged.
#[test]
fn a_guard_decided_at_apply_that_skips_its_command_reports_unchanged() {
  let tree = Tree::new();
  let playbook = "command \"touch ~/skipped\" {\n  unless = \"true\"\n}\ncommand \"touch ~/ran\" {\n  only_if = \"true\"\n}\n";
  let out = tree.converge(playbook, &["--plan", "--out", "plan.json"]);
  assert_eq!(out.status.code(), Some(2), "{}", text(&out));
  let out = tree.apply_saved().args(["--format", "json"]).output().unwrap_or_else(|e| panic!("{e}"));
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  assert!(!tree.root().join("home/dev/skipped").exists(), "`unless` held: the command did not run");
  assert!(tree.root().join("home/dev/ran").exists(), "`only_if` held: the command ran");
  let doc: serde_json::Value =
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
  let steps = doc["hosts"][0]["steps"].as_array().cloned().unwrap_or_default();
  let status = |name: &str| {
    steps
      .iter()
      .find(|s| s["name"] == name)
      .map(|s| s["result"]["status"].as_str().unwrap_or_default().to_owned())
      .unwrap_or_else(|| panic!("no step {name} in {doc}"))
  };
  assert_eq!(status("command touch ~/skipped"), "unchanged", "{doc}");
  assert_eq!(status("command touch ~/ran"), "changed", "{doc}");
}
