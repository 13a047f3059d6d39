//! All integration tests, in one binary. They run the real `converge` binary
//! (see [`test::Test`]) or call the library for properties over many inputs.

mod apply;
mod book;
mod cli;
mod diagnostics;
mod fleet;
mod format_props;
mod loops;
mod lsp;
mod playbooks;
mod resolve;
mod safety_fleet;
mod safety_host;
mod safety_hostile;
mod safety_inputs;
mod safety_outputs;
mod safety_ssh;
mod safety_toolchain;
mod safety_values;
mod test;
mod verify;
