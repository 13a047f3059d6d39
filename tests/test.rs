//! A builder that runs the real binary in a temporary directory and compares its
//! exit status, standard output and standard error exactly; and [`Tree`], what an
//! apply test converges, reached through either [`Transport`], with
//! [`converge_test!`] to run an apply test under both.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn binary() -> PathBuf {
  PathBuf::from(env!("CARGO_BIN_EXE_converge"))
}

/// Runs `converge` with fixed width and no colour, in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
  Command::new(binary())
    .args(args)
    .current_dir(dir)
    .env("COLUMNS", "100")
    .env("NO_COLOR", "1")
    .env_remove("CLICOLOR_FORCE")
    .output()
    .unwrap_or_else(|e| panic!("cannot run converge: {e}"))
}

pub struct Test {
  dir: tempfile::TempDir,
  args: Vec<String>,
  status: i32,
  stdout: Option<String>,
  stderr: Option<String>,
  stderr_contains: Vec<String>,
}

impl Test {
  pub fn new() -> Self {
    Self {
      dir: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
      args: Vec::new(),
      status: 0,
      stdout: None,
      stderr: None,
      stderr_contains: Vec::new(),
    }
  }

  pub fn file(self, name: &str, text: &str) -> Self {
    let path = self.dir.path().join(name);
    if let Some(parent) = path.parent() {
      std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {name}: {e}"));
    self
  }

  pub fn args(mut self, args: &[&str]) -> Self {
    self.args.extend(args.iter().map(|s| (*s).to_owned()));
    self
  }

  pub fn status(mut self, status: i32) -> Self {
    self.status = status;
    self
  }

  pub fn stdout(mut self, stdout: &str) -> Self {
    self.stdout = Some(stdout.to_owned());
    self
  }

  pub fn stderr(mut self, stderr: &str) -> Self {
    self.stderr = Some(stderr.to_owned());
    self
  }

  pub fn stderr_contains(mut self, part: &str) -> Self {
    self.stderr_contains.push(part.to_owned());
    self
  }

  pub fn path(&self, name: &str) -> PathBuf {
    self.dir.path().join(name)
  }

  /// Runs and checks; returns the directory for further checks.
  pub fn run(self) -> Finished {
    let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
    let output = run_in(self.dir.path(), &args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let status = output.status.code().unwrap_or(-1);
    assert_eq!(status, self.status, "exit status of {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    if let Some(expected) = &self.stdout {
      assert_eq!(&stdout, expected, "stdout of {args:?}");
    }
    if let Some(expected) = &self.stderr {
      assert_eq!(&stderr, expected, "stderr of {args:?}");
    }
    for part in &self.stderr_contains {
      assert!(stderr.contains(part), "stderr of {args:?} lacks {part:?}:\n{stderr}");
    }
    Finished { dir: self.dir, stdout, stderr }
  }
}

pub struct Finished {
  pub dir: tempfile::TempDir,
  pub stdout: String,
  #[allow(dead_code)]
  pub stderr: String,
}

impl Finished {
  pub fn read(&self, name: &str) -> String {
    std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
  }
}

/// The files with `extension` directly in `dir`, sorted.
pub fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
  let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
    .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
    .filter_map(Result::ok)
    .map(|e| e.path())
    .filter(|p| p.extension().is_some_and(|e| e == extension))
    .collect();
  out.sort();
  out
}

pub fn root() -> PathBuf {
  PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A host path inside a converged tree (`--root ROOT`): `/etc/x` is `ROOT/etc/x`.
pub fn tree_path(root: &Path, p: &str) -> PathBuf {
  root.join(p.trim_start_matches('/'))
}

/// Writes a file of a converged tree, making its directories.
pub fn tree_write(root: &Path, p: &str, data: &[u8]) {
  let path = tree_path(root, p);
  if let Some(parent) = path.parent() {
    std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
  }
  std::fs::write(path, data).unwrap_or_else(|e| panic!("{e}"));
}

/// Reads a file of a converged tree.
pub fn tree_read(root: &Path, p: &str) -> Vec<u8> {
  std::fs::read(tree_path(root, p)).unwrap_or_else(|e| panic!("read {p}: {e}"))
}

/// How a [`Tree`] is reached: the way each apply test runs, all of them under both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
  /// `converge --root DIR` on this machine, as root, with `HOME=/home/dev`.
  Local,
  /// A host of the shared testbed (`crate::fleet::lease`), reached over SSH as `dev`:
  /// root, with the home `/home/dev`, as in the local tree.
  Ssh,
}

/// What "nothing to do" looks like at the end of a plan of one host.
pub const NO_CHANGES: &str = "Plan: 0 to create, 0 to update, 0 to remove on 1 host.";

/// The user's home in a tree, as its host sees it.
const HOME: &str = "/home/dev";

/// A converged tree: a directory converged with `--root` ([`Transport::Local`]),
/// or a testbed host whose mount namespace holds the same tree
/// ([`Transport::Ssh`]). Files are read and written from outside with
/// [`Tree::path`] in both cases; [`Tree::apply`] always re-plans and asserts
/// that nothing is left to do.
pub struct Tree {
  dir: tempfile::TempDir,
  host: Option<crate::fleet::Leased>,
  /// Who converge logs in as over SSH.
  user: &'static str,
}

impl Tree {
  pub fn new(transport: Transport) -> Tree {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let host = (transport == Transport::Ssh).then(crate::fleet::lease);
    let tree = Tree { dir, host, user: "dev" };
    std::fs::create_dir_all(tree.path(HOME)).unwrap_or_else(|e| panic!("{e}"));
    tree
  }

