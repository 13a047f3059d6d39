//! Proxies: `ProxyJump` and `ProxyCommand`, and the processes they start.
//!
//! A `ProxyJump` becomes the `ssh -W` OpenSSH itself would run (the last hop
//! forwards the stream, earlier hops chain with `-J`; user and port go as
//! `-l`/`-p`, the host after `--`), started without a shell. Before anything
//! starts, the whole chain, with the jumps each first hop's own configuration
//! adds, is followed through `ssh -G` and refused when it loops or passes more
//! than [`MAX_JUMPS`] hosts. A `ProxyCommand` runs under `sh -c` as OpenSSH
//! runs it, its tokens restricted to plain values. Every proxy runs in its
//! own process group, bounded in size while it connects ([`Watchdog`]) and
//! killed with the connection ([`Helper`]).

use super::config::{ClientConfig, Tokens, plain_host, plain_user};
use super::{ConnectError, MAX_JUMPS, Proxy, Target};
use ssh2::Session;
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

impl ClientConfig {
  /// The `ssh -W` that makes a `ProxyJump` (`hops`, tokens expanded), as
  /// OpenSSH makes it: the last hop forwards the stream, earlier hops chain with
  /// `-J`. The whole chain, with the jumps each first hop's own configuration
  /// adds, is followed through `ssh -G` first and refused when it loops.
  pub(crate) fn jump(&self, target: &Tokens, hops: &str, timeout: Duration) -> Result<Proxy, ConnectError> {
    let hops =
      hops.split(',').map(|h| Hop::parse(h, target.target, "ProxyJump")).collect::<Result<Vec<_>, _>>()?;
    if hops.len() > MAX_JUMPS {
      return Err(ConnectError::Config(format!(
        "refusing {}: its `ProxyJump` in the ssh config lists {} hosts; at most {MAX_JUMPS} are followed",
        target.target,
        hops.len()
      )));
    }
    self.check_chain(target, &hops)?;
    let Some((last, earlier)) = hops.split_last() else {
      return Err(ConnectError::Config(format!(
        "{}: `ProxyJump` in the ssh config names no host",
        target.target
      )));
    };
    let mut args = self.config_args();
    args.extend(["-o", "BatchMode=yes"].map(str::to_owned));
    args.extend(["-o".to_owned(), format!("ConnectTimeout={}", timeout.as_secs().max(1))]);
    if !earlier.is_empty() {
      args.push("-J".to_owned());
      args.push(earlier.iter().map(Hop::text).collect::<Vec<_>>().join(","));
    }
    let forward = if target.host.contains(':') {
      format!("[{}]:{}", target.host, target.port)
    } else {
      format!("{}:{}", target.host, target.port)
    };
    args.extend(["-W".to_owned(), forward]);
    args.extend(last.destination_args());
    Ok(Proxy::Jump(args))
  }

  /// Follows the jump chain of `target` as `ssh` will: the first hop is
  /// reached with its own configuration, whose `ProxyJump` adds the next
  /// first hop, and so on. A host met twice is a loop that would start `ssh`
  /// processes without end.
  fn check_chain(&self, target: &Tokens, hops: &[Hop]) -> Result<(), ConnectError> {
    let mut seen = vec![target.name.to_ascii_lowercase()];
    let mut next = hops.first().cloned();
    while let Some(hop) = next.take() {
      let key = hop.host.to_ascii_lowercase();
      let looped = seen.contains(&key);
      seen.push(key);
      if looped {
        return Err(ConnectError::Config(format!(
          "refusing {}: its `ProxyJump` chain in the ssh config loops: {}; \
           every jump would start another `ssh` without end. Set `ProxyJump none` on the jump host.",
          target.target,
          seen.join(" -> ")
        )));
      }
      if seen.len() > MAX_JUMPS + 1 {
        return Err(ConnectError::Config(format!(
          "refusing {}: its `ProxyJump` chain in the ssh config passes more than {MAX_JUMPS} hosts: {}",
          target.target,
          seen.join(" -> ")
        )));
      }
      let resolved = self.resolve(&hop.host, hop.port, hop.user.as_deref(), &[]).map_err(|why| {
        ConnectError::Config(format!(
          "{}: cannot follow the `ProxyJump` through {}: {why}",
          target.target,
          hop.text()
        ))
      })?;
      if resolved.get("proxycommand").is_some() {
        break;
      }
      let Some(jump) = resolved.get("proxyjump") else { break };
      let port = resolved.get("port").and_then(|p| p.parse().ok()).unwrap_or(22);
      let tokens = Tokens {
        target: target.target,
        host: resolved.get("hostname").unwrap_or(&hop.host),
        name: &hop.host,
        port,
        user: resolved.get("user").unwrap_or_default(),
      };
      let jump = tokens.expand(jump, "ProxyJump")?;
      let first = jump.split(',').next().unwrap_or_default();
      next = Some(Hop::parse(first, target.target, "ProxyJump")?);
    }
    Ok(())
  }
}

