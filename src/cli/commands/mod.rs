//! The subcommands: each takes its checked settings and the reporter, and
//! returns the process exit code.

mod check;
mod fmt;
mod run;
mod schedule;

pub use check::check;
pub use fmt::fmt;
pub use run::{Stop, run};
pub use schedule::schedule;

/// Exit codes, as Terraform's `-detailed-exitcode`.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;

/// Exit code of `--plan` when changes are pending (Terraform's `-detailed-exitcode`).
pub const EXIT_CHANGES: i32 = 2;
