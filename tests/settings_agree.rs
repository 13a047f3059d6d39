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
