//! Fleet tests: converge against real `sshd` hosts of the testbed
//! (`tests/testbed/testbed.sh`), each in its own mount namespace on its own
//! loopback address. They need root, sshd, sudo and the four shells;
//! `scripts/test.sh` installs what is missing.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Fleets run one at a time, and not beside the tests that use a host of the
/// shared testbed ([`lease`]): a 2-core machine running several dozen sshd
/// sessions at once would make the timeout tests meaningless. Leased hosts
/// (one sshd session at a time each) run beside each other.
static ONE_AT_A_TIME: RwLock<()> = RwLock::new(());
/// Each fleet, and the shared testbed, gets its own `127.0.NET.0/24`.
static NEXT_NET: AtomicU8 = AtomicU8::new(0);

/// The third octet of the next testbed's addresses. CONVERGE_TEST_NET moves
/// them (default 101 on), so that two test runs on one machine never share
/// loopback addresses.
fn next_net() -> u8 {
  let base = std::env::var("CONVERGE_TEST_NET").ok().and_then(|v| v.parse::<u8>().ok()).unwrap_or(101);
  base.wrapping_add(NEXT_NET.fetch_add(1, Ordering::SeqCst))
}

/// Runs `testbed.sh up DIR COUNT NET FIRST` and panics when it fails.
fn testbed_up(tb: &Path, count: usize, net: u8, first: usize, binds: &[(PathBuf, &str)]) {
  let out = Command::new(testbed())
    .arg("up")
    .arg(tb)
    .arg(count.to_string())
    .arg(net.to_string())
    .arg(first.to_string())
    .env(
      "TESTBED_BINDS",
      binds.iter().map(|(s, d)| format!("{}={d}", s.display())).collect::<Vec<_>>().join(" "),
    )
    .output()
    .unwrap_or_else(|e| panic!("cannot run testbed.sh: {e}"));
  assert!(
    out.status.success(),
    "the testbed did not start (it needs root, sshd, sudo, zsh and fish; scripts/test.sh installs them):\n{}",
    String::from_utf8_lossy(&out.stderr)
  );
}

/// The `name pid` lines of a testbed's `pids` file.
fn testbed_hosts(tb: &Path) -> Vec<(String, u32)> {
  let pids = std::fs::read_to_string(tb.join("pids")).unwrap_or_default();
  pids
    .lines()
    .filter_map(|l| {
      let (name, pid) = l.split_once(' ')?;
      Some((name.to_owned(), pid.parse().ok()?))
    })
    .collect()
}

fn testbed() -> PathBuf {
  Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/testbed.sh")
}

pub struct Fleet {
  dir: tempfile::TempDir,
  pub hosts: Vec<(String, u32)>,
  pub net: u8,
  _turn: std::sync::RwLockWriteGuard<'static, ()>,
}

impl Fleet {
  /// Starts hosts h01..hN. The controller's home is `dir/home`, whose
  /// `.ssh/config` is the testbed's, with its known_hosts.
  pub fn start(count: usize) -> Fleet {
    Fleet::start_with(count, &[])
  }

  /// Starts hosts with directories of this machine bind-mounted into each
  /// (`(source, destination)`).
  pub fn start_with(count: usize, binds: &[(PathBuf, &str)]) -> Fleet {
    let turn = ONE_AT_A_TIME.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    let net = next_net();
    let dir =
      tempfile::Builder::new().prefix("converge-fleet-").tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let tb = dir.path().join("tb");
    testbed_up(&tb, count, net, 1, binds);
    let hosts = testbed_hosts(&tb);
    let fleet = Fleet { dir, hosts, net, _turn: turn };
    let ssh = fleet.home().join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let config = std::fs::read_to_string(tb.join("ssh_config")).unwrap_or_default();
    fleet.write_local(".ssh/config", &config);
    let known = std::fs::read_to_string(tb.join("known_hosts")).unwrap_or_default();
    fleet.write_local(".ssh/known_hosts", &known);
    fleet
  }

  pub fn testbed_dir(&self) -> PathBuf {
    self.dir.path().join("tb")
  }

  /// The controller's home directory.
  pub fn home(&self) -> PathBuf {
    self.dir.path().join("home")
  }

