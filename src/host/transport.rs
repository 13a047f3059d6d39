//! How converge talks to a host: one small trait, so that the planner and the
//! applier are the same code over the local machine and over SSH.
//!
//! A transport runs a POSIX `sh` script with arguments and returns what it
//! printed. Everything converge does on a host is such a script, which keeps the
//! number of round trips per host fixed (facts in one, the apply in one).
//!
//! Everything a script needs goes to the host on the shell's standard input:
//! its arguments as a quoted `set --` line before it (a command line is
//! visible to every user of the host), and controller files it carries as
//! base64 read from disk while they are sent ([`Input`]), so that many hosts
//! in parallel never each hold a copy of a large file in memory.

use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
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

  /// Runs `sh -s` with `input` on standard input.
  fn run_input(&mut self, input: Input, timeout: Duration) -> Result<ScriptOutput, TransportError>;

  /// Runs `script` with arguments `$1`, `$2`... The arguments are sent on
  /// standard input, never on a command line.
  fn run_script(
    &mut self,
    script: &str,
    args: &[String],
    timeout: Duration,
  ) -> Result<ScriptOutput, TransportError> {
    self.run_input(Input::script(script, args), timeout)
  }
}

/// How many bytes of a file one base64 line carries (76 characters, as
/// coreutils prints them).
const LINE_BYTES: usize = 57;

/// One part of a script's input.
#[derive(Debug)]
enum Piece {
  Text(Vec<u8>),
  /// The first `len` bytes of a controller file, as base64 lines.
  File {
    path: PathBuf,
    len: u64,
  },
  /// Bytes in memory from `at` on, as base64 lines.
  Bytes {
    data: std::sync::Arc<[u8]>,
    at: usize,
  },
}

/// What a script run sends to `sh -s`: text, and controller files as base64
/// lines, read and encoded a block at a time as the host takes them. A file
/// that cannot be read ends the input with an error.
#[derive(Debug, Default)]
pub struct Input {
  pieces: VecDeque<Piece>,
  /// The open file of the first piece, and how many of its bytes are still to send.
  file: Option<(std::fs::File, u64)>,
  ready: Vec<u8>,
  at: usize,
}

impl Input {
  pub fn new() -> Input {
    Input::default()
  }

  /// `set -- ARGS` (quoted), then the script.
  pub fn script(script: &str, args: &[String]) -> Input {
    let mut text: String =
      if args.is_empty() { "set --".to_owned() } else { crate::host::shell::sh!("set -- {}", args).into() };
    text.push('\n');
    text.push_str(script);
    let mut input = Input::new();
    input.text(text);
    input
  }

  /// Appends text.
  pub fn text(&mut self, text: String) -> &mut Self {
    if !text.is_empty() {
      self.pieces.push_back(Piece::Text(text.into_bytes()));
    }
    self
  }

  /// Appends the first `len` bytes of a controller file as base64 lines of
  /// 76 characters, each ending in a newline. Nothing is read until it is sent.
  pub fn file(&mut self, path: PathBuf, len: u64) -> &mut Self {
    self.pieces.push_back(Piece::File { path, len });
    self
  }

  /// Appends bytes as base64 lines of 76 characters, each ending in a
  /// newline, encoded a block at a time as they are sent: the bytes are
  /// shared, not copied.
  pub fn bytes(&mut self, data: std::sync::Arc<[u8]>) -> &mut Self {
    self.pieces.push_back(Piece::Bytes { data, at: 0 });
    self
  }

  /// Makes the next bytes ready; `false` at the end.
  fn refill(&mut self) -> std::io::Result<bool> {
    self.ready.clear();
    self.at = 0;
    loop {
      match self.pieces.front_mut() {
        None => return Ok(false),
        Some(Piece::Text(text)) => {
          self.ready = std::mem::take(text);
          self.pieces.pop_front();
          return Ok(true);
        }
        Some(Piece::Bytes { data, at }) => {
          let block = &data[(*at).min(data.len())..data.len().min(*at + LINE_BYTES * 1024)];
          if block.is_empty() {
            self.pieces.pop_front();
            continue;
          }
          *at += block.len();
          self.ready = base64_lines(block).into_bytes();
          return Ok(true);
        }
        Some(Piece::File { path, len }) => {
          if self.file.is_none() {
            let file = std::fs::File::open(&*path)
              .map_err(|e| std::io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))?;
            self.file = Some((file, *len));
          }
          let Some((file, left)) = self.file.as_mut() else { continue };
          let mut block = vec![0u8; (LINE_BYTES * 1024).min(usize::try_from(*left).unwrap_or(usize::MAX))];
          let mut got = 0;
          while got < block.len() {
            match file.read(&mut block[got..]) {
              Ok(0) => break,
              Ok(n) => got += n,
              Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
              Err(e) => return Err(e),
            }
          }
          *left -= got as u64;
          if got == 0 {
            // The end, or a file that shrank: the host's sha256 check notices.
            self.file = None;
            self.pieces.pop_front();
            continue;
          }
          self.ready = base64_lines(&block[..got]).into_bytes();
          return Ok(true);
        }
      }
    }
  }
}

/// `block` as base64 lines of 76 characters, each ending in a newline.
fn base64_lines(block: &[u8]) -> String {
  let mut text = String::with_capacity(block.len() / LINE_BYTES * 77 + 80);
  for line in block.chunks(LINE_BYTES) {
    base64::Engine::encode_string(&base64::engine::general_purpose::STANDARD, line, &mut text);
    text.push('\n');
  }
  text
}

impl BufRead for Input {
  fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
    while self.at >= self.ready.len() {
      if !self.refill()? {
        break;
      }
    }
    Ok(&self.ready[self.at.min(self.ready.len())..])
  }

  fn consume(&mut self, amount: usize) {
    self.at = (self.at + amount).min(self.ready.len());
  }
}

impl Read for Input {
  fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
    let ready = self.fill_buf()?;
    let n = ready.len().min(buf.len());
    buf[..n].copy_from_slice(&ready[..n]);
    self.consume(n);
    Ok(n)
  }
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
  fn run_input(&mut self, mut input: Input, timeout: Duration) -> Result<ScriptOutput, TransportError> {
    let mut child = Command::new("sh")
      .arg("-s")
      .stdin(Stdio::piped())
      .stdout(Stdio::piped())
      .stderr(Stdio::piped())
      .spawn()
      .map_err(|source| TransportError::Spawn { program: "sh".to_owned(), source })?;
    let (done_tx, done_rx) = mpsc::channel::<()>();
    if let Some(mut stdin) = child.stdin.take() {
      // A script that exits without reading all of its input closes the pipe:
      // the rest is not needed. A file that cannot be read ends the input
      // early: the script's checks see what is missing.
      std::thread::spawn(move || {
        let _ = std::io::copy(&mut input, &mut stdin).and_then(|_| stdin.flush());
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