/// One host of a `ProxyJump` list: `[user@]host[:port]` or
/// `ssh://[user@]host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hop {
  pub user: Option<String>,
  pub host: String,
  pub port: Option<u16>,
}

impl Hop {
  pub(crate) fn parse(text: &str, target: &str, keyword: &str) -> Result<Hop, ConnectError> {
    let bad = |why: &str| {
      ConnectError::Config(format!(
        "refusing {target}: `{keyword}` in the ssh config names the hop {text:?}, which {why}; \
         write `[user@]host[:port]`"
      ))
    };
    let rest = text.trim();
    let rest = rest.strip_prefix("ssh://").unwrap_or(rest);
    let (user, hostport) = match rest.rsplit_once('@') {
      Some((u, h)) => (Some(u), h),
      None => (None, rest),
    };
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
      let (host, after) = inner.split_once(']').ok_or_else(|| bad("has no closing `]`"))?;
      match after {
        "" => (host, None),
        p => (host, Some(p.strip_prefix(':').ok_or_else(|| bad("has text after `]`"))?)),
      }
    } else {
      match hostport.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (hostport, None),
      }
    };
    if !plain_host(host) {
      return Err(bad("is not a plain host name or address"));
    }
    if let Some(u) = user
      && !plain_user(u)
    {
      return Err(bad("has a user that is not a plain user name"));
    }
    let port = match port {
      None => None,
      Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| bad("has no valid port"))?),
    };
    Ok(Hop { user: user.map(str::to_owned), host: host.to_owned(), port })
  }

  /// The hop as `-J` takes it.
  pub(crate) fn text(&self) -> String {
    let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
    let user = self.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
    let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
    format!("{user}{host}{port}")
  }

  /// The hop as the destination of `ssh`: options, then `--` and the host.
  pub(crate) fn destination_args(&self) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(p) = self.port {
      args.extend(["-p".to_owned(), p.to_string()]);
    }
    if let Some(u) = &self.user {
      args.extend(["-l".to_owned(), u.clone()]);
    }
    args.extend(["--".to_owned(), self.host.clone()]);
    args
  }
}

/// Opens the byte stream to the host: TCP, or a proxy's pipes. Also returns a
/// second descriptor of the socket, to watch for the server's answers.
pub(super) fn open_stream(target: &Target) -> Result<(Session, Option<Helper>, OwnedFd), ConnectError> {
  use std::os::unix::process::CommandExt;
  let connect_error =
    |why: String| ConnectError::Connect { address: target.address.clone(), port: target.port, why };
  let mut session = Session::new().map_err(|e| connect_error(e.to_string()))?;
  match &target.proxy {
    Some(proxy) => {
      let (ours, theirs) =
        std::os::unix::net::UnixStream::pair().map_err(|e| connect_error(e.to_string()))?;
      let theirs_out = theirs.try_clone().map_err(|e| connect_error(e.to_string()))?;
      let probe = OwnedFd::from(ours.try_clone().map_err(|e| connect_error(e.to_string()))?);
      let (mut command, shown) = match proxy {
        Proxy::Command(line) => {
          // As OpenSSH runs it: `exec` so that the shell is the proxy.
          let mut c = Command::new("sh");
          c.arg("-c").arg(format!("exec {line}"));
          (c, format!("the proxy command `{line}`"))
        }
        Proxy::Jump(args) => {
          let mut c = Command::new("ssh");
          c.args(args);
          (c, "`ssh` for the ProxyJump".to_owned())
        }
      };
      // Its own process group: the whole chain it starts is killed with it.
      let child = command
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::from(OwnedFd::from(theirs_out)))
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| connect_error(format!("cannot start {shown}: {e}")))?;
      let watch = i32::try_from(child.id()).ok().map(Watchdog::start);
      let mut helper = Helper { child: Some(child), said: Said::default(), watch };
      if let Some(stderr) = helper.child.as_mut().and_then(|c| c.stderr.take()) {
        helper.said.collect(stderr);
      }
      session.set_tcp_stream(ours);
      Ok((session, Some(helper), probe))
    }
    None => {
      let addresses = (target.address.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| connect_error(format!("cannot resolve the address: {e}")))?;
      let mut last = String::from("the name resolves to no address");
      for address in addresses {
        match TcpStream::connect_timeout(&address, target.connect_timeout) {
          Ok(stream) => {
            let socket = socket2::SockRef::from(&stream);
            let _ = socket.set_keepalive(true);
            let _ = stream.set_nodelay(true);
            let probe = OwnedFd::from(stream.try_clone().map_err(|e| connect_error(e.to_string()))?);
            session.set_tcp_stream(stream);
            return Ok((session, None, probe));
          }
          Err(e) => last = e.to_string(),
        }
      }
      Err(connect_error(last))
    }
  }
}

/// A proxy started for a connection, in its own process group; dropping it
/// kills the group.
pub(super) struct Helper {
  child: Option<Child>,
  /// What it wrote on standard error, when that is collected.
  pub said: Said,
  /// Bounds its processes while the connection is being made.
  watch: Option<Watchdog>,
}

