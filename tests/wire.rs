//! What the facts round trip moves over the wire: a file whose bytes the
//! controller kept is asked for by its sha256, and its bytes travel only when
//! the host's file differs. Plans, diffs and drift stay exact.

use crate::fleet::Fleet;
use std::process::Output;

const PLAYBOOK: &str = r#"
export GOPROXY = "https://goproxy.example.com,direct"

managed block "~/.bashrc" {
  name = "aliases"
  content = "alias gotest='go test ./...'\n"
}

file "~/.config/converge-wire/marker" {
  content = "host {{ host }}\n"
}
"#;

const MARKER: &str = "/home/dev-bash/.config/converge-wire/marker";
const BASHRC: &str = "/home/dev-bash/.bashrc";

fn text(out: &Output) -> String {
  format!(
    "stdout:\n{}\nstderr:\n{}",
    String::from_utf8_lossy(&out.stdout),
    String::from_utf8_lossy(&out.stderr)
  )
}

/// What `-v` says the facts round trips of `host` moved: bytes received, bytes
/// of file contents among them, files answered by hash.
fn wire(out: &Output, host: &str) -> (u64, u64, u64) {
  let stderr = String::from_utf8_lossy(&out.stderr);
  let line = stderr
    .lines()
    .find(|l| l.starts_with(&format!("{host}: connect")))
    .unwrap_or_else(|| panic!("no measurements for {host}:\n{}", text(out)));
  let after = line.split_once("; facts ").map(|(_, a)| a).unwrap_or_default();
  let numbers: Vec<u64> =
    after.split(';').next().unwrap_or_default().split(' ').filter_map(|w| w.parse().ok()).collect();
  match numbers[..] {
    [received, file_bytes, hashed] => (received, file_bytes, hashed),
    _ => panic!("cannot read the facts figures of {line}"),
  }
}

fn converge(fleet: &Fleet, path: &str, args: &[&str]) -> Output {
  let mut all = args.to_vec();
  all.extend(["-v", path]);
  fleet.run(&all)
}

fn start() -> (Fleet, String) {
  let fleet = Fleet::start(1);
  let path = fleet.write_playbook(&format!("{}{PLAYBOOK}", fleet.inventory())).display().to_string();
  fleet.write("h01", BASHRC, b"# the user's own\nexport EDITOR=vi\n");
  let first = converge(&fleet, &path, &["enforce"]);
  assert_eq!(first.status.code(), Some(0), "{}", text(&first));
  (fleet, path)
}

