//! What converge does to a host's files when the host is hostile or failing:
//! links planted to make it read or write elsewhere, a full disk, a hand edit
//! racing the apply, a command that looks like the script around it, a killed
//! apply. All on a converged directory tree (`--root`) with the real shells;
//! every converge run is bounded by `timeout`.

use crate::test::binary;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The user's home inside the converged tree.
const HOME: &str = "/home/dev";
/// A uid that is neither root nor the user running the tests.
const OTHER: u32 = 4242;

struct Tree {
  dir: tempfile::TempDir,
  /// The playbook and the controller's state, apart from the tree.
  work: tempfile::TempDir,
}

impl Tree {
  fn new() -> Tree {
    Tree::within(&std::env::temp_dir())
  }

  fn within(parent: &Path) -> Tree {
    let dir = tempfile::tempdir_in(parent).unwrap_or_else(|e| panic!("{e}"));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tree = Tree { dir, work };
    std::fs::create_dir_all(tree.root().join("home/dev")).unwrap_or_else(|e| panic!("{e}"));
    tree
  }

  fn root(&self) -> PathBuf {
    self.dir.path().join("root")
  }

  fn path(&self, p: &str) -> PathBuf {
    crate::test::tree_path(&self.root(), p)
  }

  fn write(&self, p: &str, data: &[u8]) {
    crate::test::tree_write(&self.root(), p, data);
  }

  fn read(&self, p: &str) -> Vec<u8> {
    crate::test::tree_read(&self.root(), p)
  }

