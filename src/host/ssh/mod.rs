//! The SSH transport: one TCP connection per host, one exec channel per script.
//!
//! A host is reached with settings from the inventory (`ansible_host`,
//! `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file`) over those
//! of `~/.ssh/config` (`Host` patterns, `HostName`, `User`, `Port`,
//! `IdentityFile`, `ProxyJump`, `ProxyCommand`, `UserKnownHostsFile`,
//! `StrictHostKeyChecking`, `ConnectTimeout`, `ServerAliveInterval`), as
//! Ansible does. The server's key is checked against known_hosts before any
//! authentication: an unknown or changed key refuses the host. Authentication
//! is by public key, from ssh-agent and from identity files.
//!
//! Scripts run as `sh -s` under the login user's shell, with the script on
//! standard input; standard output and error are read while the script is
//! written, so neither side can stall the other, and a deadline bounds the
//! whole exchange. A quiet connection is probed with keepalives: a host that
//! leaves them unanswered for the connect timeout is lost (unreachable), while
//! a live host whose script outruns the deadline has failed.
//!
//! Nothing from the inventory or the ssh config reaches a shell unchecked:
//! `ProxyCommand` tokens take plain host and user names only, `ProxyJump`
//! runs `ssh` without a shell, its chain is followed (`ssh -G`) and refused
//! when it loops, and every proxy runs in its own process group, bounded in
//! size while it connects and killed with the connection.

mod includes;
pub mod known_hosts;

use crate::host::transport::{Input, ScriptOutput, Stats, Transport, TransportError};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
pub use known_hosts::lookup_name;
use known_hosts::{KnownHosts, Verdict};
use sha2::Digest;
use ssh2::{HostKeyType, Session};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to do with a host whose key is not in known_hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HostKeyPolicy {
  /// Refuse it (the default).
  #[default]
  Strict,
  /// Trust it on first use and record it; a changed key is still refused.
  AcceptNew,
}

/// Settings shared by every connection of a run.
#[derive(Clone, Debug)]
pub struct Options {
  /// `None`: the policy of the ssh config, else strict.
  pub host_key_policy: Option<HostKeyPolicy>,
  pub connect_timeout: Duration,
  /// Sends a keepalive when the connection has been quiet this long.
  pub keepalive: Duration,
  /// The user's home, for `~/.ssh`.
  pub home: PathBuf,
  /// The ssh client configuration; `~/.ssh/config` when it exists.
  pub config: Option<PathBuf>,
}

impl Default for Options {
  fn default() -> Options {
    Options {
      host_key_policy: None,
      connect_timeout: Duration::from_secs(10),
      keepalive: Duration::from_secs(15),
      home: std::env::var_os("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from),
      config: None,
    }
  }
}

/// How to reach one host, with every setting resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
  /// The inventory name.
  pub name: String,
  pub address: String,
  pub port: u16,
  pub user: String,
  /// Identity files to try after the agent, in order.
  pub identities: Vec<PathBuf>,
  /// Whether the identities were named (then a missing one is an error).
  pub identities_named: bool,
  /// What carries the byte stream when it is not a direct TCP connection.
  pub proxy: Option<Proxy>,
  pub known_hosts: Vec<PathBuf>,
  pub policy: HostKeyPolicy,
  pub connect_timeout: Duration,
  pub keepalive: Duration,
}

/// A program whose standard input and output reach the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proxy {
  /// `ProxyCommand`, tokens expanded, run by `sh -c` as OpenSSH runs it.
  Command(String),
  /// `ProxyJump`: the arguments of the `ssh` that forwards the stream (`-W`),
  /// run without a shell.
  Jump(Vec<String>),
}

/// Connection settings from the inventory; `None` where it is silent.
#[derive(Clone, Debug, Default)]
pub struct Given {
  pub address: Option<String>,
  pub port: Option<u16>,
  pub user: Option<String>,
  pub identity: Option<String>,
}

