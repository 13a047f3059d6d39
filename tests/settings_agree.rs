//! VS Code server settings as converge writes them: templates rendered, object
//! values merged key by key into the user's object, and the warnings of
//! settings that disagree with the rest of the playbook.

use crate::test::{Transport, Tree};

const SETTINGS: &str = "/home/dev/.vscode-server/data/Machine/settings.json";

#[test]
fn templates_in_vscode_settings_are_rendered_before_they_are_written() {
  let tree = Tree::new(Transport::Local);
  let playbook = "vars {\n  goproxy = \"https://goproxy.example.com\"\n}\nvscode settings {\n  \"go.toolsEnvVars\" = { GOPROXY = \"{{ goproxy }}\" }\n  \"go.testFlags\" = [\"-run={{ host }}\"]\n}\n";
  tree.apply(playbook);
  let written = String::from_utf8_lossy(&tree.read(SETTINGS)).into_owned();
  let value: serde_json::Value = serde_json::from_str(&written).unwrap_or_else(|e| panic!("{e}: {written}"));
  assert_eq!(value["go.toolsEnvVars"]["GOPROXY"], "https://goproxy.example.com", "{written}");
  assert_eq!(value["go.testFlags"][0], "-run=localhost", "{written}");
  assert!(!written.contains("{{"), "{written}");
}

#[test]
fn a_declared_object_setting_keeps_the_users_other_entries_and_the_plan_says_so() {
  let tree = Tree::new(Transport::Local);
  let before = "{\n  // mine\n  \"go.toolsEnvVars\": {\n    \"CGO_ENABLED\": \"0\", // no C here\n    \"GOFLAGS\": \"-tags=dev\"\n  },\n  \"editor.tabSize\": 2\n}\n";
  tree.write(SETTINGS, before.as_bytes());
  let playbook = "vscode settings {\n  \"go.toolsEnvVars\" = { GOFLAGS = \"-mod=mod\", GOPRIVATE = \"git.example.com\" }\n}\n";
  let (status, plan) = tree.plan(playbook);
  assert_eq!(status, 2, "{plan}");
  assert!(plan.contains("merged key by key") && plan.contains("CGO_ENABLED"), "{plan}");
  tree.apply(playbook);
  let written = String::from_utf8_lossy(&tree.read(SETTINGS)).into_owned();
  assert!(written.contains("\"CGO_ENABLED\": \"0\", // no C here"), "{written}");
  assert!(written.contains("// mine") && written.contains("\"editor.tabSize\": 2"), "{written}");
  let value: serde_json::Value = jsonc_parser::parse_to_serde_value(&written, &Default::default())
    .unwrap_or_else(|e| panic!("{e}: {written}"));
  assert_eq!(
    value["go.toolsEnvVars"],
    serde_json::json!({"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOPRIVATE": "git.example.com"}),
    "{written}"
  );
}

/// `converge check --format json` of `playbook`: exit status and each
/// diagnostic as (code, message, the text its primary span covers).
fn check(playbook: &str) -> (i32, Vec<(String, String, String)>) {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(dir.path().join("site.goenv"), playbook).unwrap_or_else(|e| panic!("{e}"));
  let out = crate::test::run_in(dir.path(), &["check", "--format", "json", "site.goenv"]);
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
    .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
  let found = doc["diagnostics"]
    .as_array()
    .cloned()
    .unwrap_or_default()
    .iter()
    .map(|d| {
      let span = &d["span"];
      let (start, end) =
        (span["start"].as_u64().unwrap_or(0) as usize, span["end"].as_u64().unwrap_or(0) as usize);
      let covered = playbook.get(start..end).unwrap_or("").to_owned();
      (d["code"].as_str().unwrap_or("").to_owned(), d["message"].as_str().unwrap_or("").to_owned(), covered)
    })
    .collect();
  (out.status.code().unwrap_or(-1), found)
}

fn codes(found: &[(String, String, String)]) -> Vec<&str> {
  found.iter().map(|(c, _, _)| c.as_str()).collect()
}

#[test]
fn godebug_is_exported_without_advice_to_move_it_to_the_go_env_file() {
  // `go env -w GODEBUG=...` fails ("can only be set using the OS environment"),
  // so an export is the one place for it: no W500 pointing back at goenv.
  let (status, found) = check("export GODEBUG = \"http2client=0\"\n");
  assert_eq!((status, codes(&found)), (0, vec![]), "{found:?}");
  let (status, found) = check("goenv {\n  GODEBUG = \"http2client=0\"\n}\n");
  assert_eq!((status, codes(&found)), (1, vec!["E403"]), "{found:?}");
  let go = std::env::var("CONVERGE_TEST_GO").unwrap_or_default();
  if !go.is_empty() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(&go)
      .args(["env", "-w", "GODEBUG=http2client=0"])
      .env("GOENV", dir.path().join("env"))
      .output()
      .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success(), "the real go refuses GODEBUG in the go env file");
  }
}

#[test]
fn the_plan_names_vscode_go_paths_that_do_not_exist_on_the_host() {
  let tree = Tree::new(Transport::Local);
  tree.write("/opt/go/VERSION", b"go1.24.2\n");
  let playbook = "vscode settings {\n  \"go.goroot\" = \"/opt/go\"\n  \"go.gopath\" = \"$HOME/gopath\"\n  \"go.alternateTools\" = { gopls = \"~/go/bin/gopls\" }\n}\n";
  let (status, plan) = tree.plan(playbook);
  assert_eq!(status, 2, "{plan}");
  assert!(!plan.contains("`go.goroot` names"), "/opt/go exists:\n{plan}");
  assert!(plan.contains("`go.gopath` names `~/gopath`, which does not exist on this host"), "{plan}");
  assert!(
    plan.contains("`go.alternateTools.gopls` names `~/go/bin/gopls`, which does not exist on this host"),
    "{plan}"
  );
  std::fs::create_dir_all(tree.path("/home/dev/gopath")).unwrap_or_else(|e| panic!("{e}"));
  tree.write("/home/dev/go/bin/gopls", b"#!/bin/sh\n");
  let (_, plan) = tree.plan(playbook);
  assert!(!plan.contains("does not exist on this host"), "{plan}");
}
