//! What converge must never do, whatever the playbook or the host holds: show a
//! `sensitive` value anywhere it writes or prints, run a user's command while
//! only planning with `--no-guards`, let block content forge a marker or guess
//! at a damaged block, and schedule a run that does not know whose home it is
//! converging.

use crate::test::binary;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The user's home inside the converged tree.
const HOME: &str = "/home/dev";

/// A directory tree converged with `--root`, and the playbook beside it.
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

  fn path(&self, p: &str) -> PathBuf {
    self.root().join(p.trim_start_matches('/'))
  }

  fn write(&self, p: &str, data: &[u8]) {
    let path = self.path(p);
    if let Some(parent) = path.parent() {
      std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, data).unwrap_or_else(|e| panic!("{e}"));
  }

  fn read(&self, p: &str) -> Vec<u8> {
    std::fs::read(self.path(p)).unwrap_or_else(|e| panic!("read {p}: {e}"))
  }

  fn state_dir(&self) -> PathBuf {
    self.dir.path().join("state")
  }

  /// Runs converge on `playbook` against the tree, with its own state directory.
  fn converge(&self, playbook: &str, extra: &[&str]) -> Output {
    let file = self.dir.path().join("site.goenv");
    std::fs::write(&file, playbook).unwrap_or_else(|e| panic!("{e}"));
    let root = self.root();
    let state = self.state_dir();
    let mut args: Vec<&str> = vec![
      file.to_str().unwrap_or_default(),
      "--root",
      root.to_str().unwrap_or_default(),
      "--state-dir",
      state.to_str().unwrap_or_default(),
    ];
    args.extend_from_slice(extra);
    let mut cmd = Command::new(binary());
    cmd
      .args(&args)
      .current_dir(self.dir.path())
      .env("HOME", HOME)
      .env("NO_COLOR", "1")
      .env_remove("GOENV")
      .env_remove("XDG_CONFIG_HOME");
    run_bounded(&mut cmd, Duration::from_secs(120))
  }
}

/// Runs a command with nothing on its standard input, killing it (by its PID)
/// when it outlives `limit`.
fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
  let mut child = cmd
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
  let deadline = Instant::now() + limit;
  loop {
    match child.try_wait() {
      Ok(Some(_)) => break,
      Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
      _ => {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} did not finish within {limit:?}");
      }
    }
  }
  child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