/// Why the ssh client configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
  #[error("cannot read the ssh config {}: {source}", path.display())]
  Read { path: PathBuf, source: std::io::Error },
  #[error("cannot parse the ssh config {}: {source}", path.display())]
  Parse { path: PathBuf, source: ssh2_config::SshParserError },
  #[error("cannot use the ssh config {}: {source}", path.display())]
  Include { path: PathBuf, source: includes::IncludeError },
}

/// The parsed ssh client configuration (empty when there is none).
pub struct ClientConfig {
  config: ssh2_config::SshConfig,
  /// The file it came from; the `ssh` that makes a `ProxyJump` reads the same.
  path: Option<PathBuf>,
}

/// How many hosts a `ProxyJump` chain may pass through, counting the jumps
/// the jump hosts' own `ProxyJump` adds.
pub const MAX_JUMPS: usize = 8;

impl ClientConfig {
  /// Reads the ssh config named in `options`, or `~/.ssh/config` when present.
  pub fn load(options: &Options) -> Result<ClientConfig, ConfigError> {
    let path = match &options.config {
      Some(p) => Some(p.clone()),
      None => Some(options.home.join(".ssh/config")).filter(|p| p.exists()),
    };
    let config = match &path {
      None => ssh2_config::SshConfig::default(),
      Some(path) => {
        // The parser follows `Include` without a bound; look at the tree first.
        // It resolves relative `Include` paths under the process's home.
        let home = std::env::home_dir().unwrap_or_else(|| options.home.clone());
        includes::check(path, &home).map_err(|source| ConfigError::Include { path: path.clone(), source })?;
        // A FIFO or a device would block or never end: regular files only, bounded.
        let bytes = crate::source::read_bounded(path, crate::source::MAX_INPUT_BYTES)
          .map_err(|e| ConfigError::Read { path: path.clone(), source: e.into() })?;
        let rules =
          ssh2_config::ParseRule::ALLOW_UNKNOWN_FIELDS | ssh2_config::ParseRule::ALLOW_UNSUPPORTED_FIELDS;
        ssh2_config::SshConfig::default()
          .parse(&mut &bytes[..], rules)
          .map_err(|source| ConfigError::Parse { path: path.clone(), source })?
      }
    };
    Ok(ClientConfig { config, path })
  }

  /// The first value of a field the crate keeps as unsupported (`proxyjump`),
  /// honouring OpenSSH's first-match-wins order across `Host` blocks.
  fn first(&self, host: &str, field: &str) -> Option<String> {
    self.config.get_hosts().iter().filter(|h| h.intersects(host)).find_map(|h| {
      let p = &h.params;
      p.unsupported_fields.get(field).or_else(|| p.ignored_fields.get(field)).map(|v| v.join(" "))
    })
  }