  /// Writes a file under the controller's home.
  pub fn write_local(&self, path: &str, text: &str) {
    let p = self.home().join(path);
    if let Some(parent) = p.parent() {
      std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
    }
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
  }

  pub fn read_local(&self, path: &str) -> String {
    std::fs::read_to_string(self.home().join(path)).unwrap_or_default()
  }

  pub fn pid(&self, host: &str) -> u32 {
    self.hosts.iter().find(|(h, _)| h == host).map(|(_, p)| *p).unwrap_or_else(|| panic!("no host {host}"))
  }

  /// A path on a host, seen from outside through its sshd's root.
  pub fn host_path(&self, host: &str, path: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{}/root{path}", self.pid(host)))
  }

  pub fn read(&self, host: &str, path: &str) -> Option<Vec<u8>> {
    std::fs::read(self.host_path(host, path)).ok()
  }

  pub fn read_text(&self, host: &str, path: &str) -> String {
    String::from_utf8_lossy(&self.read(host, path).unwrap_or_default()).into_owned()
  }

  pub fn write(&self, host: &str, path: &str, data: &[u8]) {
    std::fs::write(self.host_path(host, path), data).unwrap_or_else(|e| panic!("write {host}:{path}: {e}"));
  }

  /// Writes the playbook and runs converge with the controller's home.
  pub fn converge(&self, playbook: &str, args: &[&str]) -> Output {
    self.command(playbook, &[], args)
  }

  /// Runs `converge SUBCOMMAND... PLAYBOOK ARGS...`.
  pub fn command(&self, playbook: &str, subcommand: &[&str], args: &[&str]) -> Output {
    let path = self.write_playbook(playbook);
    self
      .run_command(subcommand)
      .arg(&path)
      .args(args)
      .output()
      .unwrap_or_else(|e| panic!("cannot run converge: {e}"))
  }

  /// Writes the playbook `fleet.goenv` and returns its path.
  pub fn write_playbook(&self, playbook: &str) -> PathBuf {
    let path = self.dir.path().join("fleet.goenv");
    std::fs::write(&path, playbook).unwrap_or_else(|e| panic!("write playbook: {e}"));
    path
  }

  /// The directory converge runs in (playbook, plan files, reports).
  pub fn workdir(&self) -> &Path {
    self.dir.path()
  }

  /// Runs converge with exactly these arguments, in the fleet's directory.
  pub fn run(&self, args: &[&str]) -> Output {
    self.run_command(args).output().unwrap_or_else(|e| panic!("cannot run converge: {e}"))
  }

  /// The converge command `run` runs, to start it in the background.
  pub fn run_command(&self, args: &[&str]) -> Command {
    let mut cmd = Command::new(crate::test::binary());
    cmd
      .args(args)
      .current_dir(self.dir.path())
      .env("HOME", self.home())
      .env("COLUMNS", "100")
      .env("NO_COLOR", "1")
      .env_remove("XDG_STATE_HOME")
      .env_remove("SSH_AUTH_SOCK");
    cmd
  }

  /// Runs converge with `--format json` and returns the document and exit code.
  pub fn converge_json(&self, playbook: &str, args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = self.converge(playbook, &all);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
      panic!(
        "no JSON from converge ({e}):\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
      )
    });
    (out.status.code().unwrap_or(-1), doc)
  }

  /// Runs a command on a host as `user` through OpenSSH, as a person would.
  pub fn ssh(&self, host: &str, user: &str, command: &str) -> String {
    let out = Command::new("ssh")
      .args(["-F", &self.home().join(".ssh/config").display().to_string()])
      .args(["-o", &format!("UserKnownHostsFile={}", self.home().join(".ssh/known_hosts").display())])
      .args(["-o", "BatchMode=yes", "-l", user, host, command])
      .output()
      .unwrap_or_else(|e| panic!("ssh: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
  }

  /// Sends a signal to a host's sshd.
  pub fn signal(&self, host: &str, signal: &str) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(self.pid(host).to_string()).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {host}");
  }

  /// Sends a signal to every process of a host (its sshd, its sessions and
  /// what they run), as if the machine were paused (`STOP`) or resumed
  /// (`CONT`): its kernel still accepts and acknowledges TCP, nothing answers.
  pub fn freeze(&self, host: &str, signal: &str) {
    let ns = std::fs::read_link(format!("/proc/{}/ns/mnt", self.pid(host)))
      .unwrap_or_else(|e| panic!("{host}: no mount namespace: {e}"));
    // Twice: a process may have forked between the look and the signal.
    for _ in 0..2 {
      for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if std::fs::read_link(entry.path().join("ns/mnt")).is_ok_and(|n| n == ns) {
          let _ = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status();
        }
      }
    }
  }

  /// The inventory part of a playbook naming hosts h01..hN.
  pub fn inventory(&self) -> String {
    self.hosts.iter().map(|(h, _)| format!("host \"{h}\" {{}}\n")).collect()
  }
}

