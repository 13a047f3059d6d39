//! The run's report: host errors carry their code in every format, a run that
//! stops before any host still prints the plan document's shape under
//! `--format json`, and the summary counts what failed at apply.

use crate::test::{Test, binary};
use std::process::Command;

const VALID: &str = "sysctl \"fs.inotify.max_user_watches\" = 524288\n";

/// A `--root` tree with one playbook, `site.goenv`, beside it.
struct Rooted {
  dir: tempfile::TempDir,
}

impl Rooted {
  fn new(playbook: &str) -> Rooted {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.path().join("root/home/dev")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("site.goenv"), playbook).unwrap_or_else(|e| panic!("{e}"));
    Rooted { dir }
  }

  /// A path inside the tree.
  fn path(&self, p: &str) -> std::path::PathBuf {
    self.dir.path().join("root").join(p.trim_start_matches('/'))
  }

  /// Runs converge on the playbook against the tree: (exit status, stdout, stderr).
  fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
    let (file, root) = (self.dir.path().join("site.goenv"), self.dir.path().join("root"));
    let out = Command::new(binary())
      .args([file.to_str().unwrap_or_default(), "--root", root.to_str().unwrap_or_default()])
      .args(args)
      .env("HOME", "/home/dev")
      .env("XDG_STATE_HOME", self.dir.path().join("state"))
      .env_remove("GOENV")
      .env_remove("XDG_CONFIG_HOME")
      .output()
      .unwrap_or_else(|e| panic!("{e}"));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
  }
}

