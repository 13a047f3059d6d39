//! The two loops on the fleet testbed: a plan reviewed in a pull request and
//! applied from its file (stale hosts refused), and scheduled enforcement
//! (drift/intent labels, report, Prometheus metrics, locks, pull mode). A saved
//! plan of one tree also runs under both transports ([`crate::converge_test!`]);
//! the fleet tests need several hosts, and `enforce` has no `--root`.

use crate::converge_test;
use crate::fleet::{Fleet, host};
use crate::test::{Transport, Tree};
use serde_json::Value;
use std::process::Output;

const PLAYBOOK: &str = r#"
export GOPROXY = "https://goproxy.example.com,direct"

managed block "~/.bashrc" {
  name = "aliases"
  content = "alias gotest='go test ./...'\n"
}

file "~/.config/converge-loops/marker" {
  content = "host {{ host }}\n"
}
"#;

fn text(out: &Output) -> String {
  format!(
    "stdout:\n{}\nstderr:\n{}",
    String::from_utf8_lossy(&out.stdout),
    String::from_utf8_lossy(&out.stderr)
  )
}

fn json(out: &Output) -> Value {
  serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON ({e}):\n{}", text(out)))
}

fn home(i: usize) -> &'static str {
  ["/home/dev-bash", "/home/dev-zsh", "/home/dev-dash", "/home/dev-fish"][(i - 1) % 4]
}

/// The label of the step named `step` on `name`, or `None`.
fn label(doc: &Value, name: &str, step: &str) -> Option<String> {
  host(doc, name)["steps"]
    .as_array()
    .and_then(|steps| steps.iter().find(|s| s["name"] == step))
    .and_then(|s| s["label"].as_str())
    .map(str::to_owned)
}

fn changed_steps(doc: &Value, name: &str) -> Vec<String> {
  host(doc, name)["steps"]
    .as_array()
    .map(|steps| {
      steps
        .iter()
        .filter(|s| s["changes"].as_array().is_some_and(|c| !c.is_empty()))
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect()
    })
    .unwrap_or_default()
}

#[test]
fn a_saved_plan_is_refused_for_the_drifted_host_only_and_applies_once() {
  let fleet = Fleet::start(3);
  let playbook = fleet.write_playbook(&format!("{}{PLAYBOOK}", fleet.inventory()));
  let playbook = playbook.display().to_string();

  let planned = fleet.run(&["--plan", "--out", "plan.json", &playbook]);
  assert_eq!(planned.status.code(), Some(2), "changes pending:\n{}", text(&planned));
  let bytes = std::fs::read(fleet.workdir().join("plan.json")).unwrap_or_default();
  let hash = blake3::hash(&bytes).to_hex().to_string();
  assert!(
    String::from_utf8_lossy(&planned.stderr).contains(&hash),
    "the plan's hash is shown:\n{}",
    text(&planned)
  );

  // h02's user edits ~/.bashrc after the plan was made.
  let edited = b"# h02's own line\nexport EDITOR=vi\n";
  fleet.write("h02", "/home/dev-zsh/.bashrc", edited);

  let applied = fleet.run(&["apply", "plan.json", "--format", "json"]);
  assert_eq!(applied.status.code(), Some(1), "a refused host fails the run:\n{}", text(&applied));
  let doc = json(&applied);
  assert_eq!(host(&doc, "h01")["status"], "changed", "{doc}");
  assert_eq!(host(&doc, "h03")["status"], "changed", "{doc}");
  assert_eq!(host(&doc, "h02")["status"], "stale", "{doc}");
  let why = host(&doc, "h02")["error"].as_str().unwrap_or_default().to_owned();
  assert!(why.contains("file:~/.bashrc"), "the refusal names what changed: {why}");
  assert_eq!(fleet.read("h02", "/home/dev-zsh/.bashrc").as_deref(), Some(&edited[..]), "h02 untouched");
  assert!(fleet.read("h02", "/home/dev-zsh/.config/converge-loops/marker").is_none(), "h02 untouched");
  for (i, name) in [(1, "h01"), (3, "h03")] {
    let marker = fleet.read_text(name, &format!("{}/.config/converge-loops/marker", home(i)));
    assert_eq!(marker, format!("host {name}\n"));
  }

  // The same plan again: nothing changes anywhere.
  let before: Vec<Vec<u8>> = [(1, "h01"), (3, "h03")]
    .iter()
    .map(|(i, n)| fleet.read(n, &format!("{}/.bashrc", home(*i))).unwrap_or_default())
    .collect();
  let again = fleet.run(&["apply", "plan.json", "--format", "json"]);
  let doc = json(&again);
  assert_eq!(host(&doc, "h01")["status"], "ok", "{doc}");
  assert_eq!(host(&doc, "h03")["status"], "ok", "{doc}");
  assert_eq!(host(&doc, "h02")["status"], "stale", "{doc}");
  let after: Vec<Vec<u8>> = [(1, "h01"), (3, "h03")]
    .iter()
    .map(|(i, n)| fleet.read(n, &format!("{}/.bashrc", home(*i))).unwrap_or_default())
    .collect();
  assert_eq!(before, after);

  // A playbook edited after planning: the whole plan is refused before any host is contacted.
  std::fs::write(&playbook, format!("{}{PLAYBOOK}\nexport GOFLAGS = \"-mod=mod\"\n", fleet.inventory()))
    .unwrap_or_else(|e| panic!("{e}"));
  let refused = fleet.run(&["apply", "plan.json"]);
  assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
  assert!(
    String::from_utf8_lossy(&refused.stderr).contains("changed since the plan was made"),
    "{}",
    text(&refused)
  );
}

