//! The command line: discovery of playbooks, exit codes, JSON output, and what
//! `fmt` does to files.

use crate::test::Test;

const VALID: &str = "sysctl \"fs.inotify.max_user_watches\" = 524288\n";

#[test]
fn check_reads_the_goenv_files_of_the_current_directory() {
  Test::new()
    .file("a.goenv", VALID)
    .file("b.goenv", "proxy [\"https://proxy.golang.org\", direct]\n")
    .file("notes.txt", "not a playbook")
    .args(&["check"])
    .stderr("valid: 2 files, 1 host, 2 resources\n")
    .run();
}

#[test]
fn check_without_playbooks_says_so() {
  Test::new()
    .args(&["check"])
    .status(1)
    .stderr_contains("E106")
    .stderr_contains("no `.goenv` playbook found")
    .run();
}

#[test]
fn check_reports_errors_of_every_file() {
  let run = Test::new()
    .file("a.goenv", "go toolchian \"1.22.5\"\n")
    .file("b.goenv", "sysctl \"x\" = 1\n")
    .args(&["check", "--format", "json"])
    .status(1)
    .run();
  let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
  let codes: Vec<&str> =
    doc["diagnostics"].as_array().into_iter().flatten().filter_map(|d| d["code"].as_str()).collect();
  assert_eq!(codes, vec!["E200", "E409"]);
  assert_eq!(doc["version"], 1);
  assert_eq!(doc["errors"], 2);
  assert_eq!(doc["diagnostics"][0]["file"], "a.goenv");
  assert_eq!(doc["diagnostics"][0]["line"], 1);
  assert_eq!(doc["diagnostics"][0]["column"], 1);
}

#[test]
fn usage_errors_exit_1_not_2() {
  // 2 means "changes pending" for `--plan`; a usage error must not look like it.
  Test::new().args(&["check", "--format", "yaml"]).status(1).run();
}

#[test]
fn fmt_rewrites_in_place_and_keeps_comments() {
  let run = Test::new()
    .file(
      "site.goenv",
      "# fleet\nvars {go_version=\"1.22.5\"} # pinned\nproxy [ direct ]\n\n\n\nsysctl fs.file-max = 1\n",
    )
    .args(&["fmt"])
    .run();
  assert_eq!(
    run.read("site.goenv"),
    "# fleet\nvars {\n  go_version = \"1.22.5\"\n} # pinned\nproxy [direct]\n\nsysctl fs.file-max = 1\n"
  );
}

#[test]
fn fmt_check_lists_unformatted_files_and_changes_nothing() {
  let messy = "proxy [ direct ]\n";
  let run = Test::new()
    .file("a.goenv", messy)
    .file("b.goenv", VALID)
    .args(&["fmt", "--check"])
    .status(1)
    .stdout("a.goenv\n")
    .run();
  assert_eq!(run.read("a.goenv"), messy);
}

#[test]
fn fmt_leaves_a_file_with_syntax_errors_untouched() {
  let broken = "proxy [ direct \n# comment\n";
  let run = Test::new().file("a.goenv", broken).args(&["fmt"]).status(1).stderr_contains("E100").run();
  assert_eq!(run.read("a.goenv"), broken);
}

#[test]
fn fmt_keeps_the_file_mode() {
  use std::os::unix::fs::PermissionsExt;
  let test = Test::new().file("a.goenv", "proxy [ direct ]\n").args(&["fmt"]);
  let path = test.path("a.goenv");
  std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap_or_else(|e| panic!("{e}"));
  let run = test.run();
  let mode =
    std::fs::metadata(run.dir.path().join("a.goenv")).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
  assert_eq!(mode, 0o600);
}

#[test]
fn limit_naming_nothing_is_an_error_that_contacts_no_host() {
  Test::new()
    .file(
      "fleet.goenv",
      "host \"web1\" {}\nhost \"web2\" {}\ngroup \"web\" {\n  hosts = [\"web1\", \"web2\"]\n}\n",
    )
    .file("go.goenv", VALID)
    .args(&["--plan", "--limit", "webb"])
    .status(1)
    .stderr("error: --limit webb: no host or group is called `webb`; did you mean `web`?\n")
    .run();
}

#[test]
fn limit_applies_exclusions_and_intersections() {
  // The hosts are unreachable names: what --limit keeps is what gets reported.
  let run = Test::new()
    .file(
      "fleet.goenv",
      "host \"a.invalid\" {}\nhost \"b.invalid\" {}\nhost \"c.invalid\" {}\n\
       group \"g\" {\n  hosts = [\"a.invalid\", \"b.invalid\"]\n}\n",
    )
    .file("go.goenv", VALID)
    .args(&["--plan", "--format", "json", "--limit", "all:!g", "--connect-timeout", "1"])
    .status(1)
    .run();
  let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
  let hosts: Vec<&str> =
    doc["hosts"].as_array().into_iter().flatten().filter_map(|h| h["host"].as_str()).collect();
  assert_eq!(hosts, ["c.invalid"]);
  assert_eq!(doc["hosts"][0]["status"], "unreachable");
}
