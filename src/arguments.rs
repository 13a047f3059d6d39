//! The command line as clap sees it. [`crate::config::Config`] turns it into the
//! checked settings the commands use.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Keeps the Go development environment of Linux hosts exactly as declared in
/// `.goenv` playbooks.
#[derive(Parser, Debug)]
#[command(name = "converge", version, args_conflicts_with_subcommands = true, max_term_width = 100)]
pub struct Arguments {
  #[command(subcommand)]
  pub command: Option<Command>,

  /// Playbook files or directories (default: the `*.goenv` files here).
  #[arg(value_name = "PLAYBOOK")]
  pub playbooks: Vec<PathBuf>,

  /// Show what would change and change nothing. Exit 0: nothing to do; 2: changes
  /// pending; 1: error.
  #[arg(long)]
  pub plan: bool,

  /// Converge this directory as if it were `/` (image building, tests).
  #[arg(long, value_name = "DIR")]
  pub root: Option<PathBuf>,

  /// After applying (or planning), run `converge verify` on every host.
  #[arg(long)]
  pub verify: bool,

  #[command(flatten)]
  pub fleet: FleetArgs,

  #[command(flatten)]
  pub output: OutputArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
  /// Check playbooks for errors without contacting any host. Exit 0 when valid,
  /// 1 when not.
  Check {
    /// Playbook files or directories (default: the `*.goenv` files here).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
  },
  /// Prove that every shell and tool on every host sees the declared Go
  /// environment: a matrix of consumer × expectation. Exit 0 when every cell
  /// holds, 1 otherwise. Changes nothing.
  Verify {
    /// Playbook files or directories (default: the `*.goenv` files here).
    #[arg(value_name = "PLAYBOOK")]
    playbooks: Vec<PathBuf>,
    #[command(flatten)]
    fleet: FleetArgs,
    #[command(flatten)]
    output: OutputArgs,
  },
  /// Rewrite playbooks in the canonical layout, keeping comments.
  Fmt {
    /// Change nothing; list the files that are not formatted and exit 1 if any.
    #[arg(long)]
    check: bool,
    /// Playbook files or directories (default: the `*.goenv` files here).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
  },
}

/// How to reach hosts.
#[derive(Args, Debug, Clone, Default)]
pub struct FleetArgs {
  /// Hosts converged at once (default 50).
  #[arg(long, short = 'f', value_name = "N")]
  pub forks: Option<usize>,

  /// Only these hosts or groups: `web1`, `dev*`, `fleet:!ci`, `fleet:&gpu`.
  #[arg(long, short = 'l', value_name = "PATTERN")]
  pub limit: Option<String>,

  /// What to do with a host key that is not in known_hosts (default: as
  /// `StrictHostKeyChecking` in ~/.ssh/config says, else refuse). A changed key
  /// is always refused.
  #[arg(long, value_enum, value_name = "POLICY")]
  pub host_key_checking: Option<HostKeyChecking>,

  /// The ssh client configuration to read instead of ~/.ssh/config.
  #[arg(long, short = 'F', value_name = "FILE")]
  pub ssh_config: Option<PathBuf>,

  /// Seconds to wait for a host to accept the connection and answer the
  /// SSH handshake.
  #[arg(long, value_name = "SECONDS", default_value_t = 10)]
  pub connect_timeout: u64,

  /// Seconds a host's facts or apply may take before the host is given up.
  #[arg(long, value_name = "SECONDS", default_value_t = 300)]
  pub timeout: u64,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyChecking {
  /// Refuse hosts whose key is not in known_hosts.
  Strict,
  /// Trust and record the key of a host seen for the first time.
  AcceptNew,
}

#[derive(Args, Debug, Clone, Default)]
pub struct OutputArgs {
  /// Output format.
  #[arg(long, value_enum, default_value_t = Format::Human)]
  pub format: Format,

  /// When to use colour.
  #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
  pub color: ColorChoice,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
  /// Text for people.
  #[default]
  Human,
  /// Machine-readable JSON on standard output.
  Json,
  /// Markdown for a pull-request comment (plans only).
  Markdown,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorChoice {
  #[default]
  Auto,
  Always,
  Never,
}
