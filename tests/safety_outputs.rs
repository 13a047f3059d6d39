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
    crate::test::tree_path(&self.root(), p)
  }

  fn write(&self, p: &str, data: &[u8]) {
    crate::test::tree_write(&self.root(), p, data);
  }

  fn read(&self, p: &str) -> Vec<u8> {
    crate::test::tree_read(&self.root(), p)
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
  let schedule = converge::cli::schedule::Schedule::new(
    Duration::from_secs(1800),
    exec.to_vec(),
    dir.path().to_owned(),
    true,
  );
  let units = converge::cli::schedule::systemd_units(&schedule).unwrap_or_else(|e| panic!("{e}"));
  let out = run_as_systemd_would(&units.service);
  assert_eq!(out.status.code(), Some(2), "changes pending:\n{}\n{}", units.service, text(&out));
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  let path = &doc["hosts"][0]["steps"][0]["changes"][0]["path"];
  let want = format!("{}/.bashrc", root_home.trim_end_matches('/'));
  assert_eq!(path.as_str(), Some(want.as_str()), "{}\n{}", units.service, text(&out));
}

// --- plans that run no command of the playbook's -----------------------------

/// Each guard leaves a trace when it runs; the commands say what they decided.
const GUARDED: &str = r#"command "echo ran >> $HOME/unless-cmd" {
  unless = "touch $HOME/unless-guard-ran; test -e $HOME/skip"
}
command "echo ran >> $HOME/only-if-cmd" {
  only_if = "touch $HOME/only-if-guard-ran; test -e $HOME/go-ahead"
}
command "echo ran >> $HOME/skipped-cmd" {
  unless = "touch $HOME/skipped-guard-ran; test -e $HOME/go-ahead"
}
"#;

/// `converge --plan` used to run every `unless`/`only_if` guard on the hosts,
/// so whoever could open a pull request could run commands on the fleet.
#[test]
fn a_plan_with_no_guards_runs_no_command_and_the_apply_decides() {
  let tree = Tree::new();
  tree.write("/home/dev/go-ahead", b"");
  let out = tree.converge(GUARDED, &["--plan", "--no-guards"]);
  let said = text(&out);
  assert_eq!(out.status.code(), Some(2), "{said}");
  assert_eq!(said.matches("decided at apply").count(), 3, "{said}");
  let ran = ["unless-guard-ran", "only-if-guard-ran", "skipped-guard-ran"];
  for trace in ran {
    assert!(
      !tree.path(&format!("/home/dev/{trace}")).exists(),
      "{trace}: a guard ran while planning:\n{said}"
    );
  }

  // A saved plan runs none either, and applying it runs each guard right before its command.
  let out = tree.converge(GUARDED, &["--plan", "--out", "plan.json"]);
  assert_eq!(out.status.code(), Some(2), "{}", text(&out));
  for trace in ran {
    assert!(
      !tree.path(&format!("/home/dev/{trace}")).exists(),
      "{trace}: --out ran a guard:\n{}",
      text(&out)
    );
  }
  let saved = std::fs::read_to_string(tree.dir.path().join("plan.json")).unwrap_or_default();
  assert!(saved.contains("\"no_guards\": true"), "{saved}");
  let mut apply = Command::new(binary());
  apply
    .args(["apply", "plan.json", "--state-dir"])
    .arg(tree.state_dir())
    .current_dir(tree.dir.path())
    .env("HOME", HOME)
    .env("NO_COLOR", "1")
    .env_remove("GOENV")
    .env_remove("XDG_CONFIG_HOME");
  let applied = run_bounded(&mut apply, Duration::from_secs(120));
  assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
  for trace in ran {
    assert!(tree.path(&format!("/home/dev/{trace}")).exists(), "{trace}: the apply did not run the guard");
  }
  assert_eq!(tree.read("/home/dev/unless-cmd"), b"ran\n", "`unless` failed: the command ran");
  assert_eq!(tree.read("/home/dev/only-if-cmd"), b"ran\n", "`only_if` held: the command ran");
  assert!(!tree.path("/home/dev/skipped-cmd").exists(), "`unless` held: the command did not run");

  // Planning as before still runs the guards, and knows the answers.
  let out = tree.converge(GUARDED, &["--plan"]);
  assert!(!text(&out).contains("decided at apply"), "{}", text(&out));
}

// --- sensitive values ---------------------------------------------------------

/// Every text converge wrote or printed in `dir` and on the host, that holds
/// `needle`: (where, line).
fn leaks(sources: &[(String, String)], needle: &str) -> Vec<String> {
  sources
    .iter()
    .flat_map(|(place, text)| {
      text.lines().filter(|l| l.contains(needle)).map(move |l| format!("{place}: {l}")).collect::<Vec<_>>()
    })
    .collect()
}

