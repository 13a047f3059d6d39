//! The JSON documents converge prints and writes validate against the schemas
//! in `schemas/` (JSON Schema 2020-12), checked with the reference Python
//! validator, `jsonschema` (installed by scripts/test.sh): real outputs of
//! `check`, `fmt`, `--plan`, apply, `apply PLAN`, `verify` and `enforce`, on
//! several playbooks, a host that fails, an unreachable host, and errors.

use crate::fleet::Fleet;
use crate::test::{binary, root};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Validates `document` against `schemas/NAME.schema.json`; panics with the
/// validator's errors.
fn validate(name: &str, document: &[u8], what: &str) {
  let lib = std::env::var("CONVERGE_TEST_JSONSCHEMA")
    .unwrap_or_else(|_| panic!("CONVERGE_TEST_JSONSCHEMA is not set: run scripts/test.sh"));
  let mut child = Command::new("python3")
    .arg(root().join("tests/validate_schema.py"))
    .arg(root().join("schemas"))
    .arg(name)
    .env("PYTHONPATH", lib)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap_or_else(|e| panic!("python3: {e}"));
  if let Some(mut stdin) = child.stdin.take() {
    let _ = stdin.write_all(document);
  }
  let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
  assert!(
    out.status.success(),
    "{what}: the document does not follow schemas/{name}.schema.json:\n{}\n--- document:\n{}",
    String::from_utf8_lossy(&out.stderr),
    String::from_utf8_lossy(document)
  );
}

/// Runs converge in `dir` against the tree `dir/root` (home `/home/dev`).
fn converge(dir: &Path, args: &[&str]) -> Output {
  Command::new(binary())
    .args(args)
    .current_dir(dir)
    .env("HOME", "/home/dev")
    .env("XDG_STATE_HOME", dir.join("state"))
    .env("NO_COLOR", "1")
    .env_remove("GOENV")
    .env_remove("XDG_CONFIG_HOME")
    .output()
    .unwrap_or_else(|e| panic!("{e}"))
}

fn tree() -> tempfile::TempDir {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  std::fs::create_dir_all(dir.path().join("root/home/dev")).unwrap_or_else(|e| panic!("{e}"));
  dir
}

fn write(dir: &Path, name: &str, text: &str) {
  std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{e}"));
}

fn json(out: &Output) -> Value {
  serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
    panic!("no JSON ({e}):\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
  })
}

/// A command that fails when applied, and a file that depends on it.
const FAILING: &str = "command \"exit 3\" {\n  creates = \"/tmp/never-there\"\n}\n\
managed block \"/etc/motd\" {\n  content = \"hello\\n\"\n  after = [\"command exit 3\"]\n}\n\
file \"/etc/converge-independent\" {\n  content = \"independent\\n\"\n}\n";

#[test]
fn summary_counts_steps_that_fail_when_applied() {
  let dir = tree();
  write(dir.path(), "site.goenv", FAILING);
  let out = converge(dir.path(), &["site.goenv", "--root", "root", "--format", "json"]);
  assert_eq!(out.status.code(), Some(1));
  let doc = json(&out);
  let steps = doc["hosts"][0]["steps"].as_array().cloned().unwrap_or_default();
  let failed = steps.iter().filter(|s| s["result"]["status"] == "failed").count();
  assert_eq!(failed, 1, "{doc:#}");
  assert_eq!(doc["summary"]["failed"], 1, "summary.failed counts the step that failed: {doc:#}");
  validate("plan", &out.stdout, "an apply with a failing step");
}

#[test]
fn check_and_fmt_documents_follow_the_check_schema() {
  let dir = tree();
  write(dir.path(), "a.goenv", "go toolchian \"1.22.5\"\n");
  write(
    dir.path(),
    "b.goenv",
    "proxy [direct, \"https://proxy.golang.org\"]\ngoenv {\n  GOFLAG = \"-mod=mod\"\n}\n",
  );
  write(dir.path(), "ok.goenv", "proxy [ direct ]\n");
  for (args, what) in [
    (&["check", "--format", "json", "a.goenv", "b.goenv"][..], "check with errors and a warning"),
    (&["check", "--format", "json", "ok.goenv"][..], "check of a valid playbook"),
    (&["check", "--format", "json", "missing.goenv"][..], "check of a file that does not exist"),
    (&["check", "--format", "json", "empty-dir-does-not-exist/"][..], "check without a playbook"),
    (&["fmt", "--check", "--format", "json", "ok.goenv"][..], "fmt --check"),
  ] {
    let out = converge(dir.path(), args);
    assert!(!out.stdout.is_empty(), "{what}: no document");
    validate("check", &out.stdout, what);
  }
  // A run whose playbooks have errors prints the plan document, not another
  // shape: no hosts, the errors in `diagnostics`.
  let out = converge(dir.path(), &["--plan", "--root", "root", "--format", "json", "a.goenv"]);
  validate("plan", &out.stdout, "a plan of a playbook with errors");
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  assert_eq!(doc["hosts"], serde_json::json!([]), "{doc}");
  assert!(doc["diagnostics"].as_array().is_some_and(|d| !d.is_empty()), "{doc}");
}