impl Drop for Fleet {
  fn drop(&mut self) {
    let _ = Command::new(testbed()).arg("down").arg(self.testbed_dir()).status();
  }
}

/// Per host in a JSON report: (status, connections, channels, number of steps changed or pending).
pub fn host_rows(doc: &Value) -> Vec<(String, String, u64, u64)> {
  doc["hosts"]
    .as_array()
    .map(|hosts| {
      hosts
        .iter()
        .map(|h| {
          (
            h["host"].as_str().unwrap_or_default().to_owned(),
            h["status"].as_str().unwrap_or_default().to_owned(),
            h["connections"].as_u64().unwrap_or(99),
            h["channels"].as_u64().unwrap_or(99),
          )
        })
        .collect()
    })
    .unwrap_or_default()
}

pub fn host<'a>(doc: &'a Value, name: &str) -> &'a Value {
  doc["hosts"]
    .as_array()
    .and_then(|hosts| hosts.iter().find(|h| h["host"] == name))
    .unwrap_or_else(|| panic!("no host {name} in {doc}"))
}

const DESIRED: &str = r#"
export GOPROXY = "https://goproxy.example.com,direct"
path prepend ["/usr/local/go/bin", "$HOME/go/bin"]

goenv {
  GOPRIVATE = "git.example.com"
  GOFLAGS = "-mod=mod"
}

vscode settings {
  "go.toolsManagement.autoUpdate" = false
}

managed block "~/.bashrc" {
  name = "aliases"
  content = "alias gotest='go test ./...'\n"
}

file "~/.config/converge-fleet/marker" {
  content = "host {{ host }}\n"
}
"#;

fn home_of(user: &str) -> String {
  if user == "root" { "/root".to_owned() } else { format!("/home/{user}") }
}

/// The user the testbed's ssh config logs in as on host `i` (1-based).
fn user_of(i: usize) -> &'static str {
  ["dev-bash", "dev-zsh", "dev-dash", "dev-fish"][(i - 1) % 4]
}

#[test]
fn twelve_hosts_converge_then_a_rerun_is_a_no_op_over_one_connection() {
  let fleet = Fleet::start(12);
  let playbook = format!("{}{DESIRED}", fleet.inventory());

  let (code, doc) = fleet.converge_json(&playbook, &[]);
  assert_eq!(code, 0, "{doc}");
  for (name, status, connections, channels) in host_rows(&doc) {
    assert_eq!(status, "changed", "{name}: {doc}");
    assert_eq!((connections, channels), (1, 2), "{name}: facts in one channel, the apply in one more");
  }
  // The files really are on the hosts, as each host's user.
  for i in 1..=12 {
    let name = format!("h{i:02}");
    let home = home_of(user_of(i));
    let env = fleet.read_text(&name, &format!("{home}/.config/go/env"));
    assert!(env.contains("GOPRIVATE=git.example.com"), "{name}: {env:?}");
    assert_eq!(
      fleet.read_text(&name, &format!("{home}/.config/converge-fleet/marker")),
      format!("host {name}\n")
    );
    let meta = std::fs::metadata(fleet.host_path(&name, &format!("{home}/.config/go/env")));
    let uid = meta.map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0);
    assert_eq!(uid, 2001 + ((i as u32 - 1) % 4), "{name}: files belong to the login user");
  }
  // The login shell of each user sees the export over a real `ssh host cmd`.
  assert_eq!(fleet.ssh("h01", "dev-bash", "echo $GOPROXY").trim(), "https://goproxy.example.com,direct");
  assert_eq!(fleet.ssh("h02", "dev-zsh", "echo $GOPROXY").trim(), "https://goproxy.example.com,direct");

  let (code, doc) = fleet.converge_json(&playbook, &[]);
  assert_eq!(code, 0, "{doc}");
  for (name, status, connections, channels) in host_rows(&doc) {
    assert_eq!(status, "ok", "{name}: {doc}");
    assert_eq!(connections, 1, "{name}");
    assert!(channels <= 3, "{name}: a no-op run used {channels} channels");
  }
  assert_eq!(doc["summary"]["ok"], 12);

  let (code, doc) = fleet.converge_json(&playbook, &["--plan"]);
  assert_eq!(code, 0, "a plan after a converge has nothing to do: {doc}");
}

