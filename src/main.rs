//! The `converge` binary: parse arguments, run the subcommand, exit with its code.

use converge::cli::commands;
use converge::cli::config::{Config, Subcommand};
use converge::report::reporter::Reporter;

fn main() {
  let config = match Config::from_env() {
    Ok(config) => config,
    Err(code) => std::process::exit(code),
  };
  let reporter = Reporter::new(config.output);
  let code = match &config.subcommand {
    Subcommand::Check { paths, vars } => commands::check(paths, vars, &reporter),
    Subcommand::Fmt { paths, check } => commands::fmt(paths, *check, &reporter),
    Subcommand::Run(run) => commands::run(run, &reporter),
    Subcommand::Schedule(schedule) => commands::schedule(schedule, &reporter),
    Subcommand::Completions(shell) => {
      converge::cli::completions::completions(*shell, &mut std::io::stdout().lock());
      commands::EXIT_OK
    }
    Subcommand::Man => match converge::cli::completions::man(&mut std::io::stdout().lock()) {
      Ok(()) => commands::EXIT_OK,
      Err(_) => commands::EXIT_ERROR,
    },
    Subcommand::Inventory(args) => converge::cli::inventory::run(args, &reporter),
    Subcommand::Lsp => converge::lsp::run(),
  };
  std::process::exit(code);
}