  /// Over SSH, logs in as another user of the testbed (`dev-sudo`: not root,
  /// passwordless sudo) instead of `dev`.
  pub fn login(mut self, user: &'static str) -> Tree {
    assert!(self.host.is_some(), "only an SSH tree has users to log in as");
    self.user = user;
    self
  }

  /// The controller's directory of this test (playbook, state, fixtures).
  pub fn dir(&self) -> &Path {
    self.dir.path()
  }

  /// The tree's `/`, seen from this machine.
  fn root(&self) -> PathBuf {
    match &self.host {
      Some(host) => host.root(),
      None => self.dir.path().join("root"),
    }
  }

  /// The user's home, as the tree's shells see it (`$HOME`).
  pub fn home(&self) -> PathBuf {
    match &self.host {
      Some(_) => PathBuf::from(HOME),
      None => self.path(HOME),
    }
  }

  /// A host path of the tree, seen from this machine.
  pub fn path(&self, p: &str) -> PathBuf {
    tree_path(&self.root(), p)
  }

  pub fn write(&self, p: &str, data: &[u8]) {
    tree_write(&self.root(), p, data);
  }

  pub fn read(&self, p: &str) -> Vec<u8> {
    tree_read(&self.root(), p)
  }

  /// Runs converge on `playbook` against the tree, with `extra` arguments.
  pub fn converge(&self, playbook: &str, extra: &[&str]) -> Output {
    let file = self.dir.path().join("site.goenv");
    std::fs::write(&file, playbook).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = self.run_command();
    cmd.arg(&file);
    match &self.host {
      Some(host) => {
        // The host is named in a playbook of its own: the test's playbook keeps its lines.
        let inventory = self.dir.path().join("hosts.goenv");
        std::fs::write(&inventory, host.inventory(self.user)).unwrap_or_else(|e| panic!("{e}"));
        cmd.arg(&inventory);
      }
      None => {
        cmd.arg("--root").arg(self.root());
      }
    }
    cmd.args(extra).output().unwrap_or_else(|e| panic!("{e}"))
  }

  /// Runs converge with exactly `args` (`apply plan.json`, say: a saved plan
  /// knows its tree), in the test's directory.
  pub fn run(&self, args: &[&str]) -> Output {
    self.run_command().args(args).output().unwrap_or_else(|e| panic!("{e}"))
  }