#[test]
fn drift_on_some_hosts_is_planned_and_repaired_there_only() {
  let fleet = Fleet::start(10);
  let playbook = format!("{}{DESIRED}", fleet.inventory());
  let (code, doc) = fleet.converge_json(&playbook, &[]);
  assert_eq!(code, 0, "{doc}");

  // Someone edits the managed block on h03 and the go env file on h07, and adds
  // their own lines around the block on h03.
  let bashrc = "/home/dev-dash/.bashrc";
  let before = fleet.read_text("h03", bashrc);
  let drifted = before.replace("alias gotest='go test ./...'", "alias gotest='go test -v ./...'");
  let drifted = format!("# mine, above\n{drifted}# mine, below\n");
  fleet.write("h03", bashrc, drifted.as_bytes());
  let env_h07 = format!("{}/.config/go/env", home_of(user_of(7)));
  let original7 = fleet.read_text("h07", &env_h07);
  fleet.write("h07", &env_h07, b"GOPRIVATE=elsewhere.example.com\n");

  let (code, doc) = fleet.converge_json(&playbook, &["--plan"]);
  assert_eq!(code, 2, "{doc}");
  for (name, status, _, _) in host_rows(&doc) {
    let expected = if name == "h03" || name == "h07" { "changed" } else { "ok" };
    assert_eq!(status, expected, "{name}");
  }
  let h03 = host(&doc, "h03");
  let diff = h03["steps"]
    .as_array()
    .and_then(|s| s.iter().find(|s| s["action"] == "update"))
    .map(|s| s["changes"][0]["diff"].as_str().unwrap_or_default().to_owned())
    .unwrap_or_default();
  assert!(diff.contains("-alias gotest='go test -v ./...'"), "{diff}");
  assert!(diff.contains("+alias gotest='go test ./...'"), "{diff}");

  let (code, doc) = fleet.converge_json(&playbook, &[]);
  assert_eq!(code, 0, "{doc}");
  let repaired = fleet.read_text("h03", bashrc);
  assert_eq!(repaired, format!("# mine, above\n{before}# mine, below\n"), "bytes outside the block are kept");
  assert_eq!(fleet.read_text("h07", &env_h07), original7);
  let (code, _) = fleet.converge_json(&playbook, &["--plan"]);
  assert_eq!(code, 0);
}

#[test]
fn unreachable_and_hung_hosts_are_recorded_and_the_others_finish() {
  let fleet = Fleet::start(10);
  // h11 has an address nothing listens on; h04's sshd is stopped (it accepts
  // TCP connections in the kernel but never answers).
  let playbook = format!(
    "{}host \"h11\" {{\n  address = \"127.0.{}.211\"\n  port = 2222\n}}\n{DESIRED}",
    fleet.inventory(),
    fleet.net
  );
  fleet.signal("h04", "STOP");
  let started = Instant::now();
  let (code, doc) = fleet.converge_json(&playbook, &["--connect-timeout", "3"]);
  let took = started.elapsed();
  fleet.signal("h04", "CONT");
  assert_eq!(code, 1, "{doc}");
  assert!(took < Duration::from_secs(30), "the run took {took:?}: a hung host held it up");
  for (name, status, _, _) in host_rows(&doc) {
    let expected = if name == "h04" || name == "h11" { "unreachable" } else { "changed" };
    assert_eq!(status, expected, "{name}: {doc}");
  }
  let h04 = host(&doc, "h04")["error"].as_str().unwrap_or_default().to_owned();
  assert!(h04.contains("no answer within"), "{h04}");
  let h11 = host(&doc, "h11")["error"].as_str().unwrap_or_default().to_owned();
  assert!(h11.contains("cannot connect to 127.0."), "{h11}");
  assert_eq!(fleet.read("h04", "/home/dev-fish/.config/go/env"), None, "nothing written on the hung host");
}

