//! Hostile and odd inputs on the controller: inventory data that a shell would
//! run, files that never end or never open, symlinked playbooks, facts in paths
//! and colour on piped output.

use crate::test::{Test, binary};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a bounded run of converge did.
struct Bounded {
  status: Option<i32>,
  stdout: String,
  stderr: String,
  took: Duration,
}

/// Runs converge in `dir` under a real `sh` that caps its address space at
/// 4 GiB, and kills it (by its PID) when it has not finished within `limit`: a
/// run that hangs or reads without end fails the test instead of the machine.
fn run_bounded(dir: &Path, args: &[&str], limit: Duration) -> Bounded {
  let out = dir.join(".converge-stdout");
  let err = dir.join(".converge-stderr");
  let file = |p: &Path| std::fs::File::create(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
  let started = Instant::now();
  let mut child = Command::new("sh")
    .arg("-c")
    .arg("ulimit -v 4194304 && exec \"$0\" \"$@\"")
    .arg(binary())
    .args(args)
    .current_dir(dir)
    .env("COLUMNS", "100")
    .env("NO_COLOR", "1")
    .stdin(Stdio::null())
    .stdout(file(&out))
    .stderr(file(&err))
    .spawn()
    .unwrap_or_else(|e| panic!("cannot run converge: {e}"));
  let status = loop {
    match child.try_wait() {
      Ok(Some(status)) => break status.code(),
      Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
      _ => {
        let _ = child.kill();
        let _ = child.wait();
        break None;
      }
    }
  };
  let took = started.elapsed();
  let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
  Bounded { status, stdout: read(&out), stderr: read(&err), took }
}

fn mkfifo(path: &Path) {
  let made = Command::new("mkfifo").arg(path).status();
  assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", path.display());
}

/// The JSON diagnostics of `converge check --format json` on `file` in `dir`.
fn check_json(dir: &Path, file: &str) -> (i32, Vec<Value>) {
  let out = crate::test::run_in(dir, &["check", "--format", "json", file]);
  let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
    panic!(
      "{file}: no JSON ({e}): {}{}",
      String::from_utf8_lossy(&out.stdout),
      String::from_utf8_lossy(&out.stderr)
    )
  });
  (out.status.code().unwrap_or(-1), doc["diagnostics"].as_array().cloned().unwrap_or_default())
}

/// (code, line, column, text under the primary span) of each diagnostic.
fn located(dir: &Path, file: &str, diagnostics: &[Value]) -> Vec<(String, u64, u64, String)> {
  diagnostics
    .iter()
    .map(|d| {
      let name = d["file"].as_str().unwrap_or_default();
      let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
      let (start, end) = (d["span"]["start"].as_u64().unwrap_or(0), d["span"]["end"].as_u64().unwrap_or(0));
      let under = text.get(start as usize..end as usize).unwrap_or("?").to_owned();
      assert!(d["help"].as_str().is_some_and(|h| !h.is_empty()), "{file}: no help in {d}");
      (
        d["code"].as_str().unwrap_or_default().to_owned(),
        d["line"].as_u64().unwrap_or(0),
        d["column"].as_u64().unwrap_or(0),
        under,
      )
    })
    .collect()
}

const PLAYBOOK: &str = "sysctl \"fs.inotify.max_user_watches\" = 524288\n";

