//! Every bad input in `tests/bad/` (one mistake per file) must make `converge
//! check` exit 1 with the exact diagnostic recorded in `tests/bad/snapshots/`,
//! and every diagnostic must carry a span. `tests/warnings/` holds inputs that
//! are valid but earn a warning: exit 0, warning shown.

use crate::test::{files, root, run_in};

fn snapshot(dir: &str, expected_status: i32) {
  let dir = root().join("tests").join(dir);
  let fixtures = files(&dir, "goenv");
  assert!(!fixtures.is_empty());
  for path in &fixtures {
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
    let file = path.file_name().and_then(|s| s.to_str()).unwrap_or_default();
    let human = run_in(&dir, &["check", "--color", "never", file]);
    let status = human.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert_eq!(status, expected_status, "{file}: exit status\n{stderr}");
    insta::with_settings!({ snapshot_path => dir.join("snapshots"), prepend_module_to_snapshot => false, omit_expression => true }, {
      insta::assert_snapshot!(name, format!("exit: {status}\n{stderr}"));
    });

    let json = run_in(&dir, &["check", "--format", "json", file]);
    let doc: serde_json::Value =
      serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("{file}: json: {e}"));
    let diagnostics = doc["diagnostics"].as_array().cloned().unwrap_or_default();
    assert!(!diagnostics.is_empty(), "{file}: no diagnostics");
    for d in &diagnostics {
      for key in ["file", "line", "column", "span"] {
        assert!(!d[key].is_null(), "{file}: diagnostic without `{key}`: {d}");
      }
      assert!(d["code"].as_str().is_some_and(|c| c.len() == 4), "{file}: {d}");
      assert!(d["help"].as_str().is_some_and(|h| !h.is_empty()), "{file}: diagnostic without help: {d}");
    }
    assert_eq!(doc["valid"], serde_json::Value::Bool(expected_status == 0), "{file}");
  }
}

#[test]
fn bad_inputs_fail_with_their_snapshot_diagnostics() {
  let count = files(&root().join("tests/bad"), "goenv").len();
  assert!(count >= 40, "the corpus has {count} bad inputs, fewer than 40");
  snapshot("bad", 1);
}

#[test]
fn warnings_do_not_fail_the_check() {
  snapshot("warnings", 0);
}

#[test]
fn every_code_is_documented_in_the_book() {
  let reference =
    std::fs::read_to_string(root().join("book/src/reference/diagnostics.md")).unwrap_or_default();
  for code in converge::diagnostic::Code::ALL {
    assert!(
      reference.contains(code.as_str()),
      "{} is missing from book/src/reference/diagnostics.md",
      code.as_str()
    );
  }
}

#[test]
fn every_error_code_has_a_bad_input() {
  use converge::diagnostic::Code;
  let mut seen = String::new();
  for dir in ["bad", "warnings"] {
    for path in files(&root().join("tests").join(dir).join("snapshots"), "snap") {
      seen.push_str(&std::fs::read_to_string(path).unwrap_or_default());
    }
  }
  // Codes that need a situation a fixture file cannot make: no playbook at
  // all, the plan-time codes (E6xx), which the plan tests produce, and the
  // run-time codes of hosts and runs (E7xx), which the run tests produce.
  let exempt = [
    Code::NoPlaybook,
    Code::Unsupported,
    Code::AssertionFailed,
    Code::HostLacks,
    Code::ControllerFile,
    Code::Facts,
    Code::GoEnvFile,
    Code::BlockDamaged,
  ];
  for code in Code::ALL {
    if exempt.contains(code) || code.as_str()[1..].starts_with('7') {
      continue;
    }
    assert!(
      seen.contains(code.as_str()),
      "no fixture in tests/bad or tests/warnings produces {}",
      code.as_str()
    );
  }
}