  /// Resolves how to reach `name`: the inventory first, then the ssh config,
  /// then OpenSSH's defaults. Refuses settings that cannot be used safely.
  pub fn target(&self, name: &str, given: &Given, options: &Options) -> Result<Target, ConnectError> {
    let params = self.config.query(name);
    let home = &options.home;
    let expand = |p: &str| -> PathBuf {
      match p.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(p),
      }
    };
    // `HostName` accepts `%h` (the name as given) and `%%`.
    let address = given
      .address
      .clone()
      .or_else(|| params.host_name.as_deref().map(|h| expand_host_name(h, name)))
      .unwrap_or_else(|| name.to_owned());
    let port = given.port.or(params.port).unwrap_or(22);
    let user = given
      .user
      .clone()
      .or_else(|| params.user.clone())
      .or_else(|| std::env::var("USER").ok())
      .unwrap_or_else(|| "root".to_owned());
    let (identities, identities_named) = match (&given.identity, &params.identity_file) {
      (Some(i), _) => (vec![expand(i)], true),
      (None, Some(files)) if !files.is_empty() => (files.clone(), true),
      _ => (
        ["id_ed25519", "id_ecdsa", "id_rsa"]
          .iter()
          .map(|f| home.join(".ssh").join(f))
          .filter(|p| p.exists())
          .collect(),
        false,
      ),
    };
    let connect_timeout = params.connect_timeout.unwrap_or(options.connect_timeout);
    let tokens = Tokens { target: name, host: &address, name, port, user: &user };
    let proxy = match (self.first(name, "proxycommand"), self.first(name, "proxyjump")) {
      (Some(cmd), _) if !cmd.eq_ignore_ascii_case("none") => {
        Some(Proxy::Command(tokens.expand(&cmd, "ProxyCommand")?))
      }
      (_, Some(jump)) if !jump.eq_ignore_ascii_case("none") => {
        Some(self.jump(&tokens, &tokens.expand(&jump, "ProxyJump")?, connect_timeout)?)
      }
      _ => None,
    };
    let known_hosts = match self.first(name, "userknownhostsfile") {
      Some(files) => files.split_whitespace().map(expand).collect(),
      None => vec![home.join(".ssh/known_hosts")],
    };
    let policy = options.host_key_policy.unwrap_or_else(|| {
      match self.first(name, "stricthostkeychecking").as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("accept-new" | "no" | "off") => HostKeyPolicy::AcceptNew,
        _ => HostKeyPolicy::Strict,
      }
    });
    Ok(Target {
      name: name.to_owned(),
      address,
      port,
      user,
      identities,
      identities_named,
      proxy,
      known_hosts,
      policy,
      connect_timeout,
      keepalive: params.server_alive_interval.unwrap_or(options.keepalive),
    })
  }

  /// `-F FILE` for an `ssh` that must read this same configuration.
  fn config_args(&self) -> Vec<String> {
    match &self.path {
      Some(p) => vec!["-F".to_owned(), p.display().to_string()],
      None => Vec::new(),
    }
  }

  /// The `ssh -W` that makes a `ProxyJump` (`hops`, tokens expanded), as
  /// OpenSSH makes it: the last hop forwards the stream, earlier hops chain with
  /// `-J`. The whole chain, with the jumps each first hop's own configuration
  /// adds, is followed through `ssh -G` first and refused when it loops.
  fn jump(&self, target: &Tokens, hops: &str, timeout: Duration) -> Result<Proxy, ConnectError> {
    let hops =
      hops.split(',').map(|h| Hop::parse(h, target.target, "ProxyJump")).collect::<Result<Vec<_>, _>>()?;
    if hops.len() > MAX_JUMPS {
      return Err(ConnectError::Config(format!(
        "refusing {}: its `ProxyJump` in the ssh config lists {} hosts; at most {MAX_JUMPS} are followed",
        target.target,
        hops.len()
      )));
    }
    self.check_chain(target, &hops, timeout)?;
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
  fn check_chain(&self, target: &Tokens, hops: &[Hop], timeout: Duration) -> Result<(), ConnectError> {
    let mut seen = vec![target.target.to_ascii_lowercase()];
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
      let resolved = self.resolve(&hop, target.target, timeout)?;
      let get = |key: &str| resolved.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
      if get("proxycommand").is_some_and(|c| !c.eq_ignore_ascii_case("none")) {
        break;
      }
      let Some(jump) = get("proxyjump").filter(|j| !j.eq_ignore_ascii_case("none")) else { break };
      let port = get("port").and_then(|p| p.parse().ok()).unwrap_or(22);
      let tokens = Tokens {
        target: target.target,
        host: get("hostname").unwrap_or(&hop.host),
        name: &hop.host,
        port,
        user: get("user").unwrap_or_default(),
      };
      let jump = tokens.expand(jump, "ProxyJump")?;
      let first = jump.split(',').next().unwrap_or_default();
      next = Some(Hop::parse(first, target.target, "ProxyJump")?);
    }
    Ok(())
  }

  /// The configuration `ssh` applies to a hop (`ssh -G`), as `key value` pairs.
  fn resolve(
    &self,
    hop: &Hop,
    target: &str,
    timeout: Duration,
  ) -> Result<Vec<(String, String)>, ConnectError> {
    let mut command = Command::new("ssh");
    command.args(self.config_args()).arg("-G").args(hop.destination_args());
    let out = run_bounded(&mut command, timeout).map_err(|why| {
      ConnectError::Config(format!("{target}: cannot follow the `ProxyJump` through {}: {why}", hop.text()))
    })?;
    Ok(
      String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect(),
    )
  }
}