/// How many processes a proxy's group may hold while it connects: a jump
/// chain of `MAX_JUMPS` hosts needs an `ssh` and a shell per hop.
pub const MAX_PROXY_PROCESSES: usize = 4 * MAX_JUMPS;

/// Counts the processes of a proxy's group while the connection is made. A
/// proxy that reaches itself (`ProxyCommand ssh -W %h:%p gw` where `gw` has
/// the same `ProxyCommand`) starts `ssh` after `ssh` until the machine runs
/// out of memory; past [`MAX_PROXY_PROCESSES`] the group is killed.
struct Watchdog {
  stop: Arc<AtomicBool>,
  runaway: Arc<AtomicBool>,
  thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
  fn start(group: i32) -> Watchdog {
    let stop = Arc::new(AtomicBool::new(false));
    let runaway = Arc::new(AtomicBool::new(false));
    let (stopping, fired) = (Arc::clone(&stop), Arc::clone(&runaway));
    let thread = std::thread::spawn(move || {
      while !stopping.load(Ordering::SeqCst) {
        if group_size(group) > MAX_PROXY_PROCESSES {
          fired.store(true, Ordering::SeqCst);
          if let Some(pid) = rustix::process::Pid::from_raw(group) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
          }
          return;
        }
        std::thread::sleep(Duration::from_millis(25));
      }
    });
    Watchdog { stop, runaway, thread: Some(thread) }
  }

  /// Stops watching; whether the group had to be killed.
  fn finish(&mut self) -> bool {
    self.stop.store(true, Ordering::SeqCst);
    if let Some(t) = self.thread.take() {
      let _ = t.join();
    }
    self.runaway.load(Ordering::SeqCst)
  }
}

/// The live processes whose process group is `group`.
fn group_size(group: i32) -> usize {
  let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
  entries
    .flatten()
    .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
    .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
    .filter(|stat| {
      // `pid (comm) state ppid pgrp ...`; the name may hold spaces and parentheses.
      let mut rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default().split_whitespace();
      let state = rest.next();
      let pgrp = rest.nth(1).and_then(|g| g.parse::<i32>().ok());
      state != Some("Z") && pgrp == Some(group)
    })
    .count()
}

/// The first bytes a proxy writes on standard error, kept for messages; the
/// rest is read and dropped, so the proxy never blocks on a full pipe.
#[derive(Clone, Default)]
pub(super) struct Said(Arc<Mutex<Vec<u8>>>);

impl Said {
  const KEEP: usize = 8 * 1024;

  fn collect(&self, mut from: std::process::ChildStderr) {
    let said = self.clone();
    std::thread::spawn(move || {
      let mut buf = [0u8; 4096];
      while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
          break;
        }
        let mut kept = said.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let room = Self::KEEP.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
      }
    });
  }

  /// The last line written, waiting a moment for a proxy that is exiting.
  pub(super) fn last_line(&self) -> Option<String> {
    for _ in 0..20 {
      let kept = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
      let text = String::from_utf8_lossy(&kept);
      if let Some(line) = text.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
        return Some(line.chars().filter(|c| !c.is_control()).take(300).collect());
      }
      drop(kept);
      std::thread::sleep(Duration::from_millis(10));
    }
    None
  }
}

impl Helper {
  /// The connection is made (or failed): stop watching. Whether the proxy's
  /// processes ran away and were killed.
  pub(super) fn settle(&mut self) -> bool {
    self.watch.as_mut().is_some_and(Watchdog::finish)
  }
}

impl Drop for Helper {
  fn drop(&mut self) {
    self.settle();
    if let Some(mut child) = self.child.take() {
      // Not reaped yet, so the group id is still this child's.
      if let Some(pid) = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
      }
      let _ = child.kill();
      let _ = child.wait();
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn jump_hops_parse_as_openssh_writes_them() {
    let hop = |s: &str| Hop::parse(s, "web", "ProxyJump").map(|h| (h.user, h.host, h.port)).ok();
    assert_eq!(hop("bastion"), Some((None, "bastion".to_owned(), None)));
    assert_eq!(hop("ops@bastion:2200"), Some((Some("ops".to_owned()), "bastion".to_owned(), Some(2200))));
    assert_eq!(
      hop("ssh://ops@bastion:2200"),
      Some((Some("ops".to_owned()), "bastion".to_owned(), Some(2200)))
    );
    assert_eq!(hop("[::1]:2200"), Some((None, "::1".to_owned(), Some(2200))));
    for bad in ["-oProxyCommand=x", "a;b", "ops@", "host:0", "host:http", "[::1", "o p@host"] {
      assert_eq!(hop(bad), None, "{bad}");
    }
    let text = Hop::parse("ops@[::1]:2200", "web", "ProxyJump").map(|h| (h.text(), h.destination_args()));
    let args = ["-p", "2200", "-l", "ops", "--", "::1"].map(str::to_owned).to_vec();
    assert_eq!(text.ok(), Some(("ops@[::1]:2200".to_owned(), args)));
  }
}