converge_test!(a_saved_plan_of_one_tree_applies_exactly_once_and_is_refused_after_drift);
fn a_saved_plan_of_one_tree_applies_exactly_once_and_is_refused_after_drift(transport: Transport) {
  let tree = Tree::new(transport);
  let status = |out: &Output| json(out)["hosts"][0]["status"].as_str().unwrap_or_default().to_owned();

  let planned = tree.converge(PLAYBOOK, &["--plan", "--out", "plan.json"]);
  assert_eq!(planned.status.code(), Some(2), "changes pending:\n{}", text(&planned));
  let applied = tree.run(&["apply", "plan.json", "--format", "json"]);
  assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
  assert_eq!(status(&applied), "changed", "{}", text(&applied));
  let bashrc = String::from_utf8_lossy(&tree.read("/home/dev/.bashrc")).into_owned();
  assert!(bashrc.contains("\nalias gotest='go test ./...'\n"), "{bashrc}");
  let (code, replan) = tree.plan(PLAYBOOK);
  assert_eq!(code, 0, "a plan after the saved plan was applied is empty:\n{replan}");
  let again = tree.run(&["apply", "plan.json", "--format", "json"]);
  assert_eq!(status(&again), "ok", "the same plan again changes nothing:\n{}", text(&again));

  // A new plan, then the user edits ~/.bashrc before it is applied.
  let changed = PLAYBOOK.replace("go test ./...", "go test -race ./...");
  let planned = tree.converge(&changed, &["--plan", "--out", "plan.json"]);
  assert_eq!(planned.status.code(), Some(2), "{}", text(&planned));
  let edited = b"# the user's own\nexport EDITOR=vi\n";
  tree.write("/home/dev/.bashrc", edited);
  let refused = tree.run(&["apply", "plan.json", "--format", "json"]);
  assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
  assert_eq!(status(&refused), "stale", "{}", text(&refused));
  let why = json(&refused)["hosts"][0]["error"].as_str().unwrap_or_default().to_owned();
  assert!(why.contains("file:~/.bashrc"), "the refusal names what changed: {why}");
  assert_eq!(tree.read("/home/dev/.bashrc"), edited, "nothing written");
}