/// Runs a short helper (`ssh -G`) in its own process group, with nothing on
/// standard input; returns its standard output, or why it failed. The group
/// is killed when the helper outlives `timeout`.
fn run_bounded(command: &mut Command, timeout: Duration) -> Result<Vec<u8>, String> {
  use std::os::unix::process::CommandExt;
  let child = command
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0)
    .spawn()
    .map_err(|e| format!("cannot run `ssh`: {e}"))?;
  let mut helper = Helper { child: Some(child), said: Said::default(), watch: None };
  let deadline = Instant::now() + timeout;
  loop {
    let Some(child) = helper.child.as_mut() else { return Err("lost the helper".to_owned()) };
    match child.try_wait() {
      Ok(Some(_)) => break,
      Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
      Ok(None) => return Err(format!("`ssh -G` did not finish within {timeout:?}")),
      Err(e) => return Err(e.to_string()),
    }
  }
  let Some(child) = helper.child.take() else { return Err("lost the helper".to_owned()) };
  let out = child.wait_with_output().map_err(|e| e.to_string())?;
  if !out.status.success() {
    let why = String::from_utf8_lossy(&out.stderr);
    let why = why.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message");
    return Err(format!("`ssh -G` failed: {}", why.trim()));
  }
  Ok(out.stdout)
}

/// The values of the tokens `ProxyCommand` and `ProxyJump` accept.
struct Tokens<'a> {
  /// The inventory name, for messages.
  target: &'a str,
  /// `%h`: the address connected to.
  host: &'a str,
  /// `%n`: the name as given.
  name: &'a str,
  /// `%p`.
  port: u16,
  /// `%r`.
  user: &'a str,
}

impl Tokens<'_> {
  /// Expands `%%`, `%h`, `%n`, `%p` and `%r` (ssh_config(5) TOKENS). The text
  /// goes to a shell, so a value goes in only when it is a plain host name,
  /// address or user name, which no shell reads as anything but a word;
  /// anything else refuses the host.
  fn expand(&self, text: &str, keyword: &str) -> Result<String, ConnectError> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
      if c != '%' {
        out.push(c);
        continue;
      }
      let (value, what) = match chars.next() {
        Some('%') => {
          out.push('%');
          continue;
        }
        Some('p') => {
          out.push_str(&self.port.to_string());
          continue;
        }
        Some('h') => (self.host, "address"),
        Some('n') => (self.name, "name"),
        Some('r') => (self.user, "user"),
        Some(other) => {
          return Err(ConnectError::Config(format!(
            "{}: `{keyword}` in the ssh config uses the token `%{other}`; it accepts `%%`, `%h`, `%n`, `%p` and `%r`",
            self.target
          )));
        }
        None => {
          return Err(ConnectError::Config(format!(
            "{}: `{keyword}` in the ssh config ends with a lone `%`; write `%%` for a percent sign",
            self.target
          )));
        }
      };
      let plain = if what == "user" { plain_user(value) } else { plain_host(value) };
      if !plain {
        return Err(ConnectError::Config(format!(
          "refusing {}: its {what} {value:?} would go into the `{keyword}` of the ssh config, which a shell runs, \
           and it is not a plain {} (letters, digits and `{}` only, not starting with `-`). \
           Fix the inventory or the ssh config.",
          self.target,
          if what == "user" { "user name" } else { "host name or address" },
          if what == "user" { "._-@" } else { ".-_:%" },
        )));
      }
      out.push_str(value);
    }
    Ok(out)
  }
}

