//! What a release ships besides the binary: the static musl build runs here,
//! the book's GitHub Actions workflow passes actionlint, and the pre-commit
//! hooks run the commands they name.

use crate::test::root;
use std::path::Path;
use std::process::Command;

/// Runs `bin` (through `launcher` when given, an emulator) as a release user
/// would: `--version`, then a `--plan` of the default playbook against an empty
/// `--root` tree, which has changes to make (exit 2) for localhost.
fn runs_version_and_a_root_plan(launcher: Option<&str>, bin: &str) {
  let command = |args: &[&str]| {
    let mut c = match launcher {
      Some(emulator) => {
        let mut c = Command::new(emulator);
        c.arg(bin);
        c
      }
      None => Command::new(bin),
    };
    c.args(args);
    c
  };
  let version = command(&["--version"]).output().unwrap_or_else(|e| panic!("{bin}: {e}"));
  assert_eq!(
    String::from_utf8_lossy(&version.stdout),
    format!("converge {}\n", env!("CARGO_PKG_VERSION")),
    "{}",
    String::from_utf8_lossy(&version.stderr)
  );
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  std::fs::create_dir_all(dir.path().join("root/home/dev")).unwrap_or_else(|e| panic!("{e}"));
  let playbook = root().join("playbooks/local.goenv");
  let playbook = playbook.to_str().unwrap_or_else(|| panic!("a non-UTF-8 checkout path"));
  let out = command(&["--plan", "--no-guards", "--root", "root", "--format", "json", playbook])
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

/// What `file` says about `bin`; it must be a static executable.
fn static_binary(bin: &str) -> String {
  let file = Command::new("file").arg(bin).output().unwrap_or_else(|e| panic!("file: {e}"));
  let kind = String::from_utf8_lossy(&file.stdout).into_owned();
  assert!(kind.contains("statically linked") || kind.contains("static-pie linked"), "{kind}");
  kind
}

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
  let kind = static_binary(&bin);
  assert!(kind.contains("x86-64"), "{kind}");
  runs_version_and_a_root_plan(None, &bin);
}

/// The first emulator for 64-bit ARM binaries on PATH (Debian's qemu-user-static
/// or qemu-user).
fn qemu_aarch64() -> Option<&'static str> {
  ["qemu-aarch64-static", "qemu-aarch64"]
    .into_iter()
    .find(|name| Command::new(name).arg("--version").output().is_ok_and(|out| out.status.success()))
}

/// The static aarch64 binary (CONVERGE_TEST_BUILD_AARCH64=1 scripts/test.sh
/// builds it) runs under qemu user-mode emulation: its version, and a `--root`
/// plan (the shell it starts for the facts is this machine's own).
#[test]
#[allow(clippy::print_stderr)]
fn the_static_aarch64_binary_runs_version_and_a_root_plan_under_qemu() {
  if let Ok(log) = std::env::var("CONVERGE_TEST_AARCH64_FAILED") {
    panic!("the aarch64-unknown-linux-musl build failed; see {log}");
  }
  let Ok(bin) = std::env::var("CONVERGE_TEST_AARCH64") else {
    eprintln!(
      "SKIPPED: CONVERGE_TEST_AARCH64 is not set: the static aarch64 binary was not built \
       (CONVERGE_TEST_BUILD_AARCH64=1 scripts/test.sh builds and tests it, given rustup target add \
       aarch64-unknown-linux-musl, gcc-aarch64-linux-gnu and qemu-user-static)"
    );
    return;
  };
  let Some(qemu) = qemu_aarch64() else {
    eprintln!("SKIPPED: neither qemu-aarch64-static nor qemu-aarch64 is on PATH (Debian: qemu-user-static)");
    return;
  };
  let kind = static_binary(&bin);
  assert!(kind.contains("ARM aarch64"), "{kind}");
  runs_version_and_a_root_plan(Some(qemu), &bin);
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

/// The `.deb` (cargo-deb, `[package.metadata.deb]` in Cargo.toml) ships the
/// binary, the manual page, the three shells' completions, the licences and the
/// README; each asset built before packaging is one scripts/build-release.sh
/// writes, and every other one is in the checkout.
#[test]
fn the_deb_metadata_ships_the_binary_manual_completions_and_licences() {
  let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
  let out = Command::new(cargo)
    .args(["metadata", "--format-version", "1", "--no-deps", "--offline", "--locked"])
    .current_dir(root())
    .output()
    .unwrap_or_else(|e| panic!("cargo metadata: {e}"));
  assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  let deb = &doc["packages"][0]["metadata"]["deb"];
  for field in ["maintainer", "section", "extended-description"] {
    assert!(deb[field].as_str().is_some_and(|v| !v.is_empty()), "[package.metadata.deb] has no {field}");
  }
  let assets: Vec<(String, String)> = deb["assets"]
    .as_array()
    .unwrap_or_else(|| panic!("[package.metadata.deb] has no assets"))
    .iter()
    .map(|a| (a[0].as_str().unwrap_or_default().to_owned(), a[1].as_str().unwrap_or_default().to_owned()))
    .collect();
  let installed = |dest: &str| assets.iter().find(|(_, d)| d == dest).map(|(src, _)| src.as_str());
  for dest in [
    "usr/bin/",
    "usr/share/man/man1/",
    "usr/share/bash-completion/completions/converge",
    "usr/share/zsh/vendor-completions/",
    "usr/share/fish/vendor_completions.d/",
  ] {
    assert!(installed(dest).is_some(), "the .deb installs nothing into {dest}: {assets:?}");
  }
  let docs: Vec<&str> =
    assets.iter().filter(|(_, d)| d == "usr/share/doc/converge/").map(|(s, _)| s.as_str()).collect();
  assert_eq!(docs, ["README.md", "LICENSE-MIT", "LICENSE-APACHE"]);
  let script =
    std::fs::read_to_string(root().join("scripts/build-release.sh")).unwrap_or_else(|e| panic!("{e}"));
  for (src, _) in &assets {
    if src == "target/release/converge" {
      continue;
    }
    if let Some(name) = src.strip_prefix("target/release-assets/") {
      assert!(
        script.contains(&format!("\"$assets/{name}\"")),
        "scripts/build-release.sh does not write {src}"
      );
    } else {
      let found = glob::glob(&root().join(src).to_string_lossy()).into_iter().flatten().flatten().count();
      assert!(found > 0, "the .deb asset {src} is not in the checkout");
    }
  }
}