/// A sensitive value used to show in the diff of any other resource writing
/// the same file (env.sh, fish, environment.d, the go env file, `.bashrc`),
/// and a sensitive command's text in the plan, the apply, report.json and
/// both ledgers, its guard in saved plans, and its value in `verify`.
#[test]
fn sensitive_values_appear_in_no_output_report_ledger_or_saved_plan() {
  let fleet = crate::fleet::Fleet::start(1);
  let secret = r#"
export TOKEN = "tok-SECRET-4242" {
  sensitive = true
}
managed block "~/.bashrc" {
  marker = "creds"
  content = "export API_KEY='key-SECRET-77'\n"
  sensitive = true
}
goenv {
  GOPROXY = "https://bob:pw-SECRET-31@proxy.example.com"
  sensitive = true
}
command "echo cmd-SECRET-55 >> $HOME/ran" {
  unless = "grep -q guard-SECRET-66 $HOME/ran"
  sensitive = true
}
command "echo err-SECRET-88 >&2; exit 3" {
  sensitive = true
}
"#;
  let more = r#"
export OTHER = "plain-value"
managed block "~/.bashrc" {
  marker = "aliases"
  content = "alias ll='ls -l'\n"
}
goenv {
  name = "private"
  GOPRIVATE = "git.example.com"
}
"#;
  let mut seen: Vec<(String, String)> = Vec::new();
  let mut keep = |place: &str, out: &Output| {
    seen.push((format!("{place} stdout"), String::from_utf8_lossy(&out.stdout).into_owned()));
    seen.push((format!("{place} stderr"), String::from_utf8_lossy(&out.stderr).into_owned()));
  };
  let first = fleet.write_playbook(&format!("{}{secret}", fleet.inventory())).display().to_string();
  let plan = fleet.run(&["--plan", &first]);
  assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
  keep("plan", &plan);
  // Before the first run every cell is wrong: verify says what it wants.
  let verify = fleet.run(&["verify", &first]);
  assert!(text(&verify).contains("$TOKEN under"), "a failing cell is explained:\n{}", text(&verify));
  keep("verify before", &verify);
  let state = ["--state-dir", "st", "--report", "report.json", "--metrics", "m.prom"];
  let enforce = fleet.run(&[&["enforce", "--format", "json"][..], &state, &[first.as_str()]].concat());
  assert_eq!(enforce.status.code(), Some(1), "the failing command fails the run:\n{}", text(&enforce));
  keep("enforce --format json", &enforce);
  assert_eq!(fleet.read_text("h01", "/home/dev-bash/ran"), "cmd-SECRET-55\n", "the command ran");
  let enforce = fleet.run(&[&["enforce"][..], &state, &[first.as_str()]].concat());
  keep("enforce", &enforce);

  // Neighbours in the same files, planned in every format and saved.
  let second = fleet.write_playbook(&format!("{}{secret}{more}", fleet.inventory())).display().to_string();
  let plan = fleet.run(&["--plan", &second]);
  assert!(
    text(&plan).contains("+export OTHER=\"plain-value\""),
    "the neighbour's diff is shown:\n{}",
    text(&plan)
  );
  assert!(text(&plan).contains("+alias ll='ls -l'"), "{}", text(&plan));
  assert!(text(&plan).contains("+GOPRIVATE=git.example.com"), "{}", text(&plan));
  keep("plan with neighbours", &plan);
  for format in ["json", "markdown"] {
    keep(&format!("plan --format {format}"), &fleet.run(&["--plan", "--format", format, &second]));
  }
  let saved = fleet.run(&["--plan", "--out", "plan.json", &second]);
  assert_eq!(saved.status.code(), Some(2), "{}", text(&saved));
  keep("plan --out", &saved);
  let guarded = fleet.run(&["--plan", "--format", "json", &second]);
  keep("plan with guards run", &guarded);
  for format in ["human", "json", "markdown"] {
    let verify = fleet.run(&["verify", "--format", format, &second]);
    assert!(text(&verify).contains("TOKEN"), "verify shows the row:\n{}", text(&verify));
    keep(&format!("verify --format {format}"), &verify);
  }

  let local = |p: &str| std::fs::read_to_string(fleet.workdir().join(p)).unwrap_or_default();
  for file in ["plan.json", "report.json", "m.prom", "st/hosts/h01.jsonl"] {
    assert!(!local(file).is_empty(), "{file} was written");
    seen.push((file.to_owned(), local(file)));
  }
  for file in ["ledger.jsonl", "log"] {
    let text = fleet.read_text("h01", &format!("/home/dev-bash/.local/state/converge/{file}"));
    assert!(!text.is_empty(), "the host's {file} was written");
    seen.push((format!("h01:{file}"), text));
  }
  let found = leaks(&seen, "SECRET");
  assert!(found.is_empty(), "sensitive values leaked:\n{}", found.join("\n"));
}

#[test]
fn an_export_whose_hook_block_was_damaged_stops_and_keeps_every_user_line() {
  let tree = Tree::new();
  let playbook = "export A = \"1\"\nfile \"/etc/independent\" {\n  content = \"y\"\n}\n";
  tree.write("/home/dev/.bashrc", b"# mine\n");
  let out = tree.converge(playbook, &[]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  let converged = String::from_utf8_lossy(&tree.read("/home/dev/.bashrc")).into_owned();
  assert!(converged.contains("# END converge: env\n"), "{converged}");
  // The user deletes the END line of the hook's block and writes below it.
  let damaged = format!("{}alias keep=me\n", converged.replace("# END converge: env\n", ""));
  tree.write("/home/dev/.bashrc", damaged.as_bytes());
  tree.write("/etc/independent", b"changed by hand");
  for _ in 0..2 {
    let out = tree.converge(playbook, &[]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("the block `env` is damaged: its BEGIN line (1) has no END line"), "{said}");
    assert_eq!(tree.read("/home/dev/.bashrc"), damaged.as_bytes(), "not one byte of the user's file changes");
  }
  assert_eq!(tree.read("/etc/independent"), b"y", "the other resources are converged");
}
