//! What a release ships besides the binary: the static musl build runs here,
//! the book's GitHub Actions workflow passes actionlint, and the pre-commit
//! hooks run the commands they name.

use crate::test::root;
use std::path::Path;
use std::process::Command;

/// The static binary scripts/test.sh builds when the musl target is installed:
/// it runs on this machine, prints its version, and plans a `--root` tree.
#[test]
#[allow(clippy::print_stderr)]
fn the_static_musl_binary_runs_version_and_a_root_plan() {
  if let Ok(log) = std::env::var("CONVERGE_TEST_MUSL_FAILED") {
    panic!("the x86_64-unknown-linux-musl build failed; see {log}");
  }
  let Ok(bin) = std::env::var("CONVERGE_TEST_MUSL") else {
    eprintln!(
      "SKIPPED: CONVERGE_TEST_MUSL is not set: the static musl binary was not built \
       (CONVERGE_TEST_BUILD_MUSL=1 scripts/test.sh builds and tests it, given rustup target add \
       x86_64-unknown-linux-musl and musl-tools)"
    );
    return;
  };
  let file = Command::new("file").arg(&bin).output().unwrap_or_else(|e| panic!("file: {e}"));
  let kind = String::from_utf8_lossy(&file.stdout);
  assert!(kind.contains("statically linked") || kind.contains("static-pie linked"), "{kind}");
  let version = Command::new(&bin).arg("--version").output().unwrap_or_else(|e| panic!("{bin}: {e}"));
  assert_eq!(String::from_utf8_lossy(&version.stdout), format!("converge {}\n", env!("CARGO_PKG_VERSION")));
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  std::fs::create_dir_all(dir.path().join("root/home/dev")).unwrap_or_else(|e| panic!("{e}"));
  let playbook = root().join("playbooks/local.goenv");
  let out = Command::new(&bin)
    .args(["--plan", "--no-guards", "--root", "root", "--format", "json"])
    .arg(&playbook)
    .current_dir(dir.path())
    .env("HOME", "/home/dev")
    .env("XDG_STATE_HOME", dir.path().join("state"))
    .env_remove("GOENV")
    .env_remove("XDG_CONFIG_HOME")
    .output()
    .unwrap_or_else(|e| panic!("{e}"));
  assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  assert_eq!(doc["hosts"][0]["host"], "localhost");
  assert!(doc["summary"]["create"].as_u64().unwrap_or_default() > 0, "{doc:#}");
}

/// The first ```yaml block of the book's review chapter.
fn book_workflow() -> String {
  let text = std::fs::read_to_string(root().join("book/src/review.md")).unwrap_or_else(|e| panic!("{e}"));
  let start =
    text.find("```yaml\n").unwrap_or_else(|| panic!("no yaml block in review.md")) + "```yaml\n".len();
  let end = text[start..].find("```\n").unwrap_or_else(|| panic!("unterminated yaml block")) + start;
  text[start..end].to_owned()
}

#[test]
fn the_books_github_actions_workflow_passes_actionlint() {
  let file = root().join("book/examples/converge.yml");
  let kept = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
  assert_eq!(book_workflow(), kept, "book/src/review.md and book/examples/converge.yml differ");
  let actionlint = std::env::var("CONVERGE_TEST_ACTIONLINT")
    .ok()
    .filter(|p| !p.is_empty())
    .unwrap_or_else(|| panic!("CONVERGE_TEST_ACTIONLINT is not set: run scripts/test.sh"));
  let out = Command::new(&actionlint)
    .arg("-config-file")
    .arg(root().join("book/examples/actionlint.yaml"))
    .arg(&file)
    .output()
    .unwrap_or_else(|e| panic!("{actionlint}: {e}"));
  assert!(
    out.status.success(),
    "actionlint:\n{}{}",
    String::from_utf8_lossy(&out.stdout),
    String::from_utf8_lossy(&out.stderr)
  );
  // A broken workflow fails, so the check can fail.
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let broken = dir.path().join("broken.yml");
  std::fs::write(&broken, kept.replace("runs-on:", "run-on:")).unwrap_or_else(|e| panic!("{e}"));
  let out = Command::new(&actionlint).arg(&broken).output().unwrap_or_else(|e| panic!("{e}"));
  assert!(!out.status.success(), "actionlint accepted a job without runs-on");
}

#[derive(serde::Deserialize)]
struct Hook {
  id: String,
  entry: String,
  #[serde(default = "yes")]
  pass_filenames: bool,
}

fn yes() -> bool {
  true
}

/// Runs a hook's entry as pre-commit does, in `dir`, with `files` when it takes them.
fn run_hook(hook: &Hook, dir: &Path, files: &[&str]) -> bool {
  let mut words = hook.entry.split_whitespace();
  assert_eq!(words.next(), Some("converge"), "{}", hook.id);
  let mut command = Command::new(crate::test::binary());
  command.args(words).current_dir(dir).env("NO_COLOR", "1");
  if hook.pass_filenames {
    command.args(files);
  }
  command.output().unwrap_or_else(|e| panic!("{e}")).status.success()
}

#[test]
fn the_pre_commit_hooks_check_and_format() {
  let text = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap_or_else(|e| panic!("{e}"));
  let hooks: Vec<Hook> = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
  let ids: Vec<&str> = hooks.iter().map(|h| h.id.as_str()).collect();
  assert_eq!(ids, ["converge-check", "converge-fmt"]);
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(dir.path().join("site.goenv"), "proxy [\"https://proxy.golang.org\", direct]\n")
    .unwrap_or_else(|e| panic!("{e}"));
  assert!(hooks.iter().all(|h| run_hook(h, dir.path(), &["site.goenv"])), "a clean playbook passes");
  std::fs::write(dir.path().join("site.goenv"), "proxy [ direct ]\n").unwrap_or_else(|e| panic!("{e}"));
  assert!(run_hook(&hooks[0], dir.path(), &["site.goenv"]));
  assert!(!run_hook(&hooks[1], dir.path(), &["site.goenv"]), "fmt --check fails on an unformatted file");
  std::fs::write(dir.path().join("site.goenv"), "go toolchian \"1.22.5\"\n")
    .unwrap_or_else(|e| panic!("{e}"));
  assert!(!run_hook(&hooks[0], dir.path(), &["site.goenv"]), "check fails on an error");
}
