//! The session: one TCP connection (or proxy stream) per host, one exec
//! channel per script.
//!
//! Scripts run as `sh -s` under the login user's shell, with the script on
//! standard input; standard output and error are read while the script is
//! written, so neither side can stall the other, and a deadline bounds the
//! whole exchange. A quiet connection is probed with keepalives: a host that
//! leaves them unanswered for the connect timeout is lost (unreachable), while
//! a live host whose script outruns the deadline has failed.

use super::auth::{authenticate, check_host_key, host_key_preference};
use super::known_hosts::{self, KnownHosts};
use super::proxy::{Helper, open_stream};
use super::{ConnectError, MAX_PROXY_PROCESSES, Target, lookup_name};
use crate::host::transport::{Input, ScriptOutput, Stats, Transport, TransportError};
use ssh2::Session;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A connected, authenticated host.
pub struct Ssh {
  name: String,
  session: Session,
  stats: Stats,
  keepalive: Duration,
  connect_timeout: Duration,
  /// A second descriptor of the socket libssh2 reads: bytes waiting there
  /// show that the server still answers.
  probe: OwnedFd,
  /// Set when the host stopped answering.
  lost: Arc<AtomicBool>,
  /// Held for its `Drop`: the proxy lives as long as the connection.
  _proxy: Option<Helper>,
}

impl Ssh {
  /// Connects, checks the host key, and authenticates.
  pub fn connect(target: &Target) -> Result<Ssh, ConnectError> {
    // `HostKeyAlias` names the host in known_hosts, with no port.
    let name = match &target.host_key_alias {
      Some(alias) => alias.clone(),
      None => lookup_name(&target.address, target.port),
    };
    let read_error = |e: known_hosts::ReadError| ConnectError::HostKey(format!("{}: {e}", target.name));
    let known = KnownHosts::load(&target.known_hosts, &name).map_err(read_error)?;
    // Key types known for the host go first; off port 22 with nothing known,
    // those of the bare host, which may vouch for it.
    let mut types: Vec<String> = known.key_types().into_iter().map(str::to_owned).collect();
    if types.is_empty() && target.port != 22 && target.host_key_alias.is_none() {
      let bare = KnownHosts::load(&target.known_hosts, &target.address).map_err(read_error)?;
      types = bare.key_types().into_iter().map(str::to_owned).collect();
    }
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
    let mut tries = 1;
    // The turn is held through authentication, and given back on the way out.
    let (session, proxy, probe, _turn) = loop {
      let (mut session, mut proxy, probe) = open_stream(target)?;
      // Connected: the handshake waits for its turn (see [`super::gate`]), and
      // its timeout runs from there. A host that does not even accept the
      // connection never holds a turn.
      let turn = super::gate::handshakes().enter();
      session.set_timeout(millis(target.connect_timeout));
      let _ = session.method_pref(ssh2::MethodType::HostKey, &host_key_preference(&types));
      let shaken = session.handshake();
      if proxy.as_mut().is_some_and(Helper::settle) {
        return Err(ConnectError::Connect {
          address: target.address.clone(),
          port: target.port,
          why: format!(
            "the proxy started more than {MAX_PROXY_PROCESSES} processes and was stopped; does its \
             `ProxyCommand` or `ProxyJump` reach a host that goes through the same proxy again?"
          ),
        });
      }
      let e = match shaken {
        Ok(()) => break (session, proxy, probe, turn),
        Err(e) => e,
      };
      // A server that closed the connection before the keys were agreed
      // (sshd's MaxStartups, or a fork that failed under a burst of
      // connections) is tried again after a pause; a proxy's own failure is
      // not (it said why), nor a host that did not answer in time.
      if proxy.is_none() && tries < CONNECT_TRIES && closed_early(&e) {
        drop((turn, session));
        std::thread::sleep(retry_pause(&target.name, tries));
        tries += 1;
        continue;
      }
      let mut why = if e.code() == ssh2::ErrorCode::Session(-9) {
        format!("no answer within {:?} (is the host hung?)", target.connect_timeout)
      } else {
        e.message().to_owned()
      };
      if tries > 1 {
        why.push_str(&format!(" ({tries} tries: the server closed each connection before the key exchange)"));
      }
      if let Some(line) = proxy.as_ref().and_then(|p| p.said.last_line()) {
        why.push_str(&format!("; the proxy said: {line}"));
      }
      return Err(ConnectError::Handshake { address: target.address.clone(), port: target.port, why });
    };
    check_host_key(&session, target, &name, &known)?;
    authenticate(&session, target)?;
    // Keepalives ask for a reply; `run_input` sends them when the connection
    // is quiet, and configures them only for that (see [`Ssh::keepalives`]).
    session.set_keepalive(true, 0);
    Ok(Ssh {
      name: target.name.clone(),
      session,
      // Each try was a connection.
      stats: Stats { connections: tries, channels: 0 },
      keepalive: target.keepalive,
      connect_timeout: target.connect_timeout,
      probe,
      lost: Arc::new(AtomicBool::new(false)),
      _proxy: proxy,
    })
  }