#[test]
fn drift_intent_and_new_are_labelled_after_each_kind_of_change() {
  let fleet = Fleet::start(2);
  let inventory = fleet.inventory();
  let path = fleet.write_playbook(&format!("{inventory}{PLAYBOOK}")).display().to_string();

  // First converge: everything is new.
  let first = fleet.run(&["enforce", "--format", "json", &path]);
  assert_eq!(first.status.code(), Some(0), "{}", text(&first));
  let doc = json(&first);
  assert_eq!(label(&doc, "h01", "aliases").as_deref(), Some("new"), "{doc}");
  assert!(
    fleet
      .read_text("h01", "/home/dev-bash/.local/state/converge/ledger.jsonl")
      .contains("\"t\":\"resource\"")
  );
  assert!(fleet.home().join(".local/state/converge/hosts/h01.jsonl").exists(), "the controller keeps a copy");

  // Drift: h01's managed block is edited by hand.
  let bashrc = fleet.read_text("h01", "/home/dev-bash/.bashrc");
  fleet.write("h01", "/home/dev-bash/.bashrc", bashrc.replace("gotest", "gotst").as_bytes());
  let plan = fleet.run(&["--plan", "--format", "json", &path]);
  let doc = json(&plan);
  assert_eq!(changed_steps(&doc, "h01"), ["aliases"], "{doc}");
  assert_eq!(label(&doc, "h01", "aliases").as_deref(), Some("drift"));
  assert!(changed_steps(&doc, "h02").is_empty(), "{doc}");

  // Intent: the playbook changes GOPROXY; new: it adds a resource.
  let changed = PLAYBOOK.replace("goproxy.example.com", "goproxy.internal.example.com");
  let added = format!("{inventory}{changed}\nexport GOFLAGS = \"-mod=mod\"\n");
  std::fs::write(&path, added).unwrap_or_else(|e| panic!("{e}"));
  let plan = fleet.run(&["--plan", "--format", "json", &path]);
  let doc = json(&plan);
  for name in ["h01", "h02"] {
    assert_eq!(label(&doc, name, "export GOPROXY").as_deref(), Some("intent"), "{name}: {doc}");
    assert_eq!(label(&doc, name, "export GOFLAGS").as_deref(), Some("new"), "{name}: {doc}");
  }
  assert_eq!(label(&doc, "h01", "aliases").as_deref(), Some("drift"), "{doc}");
  assert_eq!(doc["summary"]["drift"], 1, "{doc}");

  // The human plan says it too.
  let human = fleet.run(&["--plan", &path]);
  let shown = String::from_utf8_lossy(&human.stdout);
  assert!(shown.contains("aliases (drift)") && shown.contains("export GOPROXY (intent)"), "{shown}");

  // After enforcing, the ledger holds the new intent: a fresh plan is empty and
  // the next drift is drift again, even with the controller's copy gone.
  let enforced = fleet.run(&["enforce", "--format", "json", &path]);
  assert_eq!(enforced.status.code(), Some(0), "{}", text(&enforced));
  let doc = json(&enforced);
  assert_eq!(label(&doc, "h01", "aliases").as_deref(), Some("drift"), "{doc}");
  assert_eq!(label(&doc, "h02", "export GOPROXY").as_deref(), Some("intent"), "{doc}");
  std::fs::remove_dir_all(fleet.home().join(".local/state/converge")).unwrap_or_else(|e| panic!("{e}"));
  fleet.write("h02", "/home/dev-zsh/.config/converge-loops/marker", b"hand edit\n");
  let plan = fleet.run(&["--plan", "--format", "json", &path]);
  let doc = json(&plan);
  assert_eq!(changed_steps(&doc, "h01"), Vec::<String>::new(), "{doc}");
  assert_eq!(label(&doc, "h02", "file ~/.config/converge-loops/marker").as_deref(), Some("drift"), "{doc}");
}

/// Every `begin`/`end` pair of a trace, in order; panics when two interleave.
fn assert_serial(trace: &str, what: &str) -> usize {
  let mut open: Option<&str> = None;
  let mut pairs = 0;
  for line in trace.lines() {
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
      (Some("begin" | "start"), Some(id)) => {
        assert!(open.is_none(), "{what}: {id} began while {open:?} ran:\n{trace}");
        open = Some(id);
      }
      (Some("end"), Some(id)) => {
        assert_eq!(open, Some(id), "{what}: end of {id} out of turn:\n{trace}");
        open = None;
        pairs += 1;
      }
      _ => {}
    }
  }
  assert!(open.is_none(), "{what}: a run never ended:\n{trace}");
  pairs
}

const SLOW: &str = r#"
managed block "~/.bashrc" {
  name = "aliases"
  content = "alias gotest='go test ./...'\n"
}

command "echo begin $$ >> ~/trace; sleep 2; echo end $$ >> ~/trace" {}
"#;

