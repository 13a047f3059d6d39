//! Past one controller: pull mode on many hosts at once, each converging
//! itself from the same git repository, as a fleet of systemd timers would.

use crate::fleet::{Fleet, host};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HOSTS: usize = 20;

const PLAYBOOK: &str = r#"
export GOPROXY = "https://goproxy.example.com,direct"

file "~/.config/converge-scale/marker" {
  content = "host {{ host }}\n"
}
"#;

#[test]
fn pull_mode_converges_twenty_hosts_at_once_each_from_its_own_checkout() {
  let repo = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let git = |args: &[&str]| crate::test::git(repo.path(), args);
  let hosts: String = (1..=HOSTS).map(|i| format!("host \"h{i:02}\" {{}}\n")).collect();
  std::fs::write(repo.path().join("site.goenv"), format!("{hosts}{PLAYBOOK}"))
    .unwrap_or_else(|e| panic!("{e}"));
  git(&["init", "-q"]);
  git(&["add", "."]);
  git(&["commit", "-qm", "fleet"]);
  let bin = crate::test::binary();
  let bin_dir = bin.parent().unwrap_or_else(|| panic!("no bin dir")).to_path_buf();
  let fleet =
    Fleet::start_with(HOSTS, &[(repo.path().to_path_buf(), "/srv/goenv"), (bin_dir, "/opt/converge-bin")]);
  let config = fleet.home().join(".ssh/config").display().to_string();
  let known = format!("UserKnownHostsFile={}", fleet.home().join(".ssh/known_hosts").display());

  // Every host starts its own run at the same moment; each is bounded and
  // killed by its PID when it overruns.
  let deadline = Instant::now() + Duration::from_secs(300);
  let mut children: Vec<(String, std::process::Child)> = (1..=HOSTS)
    .map(|i| {
      let name = format!("h{i:02}");
      let child = Command::new("ssh")
        .args(["-F", &config, "-o", &known, "-o", "BatchMode=yes", "-l", "root", &name])
        .arg("/opt/converge-bin/converge enforce --local --git /srv/goenv --format json 2>/tmp/pull.err")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("ssh {name}: {e}"));
      (name, child)
    })
    .collect();
  let mut outputs = Vec::new();
  let mut overran = Vec::new();
  for (name, mut child) in children.drain(..) {
    loop {
      match child.try_wait() {
        Ok(Some(_)) => break,
        Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
        _ => {
          let _ = child.kill();
          overran.push(name.clone());
          break;
        }
      }
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{name}: {e}"));
    outputs.push((name, String::from_utf8_lossy(&out.stdout).into_owned()));
  }
  assert!(overran.is_empty(), "runs that overran 300 s and were killed: {overran:?}");
  for (name, out) in &outputs {
    let doc: Value = serde_json::from_str(out).unwrap_or_else(|e| {
      let err = fleet.read_text(name, "/tmp/pull.err");
      panic!("{name}: no JSON ({e}): {out}\n{err}")
    });
    assert_eq!(doc["hosts"].as_array().map(Vec::len), Some(1), "{name} converges itself only: {doc}");
    assert_eq!(host(&doc, name)["status"], "changed", "{name}: {doc}");
    assert_eq!(host(&doc, name)["connections"], 0, "{name}: no SSH: {doc}");
    assert_eq!(fleet.read_text(name, "/root/.config/converge-scale/marker"), format!("host {name}\n"));
    assert!(fleet.read(name, "/root/.local/state/converge/converge.prom").is_some(), "{name}: its metrics");
  }
}
