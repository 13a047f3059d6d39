//! converge keeps the Go development environment of a fleet of Linux hosts
//! exactly as declared in `.goenv` playbooks.
//!
//! The data takes one road, and each stop is a folder:
//!
//! ```text
//! .goenv text ─ syntax ─▶ Ast ─ check ─▶ Playbook (per host) ─ host::facts ─▶ facts
//!   ─ plan ─▶ HostPlan ─ apply ─▶ HostOutcome ─ verify ─▶ Matrix ─ report ─▶ stdout, files
//! ```
//!
//! [`cli`] drives the road for each subcommand; [`fleet`] runs it per host in
//! parallel. [`source`] (files and spans) and [`diagnostic`] (coded messages)
//! are the vocabulary every stage shares; [`go`] holds the Go domain rules.

pub(crate) mod apply;
pub(crate) mod atomic;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub(crate) mod fleet;
pub mod go;
pub mod host;
pub mod lsp;
pub(crate) mod plan;
pub mod report;
pub mod source;
pub mod syntax;
pub(crate) mod verify;