fn text(out: &Output) -> String {
  format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

// --- managed block markers -------------------------------------------------

/// Content that holds the block's own END line used to make the block grow by
/// two lines on every run.
#[test]
fn block_content_holding_a_marker_line_is_refused_before_any_host_is_touched() {
  let tree = Tree::new();
  tree.write("/home/dev/.bashrc", b"user\n");
  let playbook =
    "managed block \"~/.bashrc\" {\n  marker = \"x\"\n  content = \"a=1\\n# END converge: x\\nb=2\\n\"\n}\n";
  let out = tree.converge(playbook, &[]);
  assert_eq!(out.status.code(), Some(1), "{}", text(&out));
  assert!(text(&out).contains("cannot hold a marker"), "{}", text(&out));
  let again = tree.converge(playbook, &[]);
  assert_eq!(again.status.code(), Some(1), "{}", text(&again));
  assert_eq!(tree.read("/home/dev/.bashrc"), b"user\n", "the file is left alone");
}

/// With its END line deleted, a block used to be added a second time, and the
/// next run deleted the user's lines between the two BEGIN lines.
#[test]
fn a_block_with_a_deleted_end_line_stops_that_resource_and_keeps_every_user_line() {
  let tree = Tree::new();
  let playbook = "managed block \"~/.bashrc\" {\n  marker = \"go\"\n  content = \"export A=1\\n\"\n}\nfile \"/etc/independent\" {\n  content = \"y\"\n}\n";
  tree.write("/home/dev/.bashrc", b"# mine\n");
  let out = tree.converge(playbook, &[]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  // The user deletes the END line and writes below the block.
  let damaged = b"# mine\n# BEGIN converge: go\nexport A=1\nalias keep=me\nexport MINE=1\n";
  tree.write("/home/dev/.bashrc", damaged);
  for _ in 0..2 {
    let out = tree.converge(playbook, &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("the block `go` is damaged: its BEGIN line (2) has no END line"), "{said}");
    assert_eq!(tree.read("/home/dev/.bashrc"), damaged, "not one byte of the user's file changes");
  }
  assert!(tree.path("/etc/independent").exists(), "the other resources are converged");
}

// --- converge schedule -----------------------------------------------------

/// The words of a unit file command line, as systemd splits and unquotes them
/// (systemd.syntax(7)): double quotes with `\\` and `\"` inside, then `%%` and
/// `$$` (the only specifier and variable forms converge writes).
fn systemd_words(line: &str) -> Vec<String> {
  let mut words = Vec::new();
  let mut chars = line.chars().peekable();
  loop {
    while chars.peek().is_some_and(|c| c.is_whitespace()) {
      chars.next();
    }
    let Some(first) = chars.next() else { break };
    let mut word = String::new();
    if first == '"' {
      while let Some(c) = chars.next() {
        match c {
          '\\' => word.extend(chars.next()),
          '"' => break,
          c => word.push(c),
        }
      }
    } else {
      word.push(first);
      while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
        word.push(c);
      }
    }
    words.push(word.replace("%%", "%").replace("$$", "$"));
  }
  words
}

/// A user's home and login shell from /etc/passwd.
fn passwd(user: &str) -> Option<(String, String)> {
  let text = std::fs::read_to_string("/etc/passwd").ok()?;
  text
    .lines()
    .map(|l| l.split(':').collect::<Vec<_>>())
    .find(|f| f.len() >= 7 && f[0] == user)
    .map(|f| (f[5].to_owned(), f[6].to_owned()))
}

/// Runs a service's ExecStart= the way systemd starts a system service
/// (systemd.exec(5)): a fixed PATH; HOME, USER, LOGNAME and SHELL only when
/// the unit has `User=`; `Environment=` lines; `WorkingDirectory=`.
fn run_as_systemd_would(service: &str) -> Output {
  let value = |key: &str| service.lines().find_map(|l| l.strip_prefix(&format!("{key}=")));
  let mut cmd = Command::new("/nonexistent");
  let mut env: Vec<(String, String)> =
    vec![("PATH".to_owned(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin".to_owned())];
  if let Some(user) = value("User") {
    let (home, shell) = passwd(user).unwrap_or_else(|| panic!("no passwd entry for `{user}`"));
    env.extend([
      ("HOME".to_owned(), home),
      ("USER".to_owned(), user.to_owned()),
      ("LOGNAME".to_owned(), user.to_owned()),
      ("SHELL".to_owned(), shell),
    ]);
  }
  for line in service.lines().filter_map(|l| l.strip_prefix("Environment=")) {
    for word in systemd_words(line) {
      if let Some((k, v)) = word.split_once('=') {
        env.push((k.to_owned(), v.to_owned()));
      }
    }
  }
  let argv = systemd_words(value("ExecStart").unwrap_or_else(|| panic!("no ExecStart in\n{service}")));
  if let Some((program, args)) = argv.split_first() {
    cmd = Command::new(program);
    cmd.args(args);
  }
  cmd.env_clear().envs(env);
  if let Some(dir) = value("WorkingDirectory") {
    cmd.current_dir(dir.replace("%%", "%"));
  }
  run_bounded(&mut cmd, Duration::from_secs(120))
}

/// A system unit used to have no `User=`, so systemd gave the run no HOME and
/// converge planned root's `~/.bashrc` as `/.bashrc`.
#[test]
fn a_system_unit_runs_converge_with_roots_home() {
  let (root_home, _) = passwd("root").unwrap_or_else(|| panic!("this machine has no root passwd entry"));
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let tree = dir.path().join("tree");
  std::fs::create_dir_all(&tree).unwrap_or_else(|e| panic!("{e}"));
  let playbook = dir.path().join("site.goenv");
  std::fs::write(&playbook, "managed block \"~/.bashrc\" {\n  content = \"export A=1\\n\"\n}\n")
    .unwrap_or_else(|e| panic!("{e}"));
  let exec = [
    binary().display().to_string(),
    "--plan".to_owned(),
    "--root".to_owned(),
    tree.display().to_string(),
    "--format".to_owned(),
    "json".to_owned(),
    playbook.display().to_string(),
  ];
  let schedule =
    converge::schedule::Schedule::new(Duration::from_secs(1800), exec.to_vec(), dir.path().to_owned(), true);
  let units = converge::schedule::systemd_units(&schedule).unwrap_or_else(|e| panic!("{e}"));
  let out = run_as_systemd_would(&units.service);
  assert_eq!(out.status.code(), Some(2), "changes pending:\n{}\n{}", units.service, text(&out));
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  let path = &doc["hosts"][0]["steps"][0]["changes"][0]["path"];
  let want = format!("{}/.bashrc", root_home.trim_end_matches('/'));
  assert_eq!(path.as_str(), Some(want.as_str()), "{}\n{}", units.service, text(&out));
}
