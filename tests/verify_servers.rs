//! The user's running VS Code server, as `converge verify` sees it: processes
//! started the way the server's bootstrap starts them (`$SHELL -ilc`, then
//! exec of the program under ~/.vscode-server/bin/COMMIT), each a consumer
//! with the environment it inherited, flagged "restart needed" once the files
//! that environment came from change, and stopped by a `vscode restart`
//! handler only when a change needs it. A small shell script stands in for
//! node: what counts is the environment it inherited and when it started.

use crate::fleet::Fleet;
use crate::verify::{failures, playbooks, verify};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Stand-in for the server's node: without arguments the server, which
/// starts an extension host; the extension host starts gopls.
const NODE: &str = "#!/bin/sh\ncase \"$*\" in\n  *--type=extensionHost*) \"$HOME/go/bin/gopls\" & ;;\n  *) \"$0\" --type=extensionHost & ;;\nesac\nsleep 300\n";
const GOPLS: &str = "#!/bin/sh\nsleep 300\n";

/// Process groups started on the hosts, killed by PID however the test ends.
#[derive(Default)]
struct Started(Vec<u32>);

impl Drop for Started {
  fn drop(&mut self) {
    for pgid in &self.0 {
      let _ = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]).status();
    }
  }
}

/// Installs the stand-ins under the user's home, as the user.
fn install(fleet: &Fleet, host: &str, user: &str) {
  let node = "$HOME/.vscode-server/bin/0123abcd/node";
  let script = format!(
    "mkdir -p \"$HOME/.vscode-server/bin/0123abcd\" \"$HOME/go/bin\" && printf '%s' '{NODE}' > \"{node}\" && \
     printf '%s' '{GOPLS}' > \"$HOME/go/bin/gopls\" && chmod 755 \"{node}\" \"$HOME/go/bin/gopls\" && echo ok"
  );
  assert_eq!(fleet.ssh(host, user, &script).trim(), "ok");
}

/// Starts a server as the bootstrap does, in its own session; returns its PID
/// (also its process group) once the server, extension host and gopls run.
fn start(fleet: &Fleet, host: &str, user: &str, started: &mut Started) -> u32 {
  let out = fleet.ssh(
    host,
    user,
    "setsid \"$SHELL\" -ilc 'exec \"$HOME/.vscode-server/bin/0123abcd/node\"' </dev/null >/dev/null 2>&1 & echo $!",
  );
  let pid: u32 = out.trim().parse().unwrap_or_else(|e| panic!("no pid ({e}): {out:?}"));
  started.0.push(pid);
  let deadline = Instant::now() + Duration::from_secs(20);
  loop {
    let procs = group(pid);
    if procs.iter().any(|c| c == "gopls") && procs.iter().filter(|c| *c == "node").count() == 2 {
      return pid;
    }
    assert!(Instant::now() < deadline, "the stand-in server did not start: {procs:?}");
    std::thread::sleep(Duration::from_millis(100));
  }
}

/// The names (comm) of the processes of a process group.
fn group(pgid: u32) -> Vec<String> {
  let mut out = Vec::new();
  for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
    let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
    let Some((comm, rest)) = stat.split_once(" (").and_then(|(_, r)| r.rsplit_once(") ")) else { continue };
    if rest.split_whitespace().nth(2) == Some(pgid.to_string().as_str()) {
      out.push(comm.to_owned());
    }
  }
  out
}

fn host_row<'a>(doc: &'a Value, host: &str, label: &str) -> Option<&'a Value> {
  let h = doc["hosts"].as_array()?.iter().find(|h| h["host"] == host)?;
  h["host_rows"].as_array()?.iter().find(|r| r["label"] == label)
}

fn servers(doc: &Value) -> Vec<String> {
  doc["hosts"][0]["consumers"]
    .as_array()
    .into_iter()
    .flatten()
    .filter_map(Value::as_str)
    .filter(|c| c.starts_with("server ") || c.starts_with("extension host ") || c.starts_with("gopls "))
    .map(str::to_owned)
    .collect()
}

const FRESH: &str = "VS Code server started after the environment last changed";

fn playbook(fleet: &Fleet, pager: &str, handler: bool) -> String {
  let base = playbooks(fleet, &[]);
  if handler {
    format!(
      "{base}export PAGER = \"{pager}\" {{\n  notify = \"restart vscode\"\n}}\nhandler \"restart vscode\" {{\n  vscode restart\n}}\n"
    )
  } else {
    format!("{base}export PAGER = \"{pager}\"\n")
  }
}

