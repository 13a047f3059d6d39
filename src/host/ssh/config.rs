//! The ssh client configuration, resolved by OpenSSH itself.
//!
//! converge does not parse `ssh_config` a second time: for each distinct
//! destination (with the port, user and ssh options the inventory gives) it
//! runs `ssh -G`, which prints the final values without connecting, and takes
//! them from there: `hostname`, `port`, `user`, every `identityfile` in order,
//! `proxyjump`, `proxycommand`, `userknownhostsfile`, `stricthostkeychecking`,
//! `connecttimeout`, `serveraliveinterval`, `hostkeyalias`, `identitiesonly`.
//! So `Match` blocks, `Include`, first-value-wins, tokens and
//! `/etc/ssh/ssh_config` are exactly OpenSSH's. `ssh -G` runs without a shell,
//! with nothing on standard input, in its own process group, under a timeout
//! and with its output bounded; each distinct question is asked once per run.

use super::{ConnectError, Given, HostKeyPolicy, Options, Proxy, Target};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long one `ssh -G` may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of its output is kept.
const MAX_OUTPUT: usize = 1 << 20;

/// Why the ssh client configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
  #[error("cannot read the ssh config {}: {source}", path.display())]
  Read { path: PathBuf, source: std::io::Error },
  #[error("cannot use the ssh config {}: {source}", path.display())]
  Include { path: PathBuf, source: super::includes::IncludeError },
}

/// One question to `ssh -G`: the destination and the command-line options
/// that come before the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Query {
  destination: String,
  port: Option<u16>,
  user: Option<String>,
  args: Vec<String>,
}

/// What `ssh -G` printed: lower-case keys, values in order.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
  values: Vec<(String, String)>,
}

impl Resolved {
  fn parse(out: &[u8]) -> Resolved {
    let text = String::from_utf8_lossy(out);
    let values = text
      .lines()
      .filter_map(|l| {
        let (k, v) = l.split_once(' ').unwrap_or((l, ""));
        (!k.is_empty()).then(|| (k.to_ascii_lowercase(), v.to_owned()))
      })
      .collect();
    Resolved { values }
  }

  /// The value of `key`; `None` when absent or `none`.
  pub fn get(&self, key: &str) -> Option<&str> {
    self
      .values
      .iter()
      .find(|(k, _)| k == key)
      .map(|(_, v)| v.as_str())
      .filter(|v| !v.eq_ignore_ascii_case("none"))
  }

  /// Every value of a repeated key, in order.
  pub fn all(&self, key: &str) -> Vec<&str> {
    self.values.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
  }
}

type Answer = Arc<OnceLock<Result<Arc<Resolved>, String>>>;

/// The ssh client configuration of a run: which file `ssh -G` reads, and its
/// answers so far.
pub struct ClientConfig {
  /// `-F FILE`; `None`: OpenSSH's own `~/.ssh/config` and `/etc/ssh/ssh_config`.
  path: Option<PathBuf>,
  /// The home converge reads keys and known_hosts under (`$HOME`).
  home: PathBuf,
  /// The home OpenSSH expands `~` with (the password database's), once asked.
  ssh_home: OnceLock<Option<PathBuf>>,
  answers: Mutex<HashMap<Query, Answer>>,
  /// How many `ssh -G` ran, for tests and measurements.
  runs: std::sync::atomic::AtomicUsize,
}

impl ClientConfig {
  /// The configuration named in `options`. Without one, OpenSSH reads
  /// `~/.ssh/config` then `/etc/ssh/ssh_config`; when `$HOME` is not the home
  /// OpenSSH uses (the password database's), `$HOME/.ssh/config` is given to
  /// it with `-F`, as converge has always read it.
  pub fn load(options: &Options) -> Result<ClientConfig, ConfigError> {
    let mut config = ClientConfig {
      path: None,
      home: options.home.clone(),
      ssh_home: OnceLock::new(),
      answers: Mutex::new(HashMap::new()),
      runs: std::sync::atomic::AtomicUsize::new(0),
    };
    let path = match &options.config {
      Some(p) => Some(p.clone()),
      None => {
        let own = options.home.join(".ssh/config");
        // `ssh -G` tells OpenSSH's home: asked only when there is a file to give.
        (own.exists() && config.ssh_home().is_some_and(|h| !same_dir(h, &options.home))).then_some(own)
      }
    };
    if let Some(path) = &path {
      // A FIFO or a device would block `ssh`: regular files only.
      crate::source::regular_file(path)
        .map_err(|e| ConfigError::Read { path: path.clone(), source: e.into() })?;
      // OpenSSH bounds `Include` only by depth; a loop is named here, with its files.
      super::includes::check(path, &options.home)
        .map_err(|source| ConfigError::Include { path: path.clone(), source })?;
    }
    config.path = path;
    Ok(config)
  }

