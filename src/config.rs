//! The checked settings of one run, made from [`Arguments`].

use crate::arguments::{Arguments, ColorChoice, Command, FleetArgs, Format, OutputArgs};
use std::io::IsTerminal;
use std::path::PathBuf;

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subcommand {
  Check { paths: Vec<PathBuf> },
  Fmt { paths: Vec<PathBuf>, check: bool },
  Run(Run),
}

/// `converge [--plan] PLAYBOOK...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
  pub playbooks: Vec<PathBuf>,
  pub root: Option<PathBuf>,
  /// False for `--plan`.
  pub apply: bool,
  /// Build the verify matrix after planning or applying.
  pub verify: bool,
  /// `converge verify`: show the matrix only.
  pub verify_only: bool,
  pub forks: usize,
  pub limit: Option<String>,
  pub host_key_policy: Option<crate::ssh::HostKeyPolicy>,
  pub ssh_config: Option<PathBuf>,
  pub connect_timeout: std::time::Duration,
  pub timeout: std::time::Duration,
}

impl Run {
  fn new(playbooks: Vec<PathBuf>, root: Option<PathBuf>, apply: bool, verify: bool, fleet: FleetArgs) -> Run {
    use crate::arguments::HostKeyChecking;
    use crate::ssh::HostKeyPolicy;
    Run {
      playbooks,
      root,
      apply,
      verify,
      verify_only: false,
      forks: fleet.forks.unwrap_or(crate::fleet::DEFAULT_FORKS).max(1),
      limit: fleet.limit,
      host_key_policy: fleet.host_key_checking.map(|c| match c {
        HostKeyChecking::Strict => HostKeyPolicy::Strict,
        HostKeyChecking::AcceptNew => HostKeyPolicy::AcceptNew,
      }),
      ssh_config: fleet.ssh_config,
      connect_timeout: std::time::Duration::from_secs(fleet.connect_timeout.max(1)),
      timeout: std::time::Duration::from_secs(fleet.timeout.max(1)),
    }
  }
}

/// How to show results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
  pub format: Format,
  /// Colour on standard error (diagnostics, progress).
  pub color: bool,
  pub width: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
  pub subcommand: Subcommand,
  pub output: Output,
}

impl Config {
  pub fn from_arguments(arguments: Arguments) -> Config {
    let (subcommand, output) = match arguments.command {
      Some(Command::Check { paths, output }) => (Subcommand::Check { paths }, output),
      Some(Command::Fmt { check, paths, output }) => (Subcommand::Fmt { paths, check }, output),
      Some(Command::Verify { playbooks, fleet, output }) => {
        (Subcommand::Run(Run { verify_only: true, ..Run::new(playbooks, None, false, true, fleet) }), output)
      }
      None => (
        Subcommand::Run(Run::new(
          arguments.playbooks,
          arguments.root,
          !arguments.plan,
          arguments.verify,
          arguments.fleet,
        )),
        arguments.output,
      ),
    };
    Config { subcommand, output: Output::new(&output) }
  }
}

impl Output {
  fn new(args: &OutputArgs) -> Output {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = match args.color {
      ColorChoice::Always => true,
      ColorChoice::Never => false,
      ColorChoice::Auto => !no_color && std::io::stderr().is_terminal(),
    };
    let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(100).clamp(40, 200);
    Output { format: args.format, color, width }
  }
}
