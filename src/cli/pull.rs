//! Pull mode's checkout: `converge enforce --local --git URL` clones the
//! repository on its first run and fast-forwards it to the remote's branch on
//! every later one, as ansible-pull does, so each host converges itself from
//! the playbooks a team reviewed and merged.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum PullError {
  #[error("cannot run git: {0} (pull mode needs git on this machine)")]
  Spawn(std::io::Error),
  #[error("`git {args}` failed: {stderr}")]
  Git { args: String, stderr: String },
  #[error("`{dir}` is a checkout of `{found}`, not of `{wanted}`; remove it or pass another --checkout")]
  OtherRemote { dir: PathBuf, found: String, wanted: String },
}

fn git(dir: Option<&Path>, args: &[&str]) -> Result<String, PullError> {
  let mut cmd = Command::new("git");
  if let Some(d) = dir {
    cmd.arg("-C").arg(d);
  }
  // Never ask for credentials on a timer.
  cmd.args(args).env("GIT_TERMINAL_PROMPT", "0");
  let out = cmd.output().map_err(PullError::Spawn)?;
  if out.status.success() {
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
  } else {
    Err(PullError::Git {
      args: args.join(" "),
      stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
  }
}

/// Brings `checkout` to the tip of `branch` (or the remote's default branch)
/// of `url`, and returns the commit it is at. Local edits in the checkout are
/// discarded: it belongs to converge.
pub fn sync(url: &str, branch: Option<&str>, checkout: &Path) -> Result<String, PullError> {
  if checkout.join(".git").exists() {
    let found = git(Some(checkout), &["config", "--get", "remote.origin.url"]).unwrap_or_default();
    if found != url {
      return Err(PullError::OtherRemote { dir: checkout.to_owned(), found, wanted: url.to_owned() });
    }
    git(Some(checkout), &["fetch", "--quiet", "origin", branch.unwrap_or("HEAD")])?;
    git(Some(checkout), &["reset", "--quiet", "--hard", "FETCH_HEAD"])?;
    git(Some(checkout), &["clean", "--quiet", "-fdx"])?;
  } else {
    if let Some(parent) = checkout.parent() {
      std::fs::create_dir_all(parent).map_err(PullError::Spawn)?;
    }
    let dir = checkout.display().to_string();
    let mut args = vec!["clone", "--quiet"];
    if let Some(b) = branch {
      args.extend(["--branch", b]);
    }
    args.extend(["--", url, &dir]);
    git(None, &args)?;
  }
  git(Some(checkout), &["rev-parse", "HEAD"])
}