  /// How many times `ssh -G` ran.
  pub fn resolutions(&self) -> usize {
    self.runs.load(std::sync::atomic::Ordering::SeqCst)
  }

  /// `-F FILE` for an `ssh` that must read this same configuration.
  pub(crate) fn config_args(&self) -> Vec<String> {
    match &self.path {
      Some(p) => vec!["-F".to_owned(), p.display().to_string()],
      None => Vec::new(),
    }
  }

  /// The home OpenSSH expands `~` with.
  fn ssh_home(&self) -> Option<&Path> {
    self
      .ssh_home
      .get_or_init(|| {
        let mut command = Command::new("ssh");
        command.args(["-G", "-F", "/dev/null", "--", "localhost"]);
        let out = run_bounded(&mut command, RESOLVE_TIMEOUT).ok()?;
        let resolved = Resolved::parse(&out);
        let file = resolved.get("userknownhostsfile")?.split_whitespace().next()?.to_owned();
        file.strip_suffix("/.ssh/known_hosts").map(PathBuf::from)
      })
      .as_deref()
  }

  /// A path OpenSSH expanded under its home, moved under converge's home
  /// when the two differ.
  fn rehome(&self, path: &str) -> PathBuf {
    if let Some(ssh_home) = self.ssh_home()
      && !same_dir(ssh_home, &self.home)
      && let Ok(rest) = Path::new(path).strip_prefix(ssh_home)
    {
      return self.home.join(rest);
    }
    PathBuf::from(path)
  }

  /// `ssh -G` for one destination, asked once per run.
  pub(crate) fn resolve(
    &self,
    destination: &str,
    port: Option<u16>,
    user: Option<&str>,
    args: &[String],
  ) -> Result<Arc<Resolved>, String> {
    let query =
      Query { destination: destination.to_owned(), port, user: user.map(str::to_owned), args: args.to_vec() };
    let answer = {
      let mut answers = self.answers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
      Arc::clone(answers.entry(query.clone()).or_default())
    };
    answer
      .get_or_init(|| {
        self.runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut command = Command::new("ssh");
        command.args(self.config_args()).arg("-G");
        if let Some(p) = query.port {
          command.args(["-p", &p.to_string()]);
        }
        if let Some(u) = &query.user {
          command.args(["-l", u]);
        }
        command.args(&query.args).arg("--").arg(&query.destination);
        run_bounded(&mut command, RESOLVE_TIMEOUT).map(|out| Arc::new(Resolved::parse(&out)))
      })
      .clone()
  }

