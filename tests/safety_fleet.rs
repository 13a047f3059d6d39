//! Runs that meet on one host: two controllers converging the same hosts at
//! once, and one machine named twice in an inventory. On the fleet testbed.

use crate::fleet::{Fleet, host};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A converge started in the background; killed by PID if the test ends first.
struct Background {
  child: Option<Child>,
  out: PathBuf,
}

impl Background {
  fn start(fleet: &Fleet, name: &str, args: &[&str]) -> Background {
    let out = fleet.workdir().join(format!("{name}.json"));
    let file = std::fs::File::create(&out).unwrap_or_else(|e| panic!("{e}"));
    let child = fleet
      .run_command(args)
      .stdout(file)
      .stderr(Stdio::null())
      .spawn()
      .unwrap_or_else(|e| panic!("cannot start converge: {e}"));
    Background { child: Some(child), out }
  }

  /// Waits for it to end (at most `limit`) and returns its JSON report.
  fn finish(mut self, limit: Duration) -> (i32, Value) {
    let started = Instant::now();
    let mut child = self.child.take().unwrap_or_else(|| panic!("not running"));
    let status = loop {
      if let Ok(Some(status)) = child.try_wait() {
        break status;
      }
      if started.elapsed() > limit {
        let _ = child.kill();
        let _ = child.wait();
        panic!("converge did not finish within {limit:?}");
      }
      std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&self.out).unwrap_or_default();
    let doc = serde_json::from_str(&text).unwrap_or_else(|e| panic!("no JSON ({e}): {text}"));
    (status.code().unwrap_or(-1), doc)
  }
}

impl Drop for Background {
  fn drop(&mut self) {
    if let Some(child) = self.child.as_mut() {
      let _ = child.kill();
      let _ = child.wait();
    }
  }
}

/// Waits up to a minute for `what` to hold.
fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
  let started = Instant::now();
  while !ok() {
    assert!(started.elapsed() < Duration::from_secs(60), "waited a minute for {what}");
    std::thread::sleep(Duration::from_millis(50));
  }
}

/// The command lines of the processes running on a host (in its mount namespace).
fn processes(fleet: &Fleet, name: &str) -> Vec<String> {
  let ns = std::fs::read_link(format!("/proc/{}/ns/mnt", fleet.pid(name))).ok();
  let mut out = Vec::new();
  for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
    if entry.file_name().to_string_lossy().parse::<u32>().is_err() {
      continue;
    }
    if std::fs::read_link(entry.path().join("ns/mnt")).ok() != ns {
      continue;
    }
    let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
    out.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
  }
  out
}

fn home(name: &str) -> &'static str {
  match name {
    "h01" => "/home/dev-bash",
    "h02" => "/home/dev-zsh",
    _ => panic!("no home for {name}"),
  }
}

/// Two controllers, with state directories of their own, converge the same
/// hosts with playbooks that disagree on four files. The second plans while
/// the first is half way through its apply (it waits in a command between its
/// second and third file), then waits for the host lock. Once it has the lock
/// the host no longer is what it planned from: it must change nothing, not
/// write its first two files over the first run's and fail on the other two.
#[test]
fn a_run_that_planned_before_another_applied_refuses_the_host_instead_of_mixing_both() {
  let fleet = Fleet::start(2);
  let files = ["a", "b", "c", "d"];
  let file = |name: &str, who: &str| format!("file \"~/mix/{name}\" {{\n  content = \"{who}\\n\"\n}}\n");
  let mut first = fleet.inventory();
  first.push_str(&file("a", "first"));
  first.push_str(&file("b", "first"));
  first.push_str(
    "command \"touch ~/mix/waiting; for i in $(seq 600); do [ -e ~/mix/go ] && break; sleep 0.1; done\" {\n  creates = \"~/mix/never\"\n}\n",
  );
  first.push_str(&file("c", "first"));
  first.push_str(&file("d", "first"));
  let mut second = fleet.inventory();
  for f in files {
    second.push_str(&file(f, "second"));
  }
  let dir = fleet.workdir();
  std::fs::write(dir.join("first.goenv"), &first).unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(dir.join("second.goenv"), &second).unwrap_or_else(|e| panic!("{e}"));
  let run = |name: &str| {
    let state = dir.join(format!("state-{name}")).display().to_string();
    let playbook = format!("{name}.goenv");
    Background::start(&fleet, name, &[&playbook, "--state-dir", &state, "--format", "json"])
  };

  let one = run("first");
  for (name, _) in &fleet.hosts {
    wait_for(&format!("the first run to reach its command on {name}"), || {
      fleet.read(name, &format!("{}/mix/waiting", home(name))).is_some()
    });
  }
  let two = run("second");
  // The second run has its facts and plan when its apply waits for the lock.
  for (name, _) in &fleet.hosts {
    wait_for(&format!("the second run to wait for the host lock on {name}"), || {
      processes(&fleet, name).iter().any(|p| p.starts_with("flock "))
    });
  }
  for (name, _) in &fleet.hosts {
    fleet.write(name, &format!("{}/mix/go", home(name)), b"");
  }
  let (code, doc) = one.finish(Duration::from_secs(120));
  assert_eq!(code, 0, "{doc}");
  let (code, doc) = two.finish(Duration::from_secs(120));
  assert_eq!(code, 1, "{doc}");

  for (name, _) in &fleet.hosts {
    let seen: Vec<String> =
      files.iter().map(|f| fleet.read_text(name, &format!("{}/mix/{f}", home(name)))).collect();
    assert_eq!(seen, ["first\n"; 4], "{name}: every file from the first playbook, none from the second");
    let h = host(&doc, name);
    assert_eq!(h["status"], "stale", "{name}: {h}");
    let error = h["error"].as_str().unwrap_or_default();
    assert!(
      error.contains("changed since the plan was made (another converge run?)")
        && error.contains(&format!("{}/mix/c", home(name))),
      "{name}: {error}"
    );
  }
}