#[test]
fn inventory_values_a_shell_would_run_are_refused_at_check_time_where_they_are_written() {
  let test = Test::new()
    .file(
      "hosts.goenv",
      "host \"web1\" {\n  address = \"127.0.0.1;touch pwned;\"\n  user = \"deploy$(touch pwned)\"\n}\n\
       host \"web2|touch pwned\" {}\n\
       vars {\n  ansible_user = \"`touch pwned`\"\n}\n",
    )
    .file(
      "inventory.ini",
      "db1 ansible_host='127.0.0.1;touch pwned;' ansible_user=\"a b\"\n\
       [db:vars]\nansible_host = 10.0.0.1&&touch\n[db]\ndb2\n",
    )
    .file("site.goenv", &format!("inventory \"inventory.ini\"\n{PLAYBOOK}"));
  let dir = test.path("");
  let (status, diagnostics) = check_json(&dir, "hosts.goenv");
  assert_eq!(status, 1);
  assert_eq!(
    located(&dir, "hosts.goenv", &diagnostics),
    [
      ("E416".to_owned(), 2, 13, "\"127.0.0.1;touch pwned;\"".to_owned()),
      ("E417".to_owned(), 3, 10, "\"deploy$(touch pwned)\"".to_owned()),
      ("E416".to_owned(), 5, 6, "\"web2|touch pwned\"".to_owned()),
      ("E417".to_owned(), 7, 18, "\"`touch pwned`\"".to_owned()),
    ]
  );
  let (status, diagnostics) = check_json(&dir, "site.goenv");
  assert_eq!(status, 1);
  assert_eq!(
    located(&dir, "site.goenv", &diagnostics),
    [
      ("E416".to_owned(), 1, 18, "'127.0.0.1;touch pwned;'".to_owned()),
      ("E417".to_owned(), 1, 56, "\"a b\"".to_owned()),
      ("E416".to_owned(), 3, 16, "10.0.0.1&&touch".to_owned()),
    ]
  );
  assert!(!dir.join("pwned").exists());
}

#[test]
fn plain_host_names_addresses_and_users_still_check_clean() {
  Test::new()
    .file(
      "site.goenv",
      &format!(
        "host \"web1.example.com\" {{\n  address = \"10.0.0.5\"\n  user = \"dev-bash\"\n}}\n\
         host \"v6\" {{\n  address = \"fe80::1%eth0\"\n}}\n\
         inventory \"inventory.ini\"\n{PLAYBOOK}"
      ),
    )
    .file(
      "inventory.ini",
      "[db]\ndb[01:03] ansible_host=127.0.0.1 ansible_user=ci_runner\n[db:vars]\nansible_user=postgres\n",
    )
    .args(&["check"])
    .stderr("valid: 1 file, 5 hosts, 5 resources\n")
    .run();
}

/// Before inventory values were checked, `--plan` put the address into the ssh
/// config's `ProxyCommand` and `sh` ran what followed the `;` on the controller.
#[test]
fn a_hostile_address_never_reaches_a_proxy_command_shell() {
  let test = Test::new();
  let dir = test.path("");
  let marker = dir.join("ran-on-the-controller");
  std::fs::write(dir.join("ssh_config"), "Host *\n  ProxyCommand nc %h %p\n")
    .unwrap_or_else(|e| panic!("{e}"));
  let playbook =
    format!("host \"web1\" {{\n  address = \"127.0.0.1;touch {};\"\n}}\n{PLAYBOOK}", marker.display());
  std::fs::write(dir.join("site.goenv"), playbook).unwrap_or_else(|e| panic!("{e}"));
  let run = run_bounded(
    &dir,
    &["--plan", "-F", "ssh_config", "--connect-timeout", "2", "site.goenv"],
    Duration::from_secs(60),
  );
  assert_eq!(run.status, Some(1), "{}{}", run.stdout, run.stderr);
  assert!(run.stderr.contains("E416"), "{}", run.stderr);
  assert!(!marker.exists(), "the address ran as a shell command on the controller");
}

#[test]
fn a_fifo_playbook_or_inventory_is_refused_at_once() {
  let test = Test::new().file("site.goenv", &format!("inventory \"fifo.ini\"\n{PLAYBOOK}"));
  let dir = test.path("");
  mkfifo(&dir.join("fifo.goenv"));
  mkfifo(&dir.join("fifo.ini"));
  for args in [&["check", "fifo.goenv"][..], &["check", "site.goenv"], &["--plan", "fifo.goenv"]] {
    let run = run_bounded(&dir, args, Duration::from_secs(20));
    assert_eq!(run.status, Some(1), "{args:?} took {:?}: {}", run.took, run.stderr);
    assert!(
      run.stderr.contains("E105") && run.stderr.contains("a named pipe (FIFO)"),
      "{args:?}: {}",
      run.stderr
    );
    assert!(run.took < Duration::from_secs(10), "{args:?} took {:?}", run.took);
  }
}