fn json(stdout: &str) -> serde_json::Value {
  serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

#[test]
fn an_unreachable_host_carries_its_code_in_json_and_for_people() {
  let playbook = "host \"nowhere.invalid\" {}\n";
  let run = Test::new()
    .file("fleet.goenv", playbook)
    .file("go.goenv", VALID)
    .args(&["--plan", "--format", "json", "--connect-timeout", "1"])
    .status(1)
    .run();
  let doc = json(&run.stdout);
  assert_eq!(doc["hosts"][0]["status"], "unreachable", "{doc}");
  assert_eq!(doc["hosts"][0]["error_code"], "E701", "{doc}");
  assert!(doc["hosts"][0]["error"].as_str().is_some_and(|e| !e.is_empty()), "{doc}");
  let human = Test::new()
    .file("fleet.goenv", playbook)
    .file("go.goenv", VALID)
    .args(&["--plan", "--connect-timeout", "1"])
    .status(1)
    .run();
  assert!(human.stdout.contains("[E701]"), "{}", human.stdout);
}

#[test]
fn a_run_stopped_before_any_host_prints_the_plan_document_shape_in_json() {
  let run = Test::new()
    .file("fleet.goenv", "host \"web1\" {}\ngroup \"web\" {\n  hosts = [\"web1\"]\n}\n")
    .file("go.goenv", VALID)
    .args(&["--plan", "--format", "json", "--limit", "webb"])
    .status(1)
    .run();
  let doc = json(&run.stdout);
  assert_eq!(doc["format_version"], 1, "{doc}");
  assert_eq!(doc["applied"], false, "{doc}");
  assert_eq!(doc["hosts"], serde_json::json!([]), "{doc}");
  assert_eq!(doc["summary"]["hosts"], 0, "{doc}");
  assert_eq!(doc["diagnostics"][0]["code"], "E723", "{doc}");
  assert!(doc["diagnostics"][0]["message"].as_str().is_some_and(|m| m.contains("webb")), "{doc}");
}

#[test]
fn playbook_errors_under_plan_format_json_print_the_plan_document_with_their_spans() {
  let run = Test::new()
    .file("go.goenv", "sysctl \"fs.inotify.max_user_watches\" = \n")
    .args(&["--plan", "--format", "json"])
    .status(1)
    .run();
  let doc = json(&run.stdout);
  assert_eq!(doc["hosts"], serde_json::json!([]), "{doc}");
  let first = &doc["diagnostics"][0];
  assert_eq!(first["code"], "E100", "{doc}");
  assert_eq!(first["file"], "go.goenv", "{doc}");
  assert_eq!(first["line"], 1, "{doc}");
}

#[test]
fn a_resource_that_fails_at_apply_is_counted_in_summary_failed() {
  let (code, stdout, _) = Rooted::new("command \"exit 3\" {}\n").run(&["--format", "json"]);
  assert_eq!(code, Some(1), "{stdout}");
  let doc = json(&stdout);
  assert_eq!(doc["hosts"][0]["status"], "failed", "{doc}");
  assert_eq!(doc["hosts"][0]["steps"][0]["result"]["status"], "failed", "{doc}");
  assert_eq!(doc["summary"]["failed"], 1, "{doc}");
}

#[test]
fn hosts_with_the_same_changes_are_shown_once_and_apply_says_what_happened_to_each_resource() {
  let fleet = crate::fleet::Fleet::start(3);
  let tag = std::process::id();
  let playbook =
    format!("{}file \"/var/tmp/converge-same-{tag}\" {{\n  content = \"same\\n\"\n}}\n", fleet.inventory());
  let planned = fleet.converge(&playbook, &["--plan"]);
  let text = String::from_utf8_lossy(&planned.stdout).into_owned();
  assert_eq!(planned.status.code(), Some(2), "{text}");
  assert!(text.contains("h01, h02, h03 (3 hosts): same changes"), "{text}");
  assert_eq!(text.matches("+same").count(), 1, "the shared diff is shown once:\n{text}");
  assert!(text.contains("Symbols: + create, ~ update, - remove"), "{text}");
  let applied = fleet.converge(&playbook, &[]);
  let text = String::from_utf8_lossy(&applied.stdout).into_owned();
  let path = format!("/var/tmp/converge-same-{tag}");
  for host in ["h01", "h02", "h03"] {
    let _ = std::fs::remove_file(fleet.host_path(host, &path));
  }
  assert_eq!(applied.status.code(), Some(0), "{text}");
  let line = text.lines().find(|l| l.contains(&path)).unwrap_or_default();
  assert!(line.trim_start().starts_with('+') && line.ends_with(": applied"), "{line}\n{text}");
  assert!(text.contains("Apply complete! Resources: 3 changed, 0 removed, 0 failed, 0 skipped."), "{text}");
}

#[test]
fn plan_time_errors_keep_their_code_and_place_in_json_and_for_people() {
  let tree = Rooted::new("\nmanaged block \"~/notes\" {\n  content = \"new\"\n  marker = \"notes\"\n}\n");
  // A block whose END marker was deleted by hand: the plan refuses the file (E606).
  std::fs::write(tree.path("/home/dev/notes"), "mine\n# BEGIN converge: notes\nold\n")
    .unwrap_or_else(|e| panic!("{e}"));
  let run = |format: &str| {
    let (code, stdout, _) = tree.run(&["--plan", "--format", format]);
    (code, stdout)
  };
  let (code, stdout) = run("json");
  assert_eq!(code, Some(1), "{stdout}");
  let doc = json(&stdout);
  let error = &doc["hosts"][0]["steps"][0]["errors"][0];
  assert_eq!(error["code"], "E606", "{doc}");
  assert!(error["file"].as_str().is_some_and(|f| f.ends_with("site.goenv")), "{doc}");
  assert_eq!(error["line"], 2, "{doc}");
  let (_, human) = run("human");
  assert!(human.contains("[E606, ") && human.contains("site.goenv:2]"), "{human}");
}

#[test]
fn verbose_shows_each_hosts_phases_and_quiet_keeps_only_the_summary() {
  let tree = Rooted::new("file \"~/notes\" {\n  content = \"x\\n\"\n}\n");
  let run = |extra: &[&str]| {
    let (code, stdout, stderr) = tree.run(&[&["--plan"], extra].concat());
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    (stdout, stderr)
  };
  let (plain_out, plain_err) = run(&[]);
  assert!(plain_out.contains("+ file"), "{plain_out}");
  assert!(!plain_err.contains("facts"), "{plain_err}");
  let (_, verbose) = run(&["-v"]);
  let line = verbose.lines().find(|l| l.contains(": connect ")).unwrap_or_default();
  for phase in ["connect", "facts", "plan", "apply", "verify", "total"] {
    assert!(line.contains(&format!("{phase} ")), "{phase} missing from {line:?}:\n{verbose}");
  }
  assert!(!verbose.contains("asked"), "{verbose}");
  // The run's own CPU and its child processes', per host, for benchmarks.
  let cpu = verbose.lines().find_map(|l| l.strip_prefix("run cpu: converge ")).unwrap_or_default();
  let figures: Vec<f64> = cpu.split(' ').filter_map(|w| w.parse().ok()).collect();
  assert!(
    figures.len() == 3 && cpu.contains("ms per host, its child processes") && figures[2] == 1.0,
    "{cpu:?}:\n{verbose}"
  );
  let (_, very) = run(&["-vv"]);
  assert!(very.lines().any(|l| l.contains("asked") && l.contains("notes")), "{very}");
  let (quiet, _) = run(&["-q"]);
  assert!(!quiet.contains("+ file"), "{quiet}");
  assert!(quiet.contains("Planned 1 host"), "{quiet}");
}