#[test]
fn two_concurrent_enforce_runs_never_interleave_writes() {
  let fleet = Fleet::start(3);
  let path = fleet.write_playbook(&format!("{}{SLOW}", fleet.inventory())).display().to_string();

  // Two controllers (two state directories) at once: each host's lock serializes them.
  let start = |state: &str| {
    fleet
      .run_command(&["enforce", "--state-dir", state, "--report", &format!("{state}.json"), &path])
      .stdout(std::process::Stdio::piped())
      .stderr(std::process::Stdio::piped())
      .spawn()
      .unwrap_or_else(|e| panic!("{e}"))
  };
  let (a, b) = (start("a"), start("b"));
  for child in [a, b] {
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0), "both runs succeed, one after the other:\n{}", text(&out));
  }
  for (i, name) in [(1, "h01"), (2, "h02"), (3, "h03")] {
    let trace = fleet.read_text(name, &format!("{}/trace", home(i)));
    assert_eq!(assert_serial(&trace, name), 2, "{name} ran the command once per run:\n{trace}");
    let log = fleet.read_text(name, &format!("{}/.local/state/converge/log", home(i)));
    assert_eq!(assert_serial(&log, name), 2, "{name}: converge's own log:\n{log}");
    let bashrc = fleet.read_text(name, &format!("{}/.bashrc", home(i)));
    assert_eq!(bashrc.matches("alias gotest=").count(), 1, "{name}: one block, intact:\n{bashrc}");
  }

  // The same controller: the second run waits for the first, then gives up
  // without contacting any host.
  let first = start("a");
  std::thread::sleep(std::time::Duration::from_millis(500));
  let second = fleet.run(&["enforce", "--state-dir", "a", "--lock-timeout", "1", &path]);
  assert_eq!(second.status.code(), Some(1), "{}", text(&second));
  let said = String::from_utf8_lossy(&second.stderr);
  assert!(said.contains("another converge run holds") && said.contains("changed nothing"), "{said}");
  let out = first.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  let log = fleet.read_text("h01", "/home/dev-bash/.local/state/converge/log");
  assert_eq!(assert_serial(&log, "h01"), 3, "only the first run reached the host:\n{log}");

  // A host whose lock is held longer than --lock-timeout fails cleanly; the others converge.
  fleet.write("h02", "/home/dev-zsh/.bashrc", b"# h02's own\n");
  fleet.ssh("h01", "dev-bash", "nohup flock ~/.local/state/converge/host.lock sleep 8 >/dev/null 2>&1 &");
  let before = fleet.read("h01", "/home/dev-bash/.bashrc");
  let out = fleet.run(&["enforce", "--format", "json", "--lock-timeout", "2", &path]);
  assert_eq!(out.status.code(), Some(1), "{}", text(&out));
  let doc = json(&out);
  assert_eq!(host(&doc, "h01")["status"], "failed", "{doc}");
  let why = host(&doc, "h01")["error"].as_str().unwrap_or_default();
  assert!(why.contains("holds this host's lock (waited 2 s)"), "{why}");
  assert_eq!(host(&doc, "h02")["status"], "changed", "{doc}");
  assert_eq!(fleet.read("h01", "/home/dev-bash/.bashrc"), before, "nothing written on h01");
  assert!(fleet.read_text("h02", "/home/dev-zsh/.bashrc").starts_with("# h02's own\n"));
}