#[test]
fn a_server_older_than_the_environment_is_flagged_until_the_restart_handler_stops_it() {
  let fleet = Fleet::start_with(1, &[(crate::verify::go_root(), "/usr/local/go")]);
  let mut started = Started::default();
  install(&fleet, "h01", "dev-bash");
  let out = fleet.converge(&playbook(&fleet, "less -R", true), &[]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
  // Start times and mtimes are in whole seconds.
  std::thread::sleep(Duration::from_millis(2500));
  let first = start(&fleet, "h01", "dev-bash", &mut started);

  // Started after the files: a consumer each, seeing what the shells see.
  let (code, doc) = verify(&fleet, &playbook(&fleet, "less -R", false));
  assert_eq!(code, 0, "{doc}");
  let consumers = servers(&doc);
  assert_eq!(consumers.len(), 3, "server, extension host and gopls: {doc}");
  assert!(consumers.contains(&format!("server {first}")), "{consumers:?}");
  assert_eq!(host_row(&doc, "h01", FRESH).map(|r| &r["cells"]["host"]["state"]), Some(&Value::from("ok")));

  // The profile changes under the running server: it keeps the old value, and
  // verify says it must restart, with the command.
  std::thread::sleep(Duration::from_millis(2500));
  let changed = playbook(&fleet, "less -RF", false);
  let out = fleet.converge(&changed, &[]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
  let (code, doc) = verify(&fleet, &changed);
  assert_eq!(code, 1, "{doc}");
  let stale: Vec<(String, String)> = failures(&doc, "h01")
    .into_iter()
    .map(|(label, consumer, seen, _)| (format!("{label} {consumer}"), seen))
    .collect();
  assert_eq!(stale.len(), 3, "only the running processes see the old value: {stale:?}");
  for (at, seen) in &stale {
    assert!(at.starts_with("$PAGER ") && seen == "less -R", "{stale:?}");
  }
  let row = host_row(&doc, "h01", FRESH).unwrap_or_else(|| panic!("no restart row: {doc}"));
  assert_eq!(row["cells"]["host"]["state"], "wrong", "{row}");
  let advice = row["advice"].as_str().unwrap_or_default();
  assert!(advice.contains(&format!("`kill {first} ")), "{advice}");
  let text = String::from_utf8_lossy(&fleet.command(&changed, &["verify"], &[]).stdout).into_owned();
  assert!(text.contains("restart the VS Code server: `kill "), "{text}");

  // The handler: planned only while a server runs, it stops the stale ones.
  std::thread::sleep(Duration::from_millis(1100));
  let with_handler = playbook(&fleet, "less -RFX", true);
  let plan = fleet.converge(&with_handler, &["--plan"]);
  let plan = String::from_utf8_lossy(&plan.stdout).into_owned();
  assert!(plan.contains("stop the VS Code server processes"), "{plan}");
  let out = fleet.converge(&with_handler, &[]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
  let deadline = Instant::now() + Duration::from_secs(10);
  while group(first).iter().any(|c| c == "node" || c == "gopls") {
    assert!(Instant::now() < deadline, "the handler left the server running: {:?}", group(first));
    std::thread::sleep(Duration::from_millis(100));
  }

  // The next connection starts a fresh server, which sees the new value.
  std::thread::sleep(Duration::from_millis(2500));
  let second = start(&fleet, "h01", "dev-bash", &mut started);
  let (code, doc) = verify(&fleet, &with_handler);
  assert_eq!(code, 0, "{doc}");
  assert!(servers(&doc).contains(&format!("server {second}")), "{doc}");
  assert!(!servers(&doc).contains(&format!("server {first}")), "{doc}");

  // Nothing changes: the handler is not notified and the server keeps running.
  let out = fleet.converge(&with_handler, &[]);
  assert_eq!(out.status.code(), Some(0));
  assert!(group(second).iter().any(|c| c == "node"), "an unneeded restart: {:?}", group(second));
}

#[test]
fn under_root_the_restart_handler_leaves_the_servers_of_the_machine_alone() {
  use std::os::unix::fs::PermissionsExt;
  use std::os::unix::process::CommandExt;
  let tree = crate::test::Tree::new(crate::test::Transport::Local);
  // A server under the tree's home, run by this machine's user: what the
  // handler would find if it looked at this machine's processes.
  let node = tree.home().join(".vscode-server/bin/0123abcd/node");
  std::fs::create_dir_all(node.parent().unwrap_or(&node)).unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(&node, GOPLS).unwrap_or_else(|e| panic!("{e}"));
  std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o755)).unwrap_or_else(|e| panic!("{e}"));
  // Another test thread that forks while the file is open for writing holds
  // it open until its child execs: the spawn may find it busy for a moment.
  let mut tries = 0;
  let mut child = loop {
    match std::process::Command::new(&node).process_group(0).stdin(std::process::Stdio::null()).spawn() {
      Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 50 => {
        tries += 1;
        std::thread::sleep(Duration::from_millis(20));
      }
      spawned => break spawned.unwrap_or_else(|e| panic!("{e}")),
    }
  };
  let _started = Started(vec![child.id()]);
  std::thread::sleep(Duration::from_millis(1500));
  let playbook = "export PAGER = \"less -R\" {\n  notify = \"restart vscode\"\n}\nhandler \"restart vscode\" {\n  vscode restart\n}\n";
  let out = tree.converge(playbook, &[]);
  let text = String::from_utf8_lossy(&out.stdout).into_owned();
  assert_eq!(out.status.code(), Some(0), "{text}");
  assert!(!text.contains("stop the VS Code server"), "{text}");
  assert!(matches!(child.try_wait(), Ok(None)), "the machine's process was stopped:\n{text}");
}
