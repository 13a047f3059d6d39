//! VS Code server settings as converge writes them: templates rendered, object
//! values merged key by key into the user's object, and the warnings of
//! settings that disagree with the rest of the playbook.

use crate::test::{Transport, Tree};

const SETTINGS: &str = "/home/dev/.vscode-server/data/Machine/settings.json";

crate::converge_test!(templates_in_vscode_settings_are_rendered_before_they_are_written);
fn templates_in_vscode_settings_are_rendered_before_they_are_written(transport: Transport) {
  let tree = Tree::new(transport);
  let playbook = "vars {\n  goproxy = \"https://goproxy.example.com\"\n}\nvscode settings {\n  \"go.toolsEnvVars\" = { GOPROXY = \"{{ goproxy }}\" }\n  \"go.testFlags\" = [\"-run={{ facts.home }}\"]\n}\n";
  tree.apply(playbook);
  let written = String::from_utf8_lossy(&tree.read(SETTINGS)).into_owned();
  let value: serde_json::Value = serde_json::from_str(&written).unwrap_or_else(|e| panic!("{e}: {written}"));
  assert_eq!(value["go.toolsEnvVars"]["GOPROXY"], "https://goproxy.example.com", "{written}");
  assert_eq!(value["go.testFlags"][0], "-run=/home/dev", "{written}");
  assert!(!written.contains("{{"), "{written}");
}

