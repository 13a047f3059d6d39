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
//! whole exchange.

use crate::transport::{ScriptOutput, Stats, Transport, TransportError};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::Digest;
use ssh2::{CheckResult, HostKeyType, KnownHostFileKind, Session};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
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
  /// A command whose standard input and output reach the host (`ProxyCommand`,
  /// or `ssh -W` for `ProxyJump`).
  pub proxy: Option<String>,
  pub known_hosts: Vec<PathBuf>,
  pub policy: HostKeyPolicy,
  pub connect_timeout: Duration,
  pub keepalive: Duration,
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
}

/// The parsed ssh client configuration (empty when there is none).
pub struct ClientConfig {
  config: ssh2_config::SshConfig,
}

impl ClientConfig {
  /// Reads the ssh config named in `options`, or `~/.ssh/config` when present.
  pub fn load(options: &Options) -> Result<ClientConfig, ConfigError> {
    let path = match &options.config {
      Some(p) => Some(p.clone()),
      None => Some(options.home.join(".ssh/config")).filter(|p| p.exists()),
    };
    let config = match path {
      None => ssh2_config::SshConfig::default(),
      Some(path) => {
        let file =
          std::fs::File::open(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        let rules =
          ssh2_config::ParseRule::ALLOW_UNKNOWN_FIELDS | ssh2_config::ParseRule::ALLOW_UNSUPPORTED_FIELDS;
        ssh2_config::SshConfig::default()
          .parse(&mut std::io::BufReader::new(file), rules)
          .map_err(|source| ConfigError::Parse { path: path.clone(), source })?
      }
    };
    Ok(ClientConfig { config })
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
  /// then OpenSSH's defaults.
  pub fn target(&self, name: &str, given: &Given, options: &Options) -> Target {
    let params = self.config.query(name);
    let home = &options.home;
    let expand = |p: &str| -> PathBuf {
      match p.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(p),
      }
    };
    let address =
      given.address.clone().or_else(|| params.host_name.clone()).unwrap_or_else(|| name.to_owned());
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
    let proxy = match (self.first(name, "proxycommand"), self.first(name, "proxyjump")) {
      (Some(cmd), _) if cmd != "none" => Some(
        cmd.replace("%h", &address).replace("%p", &port.to_string()).replace("%r", &user).replace("%%", "%"),
      ),
      (_, Some(jump)) if jump != "none" => {
        // As OpenSSH does: the last hop forwards the stream (`-W`), earlier hops chain with `-J`.
        let mut hops: Vec<&str> = jump.split(',').collect();
        let last = hops.pop().unwrap_or_default();
        let mut cmd = String::from("exec ssh -o BatchMode=yes");
        if let Some(c) = &options.config {
          cmd.push_str(&format!(" -F {}", crate::apply::quote(&c.display().to_string())));
        }
        if !hops.is_empty() {
          cmd.push_str(&format!(" -J {}", crate::apply::quote(&hops.join(","))));
        }
        let forward =
          if address.contains(':') { format!("[{address}]:{port}") } else { format!("{address}:{port}") };
        cmd.push_str(&format!(" -W {} {}", crate::apply::quote(&forward), crate::apply::quote(last)));
        Some(cmd)
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
    Target {
      name: name.to_owned(),
      address,
      port,
      user,
      identities,
      identities_named,
      proxy,
      known_hosts,
      policy,
      connect_timeout: params.connect_timeout.unwrap_or(options.connect_timeout),
      keepalive: params.server_alive_interval.unwrap_or(options.keepalive),
    }
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
}

/// A connected, authenticated host.
pub struct Ssh {
  name: String,
  session: Session,
  stats: Stats,
  keepalive: Duration,
  proxy: Option<Child>,
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

/// The name known_hosts uses for a host: `addr`, or `[addr]:port` off port 22.
fn known_name(address: &str, port: u16) -> String {
  if port == 22 { address.to_owned() } else { format!("[{address}]:{port}") }
}

/// Plain (unhashed) known_hosts entries for `name`: key type and fingerprint.
fn known_keys(files: &[PathBuf], name: &str) -> Vec<String> {
  let mut out = Vec::new();
  for file in files {
    let Ok(text) = std::fs::read_to_string(file) else { continue };
    for line in text.lines() {
      let mut fields = line.split_whitespace();
      let Some(hosts) = fields.next() else { continue };
      if hosts.starts_with('#') || hosts.starts_with('@') || !hosts.split(',').any(|h| h == name) {
        continue;
      }
      if let (Some(kind), Some(key)) = (fields.next(), fields.next())
        && let Ok(blob) = STANDARD.decode(key)
      {
        out.push(format!("{kind} {} ({}:{})", fingerprint(&blob), file.display(), line_number(&text, line)));
      }
    }
  }
  out
}

fn line_number(text: &str, line: &str) -> usize {
  let offset = line.as_ptr() as usize - text.as_ptr() as usize;
  text[..offset].matches('\n').count() + 1
}

/// Opens the byte stream to the host: TCP, or a proxy command's pipes.
fn open_stream(target: &Target) -> Result<(Session, Option<Child>), ConnectError> {
  let connect_error =
    |why: String| ConnectError::Connect { address: target.address.clone(), port: target.port, why };
  let mut session = Session::new().map_err(|e| connect_error(e.to_string()))?;
  match &target.proxy {
    Some(command) => {
      let (ours, theirs) =
        std::os::unix::net::UnixStream::pair().map_err(|e| connect_error(e.to_string()))?;
      let theirs_out = theirs.try_clone().map_err(|e| connect_error(e.to_string()))?;
      let child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs_out)))
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| connect_error(format!("cannot start the proxy command `{command}`: {e}")))?;
      session.set_tcp_stream(ours);
      Ok((session, Some(child)))
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
            session.set_tcp_stream(stream);
            return Ok((session, None));
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
    let (mut session, proxy) = open_stream(target)?;
    let mut guard = ProxyGuard(proxy);
    let millis = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1);
    session.set_timeout(millis(target.connect_timeout));
    // OpenSSH's preference: Ed25519, then ECDSA, then RSA with SHA-2.
    let _ = session.method_pref(
      ssh2::MethodType::HostKey,
      "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,ssh-rsa",
    );
    session.handshake().map_err(|e| ConnectError::Handshake {
      address: target.address.clone(),
      port: target.port,
      why: if e.code() == ssh2::ErrorCode::Session(-9) {
        format!("no answer within {:?} (is the host hung?)", target.connect_timeout)
      } else {
        e.message().to_owned()
      },
    })?;
    check_host_key(&session, target)?;
    authenticate(&session, target)?;
    session.set_keepalive(false, u32::try_from(target.keepalive.as_secs()).unwrap_or(15).max(1));
    Ok(Ssh {
      name: target.name.clone(),
      session,
      stats: Stats { connections: 1, channels: 0 },
      keepalive: target.keepalive,
      proxy: guard.0.take(),
    })
  }
}

/// Kills the proxy command when a connection attempt fails half-way.
struct ProxyGuard(Option<Child>);

impl Drop for ProxyGuard {
  fn drop(&mut self) {
    if let Some(child) = &mut self.0 {
      let _ = child.kill();
      let _ = child.wait();
    }
  }
}

fn check_host_key(session: &Session, target: &Target) -> Result<(), ConnectError> {
  let name = known_name(&target.address, target.port);
  let Some((key, kind)) = session.host_key() else {
    return Err(ConnectError::HostKey(format!("{}: the server sent no host key", target.name)));
  };
  let offered = format!("{} {}", key_type_name(kind), fingerprint(key));
  let mut verdict = CheckResult::NotFound;
  for file in &target.known_hosts {
    if !file.exists() {
      continue;
    }
    let mut known = session.known_hosts().map_err(|e| ConnectError::HostKey(e.to_string()))?;
    if let Err(e) = known.read_file(file, KnownHostFileKind::OpenSSH) {
      return Err(ConnectError::HostKey(format!("cannot read {}: {e}", file.display())));
    }
    match known.check_port(&target.address, target.port, key) {
      CheckResult::Match => return Ok(()),
      CheckResult::Mismatch => verdict = CheckResult::Mismatch,
      CheckResult::NotFound | CheckResult::Failure => {}
    }
  }
  let files = target.known_hosts.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
  if matches!(verdict, CheckResult::Mismatch) {
    let known = known_keys(&target.known_hosts, &name);
    let known = if known.is_empty() { "a different key (hashed entry)".to_owned() } else { known.join("; ") };
    return Err(ConnectError::HostKey(format!(
      "refusing {}: the host key of {name} changed.\n  offered by the server: {offered}\n  \
       known_hosts has: {known}\n  \
       Someone may be intercepting the connection, or the host was reinstalled. Check the new \
       key out of band; if it is right, remove the old one with `ssh-keygen -R '{name}'`.",
      target.name
    )));
  }
  match target.policy {
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
  }
}

fn append(file: &Path, line: &str) -> std::io::Result<()> {
  if let Some(dir) = file.parent() {
    std::fs::create_dir_all(dir)?;
  }
  let mut f = std::fs::OpenOptions::new().create(true).append(true).open(file)?;
  f.write_all(line.as_bytes())?;
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
    if let Some(child) = &mut self.proxy {
      let _ = child.kill();
      let _ = child.wait();
    }
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

  fn run_script(
    &mut self,
    script: &str,
    args: &[String],
    timeout: Duration,
  ) -> Result<ScriptOutput, TransportError> {
    let deadline = Instant::now() + timeout;
    let mut input = String::from("set --");
    for a in args {
      input.push(' ');
      input.push_str(&crate::apply::quote(a));
    }
    input.push('\n');
    input.push_str(script);
    let input = input.as_bytes();

    let session = &self.session;
    session.set_blocking(true);
    session.set_timeout(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX).max(1));
    let mut channel = session.channel_session().map_err(ssh_error)?;
    self.stats.channels += 1;
    channel.exec("sh -s").map_err(ssh_error)?;
    session.set_blocking(false);

    let mut written = 0;
    let mut eof_sent = false;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_traffic = Instant::now();
    loop {
      let mut progressed = false;
      if written < input.len() {
        match channel.write(&input[written..]) {
          Ok(n) => {
            written += n;
            progressed = n > 0;
          }
          Err(e) if would_block(&e) => {}
          // The script stopped reading (it exited early): keep its output.
          Err(_) => written = input.len(),
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
            }
            Err(e) if would_block(&e) => break,
            Err(e) => return Err(TransportError::Io(e)),
          }
        }
      }
      if progressed {
        last_traffic = Instant::now();
      }
      if channel.eof() {
        break;
      }
      if Instant::now() >= deadline {
        return Err(TransportError::Timeout(timeout));
      }
      if last_traffic.elapsed() >= self.keepalive {
        let _ = session.keepalive_send();
        last_traffic = Instant::now();
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

  #[test]
  fn known_names_bracket_other_ports() {
    assert_eq!(known_name("10.0.0.1", 22), "10.0.0.1");
    assert_eq!(known_name("10.0.0.1", 2222), "[10.0.0.1]:2222");
  }
}
