//! The controller's run lock: one applying run per state directory.
//!
//! Two timers, or a timer and someone at a terminal, must not converge the same
//! fleet at once. An applying run takes an exclusive `flock` on
//! `STATE_DIR/run.lock`; a second run waits up to `--lock-timeout`, then stops
//! before contacting any host. The kernel drops the lock when the process
//! ends, so a killed run never leaves it held. Each host has a lock of its own,
//! taken by the apply script (see [`crate::apply`]), for runs from different
//! controllers or from pull mode; under it the apply first checks that the
//! files its plan read are still as planned, so that a run which planned while
//! another applied changes nothing instead of mixing both.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct RunLock {
  _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
  #[error("cannot take the run lock `{path}`: {source}")]
  Io { path: PathBuf, source: std::io::Error },
  #[error("another converge run holds `{path}` ({holder}); waited {waited} s and changed nothing")]
  Busy { path: PathBuf, holder: String, waited: u64 },
}

/// Takes `DIR/run.lock`, waiting up to `wait` for another run to finish.
pub fn acquire(dir: &Path, wait: Duration) -> Result<RunLock, LockError> {
  let path = dir.join("run.lock");
  let io = |source| LockError::Io { path: path.clone(), source };
  std::fs::create_dir_all(dir).map_err(io)?;
  let mut file =
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
  let started = Instant::now();
  loop {
    match file.try_lock() {
      Ok(()) => break,
      Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
        std::thread::sleep(Duration::from_millis(100));
      }
      Err(std::fs::TryLockError::WouldBlock) => {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        return Err(LockError::Busy {
          path,
          holder: if holder.is_empty() { "unknown process".to_owned() } else { holder.to_owned() },
          waited: wait.as_secs(),
        });
      }
      Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
  }
  // Say who holds it, for the run that has to wait.
  let _ = file.set_len(0);
  let _ = file.rewind();
  let _ = write!(file, "pid {} since {}", std::process::id(), crate::plan::ledger::now());
  Ok(RunLock { _file: file })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_second_run_waits_then_gives_up_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let first = acquire(dir.path(), Duration::from_secs(1));
    assert!(first.is_ok());
    let started = Instant::now();
    match acquire(dir.path(), Duration::from_millis(300)) {
      Err(LockError::Busy { holder, .. }) => {
        assert!(holder.contains(&std::process::id().to_string()), "{holder}")
      }
      other => panic!("expected Busy, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(300));
    drop(first);
    assert!(acquire(dir.path(), Duration::from_secs(1)).is_ok());
  }
}