#[test]
fn a_changed_host_key_refuses_that_host_and_writes_nothing_there() {
  let fleet = Fleet::start(10);
  let playbook = format!("{}{DESIRED}", fleet.inventory());
  // known_hosts says h03 has h05's key.
  let known = fleet.read_local(".ssh/known_hosts");
  let lines: Vec<&str> = known.lines().collect();
  let key_of = |i: usize| lines[i - 1].split_once(' ').map(|(_, k)| k).unwrap_or_default().to_owned();
  let h03_name = lines[2].split_once(' ').map(|(n, _)| n).unwrap_or_default().to_owned();
  let forged: String = lines
    .iter()
    .enumerate()
    .map(|(i, l)| if i == 2 { format!("{h03_name} {}\n", key_of(5)) } else { format!("{l}\n") })
    .collect();
  fleet.write_local(".ssh/known_hosts", &forged);

  let (code, doc) = fleet.converge_json(&playbook, &[]);
  assert_eq!(code, 1, "{doc}");
  for (name, status, _, _) in host_rows(&doc) {
    assert_eq!(status, if name == "h03" { "unreachable" } else { "changed" }, "{name}");
  }
  let error = host(&doc, "h03")["error"].as_str().unwrap_or_default().to_owned();
  let fingerprint = |i: usize| {
    let out = Command::new("ssh-keygen")
      .arg("-lf")
      .arg(fleet.testbed_dir().join(format!("h{i:02}/host_ed25519.pub")))
      .output()
      .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
      .unwrap_or_default();
    out.split_whitespace().nth(1).unwrap_or_default().to_owned()
  };
  assert!(error.contains("host key") && error.contains("changed"), "{error}");
  assert!(error.contains(&format!("ssh-ed25519 {}", fingerprint(3))), "names the offered key: {error}");
  assert!(error.contains(&format!("ssh-ed25519 {}", fingerprint(5))), "names the known key: {error}");
  assert_eq!(fleet.read("h03", "/home/dev-dash/.config/go/env"), None, "nothing written on h03");
  // accept-new does not accept a changed key either.
  let (_, doc) = fleet.converge_json(&playbook, &["--host-key-checking", "accept-new"]);
  assert_eq!(host(&doc, "h03")["status"], "unreachable");
}

#[test]
fn unknown_host_keys_are_refused_unless_accept_new_records_them() {
  let fleet = Fleet::start(10);
  let playbook = format!("{}{DESIRED}", fleet.inventory());
  let known = fleet.read_local(".ssh/known_hosts");
  let without_h02: String = known
    .lines()
    .filter(|l| !l.starts_with(&format!("[127.0.{}.2]", fleet.net)))
    .map(|l| format!("{l}\n"))
    .collect();
  fleet.write_local(".ssh/known_hosts", &without_h02);

  let (code, doc) = fleet.converge_json(&playbook, &["--plan"]);
  assert_eq!(code, 1);
  let error = host(&doc, "h02")["error"].as_str().unwrap_or_default().to_owned();
  assert!(error.contains("not in known_hosts") && error.contains("ssh-ed25519 SHA256:"), "{error}");
  assert!(error.contains("accept-new"), "says what to do: {error}");

  let (code, doc) = fleet.converge_json(&playbook, &["--plan", "--host-key-checking", "accept-new"]);
  assert_eq!(code, 2, "{doc}");
  assert_eq!(host(&doc, "h02")["status"], "changed");
  assert_eq!(fleet.read_local(".ssh/known_hosts").lines().count(), 10, "the new key was recorded once");
  let (code, _) = fleet.converge_json(&playbook, &["--plan"]);
  assert_eq!(code, 2, "the recorded key is trusted from then on");
}