  fn link(&self, p: &str, target: &str) {
    let path = self.path(p);
    if let Some(parent) = path.parent() {
      std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::os::unix::fs::symlink(target, &path).unwrap_or_else(|e| panic!("link {p}: {e}"));
  }

  fn command(&self, playbook: &str, extra: &[&str]) -> Command {
    let file = self.work.path().join("site.goenv");
    std::fs::write(&file, playbook).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new("timeout");
    cmd
      .args(["-k", "5", "120"])
      .arg(binary())
      .arg(&file)
      .arg("--root")
      .arg(self.root())
      .args(["--state-dir"])
      .arg(self.work.path().join("state"))
      .args(extra)
      .env("HOME", HOME)
      .env("NO_COLOR", "1")
      .env_remove("GOENV")
      .env_remove("XDG_CONFIG_HOME");
    cmd
  }

  fn converge(&self, playbook: &str, extra: &[&str]) -> (i32, String) {
    let out: Output = self.command(playbook, extra).output().unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
  }
}

fn chown(path: &Path, uid: u32) {
  std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap_or_else(|e| panic!("chown {path:?}: {e}"));
}

fn mode(path: &Path) -> u32 {
  std::fs::metadata(path).map(|m| m.mode() & 0o7777).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn is_link(path: &Path) -> bool {
  std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

const SECRET: &[u8] = b"root:$6$secret-hash:19000:0:99999:7:::\n";

/// A link owned by another user among system paths (`/home/other/.profile`
/// for a root login) must not make converge show or overwrite its target.
#[test]
fn a_system_path_linked_by_another_user_is_neither_read_nor_written() {
  let tree = Tree::new();
  tree.write("/etc/shadow", SECRET);
  std::fs::set_permissions(tree.path("/etc/shadow"), std::fs::Permissions::from_mode(0o640))
    .unwrap_or_else(|e| panic!("{e}"));
  tree.link("/home/other/.profile", "../../etc/shadow");
  chown(&tree.path("/home/other"), OTHER);
  chown(&tree.path("/home/other/.profile"), OTHER);
  let playbook = "managed block \"/home/other/.profile\" {\n  content = \"export A=1\\n\"\n}\n";
  let (status, plan) = tree.converge(playbook, &["--plan"]);
  assert!(!plan.contains("secret-hash"), "the plan shows the link's target:\n{plan}");
  assert_ne!(status, 0, "{plan}");
  assert!(plan.contains("/home/other/.profile") && plan.contains("/etc/shadow"), "{plan}");
  let (status, text) = tree.converge(playbook, &[]);
  assert_ne!(status, 0, "{text}");
  assert!(!text.contains("secret-hash"), "{text}");
  assert_eq!(tree.read("/etc/shadow"), SECRET);
  assert_eq!(mode(&tree.path("/etc/shadow")), 0o640);
  assert!(is_link(&tree.path("/home/other/.profile")), "the link was replaced");
}

/// A link under a directory another user owns leads a root write into
/// `/etc/cron.d`: refused, naming both paths.
#[test]
fn a_directory_link_of_another_user_does_not_lead_writes_elsewhere() {
  let tree = Tree::new();
  std::fs::create_dir_all(tree.path("/etc/cron.d")).unwrap_or_else(|e| panic!("{e}"));
  tree.link("/home/other/.config/rel", "../../../etc/cron.d");
  for p in ["/home/other", "/home/other/.config", "/home/other/.config/rel"] {
    chown(&tree.path(p), OTHER);
  }
  let playbook = "file \"/home/other/.config/rel/marker\" {\n  content = \"* * * * * root id\\n\"\n}\n";
  let (status, text) = tree.converge(playbook, &[]);
  assert_ne!(status, 0, "{text}");
  assert!(text.contains("/home/other/.config/rel") && text.contains("/etc/cron.d"), "{text}");
  assert!(!tree.path("/etc/cron.d/marker").exists(), "written through the link:\n{text}");
}

/// The user's own file may not lead out of the home directory (to a file
/// elsewhere in the tree, or out of the tree through an absolute link), nor to
/// another user's file inside it.
#[test]
fn a_user_file_link_out_of_home_or_to_another_users_file_is_refused() {
  let tree = Tree::new();
  let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  tree.write("/etc/shadow", SECRET);
  tree.link("/home/dev/.profile", "../../etc/shadow");
  tree.link("/home/dev/.config/rel", &outside.path().display().to_string());
  tree.write("/home/dev/shared/theirs", b"their text\n");
  chown(&tree.path("/home/dev/shared/theirs"), OTHER);
  tree.link("/home/dev/.zshrc", "shared/theirs");
  let playbook = "managed block \"~/.profile\" {\n  content = \"export A=1\\n\"\n}\nfile \"~/.config/rel/marker\" {\n  content = \"x\\n\"\n}\nmanaged block \"~/.zshrc\" {\n  content = \"export B=1\\n\"\n}\n";
  let (status, plan) = tree.converge(playbook, &["--plan"]);
  assert_ne!(status, 0, "{plan}");
  assert!(!plan.contains("secret-hash"), "{plan}");
  let (status, text) = tree.converge(playbook, &[]);
  assert_ne!(status, 0, "{text}");
  assert!(text.contains("/home/dev/.profile") && text.contains("/etc/shadow"), "{text}");
  assert!(text.contains(&outside.path().display().to_string()), "{text}");
  assert!(text.contains("/home/dev/shared/theirs"), "{text}");
  assert_eq!(tree.read("/etc/shadow"), SECRET);
  assert!(!outside.path().join("marker").exists(), "written out of the tree");
  assert_eq!(tree.read("/home/dev/shared/theirs"), b"their text\n");
  for p in ["/home/dev/.profile", "/home/dev/.config/rel", "/home/dev/.zshrc"] {
    assert!(is_link(&tree.path(p)), "{p} was replaced");
  }
}

/// Dotfile managers (stow, chezmoi, yadm) make rc files links into the home
/// directory: converge edits the target, keeps the link, and keeps the
/// target's mode (it used to write a regular file with the link's 0777).
#[test]
fn a_dotfile_managers_link_is_kept_and_its_target_edited_in_place() {
  let tree = Tree::new();
  tree.write("/home/dev/dotfiles/bashrc", b"# mine\nalias l=ls\n");
  std::fs::set_permissions(tree.path("/home/dev/dotfiles/bashrc"), std::fs::Permissions::from_mode(0o600))
    .unwrap_or_else(|e| panic!("{e}"));
  tree.link("/home/dev/.bashrc", "dotfiles/bashrc");
  let playbook = "managed block \"~/.bashrc\" {\n  content = \"export GOPATH=\\\"$HOME/go\\\"\\n\"\n}\n";
  let (status, text) = tree.converge(playbook, &[]);
  assert_eq!(status, 0, "{text}");
  assert!(is_link(&tree.path("/home/dev/.bashrc")), "the link was replaced:\n{text}");
  let target = tree.read("/home/dev/dotfiles/bashrc");
  let target = String::from_utf8_lossy(&target);
  assert!(target.starts_with("# mine\nalias l=ls\n") && target.contains("GOPATH"), "{target}");
  assert_eq!(mode(&tree.path("/home/dev/dotfiles/bashrc")), 0o600, "the mode changed");
  let (status, again) = tree.converge(playbook, &["--plan"]);
  assert_eq!(status, 0, "not converged after one apply:\n{again}");
}

/// The local transport read a script's output only after the script ended, so
/// a managed file over a pipe's 64 KiB hung every local run until the timeout.
#[test]
fn a_large_managed_file_does_not_hang_a_local_run() {
  let tree = Tree::new();
  let line = "# a comment line that fills the file up to fifty thousand bytes\n";
  let content: String = line.repeat(50_000 / line.len() + 1);
  let playbook = format!("file \"/etc/big\" {{\n  content = \"{}\"\n}}\n", content.replace('\n', "\\n"));
  let started = Instant::now();
  let (status, text) = tree.converge(&playbook, &["--timeout", "60"]);
  assert_eq!(status, 0, "{}", &text[..text.len().min(2000)]);
  let (status, text) = tree.converge(&playbook, &["--timeout", "60", "--plan"]);
  assert_eq!(status, 0, "{}", &text[..text.len().min(2000)]);
  assert!(started.elapsed() < Duration::from_secs(50), "took {:?}", started.elapsed());
  assert_eq!(tree.read("/etc/big"), content.as_bytes());
}

/// A tmpfs of a given size, mounted for one test and lazily unmounted after.
struct SmallDisk {
  dir: tempfile::TempDir,
}

impl SmallDisk {
  fn mount(size: &str) -> SmallDisk {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ok = Command::new("mount")
      .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
      .arg(dir.path())
      .status()
      .is_ok_and(|s| s.success());
    assert!(ok, "mounting a tmpfs needs root");
    SmallDisk { dir }
  }

  /// Fills the disk up to its last byte.
  fn fill(&self) {
    let _ = Command::new("dd")
      .args(["if=/dev/zero", "bs=4096"])
      .arg(format!("of={}", self.dir.path().join("filler").display()))
      .stderr(Stdio::null())
      .status();
    let _ = Command::new("dd")
      .args(["if=/dev/zero", "bs=1"])
      .arg(format!("of={}", self.dir.path().join("filler2").display()))
      .stderr(Stdio::null())
      .status();
  }
}

impl Drop for SmallDisk {
  fn drop(&mut self) {
    let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
  }
}

/// On a full disk the ledger was replaced by an empty file and each step
/// blamed `echo: I/O error`. Now nothing converge owns is truncated, and the
/// errors say the disk is full.
#[test]
fn a_full_disk_keeps_the_ledger_and_names_the_cause() {
  let disk = SmallDisk::mount("1M");
  let tree = Tree::within(disk.dir.path());
  let first = "file \"/etc/a\" {\n  content = \"one\\n\"\n}\nmanaged block \"~/.bashrc\" {\n  content = \"export A=1\\n\"\n}\n";
  let (status, text) = tree.converge(first, &[]);
  assert_eq!(status, 0, "{text}");
  let ledger_path = "/home/dev/.local/state/converge/ledger.jsonl";
  let ledger = tree.read(ledger_path);
  assert!(!ledger.is_empty());
  disk.fill();
  let second = format!(
    "{}\nfile \"/etc/b\" {{\n  content = \"{}\"\n}}\n",
    first.replace("one", "two"),
    "b".repeat(8000)
  );
  let (status, text) = tree.converge(&second, &["--format", "json"]);
  assert_ne!(status, 0, "{text}");
  assert_eq!(tree.read(ledger_path), ledger, "the ledger changed:\n{text}");
  assert!(text.contains("No space left on device"), "{text}");
  assert!(!text.contains("I/O error"), "{text}");
  assert_eq!(tree.read("/etc/a"), b"one\n");
  assert!(!tree.path("/etc/b").exists() || tree.read("/etc/b").len() == 8000, "a partial file");
}

/// A line appended to `~/.bashrc` while apply's temporary file existed was
/// lost and the step said `changed`: the check before the rename must see it.
/// The narrowest window: a hand edit that reaches the file after converge's
/// last check, right before its rename (here made certain by an `mv` that
/// appends to its destination first, as an editor saving at that instant
/// would). The edit is kept, the run says so, and the next plan shows it.
#[test]
fn a_hand_edit_between_the_last_check_and_the_rename_is_put_back() {
  let tree = Tree::new();
  tree.write("/home/dev/.bashrc", b"# user text\n");
  let bin = tree.work.path().join("bin");
  std::fs::create_dir_all(&bin).unwrap_or_else(|e| panic!("{e}"));
  let real = String::from_utf8_lossy(
    &Command::new("sh").args(["-c", "command -v mv"]).output().unwrap_or_else(|e| panic!("{e}")).stdout,
  )
  .trim()
  .to_owned();
  let marker = tree.work.path().join("edited");
  std::fs::write(
    bin.join("mv"),
    format!(
      "#!/bin/sh\n# The first rename onto .bashrc: the user saves an edit to it just before.\n\
       for last; do :; done\n\
       case $last in */home/dev/.bashrc) if [ ! -e '{marker}' ]; then : > '{marker}'; echo '# hand edit' >> \"$last\"; fi;; esac\n\
       exec {real} \"$@\"\n",
      marker = marker.display()
    ),
  )
  .unwrap_or_else(|e| panic!("{e}"));
  std::fs::set_permissions(bin.join("mv"), std::fs::Permissions::from_mode(0o755))
    .unwrap_or_else(|e| panic!("{e}"));
  let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
  let playbook = "managed block \"~/.bashrc\" {\n  content = \"export GOFLAGS=-mod=mod\\n\"\n}\n";
  let out = tree.command(playbook, &[]).env("PATH", &path).output().unwrap_or_else(|e| panic!("{e}"));
  let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
  assert!(marker.exists(), "the edit was made during the rename:\n{text}");
  assert_eq!(
    String::from_utf8_lossy(&tree.read("/home/dev/.bashrc")),
    "# user text\n# hand edit\n",
    "the hand edit is what the file holds:\n{text}"
  );
  assert_ne!(out.status.code(), Some(0), "the write did not happen, so the run did not succeed:\n{text}");
  assert!(text.contains("changed while converge was writing it"), "{text}");
  let leftovers: Vec<String> = std::fs::read_dir(tree.path("/home/dev"))
    .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
    .unwrap_or_default();
  assert!(!leftovers.iter().any(|n| n.starts_with(".converge.")), "temporary names left: {leftovers:?}");
  // Converged again (no edit this time), the block is written beside the edit.
  let (code, text) = tree.converge(playbook, &[]);
  assert_eq!(code, 0, "{text}");
  let now = String::from_utf8_lossy(&tree.read("/home/dev/.bashrc")).into_owned();
  assert!(now.starts_with("# user text\n# hand edit\n") && now.contains("GOFLAGS=-mod=mod"), "{now}");
}

#[test]
fn a_hand_edit_during_the_write_is_kept_and_reported_as_drift() {
  let tree = Tree::new();
  let home = tree.path(HOME);
  tree.write("/home/dev/.bashrc", b"# user text\n");
  let big = "x".repeat(400_000);
  let mut hits = 0;
  for round in 0..12 {
    let playbook =
      format!("managed block \"~/.bashrc\" {{\n  content = \"export ROUND={round}\\n# {big}\\n\"\n}}\n");
    let mut child = tree
      .command(&playbook, &[])
      .stdout(Stdio::piped())
      .stderr(Stdio::piped())
      .spawn()
      .unwrap_or_else(|e| panic!("{e}"));
    let edit = format!("echo hand edit {round}\n");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut hit = false;
    while Instant::now() < deadline {
      let temp = std::fs::read_dir(&home)
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with(".converge.")))
        .unwrap_or(false);
      if temp {
        let mut text = std::fs::read(home.join(".bashrc")).unwrap_or_default();
        text.extend_from_slice(edit.as_bytes());
        std::fs::write(home.join(".bashrc"), text).unwrap_or_else(|e| panic!("{e}"));
        hit = true;
        break;
      }
      if child.try_wait().ok().flatten().is_some() {
        break;
      }
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if hit {
      hits += 1;
      let now = String::from_utf8_lossy(&tree.read("/home/dev/.bashrc")).into_owned();
      assert!(now.contains(edit.trim_end()), "round {round}: the hand edit was lost:\n{text}");
      if !now.contains(&format!("ROUND={round}")) {
        assert_ne!(out.status.code(), Some(0), "round {round}: nothing written, yet success:\n{text}");
        assert!(text.contains("changed while converge was writing it"), "{text}");
      }
    }
    if hits >= 3 {
      break;
    }
  }
  assert!(hits >= 1, "the edit never landed while the temporary file existed");
}

/// A command whose own heredoc uses the step terminator converge used to use
/// ended the step early; and a command reading standard input ate the rest of
/// the step.
#[test]
fn a_command_cannot_end_its_step_or_read_the_script() {
  let tree = Tree::new();
  std::fs::create_dir_all(tree.path("/etc")).unwrap_or_else(|e| panic!("{e}"));
  let playbook = "command \"cat > \\\"$CONVERGE_ROOT/etc/motd\\\" <<'__CONVERGE_STEP__'\\nhello\\n__CONVERGE_STEP__\" {\n  name = \"motd\"\n}\ncommand \"cat >/dev/null\\necho ran > \\\"$CONVERGE_ROOT/etc/after\\\"\" {\n  name = \"reader\"\n}\n";
  let (status, text) = tree.converge(playbook, &[]);
  assert_eq!(status, 0, "{text}");
  assert_eq!(tree.read("/etc/motd"), b"hello\n");
  assert_eq!(tree.read("/etc/after"), b"ran\n");
}

/// Temporary files of a killed apply are removed by the next apply of the
/// same directory; one whose writer still runs is left alone.
#[test]
fn stale_temporary_files_are_cleaned_at_the_next_apply() {
  let tree = Tree::new();
  tree.write("/etc/.converge.AbC123", b"partial");
  tree.write("/etc/.converge.999999999.XyZ789", b"partial");
  let live = format!("/etc/.converge.{}.LiV123", std::process::id());
  tree.write(&live, b"in progress");
  for p in ["/etc/.converge.AbC123", "/etc/.converge.999999999.XyZ789", live.as_str()] {
    let ok = Command::new("touch").args(["-d", "1 hour ago"]).arg(tree.path(p)).status();
    assert!(ok.is_ok_and(|s| s.success()));
  }
  let (status, text) = tree.converge("file \"/etc/a\" {\n  content = \"a\\n\"\n}\n", &[]);
  assert_eq!(status, 0, "{text}");
  assert!(!tree.path("/etc/.converge.AbC123").exists(), "a stale temporary file is left");
  assert!(!tree.path("/etc/.converge.999999999.XyZ789").exists(), "a stale temporary file is left");
  assert!(tree.path(&live).exists(), "the temporary file of a live writer was removed");
}

/// The children of a process, from /proc.
fn children(pid: u32) -> Vec<u32> {
  let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
  tasks
    .flatten()
    .flat_map(|t| {
      std::fs::read_to_string(t.path().join("children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect::<Vec<u32>>()
    })
    .collect()
}

/// Killing the shell that runs the apply reported the host failed with an
/// empty error; now the error says the script was killed.
#[test]
fn a_killed_apply_shell_is_reported_as_killed() {
  let tree = Tree::new();
  let marker = tree.dir.path().join("started");
  let playbook = format!("command \"touch {} && sleep 3\" {{\n  name = \"slow\"\n}}\n", marker.display());
  let file = tree.dir.path().join("site.goenv");
  std::fs::write(&file, &playbook).unwrap_or_else(|e| panic!("{e}"));
  let child = Command::new(binary())
    .arg(&file)
    .arg("--root")
    .arg(tree.root())
    .arg("--state-dir")
    .arg(tree.dir.path().join("state"))
    .args(["--format", "json", "--timeout", "60"])
    .env("HOME", HOME)
    .env("NO_COLOR", "1")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap_or_else(|e| panic!("{e}"));
  let deadline = Instant::now() + Duration::from_secs(60);
  while !marker.exists() && Instant::now() < deadline {
    std::thread::sleep(Duration::from_millis(20));
  }
  let shells = children(child.id());
  for pid in &shells {
    let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
  }
  // Bounded: converge itself is killed if it does not end by the deadline.
  let converge = child.id();
  let watchdog = std::thread::spawn(move || {
    while Instant::now() < deadline {
      std::thread::sleep(Duration::from_millis(100));
      if !Path::new(&format!("/proc/{converge}")).exists() {
        return;
      }
    }
    let _ = Command::new("kill").arg("-KILL").arg(converge.to_string()).status();
  });
  let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
  let _ = watchdog.join();
  assert!(!shells.is_empty(), "no apply shell to kill");
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  let host = &doc["hosts"][0];
  let error = host["error"].as_str().unwrap_or_default();
  assert!(error.contains("killed"), "{doc}\n{}", String::from_utf8_lossy(&out.stderr));
}

/// With a non-root login and sudo, another user's link in `/var/tmp` made root
/// write where it pointed; a link root placed is still followed, and kept.
#[test]
fn sudo_does_not_write_through_another_users_link() {
  let fleet = crate::fleet::Fleet::start(1);
  let tag = std::process::id();
  let planted = format!("/var/tmp/converge-planted-{tag}");
  let victim = format!("/etc/converge-victim-{tag}");
  let legit = format!("/etc/converge-legit-{tag}");
  let real = format!("/etc/converge-legit-{tag}.real");
  std::os::unix::fs::symlink(&victim, fleet.host_path("h01", &planted)).unwrap_or_else(|e| panic!("{e}"));
  // dev-zsh: another user than h01's login user, dev-bash.
  chown(&fleet.host_path("h01", &planted), 2002);
  fleet.write("h01", &real, b"old\n");
  std::os::unix::fs::symlink(&real, fleet.host_path("h01", &legit)).unwrap_or_else(|e| panic!("{e}"));
  let playbook = format!(
    "{}file \"{planted}\" {{\n  content = \"evil\\n\"\n}}\nfile \"{legit}\" {{\n  content = \"new\\n\"\n}}\n",
    fleet.inventory()
  );
  let out = fleet.converge(&playbook, &[]);
  let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
  let cleanup = || {
    for p in [&planted, &victim, &legit, &real] {
      let _ = std::fs::remove_file(fleet.host_path("h01", p));
    }
  };
  let victim_written = fleet.read("h01", &victim).is_some();
  let planted_kept = is_link(&fleet.host_path("h01", &planted));
  let legit_kept = is_link(&fleet.host_path("h01", &legit));
  let real_now = fleet.read("h01", &real);
  cleanup();
  assert_ne!(out.status.code(), Some(0), "{text}");
  assert!(!victim_written, "root wrote through another user's link:\n{text}");
  assert!(planted_kept, "{text}");
  assert!(text.contains(&planted) && text.contains(&victim), "{text}");
  assert!(legit_kept, "root's own link was replaced:\n{text}");
  assert_eq!(real_now.as_deref(), Some(&b"new\n"[..]), "{text}");
}

/// `--root DIR` converges DIR only: a link in the tree, relative with `..` or
/// absolute, never leads a read or a write out of it.
#[test]
fn a_rooted_tree_is_never_left_through_a_link() {
  let tree = Tree::new();
  let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(outside.path().join("relative"), b"outside text\n").unwrap_or_else(|e| panic!("{e}"));
  let depth = tree.path("/etc").components().count() - 1;
  let up = "../".repeat(depth);
  let relative =
    format!("{up}{}", outside.path().join("relative").display().to_string().trim_start_matches('/'));
  tree.link("/etc/relative", &relative);
  tree.link("/etc/absolute", &outside.path().join("absolute").display().to_string());
  let playbook =
    "file \"/etc/relative\" {\n  content = \"x\\n\"\n}\nfile \"/etc/absolute\" {\n  content = \"y\\n\"\n}\n";
  let (status, plan) = tree.converge(playbook, &["--plan"]);
  assert_ne!(status, 0, "{plan}");
  assert!(!plan.contains("outside text"), "{plan}");
  let (status, text) = tree.converge(playbook, &[]);
  assert_ne!(status, 0, "{text}");
  assert_eq!(
    std::fs::read(outside.path().join("relative")).unwrap_or_default(),
    b"outside text\n",
    "written out of the tree:\n{text}"
  );
  assert!(!outside.path().join("absolute").exists(), "written out of the tree:\n{text}");
  assert!(text.contains("/etc/relative") && text.contains(&outside.path().display().to_string()), "{text}");
  assert!(is_link(&tree.path("/etc/relative")) && is_link(&tree.path("/etc/absolute")), "{text}");
}
