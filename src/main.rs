//! The `converge` binary: parse arguments, run the subcommand, exit with its code.

use clap::Parser;
use converge::cli::arguments::Arguments;
use converge::cli::commands;
use converge::cli::config::{Config, Subcommand};
use converge::report::reporter::Reporter;

fn main() {
  let arguments = match Arguments::try_parse() {
    Ok(a) => a,
    Err(e) => {
      let code = if e.use_stderr() { commands::EXIT_ERROR } else { commands::EXIT_OK };
      let _ = e.print();
      std::process::exit(code);
    }
  };
  let config = Config::from_arguments(arguments);
  let reporter = Reporter::new(config.output);
  let code = match &config.subcommand {
    Subcommand::Check { paths } => commands::check(paths, &reporter),
    Subcommand::Fmt { paths, check } => commands::fmt(paths, *check, &reporter),
    Subcommand::Run(run) => commands::run(run, &reporter),
    Subcommand::Schedule(schedule) => commands::schedule(schedule, &reporter),
    Subcommand::Lsp => converge::lsp::run(),
  };
  std::process::exit(code);
}