  /// Resolves how to reach `name`: the inventory's values first (`given`),
  /// then the ssh config as OpenSSH reads it for the destination (the
  /// inventory's address when it gives one, as Ansible passes it to `ssh`).
  /// Refuses settings that cannot be used safely.
  pub fn target(&self, name: &str, given: &Given, options: &Options) -> Result<Target, ConnectError> {
    let destination = given.address.clone().unwrap_or_else(|| name.to_owned());
    let resolved =
      self.resolve(&destination, given.port, given.user.as_deref(), &given.args).map_err(|why| {
        ConnectError::Config(format!("{name}: cannot resolve the ssh config for {destination}: {why}"))
      })?;
    let address = resolved.get("hostname").unwrap_or(&destination).to_owned();
    let port = resolved.get("port").and_then(|p| p.parse().ok()).or(given.port).unwrap_or(22);
    let user = match resolved.get("user") {
      Some(u) => u.to_owned(),
      None => given.user.clone().unwrap_or_else(|| "root".to_owned()),
    };
    let tokens = Tokens { target: name, host: &address, name: &destination, port, user: &user };
    let files = resolved.all("identityfile");
    let named = files.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>() != default_identities();
    let mut identities = Vec::new();
    if let Some(i) = &given.identity {
      identities.push(expand_home(i, &options.home));
    }
    if named {
      for file in files {
        identities.push(expand_home(&tokens.expand_path(file, "IdentityFile")?, &options.home));
      }
    } else if given.identity.is_none() {
      // OpenSSH's defaults, those that exist.
      identities.extend(files.iter().map(|f| expand_home(f, &options.home)).filter(|p| p.exists()));
    }
    let identities_named = named || given.identity.is_some();
    let connect_timeout = resolved
      .get("connecttimeout")
      .and_then(|t| t.parse::<u64>().ok())
      .map_or(options.connect_timeout, Duration::from_secs);
    let mut jump = Vec::new();
    let proxy = match (resolved.get("proxycommand"), resolved.get("proxyjump")) {
      (Some(cmd), _) => Some(Proxy::Command(tokens.expand(cmd, "ProxyCommand")?)),
      (None, Some(hops)) => {
        let hops = tokens.expand(hops, "ProxyJump")?;
        let proxy = self.jump(&tokens, &hops, connect_timeout)?;
        jump = hops
          .split(',')
          .filter_map(|h| super::proxy::Hop::parse(h, name, "ProxyJump").ok())
          .map(|h| h.text())
          .collect();
        Some(proxy)
      }
      (None, None) => None,
    };
    let known_hosts = match resolved.get("userknownhostsfile") {
      Some(files) => files
        .split_whitespace()
        .map(|f| self.rehome(&expand_home(f, &options.home).to_string_lossy()))
        .collect(),
      None => vec![options.home.join(".ssh/known_hosts")],
    };
    let policy = options.host_key_policy.unwrap_or_else(|| {
      match resolved.get("stricthostkeychecking").map(str::to_ascii_lowercase).as_deref() {
        Some("accept-new" | "no" | "off" | "false") => HostKeyPolicy::AcceptNew,
        _ => HostKeyPolicy::Strict,
      }
    });
    let keepalive = resolved
      .get("serveraliveinterval")
      .and_then(|t| t.parse::<u64>().ok())
      .filter(|t| *t > 0)
      .map_or(options.keepalive, Duration::from_secs);
    Ok(Target {
      name: name.to_owned(),
      address,
      port,
      user,
      identities,
      identities_named,
      identities_only: resolved.get("identitiesonly").is_some_and(|v| v.eq_ignore_ascii_case("yes")),
      host_key_alias: resolved.get("hostkeyalias").map(str::to_owned),
      proxy,
      jump,
      known_hosts,
      policy,
      connect_timeout,
      keepalive,
    })
  }
}

fn same_dir(a: &Path, b: &Path) -> bool {
  let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
  canon(a) == canon(b)
}

/// OpenSSH's identity files when none is configured, as `ssh -G` prints them.
fn default_identities() -> Vec<String> {
  ["id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa"]
    .iter()
    .map(|f| format!("~/.ssh/{f}"))
    .collect()
}

fn expand_home(p: &str, home: &Path) -> PathBuf {
  match p.strip_prefix("~/") {
    Some(rest) => home.join(rest),
    None if p == "~" => home.to_owned(),
    None => PathBuf::from(p),
  }
}

