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
