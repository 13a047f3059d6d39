//! `converge verify` beyond the shells: facts of the host (live sysctl values
//! and their file, SELinux types, Yama's ptrace scope, VS Code settings as the
//! server reads them), modules mode, the dash user and `go tool ... { link =
//! true }`, and `enforce --verify` in the report and the metrics.

use crate::fleet::Fleet;
use crate::verify::{failures, go_root, old_go_root, playbooks};
use serde_json::Value;
use std::path::Path;

fn verify_with(fleet: &Fleet, playbook: &str, args: &[&str]) -> (i32, Value) {
  let out = fleet.command(playbook, &["verify"], &[&["--format", "json"], args].concat());
  let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
    panic!(
      "no JSON ({e}): {}\n{}",
      String::from_utf8_lossy(&out.stdout),
      String::from_utf8_lossy(&out.stderr)
    )
  });
  (out.status.code().unwrap_or(-1), doc)
}

/// A host row's cell, and its advice.
fn host_cell(doc: &Value, host: &str, label: &str) -> (Value, String) {
  let h = doc["hosts"].as_array().and_then(|hs| hs.iter().find(|h| h["host"] == host));
  let row = h
    .and_then(|h| h["host_rows"].as_array())
    .and_then(|rs| rs.iter().find(|r| r["label"] == label))
    .unwrap_or_else(|| panic!("no host row {label:?}: {doc}"));
  (row["cells"]["host"].clone(), row["advice"].as_str().unwrap_or_default().to_owned())
}

fn row_advice(doc: &Value, host: &str, label: &str) -> String {
  let h = doc["hosts"].as_array().and_then(|hs| hs.iter().find(|h| h["host"] == host));
  h.and_then(|h| h["rows"].as_array())
    .and_then(|rs| rs.iter().find(|r| r["label"] == label))
    .and_then(|r| r["advice"].as_str())
    .unwrap_or_default()
    .to_owned()
}

fn proc_value(path: &str) -> u64 {
  std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or_else(|| panic!("{path}"))
}