  /// The converge command with the environment of this tree's transport,
  /// killed after ten minutes (a run here takes seconds; a go build, a minute).
  fn run_command(&self) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", "600"]).arg(binary());
    match &self.host {
      Some(host) => cmd.env("HOME", host.controller_home()).env_remove("SSH_AUTH_SOCK"),
      None => cmd.env("HOME", HOME),
    };
    cmd
      .current_dir(self.dir.path())
      // Each tree has its own state (run lock, ledger): tests run in parallel.
      .env("XDG_STATE_HOME", self.dir.path().join("state"))
      .env("NO_COLOR", "1")
      // GOENV and XDG_CONFIG_HOME of the test run would move the tree's go env file.
      .env_remove("GOENV")
      .env_remove("XDG_CONFIG_HOME");
    cmd
  }

  /// Applies, asserts success, then plans again: a plan after an apply must be
  /// empty. Returns the apply's output.
  pub fn apply(&self, playbook: &str) -> String {
    let out = self.converge(playbook, &[]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "apply failed:\n{text}");
    let (status, replan) = self.plan(playbook);
    assert!(
      status == 0 && replan.contains(NO_CHANGES),
      "a plan right after an apply has nothing to do (exit {status}):\n{replan}\nthe apply said:\n{text}"
    );
    text
  }

  /// `--plan`: its exit status and output.
  pub fn plan(&self, playbook: &str) -> (i32, String) {
    let out = self.converge(playbook, &["--plan"]);
    (
      out.status.code().unwrap_or(-1),
      format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
  }

  /// A command that runs `program` in the tree: on this machine, or in the
  /// testbed host's mount namespace (as root, as locally).
  pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
    match &self.host {
      Some(host) => {
        let mut cmd = Command::new("/usr/bin/nsenter");
        cmd.arg(format!("--target={}", host.pid)).arg("--mount").arg("--").arg(program);
        cmd
      }
      None => Command::new(program),
    }
  }

  /// Runs a real shell with only HOME (in the tree) and a minimal PATH set.
  pub fn shell(&self, argv: &[&str], extra_env: &[(&str, &str)]) -> String {
    let program = argv[0];
    let found =
      Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().map(|o| o.status.success());
    assert_eq!(found.ok(), Some(true), "`{program}` is not installed; scripts/test.sh installs it");
    let mut cmd = self.command(program);
    cmd
      .args(&argv[1..])
      .env_clear()
      .env("HOME", self.home())
      .env("PATH", "/usr/bin:/bin")
      .env("TERM", "dumb");
    for (k, v) in extra_env {
      cmd.env(k, v);
    }
    let out = cmd.stdin(std::process::Stdio::null()).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
  }
}

/// Runs the apply test `fn NAME(transport: Transport)` under every [`Transport`],
/// as the tests `NAME::local` and `NAME::ssh`; the test makes its trees with
/// `Tree::new(transport)`. `converge_test!(NAME, ssh_ignore = "why")` ignores the
/// SSH run, for a difference the product has yet to fix.
#[macro_export]
macro_rules! converge_test {
  ($name:ident) => {
    $crate::converge_test!($name, []);
  };
  ($name:ident, ssh_ignore = $why:literal) => {
    $crate::converge_test!($name, [ignore = $why]);
  };
  ($name:ident, [$($ssh:meta)?]) => {
    mod $name {
      #[test]
      fn local() {
        super::$name($crate::test::Transport::Local);
      }
      #[test]
      $(#[$ssh])?
      fn ssh() {
        super::$name($crate::test::Transport::Ssh);
      }
    }
  };
}

/// Runs `git` in `dir` with a fixed identity and `main` as the first branch;
/// panics with git's message when it fails.
pub(crate) fn git(dir: &std::path::Path, args: &[&str]) {
  let out = std::process::Command::new("git")
    .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"])
    .args(args)
    .current_dir(dir)
    .output()
    .unwrap_or_else(|e| panic!("git: {e}"));
  assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}