/// The metrics file as the reference parser (prometheus_client) reads it:
/// `name{labels} value` per sample, sorted.
pub(crate) fn parse_metrics(path: &std::path::Path) -> Vec<String> {
  let lib = std::env::var("CONVERGE_TEST_PROMETHEUS")
    .unwrap_or_else(|_| panic!("CONVERGE_TEST_PROMETHEUS is not set: run scripts/test.sh"));
  let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    assert family.type == "gauge", family
    assert family.documentation, family
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        out.append(f"{s.name}{{{labels}}} {s.value:g}")
print("\n".join(sorted(out)))
"#;
  let out = std::process::Command::new("python3")
    .args(["-c", script])
    .arg(path)
    .env("PYTHONPATH", lib)
    .output()
    .unwrap_or_else(|e| panic!("python3: {e}"));
  assert!(out.status.success(), "the metrics do not parse:\n{}", String::from_utf8_lossy(&out.stderr));
  String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

pub(crate) fn assert_samples(path: &std::path::Path, expected: &[&str]) {
  let samples = parse_metrics(path);
  for e in expected {
    assert!(samples.iter().any(|s| s == e), "{e} missing from:\n{}", samples.join("\n"));
  }
}

#[test]
fn enforce_writes_a_report_and_metrics_the_prometheus_parser_reads() {
  let fleet = Fleet::start(2);
  let unreachable = format!("host \"h09\" {{\n  address = \"127.0.{}.209\"\n  port = 2222\n}}\n", fleet.net);
  let path =
    fleet.write_playbook(&format!("{}{unreachable}{PLAYBOOK}", fleet.inventory())).display().to_string();
  let out = fleet.run(&["enforce", "--report", "report.json", "--metrics", "m/converge.prom", &path]);
  assert_eq!(out.status.code(), Some(1), "an unreachable host fails the run:\n{}", text(&out));
  assert_samples(
    &fleet.workdir().join("m/converge.prom"),
    &[
      "converge_hosts{status=\"changed\"} 2",
      "converge_hosts{status=\"unreachable\"} 1",
      "converge_hosts{status=\"ok\"} 0",
      "converge_changes{label=\"new\"} 6",
      "converge_last_run_success{} 0",
      "converge_host_up{host=\"h09\"} 0",
    ],
  );
  let report: Value =
    serde_json::from_slice(&std::fs::read(fleet.workdir().join("report.json")).unwrap_or_default())
      .unwrap_or_else(|e| panic!("report: {e}"));
  assert_eq!(report["kind"], "converge-report");
  assert_eq!(host(&report, "h09")["status"], "unreachable");
  assert_eq!(host(&report, "h01")["connections"], 1);
  assert!(host(&report, "h01")["duration_ms"].as_u64().is_some());

  // h01 drifts; the next run repairs it and counts it.
  fleet.write("h01", "/home/dev-bash/.config/converge-loops/marker", b"edited\n");
  let path = fleet.write_playbook(&format!("{}{PLAYBOOK}", fleet.inventory())).display().to_string();
  let out = fleet.run(&["enforce", "--report", "report.json", "--metrics", "m/converge.prom", &path]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  assert_samples(
    &fleet.workdir().join("m/converge.prom"),
    &[
      "converge_changes{label=\"drift\"} 1",
      "converge_drift_resources{} 1",
      "converge_host_drift_resources{host=\"h01\"} 1",
      "converge_host_drift_resources{host=\"h02\"} 0",
      "converge_hosts{status=\"changed\"} 1",
      "converge_hosts{status=\"ok\"} 1",
      "converge_last_run_success{} 1",
    ],
  );
  let report: Value =
    serde_json::from_slice(&std::fs::read(fleet.workdir().join("report.json")).unwrap_or_default())
      .unwrap_or_else(|e| panic!("report: {e}"));
  assert_eq!(label(&report, "h01", "file ~/.config/converge-loops/marker").as_deref(), Some("drift"));
}

#[test]
fn the_markdown_of_a_200_host_plan_stays_under_githubs_limit_with_its_summary() {
  let fleet = Fleet::start(4);
  let key = fleet.testbed_dir().join("id_ed25519");
  let mut inventory = String::new();
  for n in 1..=200 {
    let i = (n - 1) % 4 + 1;
    inventory.push_str(&format!(
      "host \"dev{n:03}\" {{\n  address = \"127.0.{}.{i}\"\n  port = 2222\n  user = \"dev-bash\"\n  identity = \"{}\"\n}}\n",
      fleet.net,
      key.display()
    ));
  }
  // A file that differs per host, long enough that 200 diffs cannot fit.
  let body: String = (1..=40).map(|l| format!("line {l} of {{{{ host }}}}: GOFLAGS=-mod=mod\\n")).collect();
  let playbook =
    format!("{inventory}\nfile \"~/.config/converge-loops/big\" {{\n  content = \"{body}\"\n}}\n");
  let path = fleet.write_playbook(&playbook).display().to_string();
  let out = fleet.run(&["--plan", "--out", "plan.json", "--format", "markdown", &path]);
  assert_eq!(out.status.code(), Some(2), "{}", text(&out));
  let markdown = String::from_utf8_lossy(&out.stdout);
  assert!(markdown.chars().count() < 65_000, "{} characters", markdown.chars().count());
  assert!(
    markdown.contains("**200 hosts**: 200 to create, 0 to update, 0 to remove"),
    "{}",
    &markdown[..500]
  );
  for n in 1..=200 {
    assert!(markdown.contains(&format!("| `dev{n:03}` | 1 | 0 | 0 | 0 | 0 | 1 | 0 |")), "dev{n:03}'s row");
  }
  assert!(markdown.contains("| **total** | 200 | 0 | 0 | 0 | 0 | 200 | 0 |"));
  assert!(markdown.contains("(diff folded)"), "the largest diffs are folded");
  assert!(markdown.contains("+line 40 of dev"), "the diffs that fit are shown");
  let hash =
    blake3::hash(&std::fs::read(fleet.workdir().join("plan.json")).unwrap_or_default()).to_hex().to_string();
  assert!(markdown.contains(&format!("`{hash}`")), "the plan file's hash");
}

#[test]
fn pull_mode_converges_a_host_from_its_git_checkout() {
  // The repository lives on this machine; the host sees it (and this converge)
  // by bind mount. A system timer runs pull mode as root.
  let repo = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let git = |args: &[&str]| crate::test::git(repo.path(), args);
  let write =
    |text: &str| std::fs::write(repo.path().join("site.goenv"), text).unwrap_or_else(|e| panic!("{e}"));
  git(&["init", "-q"]);
  write(&format!("host \"h01\" {{}}\nhost \"h02\" {{}}\n{PLAYBOOK}"));
  git(&["add", "."]);
  git(&["commit", "-qm", "fleet"]);
  let bin = crate::test::binary();
  let bin_dir = bin.parent().unwrap_or_else(|| panic!("no bin dir")).to_path_buf();
  let fleet =
    Fleet::start_with(2, &[(repo.path().to_path_buf(), "/srv/goenv"), (bin_dir, "/opt/converge-bin")]);
  let pull = "/opt/converge-bin/converge enforce --local --git /srv/goenv --format json";
  let run = |host: &str, user: &str| -> Value {
    let out = fleet.ssh(host, user, &format!("{pull} 2>/tmp/pull.err || cat /tmp/pull.err"));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{host}: no JSON ({e}): {out}"))
  };
  let doc = run("h01", "root");
  assert_eq!(doc["hosts"].as_array().map(Vec::len), Some(1), "this machine only: {doc}");
  assert_eq!(host(&doc, "h01")["status"], "changed", "{doc}");
  assert_eq!(host(&doc, "h01")["connections"], 0, "no SSH: {doc}");
  assert_eq!(fleet.read_text("h01", "/root/.config/converge-loops/marker"), "host h01\n");
  assert!(fleet.read("h01", "/root/.local/state/converge/report.json").is_some(), "the report");
  assert!(fleet.read("h01", "/root/.local/state/converge/checkout/site.goenv").is_some());
  assert!(fleet.read("h02", "/home/dev-zsh/.config/converge-loops/marker").is_none(), "h02 converges itself");

  // A merged change reaches the host on its next run, labelled intent.
  write(&format!("host \"h01\" {{}}\nhost \"h02\" {{}}\n{}", PLAYBOOK.replace("example.com", "example.org")));
  git(&["commit", "-qam", "another proxy"]);
  let doc = run("h01", "root");
  assert_eq!(label(&doc, "h01", "export GOPROXY").as_deref(), Some("intent"), "{doc}");
  let env = fleet.read_text("h01", "/root/.config/converge/env.sh");
  assert!(env.contains("goproxy.example.org"), "{env}");
}

#[test]
fn schedule_prints_units_systemd_accepts_and_installs_them_where_asked() {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let converge = |args: &[&str]| {
    std::process::Command::new(crate::test::binary())
      .args(args)
      .current_dir(dir.path())
      .output()
      .unwrap_or_else(|e| panic!("{e}"))
  };
  let out = converge(&["schedule", "--every", "30m", "--metrics", "m.prom", "--", "site.goenv"]);
  assert!(out.status.success(), "{}", text(&out));
  let units = String::from_utf8_lossy(&out.stdout);
  assert!(units.contains("OnUnitInactiveSec=30min"), "{units}");
  let exec = format!("\"enforce\" \"--metrics\" \"{}/m.prom\"", dir.path().display());
  assert!(units.contains(&exec), "paths made absolute: {units}");
  let out = converge(&["schedule", "--every", "30m", "--install", "--unit-dir", "units", "site.goenv"]);
  assert!(out.status.success(), "{}", text(&out));
  let service = dir.path().join("units/converge-enforce.service");
  let timer = dir.path().join("units/converge-enforce.timer");
  assert!(service.exists() && timer.exists());
  if let Ok(verify) =
    std::process::Command::new("systemd-analyze").arg("verify").arg(&service).arg(&timer).output()
  {
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(!said.contains("converge-enforce"), "systemd-analyze verify: {said}");
  }
  let cron = converge(&[
    "schedule",
    "--every",
    "2h",
    "--cron",
    "--local",
    "--git",
    "https://git.example.com/goenv.git",
  ]);
  assert!(cron.status.success(), "{}", text(&cron));
  let line = String::from_utf8_lossy(&cron.stdout);
  assert!(line.starts_with("0 */2 * * * cd "), "{line}");
  assert!(line.contains("enforce --git https://git.example.com/goenv.git --local"), "{line}");
  let refused = converge(&["schedule", "--every", "45m", "--cron"]);
  assert_eq!(refused.status.code(), Some(1));
}
