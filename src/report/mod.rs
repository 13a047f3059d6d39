//! Report: runs, plans, matrices and diagnostics in; text on stdout/stderr and
//! files out.
//!
//! [`reporter::Reporter`] is the only thing in converge that prints. [`plan`]
//! shows plans and outcomes (human, JSON, markdown), [`verify`] shows verify
//! matrices, [`enforce`] writes the enforce report and Prometheus metrics.

pub mod document;
pub mod enforce;
pub mod markdown;
pub mod plan;
pub mod render;
pub mod reporter;
pub mod verify;