  /// Set once the host stopped answering (no reply to keepalives, or to a
  /// channel request, within the connect timeout): the host is unreachable,
  /// whatever the script it was running got done.
  pub fn lost(&self) -> Arc<AtomicBool> {
    Arc::clone(&self.lost)
  }

  /// Whether bytes from the server wait on the socket (before libssh2 reads them).
  fn server_sent(&self) -> bool {
    let mut byte = [0u8; 1];
    matches!(
      rustix::net::recv(&self.probe, &mut byte, rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT),
      Ok((_, n)) if n > 0
    )
  }

  /// Sleeps until the socket has bytes from the server, or can take the bytes
  /// libssh2 waits to send, or `at_most` passed: a host that is slow to answer
  /// costs the controller no CPU while it waits (no polling loop).
  fn wait_for_socket(&self, at_most: Duration) {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut flags = PollFlags::IN;
    if matches!(
      self.session.block_directions(),
      ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
    ) {
      flags |= PollFlags::OUT;
    }
    let mut fds = [PollFd::new(&self.probe, flags)];
    let timeout = Timespec { tv_sec: 0, tv_nsec: i64::from(at_most.subsec_nanos()) };
    // Woken early or interrupted, the caller's loop simply looks again.
    let _ = rustix::event::poll(&mut fds, Some(&timeout));
  }

  /// Turns libssh2's keepalives on (for `keepalive_send` in the non-blocking
  /// loop) or off (for blocking calls). While they are on, libssh2 bounds each
  /// wait of a blocking call by the keepalive interval instead of the timeout
  /// set, so a channel that took two seconds to open under load failed as
  /// "timed out" however long the timeout was.
  fn keepalives(&self, on: bool) {
    self.session.set_keepalive(true, u32::from(on));
  }

  /// Marks the host lost and says why.
  fn gone(&self, why: String) -> TransportError {
    self.lost.store(true, Ordering::SeqCst);
    TransportError::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, why))
  }
}

/// Connections a host gets when its server closes them before the key
/// exchange.
const CONNECT_TRIES: u32 = 3;

/// Whether the handshake failed because the server closed or reset the
/// connection (no banner, or the socket gone during the key exchange), rather
/// than by not answering or by refusing what was offered.
fn closed_early(e: &ssh2::Error) -> bool {
  // libssh2: BANNER_RECV, KEX_FAILURE, SOCKET_SEND, KEY_EXCHANGE_FAILURE,
  // SOCKET_DISCONNECT, SOCKET_RECV.
  matches!(e.code(), ssh2::ErrorCode::Session(-2 | -5 | -7 | -8 | -13 | -43))
}

/// The pause before try `tries + 1`: half a second, then a second, spread by
/// up to a quarter second per host so that a burst does not come back as one.
fn retry_pause(host: &str, tries: u32) -> Duration {
  let spread = host.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) % 250;
  Duration::from_millis(500 * u64::from(tries) + spread)
}

fn millis(d: Duration) -> u32 {
  u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1)
}

impl Drop for Ssh {
  fn drop(&mut self) {
    self.session.set_blocking(true);
    self.session.set_timeout(1000);
    let _ = self.session.disconnect(None, "converge done", None);
    // Then `proxy` drops: its process group is killed.
  }
}

fn would_block(e: &std::io::Error) -> bool {
  e.kind() == std::io::ErrorKind::WouldBlock
}

fn ssh_error(e: ssh2::Error) -> TransportError {
  TransportError::Io(std::io::Error::other(e.message().to_owned()))
}

impl Transport for Ssh {
  fn host(&self) -> &str {
    &self.name
  }

  fn stats(&self) -> Stats {
    self.stats
  }

