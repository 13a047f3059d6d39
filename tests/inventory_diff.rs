//! Differential tests against the real `ansible-inventory` of ansible-core 2.19
//! (installed by scripts/test.sh, which sets CONVERGE_TEST_ANSIBLE_INVENTORY
//! and PYTHONPATH): for every inventory in tests/inventories/, `converge
//! inventory --list` must print what `ansible-inventory --list` prints (hosts,
//! groups, variables with their JSON types), `--graph` the same tree, and
//! `--limit` the same hosts; INI and YAML inventories, with `group_vars/` and
//! `host_vars/` beside them in tests/inventories/dirs/. Files Ansible refuses (tests/inventories/refused/)
//! must be refused by converge too; files converge refuses on purpose while
//! Ansible accepts them (tests/inventories/converge-refuses/) are listed below
//! with their code.

use crate::test::{binary, root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Files Ansible accepts and converge refuses on purpose, with the code.
const CONVERGE_REFUSES: &[(&str, &str)] = &[
  ("empty-variable-name.ini", "E414"),
  ("port-not-a-number.ini", "E415"),
  ("shell-in-host-name.ini", "E416"),
];

/// `--limit` patterns compared on one inventory each.
const LIMITS: &[(&str, &[&str])] = &[
  (
    "ansible-docs-classic.ini",
    &[
      "webservers",
      "www0?.example.com",
      "webservers[0]",
      "webservers[-1]",
      "webservers[1:3]",
      "webservers[48:]",
      "~(one|two)\\.example\\.com",
      "dbservers:&southeast",
      "southeast:!raleigh",
      "!dbservers",
      "db-*,host2",
      "atlanta:raleigh",
    ],
  ),
  ("deep-children.ini", &["h1", "c:!a", "d:&e", "h?", "*", "all:!h1"]),
  ("ipv6-and-ranges.ini", &["2001:db8::1", "n0*", "r[2]", "v6,r,!n02"]),
];

/// The bound on one run of either tool.
const TIMEOUT: Duration = Duration::from_secs(120);

fn ansible_inventory() -> PathBuf {
  match std::env::var_os("CONVERGE_TEST_ANSIBLE_INVENTORY") {
    Some(path) if !path.is_empty() => PathBuf::from(path),
    _ => panic!(
      "CONVERGE_TEST_ANSIBLE_INVENTORY is not set: the inventory differential tests need the \
       `ansible-inventory` entry point of ansible-core 2.19 (scripts/test.sh installs it under \
       target/test-tools/ansible and sets it, with PYTHONPATH)"
    ),
  }
}

/// Runs `command` to the end, killing it by PID after [`TIMEOUT`].
fn bounded(mut command: Command) -> Output {
  command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
  let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
  let started = Instant::now();
  loop {
    match child.try_wait() {
      Ok(Some(_)) => break,
      Ok(None) if started.elapsed() > TIMEOUT => {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{command:?} ran longer than {TIMEOUT:?}");
      }
      Ok(None) => std::thread::sleep(Duration::from_millis(20)),
      Err(e) => panic!("waiting for {command:?}: {e}"),
    }
  }
  child.wait_with_output().unwrap_or_else(|e| panic!("output of {command:?}: {e}"))
}

fn ansible(home: &Path, file: &Path, args: &[&str]) -> Output {
  let mut command = Command::new("python3");
  command
    .arg(ansible_inventory())
    .arg("-i")
    .arg(file)
    .args(args)
    .env("ANSIBLE_HOME", home)
    .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
    .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
    .env("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "true")
    .env("ANSIBLE_INVENTORY_ENABLED", "script,yaml,ini")
    .env("ANSIBLE_NOCOLOR", "1")
    .env("ANSIBLE_DEPRECATION_WARNINGS", "false")
    .current_dir(home);
  bounded(command)
}

fn converge(file: &Path, args: &[&str]) -> Output {
  let mut command = Command::new(binary());
  command.arg("inventory").arg("-i").arg(file).args(args).env("NO_COLOR", "1").current_dir(root());
  bounded(command)
}

fn json(output: &Output, what: &str) -> serde_json::Value {
  serde_json::from_slice(&output.stdout)
    .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

fn corpus(dir: &str) -> Vec<PathBuf> {
  let dir = root().join("tests/inventories").join(dir);
  let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
    .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
    .filter_map(Result::ok)
    .map(|e| e.path())
    .filter(|p| p.is_file())
    .collect();
  out.sort();
  out
}

fn name(path: &Path) -> String {
  path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned()
}

#[test]
fn converge_lists_every_inventory_of_the_corpus_as_ansible_inventory_does() {
  let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
  let mut files = corpus("");
  // Inventories with `group_vars/` and `host_vars/` beside them, one per directory.
  for dir in
    std::fs::read_dir(root().join("tests/inventories/dirs")).into_iter().flatten().filter_map(Result::ok)
  {
    files.extend(corpus(&format!("dirs/{}", dir.file_name().to_string_lossy())));
  }
  assert!(files.len() >= 23, "the corpus has {} inventories, fewer than 23", files.len());
  let mut differ = Vec::new();
  for file in &files {
    let (a, c) = (ansible(home.path(), file, &["--list"]), converge(file, &["--list"]));
    let shown = name(file);
    assert!(a.status.success(), "{shown}: ansible-inventory failed: {}", String::from_utf8_lossy(&a.stderr));
    assert!(c.status.success(), "{shown}: converge failed: {}", String::from_utf8_lossy(&c.stderr));
    if json(&a, &shown) != json(&c, &shown) {
      differ.push(format!(
        "{shown}:\n--- ansible-inventory\n{}\n--- converge\n{}",
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&c.stdout)
      ));
    }
    let (a, c) = (ansible(home.path(), file, &["--graph"]), converge(file, &["--graph"]));
    if a.stdout != c.stdout {
      differ.push(format!(
        "{shown} --graph:\n--- ansible-inventory\n{}\n--- converge\n{}",
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&c.stdout)
      ));
    }
  }
  assert!(
    differ.is_empty(),
    "{} of {} inventories differ:\n{}",
    differ.len(),
    files.len(),
    differ.join("\n")
  );
}

#[test]
fn files_ansible_refuses_are_refused() {
  let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
  let files = corpus("refused");
  assert!(files.len() >= 8, "{} refused inventories", files.len());
  for file in &files {
    let shown = name(file);
    let a = ansible(home.path(), file, &["--list"]);
    assert!(
      !a.status.success(),
      "{shown}: ansible-inventory accepts it:\n{}",
      String::from_utf8_lossy(&a.stdout)
    );
    let c = converge(file, &["--list"]);
    let stderr = String::from_utf8_lossy(&c.stderr);
    assert_eq!(
      c.status.code(),
      Some(1),
      "{shown}: converge accepts it:\n{}",
      String::from_utf8_lossy(&c.stdout)
    );
    assert!(stderr.contains("E2") || stderr.contains("E4"), "{shown}: no diagnostic code in {stderr}");
  }
}

#[test]
fn files_converge_refuses_on_purpose_are_listed_with_their_code() {
  let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
  let files = corpus("converge-refuses");
  assert_eq!(files.len(), CONVERGE_REFUSES.len(), "every file there is listed in CONVERGE_REFUSES");
  for file in &files {
    let shown = name(file);
    let Some((_, code)) = CONVERGE_REFUSES.iter().find(|(f, _)| *f == shown) else {
      panic!("{shown} is not listed in CONVERGE_REFUSES")
    };
    let a = ansible(home.path(), file, &["--list"]);
    assert!(a.status.success(), "{shown}: Ansible refuses it too; move it to refused/");
    let c = converge(file, &["--list"]);
    let stderr = String::from_utf8_lossy(&c.stderr);
    assert_eq!(c.status.code(), Some(1), "{shown}");
    assert!(stderr.contains(code), "{shown}: expected {code} in {stderr}");
  }
}

#[test]
fn limit_selects_the_hosts_ansible_selects() {
  let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
  let mut differ = Vec::new();
  for (file, patterns) in LIMITS {
    let path = root().join("tests/inventories").join(file);
    for pattern in *patterns {
      let a = ansible(home.path(), &path, &["--list", "--limit", pattern]);
      let c = converge(&path, &["--list", "--limit", pattern]);
      let what = format!("{file} --limit {pattern}");
      assert!(a.status.success(), "{what}: ansible-inventory failed: {}", String::from_utf8_lossy(&a.stderr));
      assert!(c.status.success(), "{what}: converge failed: {}", String::from_utf8_lossy(&c.stderr));
      if json(&a, &what) != json(&c, &what) {
        differ.push(format!(
          "{what}:\n--- ansible-inventory\n{}\n--- converge\n{}",
          String::from_utf8_lossy(&a.stdout),
          String::from_utf8_lossy(&c.stdout)
        ));
      }
    }
  }
  assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn the_host_view_is_ansible_inventorys() {
  let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
  for (file, host) in [("group-order.ini", "h1"), ("python-literals.ini", "h1"), ("deep-children.ini", "h1")]
  {
    let path = root().join("tests/inventories").join(file);
    let a = ansible(home.path(), &path, &["--host", host]);
    let c = converge(&path, &["--host", host]);
    assert_eq!(json(&c, file), json(&a, file), "{file} --host {host}");
  }
}