#[test]
fn system_paths_go_through_sudo_and_a_sudo_password_is_a_clear_error() {
  let fleet = Fleet::start(10);
  let mut playbook = String::new();
  for (name, _) in &fleet.hosts {
    let user = match name.as_str() {
      "h01" => "root",
      "h02" | "h03" => "dev-sudo",
      "h04" => "dev-pw",
      _ => "dev-bash",
    };
    playbook.push_str(&format!("host \"{name}\" {{\n  user = \"{user}\"\n}}\n"));
  }
  playbook.push_str(
    "hosts [\"h01\", \"h02\", \"h03\", \"h04\"] {\n  export GOTOOLCHAIN = \"local\" {\n    scope = system\n  }\n}\n\
     export GOPROXY = \"https://goproxy.example.com,direct\"\n",
  );
  let (code, doc) = fleet.converge_json(&playbook, &[]);
  assert_eq!(code, 1, "{doc}");
  for (name, status, _, _) in host_rows(&doc) {
    assert_eq!(status, if name == "h04" { "failed" } else { "changed" }, "{name}: {doc}");
  }
  for h in ["h01", "h02", "h03"] {
    let profile = fleet.read_text(h, "/etc/profile.d/converge.sh");
    assert!(profile.contains("GOTOOLCHAIN"), "{h}: {profile:?}");
    let meta = std::fs::metadata(fleet.host_path(h, "/etc/profile.d/converge.sh"));
    assert_eq!(meta.map(|m| std::os::unix::fs::MetadataExt::uid(&m)).ok(), Some(0), "{h}: owned by root");
  }
  let h04 = serde_json::to_string(host(&doc, "h04")).unwrap_or_default();
  assert!(h04.contains("sudo needs a password"), "{h04}");
  assert_eq!(fleet.read("h04", "/etc/profile.d/converge.sh"), None);
  // The same host's user-scope export did not depend on sudo and was applied.
  assert!(fleet.read_text("h04", "/home/dev-pw/.config/converge/env.sh").contains("GOPROXY"));
}

#[test]
fn ssh_config_proxy_jump_and_limit_are_honoured() {
  let fleet = Fleet::start(10);
  // h10 is reached through h01, under a name only h01 can resolve.
  let hosts = fleet.read_text("h01", "/etc/hosts");
  fleet.write("h01", "/etc/hosts", format!("{hosts}127.0.{}.10 h10-internal\n", fleet.net).as_bytes());
  let config = fleet.read_local(".ssh/config");
  let config = config.replace(
    &format!("Host h10\n  HostName 127.0.{}.10", fleet.net),
    "Host h10\n  HostName h10-internal\n  ProxyJump h01",
  );
  // OpenSSH makes the jump; it reads this config and the same known_hosts.
  let known_hosts = fleet.home().join(".ssh/known_hosts");
  let config = format!("Host *\n  UserKnownHostsFile {}\n\n{config}", known_hosts.display());
  fleet.write_local(".ssh/config", &config);
  let h10_key = fleet
    .read_local(".ssh/known_hosts")
    .lines()
    .nth(9)
    .and_then(|l| l.split_once(' '))
    .map(|(_, k)| k.to_owned());
  let known =
    format!("{}[h10-internal]:2222 {}\n", fleet.read_local(".ssh/known_hosts"), h10_key.unwrap_or_default());
  fleet.write_local(".ssh/known_hosts", &known);
  let playbook = format!("{}{DESIRED}", fleet.inventory());
  let ssh_config = fleet.home().join(".ssh/config").display().to_string();
  let (code, doc) = fleet.converge_json(&playbook, &["-F", &ssh_config, "--limit", "h10,h02"]);
  assert_eq!(code, 0, "{doc}");
  let rows = host_rows(&doc);
  assert_eq!(rows.len(), 2, "{doc}");
  assert!(rows.iter().all(|(_, s, c, _)| s == "changed" && *c == 1), "{rows:?}");
  assert!(fleet.read_text("h10", "/home/dev-zsh/.config/go/env").contains("GOPRIVATE"));
  assert_eq!(fleet.read("h05", "/home/dev-bash/.config/go/env"), None, "--limit kept h05 out");
}

/// How many hosts the shared testbed starts when every host is taken.
const BATCH: usize = 4;

/// The testbed shared by the tests of one run that need a host each
/// ([`lease`]): started at the first lease, grown by [`BATCH`] hosts when
/// every host is taken. A host serves one test and is stopped by PID when that
/// test ends; what is left is stopped by PID when this process ends, however it
/// ends, by a watcher that waits for the end of a pipe only this process holds.
struct Shared {
  dir: PathBuf,
  net: u8,
  started: usize,
  free: Vec<(String, u32)>,
  /// Its stdin is the pipe; never waited for, it outlives this process.
  _watcher: std::process::Child,
}

