//! converge keeps the Go development environment of a fleet of Linux hosts
//! exactly as declared in `.goenv` playbooks.
//!
//! The data takes one road: source text is parsed into an [`ast::Ast`], resolved
//! against the inventory and variables into a [`playbook::Playbook`] of typed
//! resources per host, and reported on through [`diagnostic::Diagnostic`]s.

pub mod apply;
pub mod arguments;
pub mod ast;
pub mod atomic;
pub mod block_merge;
pub mod change;
pub mod commands;
pub mod config;
pub mod diagnostic;
pub mod dialect;
pub mod facts;
pub mod fleet;
pub mod formatter;
pub mod go_env;
pub mod go_env_file;
pub mod go_module;
pub mod go_proxy;
pub mod go_version;
pub mod host_facts;
pub mod inventory;
pub mod inventory_ini;
pub mod ledger;
pub mod loader;
pub mod lock;
pub mod parser;
pub mod plan_output;
pub mod planner;
pub mod playbook;
pub mod pull;
pub mod reader;
pub mod report;
pub mod reporter;
pub mod resolver;
pub mod resource;
pub mod resources;
pub mod saved_plan;
pub mod schedule;
pub mod secrets;
pub mod shell;
pub mod source;
pub mod ssh;
pub mod text;
pub mod transport;
pub mod verify;
pub mod verify_output;
