//! How converge talks to a host: one small trait, so that the planner and the
//! applier are the same code over the local machine and over SSH.
//!
//! A transport runs a POSIX `sh` script with arguments and returns what it
//! printed. Everything converge does on a host is such a script, which keeps the
//! number of round trips per host fixed (facts in one, the apply in one).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What a script run printed, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOutput {
  pub stdout: Vec<u8>,
  pub stderr: Vec<u8>,
  /// The exit status; `None` when the script was killed.
  pub status: Option<i32>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
  #[error("cannot start `{program}`: {source}")]
  Spawn { program: String, source: std::io::Error },
  #[error("the script did not finish within {0:?}")]
  Timeout(Duration),
  #[error("i/o error while running the script: {0}")]
  Io(#[from] std::io::Error),
}

/// What a transport used: the frugality converge promises, made visible.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
  /// Connections opened to the host.
  pub connections: u32,
  /// Channels (one per script run) opened over them.
  pub channels: u32,
}

/// A way to run scripts on one host.
pub trait Transport: Send {
  /// The host as shown to people.
  fn host(&self) -> &str;

  /// Connections and channels used so far (none for the local machine).
  fn stats(&self) -> Stats {
    Stats::default()
  }

  /// Runs `sh -s -- ARGS` with `script` on standard input.
  fn run_script(
    &mut self,
    script: &str,
    args: &[String],
    timeout: Duration,
  ) -> Result<ScriptOutput, TransportError>;
}

/// The machine converge runs on.
pub struct Local {
  pub name: String,
}

impl Transport for Local {
  fn host(&self) -> &str {
    &self.name
  }

  fn run_script(
    &mut self,
    script: &str,
    args: &[String],
    timeout: Duration,
  ) -> Result<ScriptOutput, TransportError> {
    let mut child = Command::new("sh")
      .arg("-s")
      .arg("--")
      .args(args)
      .stdin(Stdio::piped())
      .stdout(Stdio::piped())
      .stderr(Stdio::piped())
      .spawn()
      .map_err(|source| TransportError::Spawn { program: "sh".to_owned(), source })?;
    // Output is drained while the script runs: a script that prints more
    // than a pipe holds (a large file read back) would otherwise block forever.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
      std::thread::spawn(move || {
        let mut data = Vec::new();
        if let Some(mut pipe) = pipe {
          let _ = pipe.read_to_end(&mut data);
        }
        data
      })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    if let Some(mut stdin) = child.stdin.take() {
      stdin.write_all(script.as_bytes())?;
    }
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
      if let Some(status) = child.try_wait()? {
        break status;
      }
      if std::time::Instant::now() >= deadline {
        let _ = child.kill();
        let _ = child.wait();
        return Err(TransportError::Timeout(timeout));
      }
      std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok(ScriptOutput { stdout, stderr, status: status.code() })
  }
}