/// A release tarball of the real Go the tests use, and its sha256.
fn go_tarball() -> (PathBuf, String) {
  let go = crate::apply::go();
  let tree =
    go.parent().and_then(std::path::Path::parent).unwrap_or_else(|| panic!("odd go {}", go.display()));
  let out = crate::test::root().join("target/test-tools/go-release.tar.gz");
  if !out.exists() {
    let parent = tree.parent().unwrap_or_else(|| panic!("no parent"));
    let tmp = out.with_extension(format!("partial.{}", std::process::id()));
    let status = std::process::Command::new("tar")
      .arg("-C")
      .arg(parent)
      .arg("-czf")
      .arg(&tmp)
      .arg(tree.file_name().unwrap_or_default())
      .status()
      .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    std::fs::rename(&tmp, &out).unwrap_or_else(|e| panic!("{e}"));
  }
  let sum = std::process::Command::new("sha256sum").arg(&out).output().unwrap_or_else(|e| panic!("{e}"));
  let sum = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap_or_default().to_owned();
  let version = std::process::Command::new(&go).arg("version").env("GOTOOLCHAIN", "local").output();
  let version = version.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
  let version = version.split_whitespace().nth(2).unwrap_or_default().trim_start_matches("go").to_owned();
  (out, format!("{version} {sum}"))
}

/// One machine under two inventory entries (its bash user and its zsh user,
/// as one verifies a second user): both want the same `/usr/local/go`. The
/// entries take turns, the second planned after the first applied, so the
/// toolchain is installed once and never by two runs at the same time.
#[test]
fn two_entries_for_one_machine_install_its_toolchain_once_one_after_the_other() {
  let fleet = Fleet::start(1);
  let (tarball, version_sum) = go_tarball();
  let (version, sum) = version_sum.split_once(' ').unwrap_or_default();
  let key = fleet.testbed_dir().join("id_ed25519");
  let playbook = format!(
    "host \"h01\" {{}}\nhost \"h01-zsh\" {{\n  address = \"127.0.{}.1\"\n  port = 2222\n  user = \"dev-zsh\"\n  identity = \"{}\"\n}}\n\
     go toolchain \"{version}\" {{\n  source = \"{}\"\n  sha256 = \"{sum}\"\n}}\n",
    fleet.net,
    key.display(),
    tarball.display()
  );
  let (code, doc) = fleet.converge_json(&playbook, &[]);
  assert_eq!(code, 0, "{doc}");
  assert_eq!(host(&doc, "h01")["status"], "changed", "{doc}");
  assert_eq!(host(&doc, "h01-zsh")["status"], "ok", "planned after h01 applied, nothing left to do: {doc}");
  assert!(fleet.host_path("h01", "/usr/local/go/bin/go").is_file());
  assert!(!fleet.host_path("h01", "/usr/local/go/go").exists(), "one tree, not one moved into the other");
  let (code, doc) = fleet.converge_json(&playbook, &["--plan"]);
  assert_eq!(code, 0, "{doc}");
}

/// `--timeout` bounds a host's apply, its wait for the host lock included: a
/// live host whose step outruns it is `failed` when it runs out, not
/// `--lock-timeout` seconds later.
#[test]
fn an_apply_that_outruns_the_timeout_fails_at_the_timeout_not_later() {
  let fleet = Fleet::start(1);
  let playbook = format!("{}command \"sleep 60\" {{}}\n", fleet.inventory());
  std::fs::write(fleet.workdir().join("slow.goenv"), playbook).unwrap_or_else(|e| panic!("{e}"));
  let started = Instant::now();
  let run = Background::start(
    &fleet,
    "slow",
    &["slow.goenv", "--format", "json", "--timeout", "6", "--lock-timeout", "40"],
  );
  let (code, doc) = run.finish(Duration::from_secs(120));
  let took = started.elapsed();
  assert_eq!(code, 1, "{doc}");
  let h01 = host(&doc, "h01");
  assert_eq!(h01["status"], "failed", "{h01}");
  assert!(h01.to_string().contains("the script did not finish within 6s"), "{h01}");
  assert!(took < Duration::from_secs(30), "the run took {took:?}; --timeout is 6 s");
}
