//! The run's report: host errors carry their code in every format, a run that
//! stops before any host still prints the plan document's shape under
//! `--format json`, and the summary counts what failed at apply.

use crate::test::{Test, binary};
use std::process::Command;

const VALID: &str = "sysctl \"fs.inotify.max_user_watches\" = 524288\n";

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
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let root = dir.path().join("root");
  std::fs::create_dir_all(root.join("home/dev")).unwrap_or_else(|e| panic!("{e}"));
  let file = dir.path().join("site.goenv");
  std::fs::write(&file, "command \"exit 3\" {}\n").unwrap_or_else(|e| panic!("{e}"));
  let out = Command::new(binary())
    .args([
      file.to_str().unwrap_or_default(),
      "--root",
      root.to_str().unwrap_or_default(),
      "--format",
      "json",
    ])
    .env("HOME", "/home/dev")
    .env("XDG_STATE_HOME", dir.path().join("state"))
    .env_remove("GOENV")
    .env_remove("XDG_CONFIG_HOME")
    .output()
    .unwrap_or_else(|e| panic!("{e}"));
  assert_eq!(out.status.code(), Some(1));
  let doc = json(&String::from_utf8_lossy(&out.stdout));
  assert_eq!(doc["hosts"][0]["status"], "failed", "{doc}");
  assert_eq!(doc["hosts"][0]["steps"][0]["result"]["status"], "failed", "{doc}");
  assert_eq!(doc["summary"]["failed"], 1, "{doc}");
}
