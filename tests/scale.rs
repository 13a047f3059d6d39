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

/// Runs `cmd` to its end (killed by its PID after `limit`) and returns its exit
/// code and peak resident set in KiB, as `getrusage` reports it for that one
/// child to a parent that started nothing else (a small Python parent).
fn run_measured(cmd: &Command, limit: Duration) -> (Option<i32>, u64) {
  const PARENT: &str = "import resource, subprocess, sys\n\
    code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=sys.stderr).returncode\n\
    print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
  let mut parent = Command::new("python3");
  parent.arg("-c").arg(PARENT).arg(cmd.get_program()).args(cmd.get_args());
  for (key, value) in cmd.get_envs() {
    match value {
      Some(value) => parent.env(key, value),
      None => parent.env_remove(key),
    };
  }
  if let Some(dir) = cmd.get_current_dir() {
    parent.current_dir(dir);
  }
  // Its own process group, so that a kill reaches converge too.
  use std::os::unix::process::CommandExt;
  parent.process_group(0).stdout(Stdio::piped()).stderr(Stdio::inherit());
  let mut child = parent.spawn().unwrap_or_else(|e| panic!("python3: {e}"));
  let deadline = Instant::now() + limit;
  while child.try_wait().unwrap_or_else(|e| panic!("{e}")).is_none() {
    if Instant::now() > deadline {
      let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
      let _ = child.wait();
      panic!("converge ran past {limit:?} and was killed");
    }
    std::thread::sleep(Duration::from_millis(50));
  }
  let mut out = String::new();
  if let Some(mut stdout) = child.stdout.take() {
    let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
  }
  let mut words = out.split_whitespace().map(|w| w.parse::<i64>().ok());
  let code = words.next().flatten().and_then(|c| i32::try_from(c).ok());
  let peak = words.next().flatten().and_then(|p| u64::try_from(p).ok()).unwrap_or_default();
  (code, peak)
}

/// A controller file (here a 24 MiB prebuilt tool) is read once per run and
/// its bytes shared by every host's plan and streamed to every host, not
/// copied per host: planning and applying it for 16 hosts stays within a few
/// copies of it, where a copy per host needed more than half a gigabyte.
#[test]
#[allow(clippy::print_stderr)]
fn a_large_controller_file_is_held_once_however_many_hosts_plan_it() {
  const MIB: usize = 24;
  const USERS: [&str; 4] = ["dev-bash", "dev-zsh", "dev-dash", "dev-fish"];
  const ENTRIES: usize = 16;
  let fleet = Fleet::start(4);
  let key = fleet.testbed_dir().join("id_ed25519");
  // Each of the four machines as each of four users: sixteen hosts, each
  // writing into its own home.
  let mut playbook = String::new();
  for n in 1..=ENTRIES {
    let (i, user) = ((n - 1) % 4 + 1, USERS[(n - 1) / 4]);
    playbook.push_str(&format!(
      "host \"dev{n:02}\" {{\n  address = \"127.0.{}.{i}\"\n  port = 2222\n  user = \"{user}\"\n  identity = \"{}\"\n}}\n",
      fleet.net,
      key.display()
    ));
  }
  // Bytes that do not compress or repeat, like a real binary.
  let mut state = 0x9e37_79b9_7f4a_7c15_u64;
  let big: Vec<u8> = (0..MIB << 20)
    .map(|_| {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      state.to_le_bytes()[0]
    })
    .collect();
  std::fs::write(fleet.workdir().join("gopls-prebuilt"), &big).unwrap_or_else(|e| panic!("{e}"));
  playbook.push_str(
    "go tool \"golang.org/x/tools/gopls\" \"v0.16.2\" {\n  binary = \"gopls-prebuilt\"\n  bin_dir = \"~/.local/bin\"\n}\n",
  );
  let path = fleet.write_playbook(&playbook).display().to_string();
  let (code, peak_kib) =
    run_measured(&fleet.run_command(&["--plan", "--connect-timeout", "60", &path]), Duration::from_secs(300));
  assert_eq!(code, Some(2), "the plan has changes for every host");
  let peak_mib = peak_kib / 1024;
  eprintln!("{ENTRIES} hosts planning a {MIB} MiB controller file: peak RSS {peak_mib} MiB");
  let bound = (MIB as u64) * 4 + 96;
  assert!(peak_mib < bound, "peak RSS {peak_mib} MiB, over {bound} MiB: the file is copied per host");
  // Applied, the bytes are streamed to each host from the one copy, not
  // quoted into each host's script.
  let (code, peak_kib) =
    run_measured(&fleet.run_command(&["--connect-timeout", "60", &path]), Duration::from_secs(400));
  assert_eq!(code, Some(0), "the apply converges every host");
  let peak_mib = peak_kib / 1024;
  eprintln!("{ENTRIES} hosts applying a {MIB} MiB controller file: peak RSS {peak_mib} MiB");
  assert!(peak_mib < bound, "peak RSS {peak_mib} MiB, over {bound} MiB: the file is copied per host");
  for h in ["h01", "h02", "h03", "h04"] {
    for user in USERS {
      let got = fleet.read(h, &format!("/home/{user}/.local/bin/gopls")).unwrap_or_default();
      assert!(got == big, "{h} {user}: {} bytes arrived, not the {} of the file", got.len(), big.len());
    }
  }
}