#[test]
fn sysctl_selinux_ptrace_settings_and_modules_rows_show_what_the_host_really_has() {
  let fleet = Fleet::start_with(1, &[(go_root(), "/usr/local/go")]);
  let watches = proc_value("/proc/sys/fs/inotify/max_user_watches");
  let instances = proc_value("/proc/sys/fs/inotify/max_user_instances");
  std::fs::create_dir_all(fleet.workdir().join("prebuilt")).unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(fleet.workdir().join("prebuilt/dlv"), b"#!/bin/sh\n").unwrap_or_else(|e| panic!("{e}"));
  let playbook = format!(
    "{}sysctl \"fs.inotify.max_user_watches\" = {watches} {{\n  file = \"/etc/sysctl.d/95-verify.conf\"\n}}\n\
     sysctl \"fs.inotify.max_user_instances\" = {}\n\
     selinux label \"/opt/tools(/.*)?\" type \"usr_t\"\n\
     go tool \"github.com/go-delve/delve/cmd/dlv\" \"v1.23.1\" {{\n  binary = \"prebuilt/dlv\"\n}}\n\
     vscode settings {{\n  \"go.toolsEnvVars\" = {{ GOPROXY = \"https://proxy.example.com\" }}\n}}\n",
    playbooks(&fleet, &[]),
    instances + 7
  );

  // Only the toolchain applied (the sysctl keys would change the kernel every
  // test host shares).
  let out = fleet.converge(&playbooks(&fleet, &[]), &[]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
  // The live value holds but its file is missing; the other
  // key differs live; SELinux is off; no settings file.
  let (code, doc) = verify_with(&fleet, &playbook, &[]);
  assert_eq!(code, 1, "{doc}");
  let (cell, _) = host_cell(&doc, "h01", "sysctl fs.inotify.max_user_watches");
  assert_eq!(cell["state"], "wrong");
  assert_eq!(cell["seen"], format!("live {watches}, /etc/sysctl.d/95-verify.conf (no such file)"));
  let (cell, _) = host_cell(&doc, "h01", "sysctl fs.inotify.max_user_instances");
  assert_eq!(cell["seen"], format!("live {instances}"), "{cell}");
  let (cell, _) = host_cell(&doc, "h01", "SELinux type of /opt/tools");
  assert_eq!(cell, serde_json::json!({"state": "skipped", "note": "SELinux is off on this host"}));
  let (cell, advice) = host_cell(&doc, "h01", "kernel.yama.ptrace_scope lets dlv attach");
  match std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").map(|s| s.trim().to_owned()) {
    Err(_) => assert_eq!(cell["state"], "ok", "no Yama, no limit: {cell}"),
    Ok(v) if v == "0" => assert_eq!(cell["state"], "ok"),
    Ok(v) => {
      assert_eq!(cell["seen"], format!("kernel.yama.ptrace_scope = {v}"));
      assert!(advice.contains("ptrace_scope = 0"), "{advice}");
    }
  }
  let (cell, _) = host_cell(&doc, "h01", "vscode go.toolsEnvVars");
  assert_eq!(cell["seen"], "(no such file)");

  // The file as a person left it, and the settings file the server reads, with
  // a comment, a trailing comma and the user's own entry.
  fleet.write(
    "h01",
    "/etc/sysctl.d/95-verify.conf",
    format!("fs.inotify.max_user_watches = {watches}\n").as_bytes(),
  );
  let settings = |proxy: &str| {
    format!(
      "mkdir -p \"$HOME/.vscode-server/data/Machine\" && printf '%s' '{{\n  // the team proxy\n  \"go.toolsEnvVars\": {{ \"CGO_ENABLED\": \"0\", \"GOPROXY\": \"{proxy}\" }},\n}}\n' > \"$HOME/.vscode-server/data/Machine/settings.json\" && echo ok"
    )
  };
  assert_eq!(fleet.ssh("h01", "dev-bash", &settings("https://proxy.example.com")).trim(), "ok");
  // A profile.d file that turns modules off for the login shells.
  fleet.write("h01", "/etc/profile.d/gopath.sh", b"export GO111MODULE=off\n");
  let (_, doc) = verify_with(&fleet, &playbook, &[]);
  assert_eq!(host_cell(&doc, "h01", "sysctl fs.inotify.max_user_watches").0["state"], "ok", "{doc}");
  assert_eq!(host_cell(&doc, "h01", "vscode go.toolsEnvVars").0["state"], "ok", "{doc}");
  let modules: Vec<(String, String)> = failures(&doc, "h01")
    .into_iter()
    .filter(|(l, ..)| l == "go env GO111MODULE")
    .map(|(_, c, seen, _)| (c, seen))
    .collect();
  let consumers: Vec<&str> = modules.iter().map(|(c, _)| c.as_str()).collect();
  // /etc/profile.d is read by login shells and the VS Code server's `bash -ilc`.
  assert_eq!(consumers, ["bash -l", "sh -l", "vscode"], "{modules:?}");
  assert!(modules.iter().all(|(_, seen)| seen == "off"), "{modules:?}");
  assert!(row_advice(&doc, "h01", "go env GO111MODULE").contains("goenv { GO111MODULE"), "{doc}");

  // A workspace under the home that sets its own GOPROXY for the Go tools
  // overrides the Machine settings in that folder.
  let workspace = "mkdir -p \"$HOME/src/app/.vscode\" && printf '%s' '{ \"go.toolsEnvVars\": { \"GOPROXY\": \"off\" } }' > \"$HOME/src/app/.vscode/settings.json\" && echo ok";
  assert_eq!(fleet.ssh("h01", "dev-bash", workspace).trim(), "ok");
  let (_, doc) = verify_with(&fleet, &playbook, &[]);
  let (cell, _) = host_cell(&doc, "h01", "vscode go.toolsEnvVars");
  assert_eq!(
    cell["seen"],
    r#"{"GOPROXY":"off"} in /home/dev-bash/src/app/.vscode/settings.json, which overrides it in that folder"#,
    "{cell}"
  );
  assert_eq!(fleet.ssh("h01", "dev-bash", "rm -r \"$HOME/src\" && echo ok").trim(), "ok");

  // The server's settings contradicting the declared value.
  assert_eq!(fleet.ssh("h01", "dev-bash", &settings("https://other.example.com")).trim(), "ok");
  let (_, doc) = verify_with(&fleet, &playbook, &[]);
  let (cell, _) = host_cell(&doc, "h01", "vscode go.toolsEnvVars");
  assert_eq!(cell["seen"], r#"{"CGO_ENABLED":"0","GOPROXY":"https://other.example.com"}"#, "{cell}");
  let text = String::from_utf8_lossy(&fleet.command(&playbook, &["verify"], &[]).stdout).into_owned();
  assert!(text.contains("· SELinux type of /opt/tools: skipped, SELinux is off on this host"), "{text}");
  assert!(text.contains("✗ vscode go.toolsEnvVars: saw "), "{text}");
}

/// A module proxy directory on the host holding `example.com/gopls@v1.0.0`,
/// a command named gopls.
fn gopls_proxy(fleet: &Fleet, host: &str) {
  let at = fleet.host_path(host, "/opt/proxy/example.com/gopls/@v");
  std::fs::create_dir_all(&at).unwrap_or_else(|e| panic!("{e}"));
  let write = |name: &str, text: &str| std::fs::write(at.join(name), text).unwrap_or_else(|e| panic!("{e}"));
  write("list", "v1.0.0\n");
  write("v1.0.0.info", r#"{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"}"#);
  write("v1.0.0.mod", "module example.com/gopls\n\ngo 1.21\n");
  let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], 'w')\nz.writestr('example.com/gopls@v1.0.0/go.mod', 'module example.com/gopls\\n\\ngo 1.21\\n')\nz.writestr('example.com/gopls@v1.0.0/main.go', 'package main\\n\\nfunc main() {}\\n')\nz.close()\n";
  let status = std::process::Command::new("python3")
    .args(["-c", script])
    .arg(at.join("v1.0.0.zip"))
    .status()
    .unwrap_or_else(|e| panic!("{e}"));
  assert!(status.success());
}

