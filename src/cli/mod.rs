//! The command line: arguments in, an exit code out.
//!
//! clap's [`arguments::Arguments`] become the checked [`config::Config`];
//! [`commands`] runs each subcommand as a pipeline over the other stages
//! (syntax → check → host → plan → apply → verify → report). The run lock, pull
//! mode's checkout and the schedule installer live here because only the command
//! line uses them.

pub mod arguments;
pub mod commands;
pub mod completions;
pub mod config;
pub(crate) mod habits;
pub mod inventory;
pub mod lock;
pub mod pull;
pub mod schedule;
pub mod vars;
