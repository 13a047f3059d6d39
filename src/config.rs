//! The checked settings of one run, made from [`Arguments`].

use crate::arguments::{Arguments, ColorChoice, Command, Format, OutputArgs};
use std::io::IsTerminal;
use std::path::PathBuf;

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subcommand {
  Check { paths: Vec<PathBuf> },
  Fmt { paths: Vec<PathBuf>, check: bool },
  Plan { playbooks: Vec<PathBuf>, root: Option<PathBuf> },
  Apply { playbooks: Vec<PathBuf>, root: Option<PathBuf> },
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
      None if arguments.plan => {
        (Subcommand::Plan { playbooks: arguments.playbooks, root: arguments.root }, arguments.output)
      }
      None => (Subcommand::Apply { playbooks: arguments.playbooks, root: arguments.root }, arguments.output),
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