#[test]
fn the_dash_user_sees_gopls_only_through_its_link_and_verify_names_that_fix() {
  let fleet = Fleet::start_with(3, &[(go_root(), "/usr/local/go")]);
  gopls_proxy(&fleet, "h03");
  let tool = |link: &str| {
    format!(
      "{}goenv {{\n  GOPROXY = \"file:///opt/proxy\"\n  GONOSUMDB = \"example.com\"\n  GOTOOLCHAIN = \"local\"\n}}\n\
       path prepend [\"$HOME/go/bin\"]\ngo tool \"example.com/gopls\" \"v1.0.0\"{link}\n",
      playbooks(&fleet, &[])
    )
  };
  let limit = ["--limit", "h03"];
  let playbook = tool("");
  let out = fleet.converge(&playbook, &limit);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
  let (code, doc) = verify_with(&fleet, &playbook, &limit);
  assert_eq!(code, 1, "{doc}");
  let cells: Vec<(String, String)> =
    failures(&doc, "h03").into_iter().map(|(label, consumer, ..)| (label, consumer)).collect();
  let expected: Vec<(String, String)> =
    ["PATH starts with /home/dev-dash/go/bin", "gopls v1.0.0", "gopls built by the go on PATH"]
      .iter()
      .flat_map(|l| [((*l).to_owned(), "ssh".to_owned()), ((*l).to_owned(), "dash -i".to_owned())])
      .collect();
  assert_eq!(cells, expected, "dash reads no file for `ssh host cmd` nor `dash -i`");
  for label in ["gopls v1.0.0", "gopls built by the go on PATH"] {
    assert!(
      row_advice(&doc, "h03", label)
        .contains("`go tool ... { link = true }` links gopls into /usr/local/bin")
    );
  }
  let text = String::from_utf8_lossy(&fleet.command(&playbook, &["verify"], &limit).stdout).into_owned();
  assert!(text.contains("fix: dash reads no file"), "{text}");

  let linked = tool(" {\n  link = true\n}");
  let out = fleet.converge(&linked, &limit);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
  let target = std::fs::read_link(fleet.host_path("h03", "/usr/local/bin/gopls")).unwrap_or_default();
  assert_eq!(target, Path::new("/home/dev-dash/go/bin/gopls"));
  let (_, doc) = verify_with(&fleet, &linked, &limit);
  let left: Vec<(String, String)> =
    failures(&doc, "h03").into_iter().map(|(label, consumer, ..)| (label, consumer)).collect();
  assert_eq!(left, expected[..2], "only the PATH entry itself still misses them");
  // Linked once: a second run changes nothing.
  let (code, _) = {
    let out = fleet.converge(&linked, &[&limit[..], &["--plan"]].concat());
    (out.status.code(), ())
  };
  assert_eq!(code, Some(0));

  // The tool leaves the playbook: its binary and its link leave the host.
  let without = playbook.replace("go tool \"example.com/gopls\" \"v1.0.0\"\n", "");
  assert_ne!(without, playbook);
  let out = fleet.converge(&without, &limit);
  let text = String::from_utf8_lossy(&out.stdout).into_owned();
  assert_eq!(out.status.code(), Some(0), "{text}");
  assert!(text.contains("remove the link /usr/local/bin/gopls -> /home/dev-dash/go/bin/gopls"), "{text}");
  assert!(std::fs::symlink_metadata(fleet.host_path("h03", "/usr/local/bin/gopls")).is_err(), "{text}");
  assert!(!fleet.host_path("h03", "/home/dev-dash/go/bin/gopls").exists(), "{text}");
}

