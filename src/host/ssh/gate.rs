//! How many handshakes the controller runs at once.
//!
//! A host's thread waits on the network nearly all the time, but its key
//! exchange and authentication are the controller's CPU (and, on a loopback
//! testbed or through one jump host, the server's). Two hundred of them
//! started together make every one of them slow, so that a host that answers
//! at once still misses its connect timeout. The gate lets a bounded number
//! handshake at a time; the connect timeout starts when a host's turn comes,
//! and a host in its script (or waiting on it) holds no place.

use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

/// A counting semaphore.
pub(crate) struct Gate {
  free: Mutex<usize>,
  freed: Condvar,
}

/// A place in the gate, given back when dropped.
pub(crate) struct Place<'a> {
  gate: &'a Gate,
}

impl Gate {
  pub(crate) fn new(places: usize) -> Gate {
    Gate { free: Mutex::new(places.max(1)), freed: Condvar::new() }
  }

  /// Waits for a free place and takes it.
  pub(crate) fn enter(&self) -> Place<'_> {
    let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
    while *free == 0 {
      free = self.freed.wait(free).unwrap_or_else(PoisonError::into_inner);
    }
    *free -= 1;
    Place { gate: self }
  }
}

impl Drop for Place<'_> {
  fn drop(&mut self) {
    let mut free = self.gate.free.lock().unwrap_or_else(PoisonError::into_inner);
    *free += 1;
    self.gate.freed.notify_one();
  }
}

/// Handshakes at once: sixteen per CPU, at least 16 and at most 64. That keeps
/// every CPU busy with key exchanges while the rest wait on the network, and
/// a round of them short next to the connect timeout.
pub(crate) fn places(cpus: usize) -> usize {
  cpus.saturating_mul(16).clamp(16, 64)
}

/// The gate every SSH connection of this process passes.
pub(crate) fn handshakes() -> &'static Gate {
  static GATE: OnceLock<Gate> = OnceLock::new();
  GATE.get_or_init(|| Gate::new(places(std::thread::available_parallelism().map_or(1, usize::from))))
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::atomic::{AtomicUsize, Ordering};
  use std::time::Duration;

  #[test]
  fn no_more_than_its_places_are_inside_at_once() {
    let gate = Gate::new(3);
    let inside = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    std::thread::scope(|s| {
      for _ in 0..12 {
        s.spawn(|| {
          let _place = gate.enter();
          let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
          most.fetch_max(now, Ordering::SeqCst);
          std::thread::sleep(Duration::from_millis(20));
          inside.fetch_sub(1, Ordering::SeqCst);
        });
      }
    });
    assert_eq!(most.load(Ordering::SeqCst), 3);
    assert_eq!(*gate.free.lock().unwrap_or_else(PoisonError::into_inner), 3, "every place came back");
  }

  #[test]
  fn the_number_of_places_follows_the_cpus_within_bounds() {
    assert_eq!(places(0), 16);
    assert_eq!(places(1), 16);
    assert_eq!(places(2), 32);
    assert_eq!(places(64), 64);
  }
}