static SHARED: Mutex<Option<Shared>> = Mutex::new(None);

impl Shared {
  fn start() -> Shared {
    let dir = tempfile::Builder::new()
      .prefix("converge-fleet-")
      .tempdir()
      .unwrap_or_else(|e| panic!("tempdir: {e}"))
      .keep();
    // Its own session: a Ctrl-C of the test run does not stop it before it has stopped the hosts.
    let watcher = Command::new("setsid")
      .args(["sh", "-c", "cat >/dev/null; \"$0\" down \"$1\"; rm -rf \"$2\""])
      .arg(testbed())
      .arg(dir.join("tb"))
      .arg(&dir)
      .stdin(Stdio::piped())
      .stdout(Stdio::null())
      .stderr(Stdio::null())
      .spawn()
      .unwrap_or_else(|e| panic!("cannot start the testbed's watcher: {e}"));
    Shared { dir, net: next_net(), started: 0, free: Vec::new(), _watcher: watcher }
  }

  fn tb(&self) -> PathBuf {
    self.dir.join("tb")
  }

  /// Starts [`BATCH`] more hosts and gives the controller's home their ssh config.
  fn grow(&mut self) {
    let first = self.started + 1;
    testbed_up(&self.tb(), BATCH, self.net, first, &[]);
    self.started += BATCH;
    let mut new: Vec<(String, u32)> = testbed_hosts(&self.tb())
      .into_iter()
      .filter(|(name, _)| name[1..].parse::<usize>().is_ok_and(|i| i >= first))
      .collect();
    new.reverse();
    self.free.extend(new);
    let home = self.dir.join("home/.ssh");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("mkdir: {e}"));
    // Replaced by a rename: tests of hosts leased earlier read these files
    // while the batch grows, and a copy in place would show them a file cut short.
    for (from, to) in [("ssh_config", "config"), ("known_hosts", "known_hosts")] {
      let next = home.join(format!(".{to}.next"));
      std::fs::copy(self.tb().join(from), &next).unwrap_or_else(|e| panic!("copy {from}: {e}"));
      std::fs::rename(&next, home.join(to)).unwrap_or_else(|e| panic!("rename {to}: {e}"));
    }
  }
}

/// One host of the shared testbed, for one test; stopped when dropped.
pub struct Leased {
  pub name: String,
  pub pid: u32,
  dir: PathBuf,
  _turn: std::sync::RwLockReadGuard<'static, ()>,
}

/// A fresh host of the shared testbed, for the calling test alone.
pub fn lease() -> Leased {
  let turn = ONE_AT_A_TIME.read().unwrap_or_else(std::sync::PoisonError::into_inner);
  let mut shared = SHARED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
  let shared = shared.get_or_insert_with(Shared::start);
  loop {
    if shared.free.is_empty() {
      shared.grow();
    }
    let (name, pid) = shared.free.pop().unwrap_or_else(|| panic!("the shared testbed started no host"));
    // A host stopped from outside while it waited (another run's clean-up, say) is passed over.
    if Path::new(&format!("/proc/{pid}/root/home/dev")).is_dir() {
      return Leased { name, pid, dir: shared.dir.clone(), _turn: turn };
    }
  }
}

impl Leased {
  /// The host's `/`, seen from outside.
  pub fn root(&self) -> PathBuf {
    PathBuf::from(format!("/proc/{}/root", self.pid))
  }

  /// The controller's home: `.ssh/config` and `.ssh/known_hosts` of the testbed.
  pub fn controller_home(&self) -> PathBuf {
    self.dir.join("home")
  }

  /// A playbook naming this host, logging in as `user`.
  pub fn inventory(&self, user: &str) -> String {
    format!("host \"{}\" {{\n  user = \"{user}\"\n}}\n", self.name)
  }
}

impl Drop for Leased {
  fn drop(&mut self) {
    let _shared = SHARED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = Command::new(testbed()).arg("down").arg(self.dir.join("tb")).arg(&self.name).status();
  }
}