#[test]
fn enforce_with_verify_puts_the_cells_in_the_report_and_the_metrics() {
  let fleet = Fleet::start_with(1, &[(go_root(), "/usr/local/go")]);
  let path = fleet
    .write_playbook(&format!("{}export PAGER = \"less -R\"\n", playbooks(&fleet, &[])))
    .display()
    .to_string();
  let metrics = fleet.workdir().join("converge.prom");
  let report = fleet.workdir().join("report.json");
  let (m, r) = (metrics.display().to_string(), report.display().to_string());
  let out = fleet.run(&["enforce", "--verify", "--metrics", &m, "--report", &r, &path]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
  crate::loops::assert_samples(
    &metrics,
    &[
      r#"converge_verify_cells{consumer="ssh",host="h01",state="ok"} 6"#,
      r#"converge_verify_cells{consumer="ssh",host="h01",state="failed"} 0"#,
      r#"converge_verify_cells{consumer="dash -i",host="h01",state="ok"} 6"#,
      r#"converge_verify_host_holds{host="h01"} 1"#,
    ],
  );
  let doc: Value = serde_json::from_slice(&std::fs::read(&report).unwrap_or_default()).unwrap_or_default();
  assert_eq!(doc["verify"]["summary"]["holding"], 1, "{doc}");

  // Someone overrides PAGER at the end of ~/.profile: the cells and the exit say so.
  let profile = fleet.read_text("h01", "/home/dev-bash/.profile");
  fleet.write("h01", "/home/dev-bash/.profile", format!("{profile}export PAGER=more\n").as_bytes());
  let out = fleet.run(&["enforce", "--verify", "--metrics", &m, "--report", &r, &path]);
  assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
  crate::loops::assert_samples(
    &metrics,
    &[
      r#"converge_verify_cells{consumer="bash -l",host="h01",state="failed"} 1"#,
      r#"converge_verify_cells{consumer="bash -l",host="h01",state="ok"} 5"#,
      r#"converge_verify_cells{consumer="ssh",host="h01",state="failed"} 0"#,
      r#"converge_verify_host_holds{host="h01"} 0"#,
    ],
  );
  // Without --verify there is no verify family.
  let out = fleet.run(&["enforce", "--metrics", &m, "--report", &r, &path]);
  assert_eq!(out.status.code(), Some(0));
  let samples = crate::loops::parse_metrics(&metrics);
  assert!(!samples.iter().any(|s| s.starts_with("converge_verify")), "{samples:?}");
}

/// A tiny HTTP server on loopback for the probe tests: answers each request
/// with the status `answer` gives its request line, and records the lines.
struct Http {
  port: u16,
  seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
  stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
  thread: Option<std::thread::JoinHandle<()>>,
}

impl Http {
  fn start(answer: fn(&str) -> u16) -> Http {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    listener.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (seen2, stop2) = (seen.clone(), stop.clone());
    let thread = std::thread::spawn(move || {
      while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
        let Ok((mut stream, _)) = listener.accept() else {
          std::thread::sleep(std::time::Duration::from_millis(20));
          continue;
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while request.len() < 8192 && !request.windows(4).any(|w| w == b"\r\n\r\n") {
          match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
          }
        }
        let line = String::from_utf8_lossy(&request).lines().next().unwrap_or_default().to_owned();
        let status = answer(&line);
        if let Ok(mut seen) = seen2.lock() {
          seen.push(line);
        }
        let _ = write!(stream, "HTTP/1.1 {status} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      }
    });
    Http { port, seen, stop, thread: Some(thread) }
  }

  fn seen(&self) -> Vec<String> {
    self.seen.lock().map(|s| s.clone()).unwrap_or_default()
  }
}

impl Drop for Http {
  fn drop(&mut self) {
    self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(t) = self.thread.take() {
      let _ = t.join();
    }
  }
}

#[test]
fn probe_requests_each_goproxy_entry_from_the_host_through_its_proxy_variables() {
  let goproxy = Http::start(|_| 200);
  // A forward proxy that cannot reach port 1, as a real one answers then.
  let forward = Http::start(|line| if line.contains("127.0.0.1:1/") { 502 } else { 200 });
  let fleet = Fleet::start_with(1, &[(go_root(), "/usr/local/go")]);
  let (good, closed) = (format!("http://127.0.0.1:{}", goproxy.port), "http://127.0.0.1:1".to_owned());
  let playbook = format!("{}proxy [\"{good}\", \"{closed}\", direct]\n", playbooks(&fleet, &[]));
  let row = |doc: &Value, url: &str| {
    let h = &doc["hosts"][0];
    h["host_rows"]
      .as_array()
      .and_then(|rs| rs.iter().find(|r| r["label"] == format!("GOPROXY {url} answers")))
      .cloned()
      .unwrap_or_else(|| panic!("no probe row for {url}: {doc}"))
  };

  // Without --probe nothing is requested.
  let (_, doc) = verify_with(&fleet, &playbook, &[]);
  assert!(!doc.to_string().contains("answers"), "{doc}");
  assert!(goproxy.seen().is_empty());

  let (code, doc) = verify_with(&fleet, &playbook, &["--probe"]);
  assert_eq!(code, 1, "{doc}");
  let ok = row(&doc, &good);
  assert_eq!(ok["cells"]["host"]["state"], "ok", "{ok}");
  assert!(ok["detail"].as_str().is_some_and(|d| d.starts_with("HTTP 200 in ") && d.ends_with(" ms")), "{ok}");
  let refused = row(&doc, &closed);
  let seen = refused["cells"]["host"]["seen"].as_str().unwrap_or_default();
  assert!(
    seen.starts_with("unreachable after ") && seen.ends_with("connection refused or no route"),
    "{seen}"
  );
  assert_eq!(goproxy.seen(), ["GET / HTTP/1.1"], "the host itself made the request");

  // The host's proxy variables (PAM's /etc/environment, read by every ssh
  // session): both entries now go through the forward proxy.
  fleet.write(
    "h01",
    "/etc/environment",
    format!("http_proxy=http://127.0.0.1:{}\n", forward.port).as_bytes(),
  );
  let (_, doc) = verify_with(&fleet, &playbook, &["--probe"]);
  assert_eq!(row(&doc, &good)["cells"]["host"]["state"], "ok");
  let through = row(&doc, &closed);
  let seen = through["cells"]["host"]["seen"].as_str().unwrap_or_default();
  assert!(seen.starts_with("HTTP 502 in ") && seen.ends_with(" ms"), "{through}");
  let mut lines = forward.seen();
  lines.sort();
  assert_eq!(lines, ["GET http://127.0.0.1:1/ HTTP/1.1".to_owned(), format!("GET {good}/ HTTP/1.1")]);
  assert_eq!(goproxy.seen().len(), 1, "through the forward proxy, not directly: {:?}", goproxy.seen());
  let text =
    String::from_utf8_lossy(&fleet.command(&playbook, &["verify"], &["--probe"]).stdout).into_owned();
  assert!(text.contains(&format!("GOPROXY {good} answers")) && text.contains("(HTTP 200 in "), "{text}");
}

/// gopls built by an older Go than the one first on PATH (the toolchain was
/// upgraded, the tools were not rebuilt) misreads the newer standard library:
/// verify names the Go that built it.
#[test]
fn a_gopls_built_by_another_go_than_the_one_first_on_path_is_flagged() {
  let fleet = Fleet::start_with(1, &[(go_root(), "/usr/local/go"), (old_go_root(), "/opt/go1.22")]);
  gopls_proxy(&fleet, "h01");
  let build = "GOTOOLCHAIN=local GOPROXY=file:///opt/proxy GONOSUMDB=example.com GOFLAGS=-mod=mod \
               /opt/go1.22/bin/go install example.com/gopls@v1.0.0 && echo ok";
  assert_eq!(fleet.ssh("h01", "dev-bash", build).trim(), "ok");
  let playbook = format!(
    "{}goenv {{\n  GOPROXY = \"file:///opt/proxy\"\n  GONOSUMDB = \"example.com\"\n  GOTOOLCHAIN = \"local\"\n}}\n\
     path prepend [\"/usr/local/go/bin\", \"$HOME/go/bin\"]\ngo tool \"example.com/gopls\" \"v1.0.0\"\n",
    playbooks(&fleet, &[])
  );
  // Converged: PATH holds $HOME/go/bin, and gopls v1.0.0 is already there.
  let out = fleet.converge(&playbook, &[]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
  let (code, doc) = verify_with(&fleet, &playbook, &[]);
  assert_eq!(code, 1, "{doc}");
  let built: Vec<(String, String)> = failures(&doc, "h01")
    .into_iter()
    .filter(|(label, ..)| label == "gopls built by the go on PATH")
    .map(|(_, consumer, seen, _)| (consumer, seen))
    .collect();
  assert!(!built.is_empty(), "{doc}");
  let old = String::from_utf8_lossy(
    &std::process::Command::new(old_go_root().join("bin/go"))
      .args(["env", "GOVERSION"])
      .output()
      .unwrap_or_else(|e| panic!("{e}"))
      .stdout,
  )
  .trim()
  .to_owned();
  for (consumer, seen) in &built {
    assert!(seen.contains(&format!("built by {old}")), "{consumer}: {seen}");
  }
  // Rebuilt by the Go on PATH, every consumer that finds gopls holds.
  let rebuild = "GOTOOLCHAIN=local GOPROXY=file:///opt/proxy GONOSUMDB=example.com GOFLAGS=-mod=mod \
                 /usr/local/go/bin/go install example.com/gopls@v1.0.0 && echo ok";
  assert_eq!(fleet.ssh("h01", "dev-bash", rebuild).trim(), "ok");
  let (_, doc) = verify_with(&fleet, &playbook, &[]);
  let left: Vec<_> = failures(&doc, "h01")
    .into_iter()
    .filter(|(label, ..)| label == "gopls built by the go on PATH")
    .collect();
  assert!(left.is_empty(), "{left:?}");
}