crate::converge_test!(a_declared_object_setting_keeps_the_users_other_entries_and_the_plan_says_so);
fn a_declared_object_setting_keeps_the_users_other_entries_and_the_plan_says_so(transport: Transport) {
  let tree = Tree::new(transport);
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

crate::converge_test!(the_plan_names_vscode_go_paths_that_do_not_exist_on_the_host);
fn the_plan_names_vscode_go_paths_that_do_not_exist_on_the_host(transport: Transport) {
  let tree = Tree::new(transport);
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

/// The diagnostics of `code` as (message, covered text).
fn of<'a>(found: &'a [(String, String, String)], code: &str) -> Vec<(&'a str, &'a str)> {
  found.iter().filter(|(c, _, _)| c == code).map(|(_, m, s)| (m.as_str(), s.as_str())).collect()
}

#[test]
fn tools_env_vars_that_contradict_goenv_proxy_or_export_name_both_values_at_the_vscode_value() {
  let playbook = "proxy [\"https://goproxy.example.com\", direct]\ngoenv {\n  GOFLAGS = \"-mod=mod\"\n}\nexport GOPRIVATE = \"git.example.com\"\nvscode settings {\n  \"go.toolsEnvVars\" = {\n    GOPROXY = \"off\"\n    GOFLAGS = \"-mod=vendor\"\n    GOPRIVATE = \"git.other.com\"\n    CGO_ENABLED = \"0\"\n  }\n  \"go.gopath\" = \"/srv/go\"\n}\ngoenv {\n  name = \"gopath\"\n  GOPATH = \"/home/dev/go\"\n}\n";
  let (status, found) = check(playbook);
  assert_eq!(status, 0, "{found:?}");
  let w512 = of(&found, "W512");
  assert_eq!(w512.len(), 4, "{found:?}");
  for (value, other, place) in [
    ("\"off\"", "GOPROXY=https://goproxy.example.com,direct", "`proxy`"),
    ("\"-mod=vendor\"", "GOFLAGS=-mod=mod", "`goenv`"),
    ("\"git.other.com\"", "GOPRIVATE=git.example.com", "`export`"),
    ("\"/srv/go\"", "GOPATH=/home/dev/go", "`goenv`"),
  ] {
    assert!(
      w512.iter().any(|(m, s)| *s == value && m.contains(other) && m.contains(place)),
      "{value}: {w512:?}"
    );
  }
  // The same values everywhere: nothing to say.
  let agreeing = "proxy [\"https://goproxy.example.com\", direct]\nvscode settings {\n  \"go.toolsEnvVars\" = { GOPROXY = \"https://goproxy.example.com,direct\", CGO_ENABLED = \"0\" }\n}\n";
  assert_eq!(check(agreeing), (0, vec![]));
}

#[test]
fn go111module_off_or_auto_is_flagged_wherever_a_consumer_sees_it() {
  let playbook = "goenv {\n  GO111MODULE = \"auto\"\n}\nexport GO111MODULE = \"off\"\nvscode settings {\n  \"go.toolsEnvVars\" = { GO111MODULE = \"off\" }\n}\n";
  let (status, found) = check(playbook);
  assert_eq!(status, 0, "{found:?}");
  let spans: Vec<&str> = of(&found, "W510").iter().map(|(_, s)| *s).collect();
  assert_eq!(spans.len(), 3, "{found:?}");
  assert!(spans.contains(&"\"auto\"") && spans.iter().filter(|s| **s == "\"off\"").count() == 2, "{spans:?}");
  assert_eq!(check("goenv {\n  GO111MODULE = \"on\"\n}\n"), (0, vec![]));
}

#[test]
fn gotoolchain_auto_or_unset_with_goproxy_off_is_flagged_and_local_is_not() {
  let (_, found) = check("proxy [off]\n");
  assert_eq!(of(&found, "W511").len(), 1, "unset is auto: {found:?}");
  let (_, found) = check("proxy [off]\ngoenv {\n  GOTOOLCHAIN = \"go1.24.2+auto\"\n}\n");
  assert_eq!(of(&found, "W511").iter().map(|(_, s)| *s).collect::<Vec<_>>(), vec!["\"go1.24.2+auto\""]);
  assert_eq!(check("proxy [off]\ngoenv {\n  GOTOOLCHAIN = \"local\"\n}\n"), (0, vec![]));
}

#[test]
fn proxy_variables_hold_together_with_goprivate() {
  let (_, found) = check("export http_proxy = \"http://proxy:3128\"\n");
  assert_eq!(of(&found, "W508").len(), 1, "{found:?}");
  let covered = "goenv {\n  GOPRIVATE = \"git.corp.example/x,*.internal.example\"\n}\nexport HTTPS_PROXY = \"http://proxy:3128\"\nexport NO_PROXY = \".corp.example,internal.example\"\n";
  assert_eq!(check(covered), (0, vec![]));
  let missed = covered.replace(".corp.example,", "");
  let (_, found) = check(&missed);
  let w509 = of(&found, "W509");
  assert_eq!(w509.len(), 1, "{found:?}");
  assert!(w509[0].0.contains("git.corp.example") && !w509[0].0.contains("internal"), "{w509:?}");
  assert_eq!(w509[0].1, "\"git.corp.example/x,*.internal.example\"");
}

#[test]
fn vscode_go_paths_and_tools_are_checked_against_the_declared_toolchain() {
  let toolchain = "go toolchain \"1.23.4\" {\n  sha256 = \"6924efde5de86fe277676e929dc9917d466efa02fb934197bc2eba35d5680971\"\n}\n";
  let fits = format!(
    "{toolchain}go tool \"golang.org/x/tools/gopls@v0.18.1\"\ngo tool \"github.com/go-delve/delve/cmd/dlv@v1.23.1\"\nvscode settings {{\n  \"go.goroot\" = \"/usr/local/go/\"\n  \"go.alternateTools\" = {{ go = \"/usr/local/bin/go\" }}\n  \"go.toolsManagement.go\" = \"/usr/local/go/bin/go\"\n}}\n"
  );
  assert_eq!(check(&fits), (0, vec![]));
  let misfits = format!(
    "{toolchain}go tool \"golang.org/x/tools/gopls@v0.19.0\"\ngo tool \"github.com/go-delve/delve/cmd/dlv@v1.21.0\"\nvscode settings {{\n  \"go.alternateTools\" = {{ go = \"/usr/lib/go-1.19/bin/go\" }}\n  \"go.toolsManagement.go\" = \"/opt/go/bin/go\"\n}}\n"
  );
  let (status, found) = check(&misfits);
  assert_eq!(status, 0, "{found:?}");
  let w516: Vec<&str> = of(&found, "W516").iter().map(|(_, s)| *s).collect();
  assert_eq!(w516.len(), 2, "{found:?}");
  assert!(w516[0].contains("v0.19.0") && w516[1].contains("v1.21.0"), "the spans are the versions: {w516:?}");
  assert_eq!(
    of(&found, "W515").iter().map(|(_, s)| *s).collect::<Vec<_>>(),
    vec!["\"/usr/lib/go-1.19/bin/go\"", "\"/opt/go/bin/go\""]
  );
}

#[test]
fn client_only_and_unknown_go_keys_in_machine_settings_are_flagged() {
  let playbook = "vscode settings {\n  \"remote.SSH.remotePlatform\" = { dev = \"linux\" }\n  \"terminal.integrated.defaultProfile.linux\" = \"bash\"\n  \"go.formatToool\" = \"gofumpt\"\n  \"go.toolsManagement.autoUpdate\" = false\n  \"gopls\" = { \"ui.semanticTokens\" = true }\n}\n";
  let (status, found) = check(playbook);
  assert_eq!(status, 0, "{found:?}");
  assert_eq!(of(&found, "W513").len(), 2, "{found:?}");
  let w514 = of(&found, "W514");
  assert_eq!(w514.iter().map(|(_, s)| *s).collect::<Vec<_>>(), vec!["\"go.formatToool\""], "{found:?}");
}

#[test]
fn goos_and_goarch_get_one_piece_of_advice_wherever_they_are_declared() {
  // An export of GOOS is no better than the go env file: both cross-compile
  // every build where they are read. W500 ("use goenv") would send the user
  // to W505 ("not in goenv") and back.
  for playbook in ["export GOARCH = \"arm64\"\n", "goenv {\n  GOARCH = \"arm64\"\n}\n"] {
    let (status, found) = check(playbook);
    assert_eq!((status, codes(&found)), (0, vec!["W505"]), "{playbook}: {found:?}");
    assert_eq!(found[0].2, "\"arm64\"", "the span is the value");
  }
}

#[test]
fn a_goproxy_of_direct_alone_is_flagged_in_goenv_as_in_proxy() {
  for playbook in ["proxy [direct]\n", "proxy \"direct\"\n", "goenv {\n  GOPROXY = \"direct\"\n}\n"] {
    let (status, found) = check(playbook);
    assert_eq!((status, codes(&found)), (0, vec!["W507"]), "{playbook}: {found:?}");
  }
  assert_eq!(check("proxy [\"https://proxy.golang.org\", direct]\n"), (0, vec![]));
}

#[test]
fn hostile_vscode_go_paths_are_not_asked_of_the_host_and_the_plan_goes_on() {
  let tree = Tree::new(Transport::Local);
  let long = "/x".repeat(3000);
  let playbook = format!(
    "vscode settings {{\n  \"go.goroot\" = \"/opt/go\\u{{0}}/evil\"\n  \"go.gopath\" = \"/a\\nb:{long}\"\n  \"go.alternateTools\" = {{ gopls = \"$(touch /tmp/cv-pwned)\", dlv = \"/opt/dlv\" }}\n}}\n"
  );
  let (status, plan) = tree.plan(&playbook);
  assert_eq!(status, 2, "{plan}");
  assert!(plan.contains("`go.alternateTools.dlv` names `/opt/dlv`, which does not exist"), "{plan}");
  assert!(!plan.contains("go.goroot` names") && !plan.contains("go.gopath` names"), "{plan}");
}