/// Runs a short helper (`ssh -G`) in its own process group, with nothing on
/// standard input; returns its standard output (at most 1 MiB kept), or why it
/// failed. The group is killed when the helper outlives `timeout`.
pub(crate) fn run_bounded(command: &mut Command, timeout: Duration) -> Result<Vec<u8>, String> {
  use std::os::unix::process::CommandExt;
  let mut child = command
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0)
    .spawn()
    .map_err(|e| format!("cannot run `ssh`: {e}"))?;
  let read = |pipe: Option<Box<dyn Read + Send>>| {
    std::thread::spawn(move || {
      let mut kept = Vec::new();
      if let Some(mut pipe) = pipe {
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
          if n == 0 {
            break;
          }
          let room = MAX_OUTPUT.saturating_sub(kept.len());
          kept.extend_from_slice(&buf[..n.min(room)]);
        }
      }
      kept
    })
  };
  let stdout = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
  let stderr = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
  let group = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw);
  let kill = |child: &mut std::process::Child| {
    if let Some(pid) = group {
      let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
  };
  let deadline = Instant::now() + timeout;
  let status = loop {
    match child.try_wait() {
      Ok(Some(status)) => break status,
      Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
      Ok(None) => {
        kill(&mut child);
        return Err(format!("`ssh -G` did not finish within {timeout:?}"));
      }
      Err(e) => {
        kill(&mut child);
        return Err(e.to_string());
      }
    }
  };
  // Whatever it left running in its group goes with it.
  if let Some(pid) = group {
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
  }
  let out = stdout.join().unwrap_or_default();
  let err = stderr.join().unwrap_or_default();
  if !status.success() {
    let why = String::from_utf8_lossy(&err);
    let why = why.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
    return Err(format!("`ssh -G` failed: {}", why.trim()));
  }
  Ok(out)
}

/// The values of the tokens `ProxyCommand`, `ProxyJump` and `IdentityFile`
/// accept.
pub(crate) struct Tokens<'a> {
  /// The inventory name, for messages.
  pub target: &'a str,
  /// `%h`: the address connected to.
  pub host: &'a str,
  /// `%n`: the name as given.
  pub name: &'a str,
  /// `%p`.
  pub port: u16,
  /// `%r`.
  pub user: &'a str,
}

impl Tokens<'_> {
  /// Expands `%%`, `%h`, `%n`, `%p` and `%r` (ssh_config(5) TOKENS). The text
  /// goes to a shell, so a value goes in only when it is a plain host name,
  /// address or user name, which no shell reads as anything but a word;
  /// anything else refuses the host.
  pub fn expand(&self, text: &str, keyword: &str) -> Result<String, ConnectError> {
    self.expand_with(text, keyword, true)
  }

  /// The same for a file name (`IdentityFile`), which no shell reads: values go
  /// in as they are.
  pub fn expand_path(&self, text: &str, keyword: &str) -> Result<String, ConnectError> {
    self.expand_with(text, keyword, false)
  }

  fn expand_with(&self, text: &str, keyword: &str, shell: bool) -> Result<String, ConnectError> {
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
            "{}: `{keyword}` in the ssh config uses the token `%{other}`; converge accepts `%%`, `%h`, `%n`, `%p` and `%r` there",
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
      if shell && !plain {
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

/// A DNS name, an IPv4 address or an IPv6 address (with a zone): nothing a
/// shell or `ssh`'s option parser reads as more than one plain word.
pub(crate) fn plain_host(s: &str) -> bool {
  !s.is_empty()
    && s.len() <= 255
    && !s.starts_with('-')
    && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%'))
}

/// A user name as POSIX systems and directories write them.
pub(crate) fn plain_user(s: &str) -> bool {
  !s.is_empty()
    && s.len() <= 255
    && !s.starts_with('-')
    && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

#[cfg(test)]
mod tests {
  use super::*;

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
    // A file name takes any value: no shell reads it.
    let path = tokens("a b", "ops").expand_path("~/.ssh/%h_%r_%p", "IdentityFile").map_err(|e| e.to_string());
    assert_eq!(path, Ok("~/.ssh/a b_ops_2222".to_owned()));
  }

  #[test]
  fn ssh_g_output_is_read_key_by_key() {
    let r =
      Resolved::parse(b"hostname web\nidentityfile ~/a\nidentityfile ~/b\nproxycommand none\nport 22\n");
    assert_eq!(r.get("hostname"), Some("web"));
    assert_eq!(r.get("proxycommand"), None);
    assert_eq!(r.all("identityfile"), vec!["~/a", "~/b"]);
  }
}
