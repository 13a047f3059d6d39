//! Host I/O: everything that crosses to a host.
//!
//! A [`transport::Transport`] runs one script on a host (the local machine or
//! an SSH session, [`ssh`]) and returns its output. Scripts are built only by
//! [`shell`], which quotes every value and writes each consumer's file format
//! ([`shell::dialect`]). [`facts`] sends the facts script and parses what it
//! found into host facts: this is the one round trip before planning; [`known`]
//! keeps the file contents the controller saw, so that it asks for hashes.
//! [`connection`] settles how each host is reached (this machine, or SSH with
//! the inventory's and OpenSSH's settings) before any of that.

pub mod connection;
pub mod error;
pub mod facts;
pub mod known;
pub mod shell;
pub mod ssh;
pub mod transport;
