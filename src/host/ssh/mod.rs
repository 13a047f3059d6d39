//! The SSH transport: how a host is reached, and the connection to it.
//!
//! A host is reached with settings from the inventory (`ansible_host`,
//! `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file`, their
//! `ansible_ssh_*` aliases, and the ssh options of `ansible_ssh_common_args`)
//! over those of the ssh client configuration, as Ansible passes them to
//! `ssh`. The configuration is resolved by OpenSSH itself ([`config`]: `ssh
//! -G`). [`proxy`] makes `ProxyJump` and `ProxyCommand` streams and bounds the
//! processes they start; [`auth`] checks the server's key against
//! known_hosts ([`known_hosts`]) before any authentication, then
//! authenticates by public key; [`session`] runs each script over one exec
//! channel.
//!
//! Nothing from the inventory or the ssh config reaches a shell unchecked:
//! `ProxyCommand` tokens take plain host and user names only, `ProxyJump`
//! runs `ssh` without a shell, its chain is followed (`ssh -G`) and refused
//! when it loops.

mod auth;
pub mod config;
mod gate;
mod includes;
pub mod known_hosts;
mod proxy;
mod session;

pub use auth::fingerprint;
pub use config::{ClientConfig, ConfigError};
pub use known_hosts::lookup_name;
pub use proxy::MAX_PROXY_PROCESSES;
pub use session::Ssh;
use std::path::PathBuf;
use std::time::Duration;

/// How many hosts a `ProxyJump` chain may pass through, counting the jumps
/// the jump hosts' own `ProxyJump` adds.
pub const MAX_JUMPS: usize = 8;

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
  /// The ssh client configuration (`-F`); `None`: OpenSSH's own choice.
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
  /// `IdentitiesOnly`: the agent's keys are not offered.
  pub identities_only: bool,
  /// `HostKeyAlias`: the name the host key is looked up under, without a port.
  pub host_key_alias: Option<String>,
  /// What carries the byte stream when it is not a direct TCP connection.
  pub proxy: Option<Proxy>,
  /// The `ProxyJump` hops, in order, as `[user@]host[:port]`.
  pub jump: Vec<String>,
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Given {
  pub address: Option<String>,
  pub port: Option<u16>,
  pub user: Option<String>,
  pub identity: Option<String>,
  /// `ssh` options from `ansible_ssh_common_args` and `ansible_ssh_extra_args`
  /// that change how the host is reached (`-J`, `-o ProxyJump=...`), given to
  /// `ssh -G` before the configuration, as Ansible gives them to `ssh`.
  pub args: Vec<String>,
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