#[test]
fn a_no_op_run_sends_hashes_and_no_file_bytes() {
  let (fleet, path) = start();
  // The run after the first converge, and the one after it: the controller
  // kept what the apply wrote (files and the host's ledger).
  for round in 0..2 {
    let again = converge(&fleet, &path, &["enforce"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let (received, file_bytes, hashed) = wire(&again, "h01");
    assert_eq!(file_bytes, 0, "round {round}: no file bytes on a no-op run:\n{}", text(&again));
    assert!(hashed >= 3, "round {round}: the block's file, the marker and the ledger by hash: {hashed}");
    assert!(received < 4096, "round {round}: {received} bytes of facts");
  }
  let plan = converge(&fleet, &path, &["--plan"]);
  assert_eq!(plan.status.code(), Some(0), "nothing to change:\n{}", text(&plan));
  assert_eq!(wire(&plan, "h01").1, 0, "{}", text(&plan));

  // A plan saved from a run by hash is applied by a run by hash: the facts
  // it is gated by are the same whichever way the bytes came.
  let changed =
    std::fs::read_to_string(&path).unwrap_or_default().replace("host {{ host }}", "box {{ host }}");
  std::fs::write(&path, changed).unwrap_or_else(|e| panic!("{e}"));
  let saved = converge(&fleet, &path, &["--plan", "--out", "plan.json"]);
  assert_eq!(saved.status.code(), Some(2), "{}", text(&saved));
  let applied = fleet.run(&["apply", "plan.json", "-v"]);
  assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
  assert_eq!(fleet.read_text("h01", MARKER), "box h01\n");
  assert_eq!(wire(&applied, "h01").1, 0, "{}", text(&applied));
}

#[test]
fn a_file_edited_to_other_bytes_of_the_same_length_shows_its_real_diff() {
  let (fleet, path) = start();
  fleet.write("h01", MARKER, b"host h99\n");
  let bashrc = fleet.read_text("h01", BASHRC);
  let edited = format!("{}# added by hand\n", bashrc.replace("gotest", "gotset"));
  fleet.write("h01", BASHRC, edited.as_bytes());
  let plan = converge(&fleet, &path, &["--plan"]);
  assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
  let shown = String::from_utf8_lossy(&plan.stdout);
  assert!(shown.contains("-host h99") && shown.contains("+host h01"), "the marker's real diff:\n{shown}");
  assert!(shown.contains("gotset"), "the block's real diff:\n{shown}");
  assert!(shown.contains("drift"), "{shown}");
  let (_, file_bytes, _) = wire(&plan, "h01");
  assert_eq!(file_bytes as usize, "host h99\n".len() + edited.len(), "the two edited files travel whole");

  let fixed = converge(&fleet, &path, &["enforce"]);
  assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
  assert_eq!(fleet.read_text("h01", MARKER), "host h01\n");
  let bashrc = fleet.read_text("h01", BASHRC);
  assert!(bashrc.contains("gotest") && bashrc.ends_with("# added by hand\n"), "{bashrc}");
  let again = converge(&fleet, &path, &["--plan"]);
  assert_eq!(again.status.code(), Some(0), "{}", text(&again));
  assert_eq!(wire(&again, "h01").1, 0, "{}", text(&again));
}

#[test]
fn without_sha256sum_on_the_host_files_travel_as_bytes() {
  let (fleet, path) = start();
  let mounted = fleet.ssh("h01", "root", "mount --bind /dev/null /usr/bin/sha256sum 2>&1");
  let seen = fleet.ssh("h01", "dev-bash", "sh -c 'command -v sha256sum || echo missing'");
  assert_eq!(seen.trim(), "missing", "the host has no sha256sum: {mounted}");
  let plan = converge(&fleet, &path, &["--plan"]);
  assert_eq!(plan.status.code(), Some(0), "nothing to change:\n{}", text(&plan));
  let (_, file_bytes, hashed) = wire(&plan, "h01");
  assert_eq!(hashed, 0, "{}", text(&plan));
  assert!(file_bytes > 0, "{}", text(&plan));
  fleet.write("h01", MARKER, b"host h99\n");
  let plan = converge(&fleet, &path, &["--plan"]);
  assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
  let shown = String::from_utf8_lossy(&plan.stdout);
  assert!(shown.contains("-host h99") && shown.contains("+host h01"), "{shown}");

  // A sha256sum that prints nothing: the same.
  fleet.ssh("h01", "root", "umount /usr/bin/sha256sum && mount --bind /bin/false /usr/bin/sha256sum");
  let seen = fleet.ssh("h01", "dev-bash", "sha256sum /etc/hostname; echo $?");
  assert_eq!(seen.trim(), "1", "the host's sha256sum fails");
  let plan = converge(&fleet, &path, &["--plan"]);
  let shown = String::from_utf8_lossy(&plan.stdout);
  assert!(shown.contains("-host h99") && shown.contains("+host h01"), "{shown}");
  assert!(wire(&plan, "h01").1 > 0, "{}", text(&plan));
}

/// In pull mode converge runs on the host itself: there is no wire, but the
/// files it kept are asked for by hash all the same, so a no-op run starts a
/// `sha256sum` instead of a `base64` per file.
#[test]
fn a_pull_mode_no_op_run_asks_for_files_by_hash_too() {
  let bin = crate::test::binary();
  let bin_dir = bin.parent().unwrap_or_else(|| panic!("no bin dir")).to_path_buf();
  let fleet = Fleet::start_with(1, &[(bin_dir, "/opt/converge-bin")]);
  fleet.write("h01", "/root/site.goenv", format!("host \"h01\" {{}}\n{PLAYBOOK}").as_bytes());
  fleet.write("h01", "/root/.bashrc", b"# the user's own\nexport EDITOR=vi\n");
  let run = || {
    fleet.ssh("h01", "root", "/opt/converge-bin/converge --local -v /root/site.goenv 2>&1; echo \"exit $?\"")
  };
  let first = run();
  assert!(first.contains("exit 0"), "{first}");
  for round in 0..2 {
    let again = run();
    assert!(again.contains("exit 0") && again.contains("0 changed"), "round {round}: {again}");
    let line = again.lines().find(|l| l.starts_with("h01: connect")).unwrap_or_else(|| panic!("{again}"));
    let facts = line.split_once("; facts ").map(|(_, a)| a).unwrap_or_default();
    let numbers: Vec<u64> =
      facts.split(';').next().unwrap_or_default().split(' ').filter_map(|w| w.parse().ok()).collect();
    let [_, file_bytes, hashed] = numbers[..] else { panic!("cannot read the facts figures of {line}") };
    assert_eq!(file_bytes, 0, "round {round}: no file bytes on a no-op run: {again}");
    assert!(hashed >= 3, "round {round}: the block's file, the marker and the ledger by hash: {again}");
  }
  let bashrc = fleet.read_text("h01", "/root/.bashrc");
  assert!(bashrc.contains("# the user's own\nexport EDITOR=vi\n"), "the user's lines are kept: {bashrc}");
}