#[test]
fn plans_and_applies_of_the_example_playbooks_follow_the_plan_schema() {
  let examples = ["local.goenv", "inotify.goenv", "shell-visibility.goenv", "go-env-consistency.goenv"];
  for name in examples {
    let dir = tree();
    let playbook = root().join("playbooks").join(name);
    let playbook = playbook.to_str().unwrap_or_default();
    let out =
      converge(dir.path(), &["--plan", "--no-guards", "--root", "root", "--format", "json", playbook]);
    assert!(matches!(out.status.code(), Some(0..=2)), "{name}");
    validate("plan", &out.stdout, &format!("--plan of playbooks/{name}"));
  }
  let dir = tree();
  write(dir.path(), "site.goenv", "managed block \"/etc/motd\" {\n  content = \"hi\\n\"\n}\n");
  write(
    dir.path(),
    "secret.goenv",
    "file \"/etc/token\" {\n  content = \"s3cret\\n\"\n  sensitive = true\n}\n",
  );
  let out = converge(dir.path(), &["--plan", "--out", "plan.bin", "--root", "root", "--format", "json"]);
  assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
  let planned = json(&out)["plan_blake3"].clone();
  assert!(planned.is_string());
  validate("plan", &out.stdout, "--plan --out");
  let out = converge(dir.path(), &["apply", "plan.bin", "--format", "json"]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
  assert_eq!(json(&out)["plan_blake3"], planned, "apply PLAN names the plan it applied");
  validate("plan", &out.stdout, "apply PLAN");
  let out = converge(dir.path(), &["--root", "root", "--format", "json"]);
  assert_eq!(json(&out)["hosts"][0]["status"], "ok");
  validate("plan", &out.stdout, "an apply with nothing to do");
}

/// A host that answers nothing on its port.
fn unreachable(net: u8) -> String {
  format!("host \"h09\" {{\n  address = \"127.0.{net}.209\"\n  port = 2222\n}}\n")
}

#[test]
fn fleet_plan_apply_verify_and_enforce_follow_their_schemas() {
  let fleet = Fleet::start(2);
  let body = "export GOFLAGS = \"-mod=mod\"\ncommand \"exit 4\" {\n  creates = \"/tmp/never-there\"\n}\n\
              file \"~/.config/converge-schemas/after\" {\n  content = \"x\\n\"\n  after = [\"command exit 4\"]\n}\n";
  let playbook = format!("{}{}{body}", fleet.inventory(), unreachable(fleet.net));
  let path = fleet.write_playbook(&playbook).display().to_string();
  let timeouts = ["--connect-timeout", "2"];
  let plan = fleet.run(&[&["--plan", "--format", "json", &path][..], &timeouts].concat());
  assert_eq!(plan.status.code(), Some(1), "an unreachable host is an error");
  validate("plan", &plan.stdout, "a fleet plan with an unreachable host");
  let apply = fleet.run(&[&["--format", "json", "--verify", &path][..], &timeouts].concat());
  let doc = json(&apply);
  assert_eq!(doc["summary"]["failed"], 2, "the failing command of each reachable host: {doc:#}");
  assert!(doc["verify"].is_object());
  validate("plan", &apply.stdout, "a fleet apply --verify with failing steps and an unreachable host");
  let verify = fleet.run(&[&["verify", "--format", "json", &path][..], &timeouts].concat());
  validate("verify", &verify.stdout, "verify with an unreachable host");
  let enforce = fleet
    .run(&[&["enforce", "--report", "report.json", "--metrics", "m.prom", &path][..], &timeouts].concat());
  assert_eq!(enforce.status.code(), Some(1));
  let report = std::fs::read(fleet.workdir().join("report.json")).unwrap_or_default();
  validate("enforce", &report, "an enforce report");
}

#[test]
fn a_document_with_an_unknown_field_is_refused() {
  // The validator and the schemas refuse what they do not describe.
  validate("check", br#"{"version":1,"valid":true,"errors":0,"warnings":0,"diagnostics":[]}"#, "minimal");
  let lib = std::env::var("CONVERGE_TEST_JSONSCHEMA").unwrap_or_default();
  let mut child = Command::new("python3")
    .arg(root().join("tests/validate_schema.py"))
    .arg(root().join("schemas"))
    .arg("check")
    .env("PYTHONPATH", lib)
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap_or_else(|e| panic!("{e}"));
  if let Some(mut stdin) = child.stdin.take() {
    let _ =
      stdin.write_all(br#"{"version":1,"valid":true,"errors":0,"warnings":0,"diagnostics":[],"extra":1}"#);
  }
  let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
  assert!(!out.status.success());
  assert!(String::from_utf8_lossy(&out.stderr).contains("'extra' was unexpected"));
}

/// Every property name in the schemas, recursively.
fn property_names(node: &Value, out: &mut std::collections::BTreeSet<String>) {
  match node {
    Value::Object(map) => {
      if let Some(Value::Object(props)) = map.get("properties") {
        out.extend(props.keys().cloned());
      }
      map.values().for_each(|v| property_names(v, out));
    }
    Value::Array(items) => items.iter().for_each(|v| property_names(v, out)),
    _ => {}
  }
}

#[test]
fn every_schema_field_is_in_the_books_json_reference() {
  let page =
    std::fs::read_to_string(root().join("book/src/reference/json.md")).unwrap_or_else(|e| panic!("{e}"));
  for name in ["check", "plan", "verify", "enforce"] {
    let path = root().join(format!("schemas/{name}.schema.json"));
    let schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap_or_default())
      .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let mut names = std::collections::BTreeSet::new();
    property_names(&schema, &mut names);
    for field in names {
      assert!(
        page.contains(&format!("`{field}`")),
        "`{field}` of {name}.schema.json is not in book/src/reference/json.md"
      );
    }
  }
}