#[test]
fn devices_that_never_end_are_refused_without_reading_them() {
  let test = Test::new()
    .file("random.goenv", &format!("inventory \"/dev/urandom\"\n{PLAYBOOK}"))
    .file("zero.goenv", &format!("inventory \"/dev/zero\"\n{PLAYBOOK}"));
  let dir = test.path("");
  for args in [&["check", "/dev/zero"][..], &["check", "random.goenv"], &["check", "zero.goenv"]] {
    let run = run_bounded(&dir, args, Duration::from_secs(20));
    assert_eq!(run.status, Some(1), "{args:?} took {:?}: {}", run.took, run.stderr);
    assert!(
      run.stderr.contains("E105") && run.stderr.contains("a character device"),
      "{args:?}: {}",
      run.stderr
    );
    assert!(run.took < Duration::from_secs(10), "{args:?} took {:?}", run.took);
  }
}

#[test]
fn a_playbook_or_inventory_over_the_size_limit_is_refused() {
  let test = Test::new().file("site.goenv", &format!("inventory \"huge.ini\"\n{PLAYBOOK}"));
  let dir = test.path("");
  let limit = converge::source::MAX_INPUT_BYTES;
  for name in ["huge.goenv", "huge.ini"] {
    // Sparse: the size is there, the disk space is not used.
    let file = std::fs::File::create(dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
    file.set_len(limit + 1).unwrap_or_else(|e| panic!("{e}"));
  }
  for args in [&["check", "huge.goenv"][..], &["check", "site.goenv"]] {
    let run = run_bounded(&dir, args, Duration::from_secs(20));
    assert_eq!(run.status, Some(1), "{args:?}: {}", run.stderr);
    assert!(
      run.stderr.contains("E105") && run.stderr.contains("larger than 16 MiB"),
      "{args:?}: {}",
      run.stderr
    );
  }
}

#[test]
fn fmt_formats_the_file_a_symlink_points_to_and_keeps_the_link() {
  let test = Test::new().file("real/site.goenv", "proxy [ direct ]\n").args(&["fmt", "site.goenv"]);
  std::os::unix::fs::symlink("real/site.goenv", test.path("site.goenv")).unwrap_or_else(|e| panic!("{e}"));
  let run = test.run();
  let link = run.dir.path().join("site.goenv");
  let meta = std::fs::symlink_metadata(&link).unwrap_or_else(|e| panic!("{e}"));
  assert!(meta.file_type().is_symlink(), "the link was replaced by a copy");
  assert_eq!(std::fs::read_link(&link).ok(), Some("real/site.goenv".into()));
  assert_eq!(run.read("real/site.goenv"), "proxy [direct]\n");
}

#[test]
fn a_fact_in_a_host_path_is_refused_at_check_time() {
  let test = Test::new().file(
    "site.goenv",
    "file \"/opt/{{ facts.goarch }}/motd\" {\n  content = \"hi\"\n}\n\
       managed block \"~/.profile.d/{{ host }}\" {\n  content = \"x\\n\"\n}\n",
  );
  let dir = test.path("");
  let (status, diagnostics) = check_json(&dir, "site.goenv");
  assert_eq!(status, 1);
  assert_eq!(located(&dir, "site.goenv", &diagnostics), [("E310".to_owned(), 1, 15, "facts".to_owned())]);
}

#[test]
fn color_always_colours_piped_standard_output() {
  let test = Test::new();
  let dir = test.path("");
  let root = dir.join("root");
  std::fs::create_dir_all(root.join("home/dev")).unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(dir.join("site.goenv"), "file \"/etc/motd\" {\n  content = \"hi\\n\"\n}\n")
    .unwrap_or_else(|e| panic!("{e}"));
  let plan = |color: &str| {
    let out = Command::new(binary())
      .args(["site.goenv", "--plan", "--root", "root", "--color", color])
      .current_dir(&dir)
      .env("HOME", "/home/dev")
      .env("XDG_STATE_HOME", dir.join("state"))
      .env("NO_COLOR", "1")
      .output()
      .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
  };
  let always = plan("always");
  assert!(always.contains("\x1b["), "--color always, piped: {always:?}");
  let auto = plan("auto");
  assert!(!auto.contains('\x1b'), "--color auto, piped: {auto:?}");
}

#[test]
fn a_bad_host_range_is_reported_once_not_once_per_host() {
  let test = Test::new()
    .file("inventory.ini", "[web]\nweb$(id)[001:500].example.com\nok1\n")
    .file("site.goenv", &format!("inventory \"inventory.ini\"\n{PLAYBOOK}"));
  let dir = test.path("");
  let (status, diagnostics) = check_json(&dir, "site.goenv");
  assert_eq!(status, 1);
  assert_eq!(
    located(&dir, "site.goenv", &diagnostics),
    [("E416".to_owned(), 2, 1, "web$(id)[001:500].example.com".to_owned())]
  );
}

#[test]
fn controller_files_that_are_devices_or_pipes_are_refused_as_such() {
  let test = Test::new()
    .file("file.goenv", "file \"~/zero\" {\n  source = \"/dev/zero\"\n}\n")
    .file("template.goenv", "template \"~/t\" {\n  source = \"pipe\"\n}\n")
    .file(
      "tool.goenv",
      "go tool \"golang.org/x/tools/gopls\" \"v0.16.2\" {\n  binary = \"/dev/urandom\"\n}\n",
    );
  let dir = test.path("");
  mkfifo(&dir.join("pipe"));
  for (file, kind) in [
    ("file.goenv", "a character device"),
    ("template.goenv", "a named pipe"),
    ("tool.goenv", "a character device"),
  ] {
    let run = run_bounded(&dir, &["check", file], Duration::from_secs(20));
    assert_eq!(run.status, Some(1), "{file} took {:?}: {}", run.took, run.stderr);
    assert!(run.stderr.contains(kind) && !run.stderr.contains("does not exist"), "{file}: {}", run.stderr);
  }
}

#[test]
fn a_fifo_ssh_config_or_saved_plan_is_refused_at_once() {
  let test =
    Test::new().file("site.goenv", "host \"web1\" {\n  address = \"127.0.0.1\"\n}\nexport A = \"1\"\n");
  let dir = test.path("");
  mkfifo(&dir.join("ssh_config"));
  mkfifo(&dir.join("plan.json"));
  for args in [&["--plan", "-F", "ssh_config", "site.goenv"][..], &["apply", "plan.json"]] {
    let run = run_bounded(&dir, args, Duration::from_secs(20));
    assert_eq!(run.status, Some(1), "{args:?} took {:?}: {}", run.took, run.stderr);
    assert!(run.stderr.contains("a named pipe (FIFO), not a regular file"), "{args:?}: {}", run.stderr);
    assert!(run.took < Duration::from_secs(10), "{args:?} took {:?}", run.took);
  }
}

#[test]
fn host_paths_that_climb_with_dot_dot_are_refused_at_check() {
  for path in ["~/../other/.bashrc", "/etc/../root/x", "$HOME/a/../../b", "~/cvp/.."] {
    let test = Test::new().file("site.goenv", &format!("file \"{path}\" {{\n  content = \"x\"\n}}\n"));
    let (code, diagnostics) = check_json(&test.path(""), "site.goenv");
    assert_eq!(code, 1, "{path}: {diagnostics:?}");
    assert!(
      diagnostics
        .iter()
        .any(|d| d["code"] == "E413" && d["message"].as_str().is_some_and(|m| m.contains("`..`"))),
      "{path}: {diagnostics:?}"
    );
  }
  let test = Test::new().file("site.goenv", "file \"~/a..b/..c\" {\n  content = \"x\"\n}\n");
  assert_eq!(check_json(&test.path(""), "site.goenv").0, 0, "`..` inside a name is a name");
}
