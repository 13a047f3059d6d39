//! All integration tests, in one binary. They run the real `converge` binary
//! (see [`test::Test`]) or call the library for properties over many inputs.

mod apply;
mod book;
mod cli;
mod cli_habits;
mod cli_release;
mod cli_schemas;
mod connection;
mod diagnostics;
mod facts_cache;
mod fleet;
mod format_props;
mod inventory_diff;
mod inventory_resolve;
mod loops;
mod lsp;
mod playbooks;
mod removal;
mod resolve;
mod run_report;
mod safety_fleet;
mod safety_host;
mod safety_hostile;
mod safety_inputs;
mod safety_outputs;
mod safety_ssh;
mod safety_toolchain;
mod safety_values;
mod scale;
mod settings_agree;
mod ssh_config;
mod test;
mod verify;
mod verify_facts;
mod verify_servers;
mod wire;