  fn run_input(&mut self, mut input: Input, timeout: Duration) -> Result<ScriptOutput, TransportError> {
    use std::io::BufRead;
    let deadline = Instant::now() + timeout;

    // Opening the channel is one round trip: a host that does not answer it
    // within the connect timeout is gone.
    self.keepalives(false);
    self.session.set_blocking(true);
    self.session.set_timeout(millis(self.connect_timeout.min(timeout)));
    let opened = self.session.channel_session();
    if opened.is_ok() {
      self.stats.channels += 1;
    }
    let opened = opened.and_then(|mut c| c.exec("sh -s").map(|()| c));
    let mut channel = match opened {
      Ok(c) => c,
      Err(e) if e.code() == ssh2::ErrorCode::Session(-9) => {
        return Err(self.gone(format!(
          "the host stopped answering: no reply to opening a channel within {:?}",
          self.connect_timeout.min(timeout)
        )));
      }
      Err(e) => return Err(ssh_error(e)),
    };
    let session = &self.session;
    session.set_timeout(millis(timeout));
    self.keepalives(true);
    session.set_blocking(false);

    let mut all_written = false;
    let mut eof_sent = false;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    // When the server last sent anything, and when the first keepalive since went out.
    let mut heard = Instant::now();
    let mut probed: Option<Instant> = None;
    let mut last_probe = Instant::now();
    // Quiet this long, ask whether the host is there; unanswered for the
    // connect timeout, it is not. Probes repeat meanwhile (OpenSSH's
    // ServerAliveCountMax is 3), so one reply libssh2 reads before the probe
    // descriptor sees it cannot make a live host look dead.
    let ask_after = self.keepalive.min(self.connect_timeout);
    let answer_within = self.connect_timeout;
    let repeat = (answer_within / 3).max(Duration::from_millis(500));
    loop {
      let mut progressed = false;
      if self.server_sent() {
        heard = Instant::now();
        probed = None;
      }
      if !all_written {
        let ready = input.fill_buf()?;
        if ready.is_empty() {
          all_written = true;
        } else {
          match channel.write(ready) {
            Ok(n) => {
              input.consume(n);
              progressed = n > 0;
            }
            Err(e) if would_block(&e) => {}
            // The script stopped reading (it exited early): keep its output.
            Err(_) => all_written = true,
          }
        }
      } else if !eof_sent {
        match channel.send_eof() {
          Ok(()) => eof_sent = true,
          Err(e) if e.code() == ssh2::ErrorCode::Session(-37) => {}
          Err(_) => eof_sent = true,
        }
      }
      for stream in [0, 1] {
        loop {
          let read = if stream == 0 { channel.read(&mut buf) } else { channel.stderr().read(&mut buf) };
          match read {
            Ok(0) => break,
            Ok(n) => {
              let sink = if stream == 0 { &mut stdout } else { &mut stderr };
              sink.extend_from_slice(&buf[..n]);
              progressed = true;
              heard = Instant::now();
              probed = None;
            }
            Err(e) if would_block(&e) => break,
            Err(e) => return Err(TransportError::Io(e)),
          }
        }
      }
      if channel.eof() {
        break;
      }
      let now = Instant::now();
      if now >= deadline {
        return Err(TransportError::Timeout(timeout));
      }
      match probed {
        None if now.duration_since(heard) >= ask_after => {
          // The clock runs even when the probe cannot go out (a stopped
          // host's receive window fills): silence is what counts.
          let _ = session.keepalive_send();
          probed = Some(now);
          last_probe = now;
        }
        Some(at) if now.duration_since(at) >= answer_within => {
          return Err(self.gone(format!(
            "the host stopped answering: no reply to SSH keepalives for {:?} (its sshd is stopped or \
             hung, or the network dropped the connection)",
            now.duration_since(heard)
          )));
        }
        Some(_) if now.duration_since(last_probe) >= repeat => {
          let _ = session.keepalive_send();
          last_probe = now;
        }
        _ => {}
      }
      if !progressed {
        self.wait_for_socket(Duration::from_millis(50));
      }
    }
    self.keepalives(false);
    session.set_blocking(true);
    let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
    session.set_timeout(u32::try_from(left.as_millis()).unwrap_or(u32::MAX));
    // Whatever is still buffered after EOF.
    let _ = channel.read_to_end(&mut stdout);
    let _ = channel.stderr().read_to_end(&mut stderr);
    let _ = channel.wait_close();
    let status = channel.exit_status().ok();
    Ok(ScriptOutput { stdout, stderr, status })
  }
}
