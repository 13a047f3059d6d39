//! Host errors: why a host's run stopped or its apply failed, each with a code
//! from the same table as the check-time diagnostics (`E7xx`).
//!
//! A resource that fails is a step's business (its diagnostics stay with the
//! step); a [`HostError`] is about the host as a whole: it could not be
//! reached, it changed under the plan, its lock was busy, the apply script did
//! not finish. The reporter shows them with their code in every format.

use crate::diagnostic::Code;
use std::fmt;
use std::time::Duration;

/// Why a host stopped, or why its apply did not finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
  /// Its settings do not let converge reach it (`--root` with an SSH host, an
  /// unusable port or connection type).
  Refused(String),
  /// Connection, host key or authentication refused.
  Unreachable(String),
  /// The facts script did not answer in full.
  Facts(String),
  /// The connection dropped during the run.
  Lost(String),
  /// An `assert` failed; nothing else runs on the host.
  Assertion(String),
  /// The host changed since the plan was made (a saved plan, or another run
  /// between this run's facts and its host lock).
  Stale(String),
  /// Another run held the host's lock for the whole wait.
  LockBusy { waited: Duration },
  /// No flock(1) on the host.
  NoFlock,
  /// converge's state directory on the host cannot be written.
  StateDir,
  /// The apply script ended before its end marker.
  ApplyEnded(String),
  /// The host's ledger could not be replaced.
  Ledger(String),
  /// Running the apply failed on the transport (timeout, broken channel).
  Transport(String),
}

impl HostError {
  /// The code in the diagnostics table.
  pub fn code(&self) -> Code {
    match self {
      HostError::Refused(_) => Code::HostRefused,
      HostError::Unreachable(_) => Code::HostUnreachable,
      HostError::Facts(_) => Code::Facts,
      HostError::Lost(_) => Code::HostLost,
      HostError::Assertion(_) => Code::HostAssertion,
      HostError::Stale(_) => Code::HostStale,
      HostError::LockBusy { .. } => Code::HostLockBusy,
      HostError::NoFlock => Code::HostNoFlock,
      HostError::StateDir => Code::HostStateDir,
      HostError::ApplyEnded(_) => Code::HostApplyEnded,
      HostError::Ledger(_) => Code::HostLedger,
      HostError::Transport(_) => Code::HostTransport,
    }
  }

  /// Whether the host was out of reach (rather than reached and failing).
  pub fn unreachable(&self) -> bool {
    matches!(self, HostError::Unreachable(_) | HostError::Lost(_))
  }

  /// Whether the host changed under the plan.
  pub fn stale(&self) -> bool {
    matches!(self, HostError::Stale(_))
  }
}

impl fmt::Display for HostError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      HostError::Refused(why)
      | HostError::Unreachable(why)
      | HostError::Lost(why)
      | HostError::Stale(why)
      | HostError::ApplyEnded(why)
      | HostError::Transport(why) => f.write_str(why),
      HostError::Facts(why) => write!(f, "cannot gather facts: {why}"),
      HostError::Assertion(why) => write!(f, "assertion failed: {why}"),
      HostError::LockBusy { waited } => write!(
        f,
        "another converge run holds this host's lock (waited {} s); nothing was changed",
        waited.as_secs().max(1)
      ),
      HostError::NoFlock => {
        f.write_str("the host has no flock(1) (util-linux) to take converge's lock; nothing was changed")
      }
      HostError::StateDir => write!(
        f,
        "cannot write converge's state directory {} on the host; nothing was changed",
        crate::plan::ledger::HOST_DIR
      ),
      HostError::Ledger(why) => write!(f, "cannot write the host's ledger: {why}"),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn every_host_error_has_a_code_of_its_own_in_the_e7xx_range_or_the_facts_code() {
    let all = [
      HostError::Refused(String::new()),
      HostError::Unreachable(String::new()),
      HostError::Facts(String::new()),
      HostError::Lost(String::new()),
      HostError::Assertion(String::new()),
      HostError::Stale(String::new()),
      HostError::LockBusy { waited: Duration::from_secs(1) },
      HostError::NoFlock,
      HostError::StateDir,
      HostError::ApplyEnded(String::new()),
      HostError::Ledger(String::new()),
      HostError::Transport(String::new()),
    ];
    let codes: std::collections::BTreeSet<&str> = all.iter().map(|e| e.code().as_str()).collect();
    assert_eq!(codes.len(), all.len(), "two host errors share a code: {codes:?}");
    assert!(codes.iter().all(|c| c.starts_with("E7") || *c == "E604"), "{codes:?}");
  }
}
