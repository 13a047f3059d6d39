//! A builder that runs the real binary in a temporary directory and compares its
//! exit status, standard output and standard error exactly.

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
