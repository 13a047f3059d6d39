//! The example playbooks are real: each checks clean on its own and is in the
//! canonical layout; and formatting is idempotent on every fixture that parses.

use crate::test::{files, root, run_in};
use converge::source::FileId;
use converge::syntax::{formatter, parser};

#[test]
fn every_playbook_checks_clean() {
  let dir = root().join("playbooks");
  let playbooks = files(&dir, "goenv");
  assert!(playbooks.len() >= 7, "expected the example playbooks, found {}", playbooks.len());
  for path in playbooks {
    let file = path.file_name().and_then(|s| s.to_str()).unwrap_or_default();
    let out = run_in(&dir, &["check", "--format", "json", file]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(out.status.code(), Some(0), "{file}: {doc}");
    assert_eq!((doc["errors"].as_u64(), doc["warnings"].as_u64()), (Some(0), Some(0)), "{file}: {doc}");
  }
}

#[test]
fn playbooks_are_formatted() {
  let out = run_in(&root(), &["fmt", "--check", "playbooks"]);
  assert_eq!(
    out.status.code(),
    Some(0),
    "{}{}",
    String::from_utf8_lossy(&out.stdout),
    String::from_utf8_lossy(&out.stderr)
  );
}

#[test]
fn fmt_is_idempotent_on_every_fixture() {
  let mut checked = 0;
  for dir in ["playbooks", "tests/bad", "tests/warnings"] {
    for path in files(&root().join(dir), "goenv") {
      let text = std::fs::read_to_string(&path).unwrap_or_default();
      let (ast, diagnostics) = parser::parse(FileId(0), &text);
      if diagnostics.has_errors() {
        continue;
      }
      let once = formatter::format(&ast, &text);
      let (again, diagnostics) = parser::parse(FileId(0), &once);
      assert!(!diagnostics.has_errors(), "{}: formatted text does not parse:\n{once}", path.display());
      assert_eq!(
        converge::syntax::ast::shape(&again.stmts),
        converge::syntax::ast::shape(&ast.stmts),
        "{}",
        path.display()
      );
      assert_eq!(formatter::format(&again, &once), once, "{}: fmt is not idempotent", path.display());
      checked += 1;
    }
  }
  assert!(checked >= 40, "only {checked} fixtures parsed");
}
