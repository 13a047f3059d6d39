//! How converge talks to a host: one small trait, so that the planner and the
//! applier are the same code over the local machine and over SSH.
//!
//! A transport runs a POSIX `sh` script with arguments and returns what it
//! printed. Everything converge does on a host is such a script, which keeps the
//! number of round trips per host fixed (facts in one, the apply in one).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

  /// Standard input is written and standard output and error are read on
  /// threads of their own: a script that prints more than a pipe holds before
  /// it has read all of its input cannot block.
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
    let (done_tx, done_rx) = mpsc::channel::<()>();
    if let Some(mut stdin) = child.stdin.take() {
      let script = script.as_bytes().to_vec();
      // A script that exits without reading all of its input closes the pipe:
      // the rest is not needed.
      std::thread::spawn(move || {
        let _ = stdin.write_all(&script);
      });
    }
    let stdout = child.stdout.take().map(|out| drain(out, done_tx.clone()));
    let stderr = child.stderr.take().map(|err| drain(err, done_tx.clone()));
    drop(done_tx);
    let deadline = Instant::now() + timeout;
    // Both readers end at end of file: when the script and everything it
    // started closed their output.
    let mut open = usize::from(stdout.is_some()) + usize::from(stderr.is_some());
    while open > 0 {
      match done_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(()) => open -= 1,
        Err(mpsc::RecvTimeoutError::Disconnected) => break,
        Err(mpsc::RecvTimeoutError::Timeout) => {
          let _ = child.kill();
          let _ = child.wait();
          return Err(TransportError::Timeout(timeout));
        }
      }
    }
    let status = loop {
      if let Some(status) = child.try_wait()? {
        break status;
      }
      if Instant::now() >= deadline {
        let _ = child.kill();
        let _ = child.wait();
        return Err(TransportError::Timeout(timeout));
      }
      std::thread::sleep(Duration::from_millis(5));
    };
    let collect =
      |reader: Option<std::thread::JoinHandle<std::io::Result<Vec<u8>>>>| -> std::io::Result<Vec<u8>> {
        match reader {
          Some(handle) => handle.join().unwrap_or_else(|_| Ok(Vec::new())),
          None => Ok(Vec::new()),
        }
      };
    Ok(ScriptOutput { stdout: collect(stdout)?, stderr: collect(stderr)?, status: status.code() })
  }
}

/// Reads a pipe to its end on a thread, then says so on `done`.
fn drain<R: Read + Send + 'static>(
  mut pipe: R,
  done: mpsc::Sender<()>,
) -> std::thread::JoinHandle<std::io::Result<Vec<u8>>> {
  std::thread::spawn(move || {
    let mut data = Vec::new();
    let result = pipe.read_to_end(&mut data).map(|_| data);
    let _ = done.send(());
    result
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  /// More output than a pipe holds, from a script longer than a pipe holds:
  /// neither side may wait for the other.
  #[test]
  fn large_output_and_input_do_not_block() -> Result<(), TransportError> {
    let mut local = Local { name: "localhost".to_owned() };
    let filler = format!(": '{}'\n", "x".repeat(200_000));
    let script = format!("{filler}head -c 300000 /dev/zero | tr '\\0' a\nhead -c 100000 /dev/zero >&2\n");
    let started = Instant::now();
    let out = local.run_script(&script, &[], Duration::from_secs(20))?;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.stdout.len(), 300_000);
    assert_eq!(out.stderr.len(), 100_000);
    assert_eq!(out.status, Some(0));
    Ok(())
  }

  #[test]
  fn a_script_past_its_time_is_killed() {
    let mut local = Local { name: "localhost".to_owned() };
    let started = Instant::now();
    let out = local.run_script("exec sleep 30\n", &[], Duration::from_millis(300));
    assert!(matches!(out, Err(TransportError::Timeout(_))), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
  }
}