/// `HostName` with its tokens expanded: `%h` is the name as given, `%%` a
/// percent sign; anything else stays as written, as OpenSSH leaves it.
fn expand_host_name(text: &str, name: &str) -> String {
  let mut out = String::with_capacity(text.len());
  let mut chars = text.chars().peekable();
  while let Some(c) = chars.next() {
    match (c, chars.peek()) {
      ('%', Some('h')) => {
        chars.next();
        out.push_str(name);
      }
      ('%', Some('%')) => {
        chars.next();
        out.push('%');
      }
      _ => out.push(c),
    }
  }
  out
}

/// A DNS name, an IPv4 address or an IPv6 address (with a zone): nothing a
/// shell or `ssh`'s option parser reads as more than one plain word.
fn plain_host(s: &str) -> bool {
  !s.is_empty()
    && s.len() <= 255
    && !s.starts_with('-')
    && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%'))
}

/// A user name as POSIX systems and directories write them.
fn plain_user(s: &str) -> bool {
  !s.is_empty()
    && s.len() <= 255
    && !s.starts_with('-')
    && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

/// One host of a `ProxyJump` list: `[user@]host[:port]` or
/// `ssh://[user@]host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hop {
  user: Option<String>,
  host: String,
  port: Option<u16>,
}

impl Hop {
  fn parse(text: &str, target: &str, keyword: &str) -> Result<Hop, ConnectError> {
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
  fn text(&self) -> String {
    let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
    let user = self.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
    let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
    format!("{user}{host}{port}")
  }

  /// The hop as the destination of `ssh`: options, then `--` and the host.
  fn destination_args(&self) -> Vec<String> {
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

/// Why a host could not be reached. All of these leave the host untouched.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
  #[error("cannot connect to {address}:{port}: {why}")]
  Connect { address: String, port: u16, why: String },
  #[error("SSH handshake with {address}:{port} failed: {why}")]
  Handshake { address: String, port: u16, why: String },
  #[error("{0}")]
  HostKey(String),
  #[error("{0}")]
  Auth(String),
  /// The settings for the host cannot be used (nothing was started).
  #[error("{0}")]
  Config(String),
}

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

/// known_hosts writes of concurrent connections go one at a time.
static KNOWN_HOSTS_LOCK: Mutex<()> = Mutex::new(());

fn key_type_name(kind: HostKeyType) -> &'static str {
  match kind {
    HostKeyType::Rsa => "ssh-rsa",
    HostKeyType::Dss => "ssh-dss",
    HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
    HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
    HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
    HostKeyType::Ed25519 => "ssh-ed25519",
    HostKeyType::Unknown => "unknown",
  }
}

/// OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64.
pub fn fingerprint(blob: &[u8]) -> String {
  format!("SHA256:{}", STANDARD_NO_PAD.encode(sha2::Sha256::digest(blob)))
}

/// Host key algorithms in OpenSSH's order (Ed25519, ECDSA, RSA with SHA-2),
/// those of key types known_hosts already holds for the host first, as
/// OpenSSH orders them, so a host known by its RSA key is not asked for
/// another.
fn host_key_preference(known: &[&str]) -> String {
  const ALGORITHMS: [(&str, &str); 7] = [
    ("ssh-ed25519", "ssh-ed25519"),
    ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"),
    ("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"),
    ("ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521"),
    ("rsa-sha2-512", "ssh-rsa"),
    ("rsa-sha2-256", "ssh-rsa"),
    ("ssh-rsa", "ssh-rsa"),
  ];
  let (first, rest): (Vec<_>, Vec<_>) = ALGORITHMS.iter().partition(|(_, kind)| known.contains(kind));
  first.iter().chain(&rest).map(|(alg, _)| *alg).collect::<Vec<_>>().join(",")
}

/// Opens the byte stream to the host: TCP, or a proxy's pipes. Also returns a
/// second descriptor of the socket, to watch for the server's answers.
fn open_stream(target: &Target) -> Result<(Session, Option<Helper>, OwnedFd), ConnectError> {
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

impl Ssh {
  /// Connects, checks the host key, and authenticates.
  pub fn connect(target: &Target) -> Result<Ssh, ConnectError> {
    let name = lookup_name(&target.address, target.port);
    let read_error = |e: known_hosts::ReadError| ConnectError::HostKey(format!("{}: {e}", target.name));
    let known = KnownHosts::load(&target.known_hosts, &name).map_err(read_error)?;
    // Key types known for the host go first; off port 22 with nothing known,
    // those of the bare host, which may vouch for it.
    let mut types: Vec<String> = known.key_types().into_iter().map(str::to_owned).collect();
    if types.is_empty() && target.port != 22 {
      let bare = KnownHosts::load(&target.known_hosts, &target.address).map_err(read_error)?;
      types = bare.key_types().into_iter().map(str::to_owned).collect();
    }
    let (mut session, mut proxy, probe) = open_stream(target)?;
    session.set_timeout(millis(target.connect_timeout));
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
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
    shaken.map_err(|e| {
      let mut why = if e.code() == ssh2::ErrorCode::Session(-9) {
        format!("no answer within {:?} (is the host hung?)", target.connect_timeout)
      } else {
        e.message().to_owned()
      };
      if let Some(line) = proxy.as_ref().and_then(|p| p.said.last_line()) {
        why.push_str(&format!("; the proxy said: {line}"));
      }
      ConnectError::Handshake { address: target.address.clone(), port: target.port, why }
    })?;
    check_host_key(&session, target, &name, &known)?;
    authenticate(&session, target)?;
    // Keepalives ask for a reply; `run_script` sends them when the connection is quiet.
    session.set_keepalive(true, 1);
    Ok(Ssh {
      name: target.name.clone(),
      session,
      stats: Stats { connections: 1, channels: 0 },
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

  /// Marks the host lost and says why.
  fn gone(&self, why: String) -> TransportError {
    self.lost.store(true, Ordering::SeqCst);
    TransportError::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, why))
  }
}

fn millis(d: Duration) -> u32 {
  u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1)
}

/// A proxy started for a connection, in its own process group; dropping it
/// kills the group.
struct Helper {
  child: Option<Child>,
  /// What it wrote on standard error, when that is collected.
  said: Said,
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
struct Said(Arc<Mutex<Vec<u8>>>);

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
  fn last_line(&self) -> Option<String> {
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
  fn settle(&mut self) -> bool {
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

fn check_host_key(
  session: &Session,
  target: &Target,
  name: &str,
  known: &KnownHosts,
) -> Result<(), ConnectError> {
  let Some((key, kind)) = session.host_key() else {
    return Err(ConnectError::HostKey(format!("{}: the server sent no host key", target.name)));
  };
  let offered = format!("{} {}", key_type_name(kind), fingerprint(key));
  let files = target.known_hosts.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
  let mut verdict = known.check(key);
  // OpenSSH's fallback off port 22: with no entry at all for `[host]:port`,
  // an entry for the bare host that holds this very key vouches for it.
  // Anything else found there changes nothing (a revoked key is still refused).
  let bare;
  if matches!(verdict, Verdict::New) && target.port != 22 {
    bare = KnownHosts::load(&target.known_hosts, &target.address)
      .map_err(|e| ConnectError::HostKey(format!("{}: {e}", target.name)))?;
    match bare.check(key) {
      v @ (Verdict::Known(_) | Verdict::Revoked(_)) => verdict = v,
      Verdict::Changed(_) | Verdict::New => {}
    }
  }
  match verdict {
    Verdict::Known(_) => Ok(()),
    Verdict::Revoked(entry) => Err(ConnectError::HostKey(format!(
      "refusing {}: the host key of {name} is revoked (`@revoked` at {}).\n  offered by the server: {offered}\n  \
       A revoked key is never trusted: give the host a new key, then record that one in known_hosts.",
      target.name,
      entry.place()
    ))),
    Verdict::Changed(entries) => {
      let known = entries
        .iter()
        .map(|e| {
          let hashed = if e.hashed { ", hashed entry" } else { "" };
          format!("{} {} ({}{hashed})", e.key_type, fingerprint(&e.key), e.place())
        })
        .collect::<Vec<_>>()
        .join("; ");
      Err(ConnectError::HostKey(format!(
        "refusing {}: the host key of {name} changed.\n  offered by the server: {offered}\n  \
         known_hosts has: {known}\n  \
         Someone may be intercepting the connection, or the host was reinstalled. Check the new \
         key out of band; if it is right, remove the old one with `{}`.",
        target.name,
        crate::host::shell::sh!("ssh-keygen -R {}", name)
      )))
    }
    Verdict::New => match target.policy {
      HostKeyPolicy::Strict => Err(ConnectError::HostKey(format!(
        "refusing {}: {name} is not in known_hosts ({files}).\n  offered by the server: {offered}\n  \
         Check the fingerprint out of band, then add the key (`ssh-keyscan -p {} {} >> ~/.ssh/known_hosts`), \
         or run with `--host-key-checking accept-new` to trust keys of new hosts on first use.",
        target.name, target.port, target.address
      ))),
      HostKeyPolicy::AcceptNew => {
        let Some(file) = target.known_hosts.first() else {
          return Err(ConnectError::HostKey(format!(
            "{}: no known_hosts file to record the key in",
            target.name
          )));
        };
        let line = format!("{name} {} {}\n", key_type_name(kind), STANDARD.encode(key));
        let _lock = KNOWN_HOSTS_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        append(file, &line).map_err(|e| {
          ConnectError::HostKey(format!(
            "{}: cannot record the host key in {}: {e}",
            target.name,
            file.display()
          ))
        })
      }
    },
  }
}

/// Appends a line to known_hosts; a file whose last line has no newline gets
/// one first, so the new entry does not run into the last key.
fn append(file: &Path, line: &str) -> std::io::Result<()> {
  use std::io::{Seek, SeekFrom};
  if let Some(dir) = file.parent() {
    std::fs::create_dir_all(dir)?;
  }
  if file.exists() {
    crate::source::regular_file(file)?;
  }
  let mut f = std::fs::OpenOptions::new().create(true).read(true).append(true).open(file)?;
  let mut text = String::new();
  if f.seek(SeekFrom::End(0))? > 0 {
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1))?;
    f.read_exact(&mut last)?;
    if last[0] != b'\n' {
      text.push('\n');
    }
  }
  text.push_str(line);
  f.write_all(text.as_bytes())?;
  f.sync_all()
}

fn authenticate(session: &Session, target: &Target) -> Result<(), ConnectError> {
  let mut tried = Vec::new();
  if std::env::var_os("SSH_AUTH_SOCK").is_some() {
    tried.push("ssh-agent".to_owned());
    if session.userauth_agent(&target.user).is_ok() && session.authenticated() {
      return Ok(());
    }
  }
  let mut problems = Vec::new();
  for identity in &target.identities {
    if !identity.exists() {
      if target.identities_named {
        problems.push(format!("{} does not exist", identity.display()));
      }
      continue;
    }
    // libssh2 would block on a FIFO: a key is a regular file.
    if let Err(e) = crate::source::regular_file(identity) {
      problems.push(format!("{}: {e}", identity.display()));
      continue;
    }
    tried.push(identity.display().to_string());
    match session.userauth_pubkey_file(&target.user, None, identity, None) {
      Ok(()) if session.authenticated() => return Ok(()),
      Ok(()) => {}
      Err(e) if e.code() == ssh2::ErrorCode::Session(-16) => {
        problems.push(format!("{}: cannot read the key: {}", identity.display(), e.message()));
      }
      Err(_) => {}
    }
  }
  let tried =
    if tried.is_empty() { "no key (no ssh-agent, no identity file)".to_owned() } else { tried.join(", ") };
  let mut message =
    format!("authentication as {}@{} failed: the server accepted none of: {tried}", target.user, target.name);
  for p in problems {
    message.push_str(&format!("\n  {p}"));
  }
  message.push_str(
    "\n  Add the public key to the user's ~/.ssh/authorized_keys on the host, or name the right key \
     with `IdentityFile` in ~/.ssh/config or `ansible_ssh_private_key_file` in the inventory.",
  );
  Err(ConnectError::Auth(message))
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
        std::thread::sleep(Duration::from_millis(1));
      }
    }
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

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn fingerprints_match_openssh() {
    // `ssh-keygen -lf` of this key prints SHA256:YpzcMIRuBNsVxIr1tQXN8yhwNJqUt3wZDMABsT8cVEo.
    let blob = STANDARD
      .decode("AAAAC3NzaC1lZDI1NTE5AAAAIOjoW3as4yPUA5g0XcdEPmHcaqtbGoqTUfQX9fG5SeHC")
      .unwrap_or_default();
    assert_eq!(fingerprint(&blob), "SHA256:YpzcMIRuBNsVxIr1tQXN8yhwNJqUt3wZDMABsT8cVEo");
  }

  fn tokens<'a>(host: &'a str, user: &'a str) -> Tokens<'a> {
    Tokens { target: "web", host, name: "web", port: 2222, user }
  }

  #[test]
  fn proxy_tokens_expand_plain_values_only() {
    let t = tokens("10.0.0.5", "ops");
    let expanded = t.expand("nc %h %p # %r@%n 100%%", "ProxyCommand").map_err(|e| e.to_string());
    assert_eq!(expanded, Ok("nc 10.0.0.5 2222 # ops@web 100%".to_owned()));
    let refused = [
      ("10.0.0.5;touch /tmp/x;", "ops", "nc %h %p"),
      ("$(reboot)", "ops", "nc %h %p"),
      ("-oProxyCommand=x", "ops", "nc %h %p"),
      ("host name", "ops", "nc %h %p"),
      ("10.0.0.5", "ops;id", "ssh -l %r -W %h:%p jump"),
      ("10.0.0.5", "`id`", "ssh -l %r -W %h:%p jump"),
      ("10.0.0.5", "ops", "nc %x"),
      ("10.0.0.5", "ops", "nc %"),
    ];
    for (host, user, line) in refused {
      assert!(tokens(host, user).expand(line, "ProxyCommand").is_err(), "{host} {user} {line}");
    }
    // A value the text does not use is not looked at.
    assert!(tokens("a;b", "ops").expand("connect-proxy %r", "ProxyCommand").is_ok());
  }

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

  #[test]
  fn host_names_expand_their_tokens() {
    assert_eq!(expand_host_name("%h.internal.example.com", "web"), "web.internal.example.com");
    assert_eq!(expand_host_name("10.0.0.1", "web"), "10.0.0.1");
    assert_eq!(expand_host_name("a%%b%x", "web"), "a%b%x");
  }

  #[test]
  fn appended_known_hosts_lines_start_on_a_line_of_their_own() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("known_hosts");
    std::fs::write(&file, "a ssh-ed25519 AAAA").unwrap_or_else(|e| panic!("{e}"));
    let _ = append(&file, "b ssh-ed25519 BBBB\n");
    let _ = append(&file, "c ssh-ed25519 CCCC\n");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(text, "a ssh-ed25519 AAAA\nb ssh-ed25519 BBBB\nc ssh-ed25519 CCCC\n");
    let fresh = dir.path().join("new/known_hosts");
    let _ = append(&fresh, "d ssh-ed25519 DDDD\n");
    assert_eq!(std::fs::read_to_string(&fresh).unwrap_or_default(), "d ssh-ed25519 DDDD\n");
  }

  #[test]
  fn known_host_key_types_come_first() {
    assert!(host_key_preference(&[]).starts_with("ssh-ed25519,ecdsa"));
    assert!(host_key_preference(&["ssh-rsa"]).starts_with("rsa-sha2-512,rsa-sha2-256,ssh-rsa,ssh-ed25519"));
  }

  #[test]
  fn known_names_bracket_other_ports() {
    assert_eq!(lookup_name("10.0.0.1", 22), "10.0.0.1");
    assert_eq!(lookup_name("10.0.0.1", 2222), "[10.0.0.1]:2222");
  }
}
